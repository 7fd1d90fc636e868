// Quiz behaviour for "Multi-Head Attention, step by step".
//
// One ES module, two uses:
//  (a) anywidget front-end: `export default { render }` puts the widget's `html` trait
//      (built by mha_lib/quiz/render.py) into the view and hydrates it;
//  (b) static site: loaded as <script type="module" src="_static/mha_quiz.js">, it hydrates
//      every [data-mha-quiz] on the page.
// Hydration is idempotent (data-hydrated). Grading runs here, from the JSON answer key in
// the markup; no network, no globals, no console output.

const ROOT_SELECTOR = "[data-mha-quiz]";
const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const DIM_RE = /^\d+$/;

const MESSAGES = {
  single: "choose one of the options, then press Check.",
  multiple: "select at least one option, then press Check.",
  numeric: "type a number using digits, for example 42, -3 or 0.5.",
  shape: "type a shape as positive whole numbers, for example (2, 3) or 2 x 3.",
  broken: "this quiz could not load its answer key, so it cannot be checked here.",
};

function escapeText(text) {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function readKey(root) {
  const script = root.querySelector("script.mha-quiz-key");
  if (!script) return null;
  try {
    const key = JSON.parse(script.textContent || "");
    return key && typeof key === "object" && key.questions && typeof key.questions === "object"
      ? key.questions
      : null;
  } catch (_error) {
    return null;
  }
}

// Fisher-Yates: move the option elements; each input keeps value = its index in the bank.
function shuffleOptions(question) {
  const list = question.querySelector(".mha-quiz-options");
  if (!list) return;
  const items = Array.from(list.children).filter((n) => n.classList.contains("mha-quiz-option"));
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  for (const item of items) list.appendChild(item);
}

// If the same quiz is shown twice in one document (e.g. two views of one widget), ids and
// radio names would clash: give this copy a suffix, only when needed.
function deduplicateIds(root) {
  const doc = root.ownerDocument;
  if (!doc) return;
  const owned = Array.from(root.querySelectorAll("[id]"));
  const taken = (suffix) =>
    owned.some((node) => {
      const other = doc.getElementById(node.id + suffix);
      return other !== null && other !== node;
    });
  if (!taken("")) return;
  let n = 2;
  while (taken(`-v${n}`)) n += 1;
  const suffix = `-v${n}`;
  for (const node of owned) node.id += suffix;
  for (const node of root.querySelectorAll("label[for]")) node.htmlFor += suffix;
  for (const node of root.querySelectorAll("[aria-describedby]")) {
    const ids = node.getAttribute("aria-describedby").split(/\s+/).filter(Boolean);
    node.setAttribute("aria-describedby", ids.map((id) => id + suffix).join(" "));
  }
  for (const node of root.querySelectorAll("input[name]")) node.name += suffix;
}

function parseNumber(raw) {
  const text = String(raw).trim().replace(/\u2212/g, "-");
  if (!NUMBER_RE.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

// Accepts (2, 3)  2, 3  2x3  2 x 3  2×3  [2, 3]  (5,)  5  torch.Size([2, 3]).
function parseShape(raw) {
  let text = String(raw).trim();
  const torchSize = /^torch\.Size\(\s*([\s\S]*?)\s*\)$/.exec(text);
  if (torchSize) text = torchSize[1];
  const wrapped = /^\(([\s\S]*)\)$/.exec(text) || /^\[([\s\S]*)\]$/.exec(text);
  if (wrapped) text = wrapped[1].trim();
  if (!text) return null;
  let parts;
  if (text.includes(",")) {
    parts = text.split(",");
    if (parts.length > 1 && parts[parts.length - 1].trim() === "") parts.pop();
  } else {
    parts = text.split(/[x×X*]/);
  }
  const dims = [];
  for (const part of parts) {
    const piece = part.trim();
    if (!DIM_RE.test(piece)) return null;
    const value = Number(piece);
    if (!Number.isSafeInteger(value) || value < 1) return null;
    dims.push(value);
  }
  return dims.length ? dims : null;
}

function optionLabelHtml(question, input) {
  const label = Array.from(question.querySelectorAll("label[for]"))
    .find((node) => input.id && node.htmlFor === input.id);
  return label ? label.innerHTML : escapeText(input.value);
}

function setFeedback(question, state, html) {
  const feedback = question.querySelector(".mha-quiz-feedback");
  if (!feedback) return;
  feedback.setAttribute("data-state", state);
  feedback.innerHTML = html;
  const field = question.querySelector('input[type="text"]');
  if (field) {
    if (state === "invalid") field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
  }
}

function invalid(question, kind) {
  setFeedback(question, "invalid", `<p><strong>Invalid answer:</strong> ${MESSAGES[kind]}</p>`);
}

function verdict(correct) {
  return correct ? "<strong>✓ Correct.</strong>" : "<strong>✗ Not quite.</strong>";
}

function gradeChoice(question, entry) {
  const chosen = Array.from(question.querySelectorAll("input[type=radio], input[type=checkbox]"))
    .filter((input) => input.checked);
  if (chosen.length === 0) return invalid(question, entry.type);
  const options = Array.isArray(entry.options) ? entry.options : [];
  const picked = new Set();
  for (const input of chosen) {
    const index = Number(input.value);
    if (!Number.isInteger(index) || index < 0 || index >= options.length) {
      return invalid(question, "broken");
    }
    picked.add(index);
  }
  const wanted = new Set();
  options.forEach((option, index) => {
    if (option && option.correct === true) wanted.add(index);
  });
  const missed = Array.from(wanted).filter((index) => !picked.has(index)).length;
  const wrong = Array.from(picked).filter((index) => !wanted.has(index)).length;
  const correct = missed === 0 && wrong === 0;

  const parts = [`<p>${verdict(correct)}`];
  if (!correct && entry.type === "multiple") {
    const notes = [];
    if (wrong > 0) notes.push(`${wrong} of your choices ${wrong === 1 ? "is" : "are"} not true`);
    if (missed > 0) {
      notes.push(`${missed} true statement${missed === 1 ? " is" : "s are"} still unselected`);
    }
    parts.push(` ${notes.join(", and ")}. Read the notes below and try again.`);
  } else if (!correct) {
    parts.push(" Read the note below and try again.");
  }
  parts.push("</p><ul>");
  for (const input of chosen) {
    // In the order the learner sees them (after shuffling).
    const option = options[Number(input.value)] || {};
    const mark = option.correct === true ? "✓" : "✗";
    parts.push(
      `<li><span class="mha-quiz-mark">${mark}</span> <span class="mha-quiz-chosen">` +
        `${optionLabelHtml(question, input)}</span> — ${option.explain || ""}</li>`,
    );
  }
  parts.push("</ul>");
  if (correct && entry.explain) parts.push(`<p>${entry.explain}</p>`);
  setFeedback(question, correct ? "correct" : "incorrect", parts.join(""));
  return undefined;
}

function gradeText(question, entry) {
  const field = question.querySelector('input[type="text"]');
  if (!field) return invalid(question, "broken");
  let correct;
  if (entry.type === "numeric") {
    const value = parseNumber(field.value);
    if (value === null) return invalid(question, "numeric");
    const answer = Number(entry.answer);
    const tolerance = Number(entry.tolerance);
    const tol = Number.isFinite(tolerance) && tolerance >= 0
      ? tolerance
      : 1e-9 * Math.max(1, Math.abs(answer));
    correct = Math.abs(value - answer) <= tol;
  } else {
    const dims = parseShape(field.value);
    if (dims === null) return invalid(question, "shape");
    const answer = Array.isArray(entry.answer) ? entry.answer : [];
    correct = dims.length === answer.length && dims.every((d, i) => d === answer[i]);
  }
  const text = correct
    ? `<p>${verdict(true)} ${entry.explain || ""}</p>`
    : `<p>${verdict(false)} That is not the expected answer; think it through and try again.</p>`;
  setFeedback(question, correct ? "correct" : "incorrect", text);
  return undefined;
}

function check(question, key) {
  try {
    const id = question.getAttribute("data-question-id");
    const entry = key && Object.prototype.hasOwnProperty.call(key, id) ? key[id] : null;
    if (!entry || typeof entry !== "object") return invalid(question, "broken");
    if (entry.type === "single" || entry.type === "multiple") return gradeChoice(question, entry);
    if (entry.type === "numeric" || entry.type === "shape") return gradeText(question, entry);
    return invalid(question, "broken");
  } catch (_error) {
    return invalid(question, "broken");
  }
}

function hydrateRoot(root) {
  if (root.hasAttribute("data-hydrated")) return;
  root.setAttribute("data-hydrated", "true");
  const key = readKey(root);
  deduplicateIds(root);
  for (const question of root.querySelectorAll("[data-question-id]")) {
    shuffleOptions(question);
    const button = question.querySelector("button.mha-quiz-check") ||
      question.querySelector('button[type="button"]');
    if (button) button.addEventListener("click", () => check(question, key));
    for (const field of question.querySelectorAll('input[type="text"]')) {
      field.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.isComposing) {
          event.preventDefault();
          check(question, key);
        }
      });
    }
  }
}

/** Hydrate every quiz inside `container` (and the container itself if it is one). */
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

export default {
  render({ model, el }) {
    const draw = () => {
      el.innerHTML = model.get("html") || "";
      hydrate(el);
    };
    draw();
    model.on("change:html", draw);
    return () => model.off("change:html", draw);
  },
};
