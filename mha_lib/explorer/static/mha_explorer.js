// Head explorer for "Multi-Head Attention, step by step".
//
// One ES module, two uses (like mha_quiz.js):
//  (a) anywidget front-end: `export default { render }` puts the widget's `html` trait
//      (built by mha_lib/explorer/render.py) into the view and hydrates it;
//  (b) static site: loaded as <script type="module" src="_static/mha_explorer.js">, it
//      hydrates every [data-mha-explorer] on the page.
// The static markup (one table per head) works without this file; hydration adds a head
// selector, focusable tokens, a spoken readout and per-head bars, and moves the tables into a
// "Show the tables" disclosure. Idempotent (data-hydrated); no network, no globals and no
// console output.

const ROOT_SELECTOR = "[data-mha-explorer]";
const ALL = -1;
const TOP = 3;

// Interface strings come from the markup, as in mha_quiz.js: the nearest data-mha-text, else
// the page's #mha-ui-text (mha_lib/ui_text/<lang>.json); the nearest `lang` picks the plural
// forms (key_one, key_two, key_few, key_other). This file holds no copy of them.
function translator(node) {
  const parse = (raw) => {
    try {
      const table = JSON.parse(raw);
      return table && typeof table === "object" && Object.keys(table).length ? table : null;
    } catch (_error) {
      return null;
    }
  };
  const holder = node.closest("[data-mha-text]");
  const page = node.ownerDocument.getElementById("mha-ui-text");
  const strings = (holder && parse(holder.getAttribute("data-mha-text"))) ||
    (page && parse(page.textContent)) || {};
  const tagged = node.closest("[lang]");
  const lang = (tagged && tagged.getAttribute("lang")) || "en";
  const has = (key) => Object.prototype.hasOwnProperty.call(strings, key);
  return (key, values = {}, ordinal = false) => {
    let name = key;
    if (typeof values.count === "number") {
      let form = "other";
      try {
        form = new Intl.PluralRules(lang, { type: ordinal ? "ordinal" : "cardinal" })
          .select(values.count);
      } catch (_error) {
        form = "other";
      }
      name = has(`${key}_${form}`) ? `${key}_${form}` : `${key}_other`;
    }
    return String(has(name) ? strings[name] : name)
      .replace(/\{(\w+)\}/g, (all, field) => (field in values ? String(values[field]) : all));
  };
}

