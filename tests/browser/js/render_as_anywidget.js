// Mount `html` in a `.widget-view` inside `container` through `module`'s anywidget front-end,
// the way JupyterLab does: render({model, el}) must draw model.get("html"), listen for
// "change:html" and return a clean-up function.
async ([module, html, container]) => {
    const mod = await import(module);
    const listeners = {};
    const model = {
        get: (name) => (name === "html" ? html : null),
        on: (event, cb) => { listeners[event] = cb; },
        off: (event) => { delete listeners[event]; },
    };
    const el = document.createElement("div");
    el.className = "widget-view";
    document.querySelector(container).appendChild(el);
    const cleanup = mod.default.render({ model, el });
    if (typeof cleanup !== "function" || !listeners["change:html"]) {
        throw new Error("render contract");
    }
}
