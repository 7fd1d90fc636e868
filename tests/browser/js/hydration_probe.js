// Init script: record when each quiz gets data-hydrated, in ms from navigation start.
(() => {
    const times = [];
    Object.defineProperty(window, "__mhaHydrationTimes", { value: times });
    new MutationObserver((records) => {
        for (const record of records) {
            if (record.target.hasAttribute("data-mha-quiz")) times.push(performance.now());
        }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
})();
