// What the page-level tests read from a page of the built site, in one go.
() => {
    const all = (selector) => Array.from(document.querySelectorAll(selector));
    const main = document.querySelector("main");
    const shown = (el) => el.getBoundingClientRect().width > 0;
    return {
        url: location.href,
        theme: document.documentElement.dataset.theme ?? null,
        lang: document.documentElement.getAttribute("lang"),
        // Elements that would load only when scrolled to: none, so one load fetches the page.
        lazy: all("[loading=lazy]").map((el) => el.outerHTML.slice(0, 120)),
        mainText: main ? main.innerText : "",
        math: {
            formulas: all("math").length,
            empty: all("math").filter((m) => !m.textContent.trim()).length,
            errors: all("math merror").length,
            displayWithoutMath: all(".math-display:not(:has(math))").length,
            // Some math sits in closed dropdowns: count the formulas a reader sees.
            visible: all("main math").filter(shown).length,
        },
        headings: all("main :is(h1, h2, h3, h4, h5, h6), main [role=heading]")
            .filter((h) => h.checkVisibility() && !h.closest("[aria-hidden=true]"))
            .map((h) => ({
                level: h.getAttribute("aria-level") ? Number(h.getAttribute("aria-level"))
                                                    : Number(h.tagName[1]),
                text: h.textContent.trim().slice(0, 60),
            })),
        images: all("img").map((img) => ({
            src: img.getAttribute("src"),
            alt: img.getAttribute("alt"),
            role: img.getAttribute("role"),
            inMain: !!img.closest("main"),
            loaded: img.complete && img.naturalWidth > 0,
        })),
        downloads: all('a[href$=".ipynb"]').map((a) => a.getAttribute("href")),
        quizzes: all("[data-mha-quiz]").map((q) => q.dataset.hydrated ?? null),
        hydrationTimes: window.__mhaHydrationTimes ?? [],
        domContentLoadedEnd:
            performance.getEntriesByType("navigation")[0]?.domContentLoadedEventEnd ?? null,
    };
}
