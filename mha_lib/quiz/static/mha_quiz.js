// Quiz behaviour for "Multi-Head Attention, step by step".
//
// One ES module, two uses:
//  (a) anywidget front-end: `export default { render }` puts the widget's `html` trait
//      (built by mha_lib/quiz/render.py) into the view and hydrates it;
//  (b) static site: loaded as <script type="module" src="_static/mha_quiz.js">, it hydrates
//      every [data-mha-quiz] on the page, and the "Your progress" table [data-mha-progress]
//      (built by mha_lib/quiz/progress.py).
// Hydration is idempotent (data-hydrated). Grading runs here, from the JSON answer key in
// the markup; no network, no globals, no console output.
//
// Numbers: a point is always the decimal point. Thousands may be grouped the way the lessons
// print them, 1,088 or 98 496 (a comma, a space, a no-break, narrow no-break or thin space, or
// an underscore, between groups of exactly three digits, one kind per number). Anything else
// (1,08 or a decimal comma as in 0,5 or 1.088,5) gets a polite "Invalid answer" message.
//
// Targeted feedback: a numeric or shape answer that matches one of the key's `feedback`
// entries (a predictable mistake, e.g. 3 instead of 9 for quadratic growth) shows that
// entry's text instead of the generic "Not quite".
//
// Progress: each Check stores the learner's answer in the browser's local storage (Web
// Storage, same origin) under STORAGE_KEY as
//   {"version": 2, "questions": {"<question id>": {"quiz": "<quiz id>",
//     "answer": [<option values>] | "<typed text>", "state": "correct|incorrect|invalid",
//     "updated": "<ISO time>"}}}
// and hydrating a quiz restores the inputs and re-grades them. Storage that is missing,
// blocked, full or corrupt only turns persistence off: the quiz still works, silently.
// Answers are found by question id, which is unique across the course, so they survive a
// lesson's renumbering. Version 1 (before lesson 4 was split into 04_softmax and 05_masks)
// is translated on reading, through V1_MIGRATION below; reading alone never writes, and the
// next Check stores everything as version 2. Re-ordering a bank's options again later needs
// a version 3 and its own table: a stored choice answer is a list of option indices.

const ROOT_SELECTOR = "[data-mha-quiz]";
const PROGRESS_SELECTOR = "[data-mha-progress]";
const STORAGE_KEY = "mha-course-progress-v1";
const QUESTION_ID_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const SAVED_STATES = new Set(["correct", "incorrect", "invalid"]);
const MAX_SAVED_TEXT = 500;
const MAX_SAVED_CHOICES = 64;
const UNKNOWN = "\u2013";
const PROGRESS_VERSION = 2;
const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
// sign, first group of 1-3 digits, then groups of 3 after one kind of separator, then decimals
const GROUPED_RE = /^([+-]?)(\d{1,3})((?:([,_ \u00a0\u202f\u2009])\d{3})(?:\4\d{3})*)(\.\d+)?$/;
const DECIMAL_COMMA_RE = /^[+-]?(?:\d{1,3}(?:[. \u00a0\u202f\u2009]\d{3})*|\d+)?,\d+$/;
const DIM_RE = /^\d+$/;

const TEXT_SELECTOR = "[data-mha-text]";
const PAGE_TEXT_ID = "mha-ui-text";
const PLACEHOLDER_RE = /\{(\w+)\}/g;

// Interface strings. This file holds none: they come from mha_lib/ui_text/<lang>.json, found
// in the markup: the `data-mha-text` of the quiz or of an ancestor (a non-English quiz
// carries its own; the live widget puts its table on the view), else the page's
// <script type="application/json" id="mha-ui-text"> (the course site, every page). The
// language is the nearest `lang` attribute; plural forms (key_one, key_other) follow
// Intl.PluralRules of that language. A key with no string shows as the key itself.
function tableFrom(raw) {
  if (typeof raw !== "string") return null;
  try {
    const table = JSON.parse(raw);
    const usable = table && typeof table === "object" && !Array.isArray(table);
    return usable && Object.keys(table).length ? table : null;
  } catch (_error) {
    return null;
  }
}