function make(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const isStrings = (list) =>
  Array.isArray(list) && list.length > 0 && list.every((t) => typeof t === "string");

function readData(root, t) {
  const script = root.querySelector("script.mha-explorer-data");
  if (!script) return null;
  let data;
  try {
    data = JSON.parse(script.textContent || "");
  } catch (_error) {
    return null;
  }
  if (!data || typeof data !== "object") return null;
  const self = data.key_tokens === null || data.key_tokens === undefined;
  const tokens = data.tokens;
  const keys = self ? tokens : data.key_tokens;
  const { heads, weights, display } = data;
  if (!isStrings(tokens) || !isStrings(keys) || !isStrings(heads)) return null;
  const number = (w) => typeof w === "number" && Number.isFinite(w) && w >= 0;
  const text = (t) => typeof t === "string";
  if (!isCube(weights, heads.length, tokens.length, keys.length, number)) return null;
  if (!isCube(display, heads.length, tokens.length, keys.length, text)) return null;
  return {
    tokens, keys, heads, weights, display, self,
    queryLabels: labels(tokens, t),
    keyLabels: labels(keys, t),
  };
}

// A nested array of shape (h, q, k) whose entries pass `ok`.
function isCube(cube, h, q, k, ok) {
  const list = (a, n) => Array.isArray(a) && a.length === n;
  return list(cube, h) &&
    cube.every((head) => list(head, q) && head.every((row) => list(row, k) && row.every(ok)));
}

// A token that occurs more than once is named with its position: "the (7th token)".
function labels(tokens, t) {
  const counts = new Map();
  for (const token of tokens) counts.set(token, (counts.get(token) || 0) + 1);
  return tokens.map((token, i) => (counts.get(token) > 1
    ? t("explorer.repeated_token", { token, position: i + 1, count: i + 1 }, true)
    : token));
}

// Keys with the largest weights, largest first; ties keep sentence order; zeros are left out.
// Weights (3 decimals) rank and draw; `display` (2 decimals, from Python) is what is read.
function topKeys(row) {
  return row
    .map((_w, j) => j)
    .filter((j) => row[j] > 0)
    .sort((a, b) => row[b] - row[a] || a - b)
    .slice(0, TOP);
}

const who = (t, data, head, query) =>
  t("explorer.who", { head: data.heads[head], token: data.queryLabels[query] });

function sentence(t, data, head, query) {
  const row = data.weights[head][query];
  const best = topKeys(row);
  const name = who(t, data, head, query);
  if (best.length === 0) return t("explorer.attends_none", { who: name });
  const shown = data.display[head][query];
  const list = best
    .map((j) => t("explorer.list_item", { token: data.keyLabels[j], weight: shown[j] }))
    .join(t("explorer.list_joiner"));
  return t("explorer.attends_most", { who: name, list });
}

function hydrateRoot(root) {
  if (root.hasAttribute("data-hydrated")) return;
  const t = translator(root);
  const data = readData(root, t);
  if (!data) return; // leave the static tables as they are
  root.setAttribute("data-hydrated", "true");
  const doc = root.ownerDocument;
  // `selected`: the token chosen by focus or click (the Tab stop); `hover`: the token under
  // the mouse, shown while the mouse stays on the tokens. The latest interaction wins.
  const state = { head: 0, selected: 0, hover: null };
  const shownQuery = () => (state.hover === null ? state.selected : state.hover);
  let drawn = "";

  const ui = make(doc, "div", "mha-explorer-ui");

  const headGroup = make(doc, "div", "mha-explorer-heads");
  headGroup.setAttribute("role", "group");
  headGroup.setAttribute("aria-label", t("explorer.choose_head"));
  const headLabel = make(doc, "span", "mha-explorer-label", t("explorer.head_label"));
  headLabel.setAttribute("aria-hidden", "true");
  headGroup.append(headLabel);
  const choices = data.heads.map((name, h) => [h, name]);
  if (data.heads.length > 1) choices.push([ALL, t("explorer.all_heads")]);
  const headButtons = choices.map(([h, name]) => {
    const button = make(doc, "button", "mha-explorer-head", name);
    button.type = "button";
    button.addEventListener("click", () => {
      state.head = h;
      update();
    });
    headGroup.append(button);
    return [h, button];
  });

  const tokenGroup = make(doc, "div", "mha-explorer-tokens");
  tokenGroup.setAttribute("role", "group");
  tokenGroup.setAttribute("aria-label", t("explorer.tokens_group"));
  const tokenLabel = make(doc, "span", "mha-explorer-label", t("explorer.token_label"));
  tokenLabel.setAttribute("aria-hidden", "true");
  tokenGroup.append(tokenLabel);
  const tokenButtons = data.tokens.map((token, i) => {
    const button = make(doc, "button", "mha-explorer-token", token);
    button.type = "button";
    button.setAttribute("data-index", String(i));
    const choose = () => {
      state.selected = i;
      state.hover = null;
      update();
    };
    button.addEventListener("focus", choose);
    button.addEventListener("click", choose);
    button.addEventListener("mouseenter", () => {
      state.hover = i;
      update();
    });
    button.addEventListener("keydown", (event) => {
      const last = tokenButtons.length - 1;
      const target = {
        ArrowRight: Math.min(i + 1, last),
        ArrowDown: Math.min(i + 1, last),
        ArrowLeft: Math.max(i - 1, 0),
        ArrowUp: Math.max(i - 1, 0),
        Home: 0,
        End: last,
      }[event.key];
      if (target === undefined || event.altKey || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      tokenButtons[target].focus();
    });
    tokenGroup.append(button);
    return button;
  });
  tokenGroup.addEventListener("mouseleave", () => {
    state.hover = null;
    update();
  });

  const hint = make(doc, "p", "mha-explorer-hint", t("explorer.hint"));
  const readout = make(doc, "p", "mha-explorer-readout");
  readout.setAttribute("aria-live", "polite");
  readout.setAttribute("aria-atomic", "true");
  const panels = make(doc, "div", "mha-explorer-panels");
  ui.append(headGroup, tokenGroup, hint, readout, panels);

  const details = make(doc, "details", "mha-explorer-details");
  const count = data.heads.length;
  details.append(make(doc, "summary", null, t("explorer.show_tables", { count })));
  const tables = root.querySelector(".mha-explorer-tables");
  if (tables) details.append(tables);

  const script = root.querySelector("script.mha-explorer-data");
  root.insertBefore(ui, script);
  root.insertBefore(details, script);

  function panel(head, query) {
    const row = data.weights[head][query];
    const best = topKeys(row);
    const box = make(doc, "div", "mha-explorer-panel");
    box.setAttribute("data-head", String(head));
    const title = t("explorer.panel_title", { who: who(t, data, head, query) });
    box.append(make(doc, "p", "mha-explorer-panel-title", title));
    const list = make(doc, "ol", "mha-explorer-bars");
    data.keys.forEach((key, j) => {
      const item = make(doc, "li");
      const rank = best.indexOf(j);
      if (rank >= 0) item.setAttribute("data-rank", String(rank + 1));
      const bar = make(doc, "span", "mha-explorer-bar");
      bar.setAttribute("aria-hidden", "true");
      const fill = make(doc, "span", "mha-explorer-fill");
      fill.style.width = `${Math.min(100, row[j] * 100)}%`;
      bar.append(fill);
      item.append(
        make(doc, "span", "mha-explorer-key", key),
        bar,
        make(doc, "span", "mha-explorer-value", data.display[head][query][j]),
      );
      list.append(item);
    });
    box.append(list);
    return box;
  }

  function update() {
    const query = shownQuery();
    const key = `${state.head} ${state.selected} ${query}`;
    if (key === drawn) return; // nothing changed: no repeated announcement
    drawn = key;
    for (const [h, button] of headButtons) {
      button.setAttribute("aria-pressed", String(h === state.head));
    }
    const single = state.head !== ALL;
    tokenButtons.forEach((button, i) => {
      button.tabIndex = i === state.selected ? 0 : -1;
      if (i === query) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
      // Self-attention: shade each token by the chosen head's weight from the shown token.
      const shade = single && data.self ? data.weights[state.head][query][i] : 0;
      button.style.setProperty("--w", String(shade));
    });
    root.setAttribute("data-mode", single ? "one" : "all");
    const shown = single ? [state.head] : data.heads.map((_name, h) => h);
    // One line per head; the text read out is the sentences joined by spaces.
    readout.replaceChildren();
    shown.forEach((h, n) => {
      if (n > 0) readout.append(" ");
      readout.append(make(doc, "span", "mha-explorer-line", sentence(t, data, h, query)));
    });
    panels.replaceChildren(...shown.map((h) => panel(h, query)));
  }

  update();
}

/** Hydrate every explorer inside `container` (and the container itself if it is one). */
export function hydrate(container) {
  if (!container || typeof container.querySelectorAll !== "function") return;
  if (typeof container.matches === "function" && container.matches(ROOT_SELECTOR)) {
    hydrateRoot(container);
  }
  for (const root of container.querySelectorAll(ROOT_SELECTOR)) hydrateRoot(root);
}

function hydrateDocument() {
  hydrate(document);
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", hydrateDocument, { once: true });
  } else {
    hydrateDocument();
  }
}

// The live widget: its language and strings (traits `lang`, `ui_text`) go on the view's
// element, where translator() finds them for the markup inside.
export default {
  render({ model, el }) {
    const draw = () => {
      const strings = model.get("ui_text");
      if (model.get("lang")) el.setAttribute("lang", model.get("lang"));
      if (strings && Object.keys(strings).length) {
        el.setAttribute("data-mha-text", JSON.stringify(strings));
      }
      el.innerHTML = model.get("html") || "";
      hydrate(el);
    };
    draw();
    model.on("change:html", draw);
    return () => model.off("change:html", draw);
  },
};
