// Scroll to the bottom a screen at a time, so that anything loaded lazily is loaded.
async () => {
    for (let y = 0; y <= document.documentElement.scrollHeight; y += 500) {
        window.scrollTo(0, y);
        await new Promise((resolve) => requestAnimationFrame(resolve));
    }
    window.scrollTo(0, 0);
}