export function translator(node) {
  const holder = node && typeof node.closest === "function" ? node.closest(TEXT_SELECTOR) : null;
  let table = holder ? tableFrom(holder.getAttribute("data-mha-text")) : null;
  const doc = node ? node.ownerDocument || node : null;
  if (!table && doc && typeof doc.getElementById === "function") {
    const script = doc.getElementById(PAGE_TEXT_ID);
    table = script ? tableFrom(script.textContent) : null;
  }
  const strings = table || {};
  const tagged = node && typeof node.closest === "function" ? node.closest("[lang]") : null;
  const lang = (tagged && tagged.getAttribute("lang")) || "en";
  let rules = null;
  try {
    rules = new Intl.PluralRules(lang);
  } catch (_error) {
    rules = null;
  }
  const t = (key, values = {}) => {
    let name = key;
    if (typeof values.count === "number") {
      const form = rules ? rules.select(values.count) : "other";
      name = Object.prototype.hasOwnProperty.call(strings, `${key}_${form}`)
        ? `${key}_${form}`
        : `${key}_other`;
    }
    const template = Object.prototype.hasOwnProperty.call(strings, name) ? strings[name] : name;
    return String(template).replace(PLACEHOLDER_RE, (whole, field) =>
      Object.prototype.hasOwnProperty.call(values, field) ? String(values[field]) : whole);
  };
  return t;
}

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

/**
 * Read a typed number: {value} when it is one, else {error: "numeric" | "decimalComma"} (the
 * message to show). Accepts 42, -3, .5, 1e-3, and thousands grouped as the lessons print them.
 */
export function parseNumber(raw) {
  const text = String(raw).trim().replace(/\u2212/g, "-");
  let plain = null;
  if (NUMBER_RE.test(text)) {
    plain = text;
  } else {
    const grouped = GROUPED_RE.exec(text);
    if (grouped) {
      const [, sign, first, rest, separator, decimals] = grouped;
      plain = sign + first + rest.split(separator).join("") + (decimals || "");
    }
  }
  if (plain === null) {
    return { error: DECIMAL_COMMA_RE.test(text) ? "decimalComma" : "numeric" };
  }
  const value = Number(plain);
  return Number.isFinite(value) ? { value } : { error: "numeric" };
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
  const t = translator(question);
  const message = t(`quiz.invalid.${kind}`);
  setFeedback(question, "invalid", `<p>${t("quiz.invalid", { message })}</p>`);
  return kind === "broken" ? "broken" : "invalid";
}

function verdict(t, correct) {
  return `<strong>${t(correct ? "quiz.correct" : "quiz.wrong")}</strong>`;
}

