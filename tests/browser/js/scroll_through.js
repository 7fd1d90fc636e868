// Scroll to the bottom a screen at a time, so that anything loaded lazily is loaded.
// Each step waits for the next frame, or 50 ms at most: a page Chromium does not paint (busy
// machine, page not in front) may never run requestAnimationFrame callbacks, and a Promise that
// never settles would hang the test session (it did once, in a clean-clone run).
async () => {
    const nextFrame = () => new Promise((resolve) => {
        requestAnimationFrame(resolve);
        setTimeout(resolve, 50);
    });
    for (let y = 0; y <= document.documentElement.scrollHeight; y += 500) {
        window.scrollTo(0, y);
        await nextFrame();
    }
    window.scrollTo(0, 0);
}