function gradeChoice(question, entry) {
  const chosen = choiceInputs(question).filter((input) => input.checked);
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

  const t = translator(question);
  const parts = [`<p>${verdict(t, correct)}`];
  if (!correct && entry.type === "multiple") {
    const notes = [];
    if (wrong > 0) notes.push(t("quiz.wrong_choices", { count: wrong }));
    if (missed > 0) notes.push(t("quiz.missed", { count: missed }));
    parts.push(t("quiz.notes_retry", { notes: notes.join(t("quiz.notes_joiner")) }));
  } else if (!correct) {
    parts.push(t("quiz.note_retry"));
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
  const state = correct ? "correct" : "incorrect";
  setFeedback(question, state, parts.join(""));
  return state;
}

function toleranceOf(value, answer) {
  const tolerance = Number(value);
  return Number.isFinite(tolerance) && tolerance >= 0
    ? tolerance
    : 1e-9 * Math.max(1, Math.abs(answer));
}

function sameDims(dims, answer) {
  return Array.isArray(answer) && dims.length === answer.length &&
    dims.every((d, i) => d === answer[i]);
}

// The first targeted feedback whose wrong answer the learner gave, or null.
function targetedFeedback(entry, given) {
  const list = Array.isArray(entry.feedback) ? entry.feedback : [];
  for (const item of list) {
    if (!item || typeof item !== "object" || typeof item.text !== "string") continue;
    if (entry.type === "numeric") {
      const answer = Number(item.answer);
      if (!Number.isFinite(answer)) continue;
      const tol = toleranceOf(item.tolerance, answer);
      if (Math.abs(given - answer) <= tol) return item.text;
    } else if (sameDims(given, item.answer)) {
      return item.text;
    }
  }
  return null;
}

function gradeText(question, entry) {
  const field = question.querySelector('input[type="text"]');
  if (!field) return invalid(question, "broken");
  let correct;
  let given;
  if (entry.type === "numeric") {
    const parsed = parseNumber(field.value);
    if (parsed.error) return invalid(question, parsed.error);
    given = parsed.value;
    const answer = Number(entry.answer);
    correct = Math.abs(given - answer) <= toleranceOf(entry.tolerance, answer);
  } else {
    given = parseShape(field.value);
    if (given === null) return invalid(question, "shape");
    correct = sameDims(given, entry.answer);
  }
  const hint = correct ? null : targetedFeedback(entry, given);
  const t = translator(question);
  const wrongVerdict = verdict(t, false);
  let text;
  if (correct) text = `<p>${verdict(t, true)} ${entry.explain || ""}</p>`;
  else if (hint) {
    text = `<p class="mha-quiz-targeted">${t("quiz.targeted_retry", { verdict: wrongVerdict, hint })}</p>`;
  } else text = `<p>${t("quiz.numeric_wrong", { verdict: wrongVerdict })}</p>`;
  const state = correct ? "correct" : "incorrect";
  setFeedback(question, state, text);
  return state;
}

function own(object, name) {
  return object && Object.prototype.hasOwnProperty.call(object, name) ? object[name] : null;
}

function entryFor(question, key) {
  const entry = own(key, question.getAttribute("data-question-id"));
  return entry && typeof entry === "object" ? entry : null;
}

function isChoice(entry) {
  return entry.type === "single" || entry.type === "multiple";
}

function choiceInputs(question) {
  return Array.from(question.querySelectorAll("input[type=radio], input[type=checkbox]"));
}

/** Grade one question and show its feedback; returns the new data-state (or "broken"). */
function check(question, key) {
  try {
    const entry = entryFor(question, key);
    if (!entry) return invalid(question, "broken");
    if (entry.type === "single" || entry.type === "multiple") return gradeChoice(question, entry);
    if (entry.type === "numeric" || entry.type === "shape") return gradeText(question, entry);
    return invalid(question, "broken");
  } catch (_error) {
    return invalid(question, "broken");
  }
}

// --- progress in the browser's local storage -------------------------------------------------

// The local storage of the window showing `node`, or null when there is none or reading it
// throws (blocked storage, sandboxed frames, some private modes). The one place it is read.
function storageArea(node) {
  try {
    const doc = node ? node.ownerDocument || node : null;
    const view = doc ? doc.defaultView : null;
    const area = view ? view.localStorage : null;
    if (area && typeof area.getItem === "function" && typeof area.setItem === "function") {
      return area;
    }
  } catch (_error) {
    // no storage: no persistence
  }
  return null;
}

// One stored answer, checked field by field; anything unexpected -> null (ignored).
function cleanEntry(entry) {
  if (!entry || typeof entry !== "object" || Array.isArray(entry)) return null;
  if (!SAVED_STATES.has(entry.state)) return null;
  const { answer } = entry;
  const text = typeof answer === "string" && answer.length <= MAX_SAVED_TEXT;
  const choices = Array.isArray(answer) && answer.length <= MAX_SAVED_CHOICES &&
    answer.every((value) => Number.isSafeInteger(value) && value >= 0);
  if (!text && !choices) return null;
  return {
    quiz: typeof entry.quiz === "string" ? entry.quiz : "",
    answer: choices ? answer.slice() : answer,
    state: entry.state,
    updated: typeof entry.updated === "string" ? entry.updated : "",
  };
}

// --- version 1 -> 2: the lessons renumbered, lesson 4 split, several banks revised ---------
// Version 1 stored a choice answer as option indices in the bank of its time. For each
// question whose options were re-ordered or rewritten since, V1_MIGRATION maps old index ->
// new index (-1: that option is gone, so an answer that chose it is dropped); null drops every
// stored answer of a question that was removed or rewritten. Questions not listed are
// unchanged. tests/test_progress.py checks this table against the banks.
// BEGIN V1_MIGRATION (JSON)
const V1_MIGRATION = {
  "inputs-repeated-the-rows": [2, 1, 0, 3],
  "qkv-why-separate-query-key": [1, 3, 2, -1],
  "qkv-projection-facts": [0, 1, -1, 3, 4],
  "qkv-forgot-transpose": [0, 2, 1, 3],
  "scores-why-sqrt-dk": [1, 2, 0, 3],
  "scores-divided-by-dk": [0, 2, 1, 3],
  "softmax-axis-for-scores": [2, 0, 3, 1],
  "softmax-large-logits-weight": null,
  "softmax-mask-polarity": [1, 0, 2, 3],
  "softmax-fully-masked-row": [3, 0, 1, 2],
  "weighted-output-row-meaning": [0, 2, 1, 3],
  "weighted-equal-values": [0, 2, 3, 1],
  "weighted-sdpa-facts": null,
  "heads-reshape-only-row": [0, 2, 3, 1],
  "heads-column-blocks": [0, 1, 2, 3, -1],
  "heads-view-after-transpose": [1, 0, 2, 3],
  "concat-purpose-of-heads": [0, 2, 1, 3, 4],
  "concat-output-projection-facts": null,
  "concat-packed-in-proj-weight": [0, 1, 3, 2],
  "module-mask-polarity-torch": null,
  "module-contiguous-before-view": null,
  "module-padding-mask-facts": null,
  "module-key-bias-gradient": [0, 1, 3, 2],
  "module-torch-default-weights": [3, 0, 1, 2]
};
// END V1_MIGRATION
// BEGIN V1_QUIZ_RENAMES (JSON)
const V1_QUIZ_RENAMES = {
  "05_weighted_sum": "06_weighted_sum",
  "06_multiple_heads": "07_multiple_heads",
  "07_concat_and_output_projection": "08_concat_and_output_projection",
  "08_the_module": "09_the_module"
};
// END V1_QUIZ_RENAMES
// BEGIN V1_MASK_QUESTIONS (JSON)
const V1_MASK_QUESTIONS = [
  "softmax-mask-polarity",
  "softmax-applying-a-mask",
  "softmax-fully-masked-row",
  "softmax-padding-mask-broadcast-shape"
];
// END V1_MASK_QUESTIONS

function migrateQuizV1(quiz, id) {
  if (quiz === "04_softmax_and_masks") {
    return V1_MASK_QUESTIONS.includes(id) ? "05_masks" : "04_softmax";
  }
  const renamed = own(V1_QUIZ_RENAMES, quiz);
  return typeof renamed === "string" ? renamed : quiz;
}

// One version-1 answer in today's banks, or null when it cannot be carried over.
function migrateEntryV1(id, entry) {
  const moved = { ...entry, quiz: migrateQuizV1(entry.quiz, id) };
  if (!Object.prototype.hasOwnProperty.call(V1_MIGRATION, id)) return moved;
  const map = V1_MIGRATION[id];
  if (!Array.isArray(map)) return null; // question removed or rewritten
  if (!Array.isArray(entry.answer)) return null; // typed text cannot answer a choice question
  const answer = [];
  for (const old of entry.answer) {
    const index = old < map.length ? map[old] : -1;
    if (!Number.isSafeInteger(index) || index < 0) return null; // that option is gone
    answer.push(index);
  }
  moved.answer = answer.sort((a, b) => a - b);
  return moved;
}

/**
 * Stored progress as parsed from JSON -> {version: 2, questions} with every entry checked and,
 * for version 1 (or no version), translated to today's banks. Anything unreadable is dropped.
 */
export function migrateProgress(parsed) {
  const progress = { version: PROGRESS_VERSION, questions: {} };
  const saved = parsed && typeof parsed === "object" ? parsed.questions : null;
  if (!saved || typeof saved !== "object" || Array.isArray(saved)) return progress;
  const fromV1 = parsed.version !== PROGRESS_VERSION;
  for (const id of Object.keys(saved)) {
    if (!QUESTION_ID_RE.test(id)) continue; // also keeps "__proto__" and friends out
    let entry = cleanEntry(saved[id]);
    if (entry && fromV1) entry = migrateEntryV1(id, entry);
    if (entry) progress.questions[id] = entry;
  }
  return progress;
}

/** The stored progress ({version, questions}), empty if absent or corrupt; null: no storage. */
function readProgress(node) {
  const area = storageArea(node);
  if (!area) return null;
  let raw;
  try {
    raw = area.getItem(STORAGE_KEY);
  } catch (_error) {
    return null;
  }
  if (typeof raw !== "string") return migrateProgress(null);
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch (_error) {
    return migrateProgress(null); // corrupt: start again (the next Check overwrites it)
  }
  return migrateProgress(parsed);
}

function writeProgress(node, progress) {
  const area = storageArea(node);
  if (!area) return false;
  try {
    area.setItem(STORAGE_KEY, JSON.stringify(progress));
    return true;
  } catch (_error) {
    return false; // quota exceeded or storage blocked: keep working without it
  }
}

function clearProgress(node) {
  const area = storageArea(node);
  if (!area) return false;
  try {
    area.removeItem(STORAGE_KEY);
    return true;
  } catch (_error) {
    return false;
  }
}

function currentAnswer(question, entry) {
  if (isChoice(entry)) {
    return choiceInputs(question)
      .filter((input) => input.checked)
      .map((input) => Number(input.value))
      .sort((a, b) => a - b);
  }
  const field = question.querySelector('input[type="text"]');
  return field ? field.value : "";
}

// Store what was just checked. An empty answer that was refused (nothing chosen, nothing
// typed) removes the question's stored answer instead: there is nothing to restore.
function remember(question, key, quizId, state) {
  try {
    const entry = entryFor(question, key);
    const id = question.getAttribute("data-question-id") || "";
    if (!entry || !SAVED_STATES.has(state) || !QUESTION_ID_RE.test(id)) return;
    const answer = currentAnswer(question, entry);
    const empty = Array.isArray(answer) ? answer.length === 0 : answer.trim() === "";
    const progress = readProgress(question);
    if (!progress) return;
    if ((state === "invalid" && empty) || cleanEntry({ answer, state }) === null) {
      if (!own(progress.questions, id)) return;
      delete progress.questions[id];
    } else {
      const updated = new Date().toISOString();
      progress.questions[id] = { quiz: quizId, answer, state, updated };
    }
    writeProgress(question, progress);
  } catch (_error) {
    // persistence is a convenience; grading has already happened
  }
}

// Put a stored answer back into the inputs; false if it no longer fits the question.
function putAnswer(question, entry, answer) {
  if (isChoice(entry)) {
    if (!Array.isArray(answer)) return false;
    const inputs = choiceInputs(question);
    const wanted = new Set(answer.map(String));
    if (entry.type === "single" && wanted.size > 1) return false;
    const known = new Set(inputs.map((input) => input.value));
    for (const value of wanted) if (!known.has(value)) return false;
    for (const input of inputs) input.checked = wanted.has(input.value);
    return true;
  }
  const field = question.querySelector('input[type="text"]');
  if (!field || typeof answer !== "string") return false;
  field.value = answer;
  return true;
}

// Restore every stored answer of this quiz and grade it again (the key in the page decides;
// a stored state that no longer matches it is updated, an answer that no longer fits is
// dropped).
function restore(root, key, quizId) {
  try {
    const progress = readProgress(root);
    if (!progress) return;
    let changed = false;
    for (const question of root.querySelectorAll("[data-question-id]")) {
      const id = question.getAttribute("data-question-id");
      const saved = own(progress.questions, id);
      const entry = entryFor(question, key);
      if (!saved || !entry) continue;
      if (!putAnswer(question, entry, saved.answer)) {
        delete progress.questions[id];
        changed = true;
        continue;
      }
      const state = check(question, key);
      if (SAVED_STATES.has(state) && state !== saved.state) {
        saved.state = state;
        changed = true;
      }
      if (quizId && saved.quiz !== quizId) {
        saved.quiz = quizId; // the question now lives in this quiz (a renamed lesson)
        changed = true;
      }
    }
    if (changed) writeProgress(root, progress);
  } catch (_error) {
    // a quiz that cannot be restored starts fresh
  }
}

// --- quizzes ---------------------------------------------------------------------------------

function hydrateRoot(root) {
  if (root.hasAttribute("data-hydrated")) return;
  root.setAttribute("data-hydrated", "true");
  const key = readKey(root);
  const quizId = root.getAttribute("data-mha-quiz") || "";
  deduplicateIds(root);
  for (const question of root.querySelectorAll("[data-question-id]")) {
    shuffleOptions(question);
    const run = () => remember(question, key, quizId, check(question, key));
    const button = question.querySelector("button.mha-quiz-check") ||
      question.querySelector('button[type="button"]');
    if (button) button.addEventListener("click", run);
    for (const field of question.querySelectorAll('input[type="text"]')) {
      field.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.isComposing) {
          event.preventDefault();
          run();
        }
      });
    }
  }
  restore(root, key, quizId);
}

// --- the "Your progress" table ---------------------------------------------------------------

function setCell(row, selector, value) {
  const cell = row ? row.querySelector(selector) : null;
  if (cell) cell.textContent = String(value);
}

function summaryText(t, progress, answered, correct, total) {
  if (!progress) return t("progress.no_storage");
  // Plural forms follow the number of questions: "1 question", "13 questions".
  if (answered === 0) return t("progress.none_yet", { count: total, total });
  return t("progress.answered", { count: total, total, answered, correct });
}

// Fill the Answered and Correct columns from storage; returns whether storage is usable.
function fillProgress(root) {
  const progress = readProgress(root);
  const saved = progress ? progress.questions : {};
  let answered = 0;
  let correct = 0;
  let total = 0;
  for (const row of root.querySelectorAll("tbody tr[data-question-ids]")) {
    const ids = (row.getAttribute("data-question-ids") || "").split(/\s+/).filter(Boolean);
    let rowAnswered = 0;
    let rowCorrect = 0;
    for (const id of ids) {
      const entry = own(saved, id);
      if (entry && (entry.state === "correct" || entry.state === "incorrect")) rowAnswered += 1;
      if (entry && entry.state === "correct") rowCorrect += 1;
    }
    setCell(row, ".mha-progress-answered", progress ? rowAnswered : UNKNOWN);
    setCell(row, ".mha-progress-correct", progress ? rowCorrect : UNKNOWN);
    answered += rowAnswered;
    correct += rowCorrect;
    total += ids.length;
  }
  const totals = root.querySelector("tfoot tr");
  setCell(totals, ".mha-progress-answered", progress ? answered : UNKNOWN);
  setCell(totals, ".mha-progress-correct", progress ? correct : UNKNOWN);
  const summary = root.querySelector(".mha-progress-summary");
  if (summary) {
    summary.textContent = summaryText(translator(root), progress, answered, correct, total);
  }
  return progress !== null;
}

function hydrateProgress(root) {
  if (root.hasAttribute("data-hydrated")) return;
  root.setAttribute("data-hydrated", "true");
  const refresh = () => fillProgress(root);
  const usable = refresh();
  const t = translator(root);
  const actions = root.querySelector(".mha-progress-actions");
  const reset = root.querySelector(".mha-progress-reset");
  const ask = root.querySelector(".mha-progress-confirm");
  const yes = root.querySelector(".mha-progress-yes");
  const cancel = root.querySelector(".mha-progress-cancel");
  const status = root.querySelector(".mha-progress-status");
  const announce = (text) => {
    if (status) status.textContent = text;
  };
  if (actions && reset && ask && yes && cancel) {
    actions.hidden = !usable;
    const close = (message) => {
      ask.hidden = true;
      reset.hidden = false;
      reset.focus();
      announce(message);
    };
    reset.addEventListener("click", () => {
      reset.hidden = true;
      ask.hidden = false;
      announce("");
      cancel.focus(); // the safe choice has the focus; "Yes, reset" is one Shift+Tab away
    });
    yes.addEventListener("click", () => {
      const done = clearProgress(root);
      refresh();
      close(t(done ? "progress.reset_done" : "progress.reset_failed"));
    });
    cancel.addEventListener("click", () => close(t("progress.reset_cancelled")));
    ask.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close(t("progress.reset_cancelled"));
      }
    });
  }
  const view = root.ownerDocument ? root.ownerDocument.defaultView : null;
  if (view && typeof view.addEventListener === "function") {
    // Answers given in another tab, and pages restored from the back-forward cache.
    view.addEventListener("storage", (event) => {
      if (event.key === null || event.key === STORAGE_KEY) refresh();
    });
    view.addEventListener("pageshow", (event) => {
      if (event.persisted) refresh();
    });
  }
}

/** Hydrate every quiz and progress table inside `container` (and the container itself). */
export function hydrate(container) {
  if (!container || typeof container.querySelectorAll !== "function") return;
  const matches = (selector) =>
    typeof container.matches === "function" && container.matches(selector);
  if (matches(ROOT_SELECTOR)) hydrateRoot(container);
  for (const root of container.querySelectorAll(ROOT_SELECTOR)) hydrateRoot(root);
  if (matches(PROGRESS_SELECTOR)) hydrateProgress(container);
  for (const root of container.querySelectorAll(PROGRESS_SELECTOR)) hydrateProgress(root);
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
