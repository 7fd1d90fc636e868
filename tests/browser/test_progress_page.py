"""Progress that survives a reload, in a real browser, on a tiny site of our own.

Two lesson pages carry quizzes rendered by ``render_quiz_html`` from banks in
mha_lib/quiz/banks/ (the first two; a small made-up second bank while the course has only
one), and a progress page carries the table of :mod:`mha_lib.quiz.progress`. All of it is
served on 127.0.0.1 with ``mha_quiz.js``/``mha_quiz.css`` copied from the package; every
request to another host is blocked and counted. Console output, page errors, failed requests
and dialogs fail the test.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from datetime import datetime
from pathlib import Path

import pytest

from mha_lib.quiz import load_bank, quiz_dir, render_quiz_html
from mha_lib.quiz.progress import STORAGE_KEY, lesson_quizzes, render_progress_html

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "mha_lib" / "quiz" / "static"
SCREENSHOTS = REPO / "_build" / "screenshots"

DEMO_BANK = [
    {
        "id": "demo-heads-concatenated",
        "type": "single",
        "prompt": "What happens to the outputs of the heads before the output projection?",
        "options": [
            {"text": "They are summed.", "correct": False, "explain": "Summing mixes them."},
            {"text": "They are concatenated.", "correct": True, "explain": "Side by side."},
            {"text": "Only the best head is kept.", "correct": False, "explain": "All count."},
        ],
    },
    {
        "id": "demo-d-head",
        "type": "numeric",
        "prompt": "With `d_model = 8` and `num_heads = 2`, what is `d_head`?",
        "answer": 4,
        "explain": "8 / 2 = 4.",
    },
    {
        "id": "demo-facts",
        "type": "multiple",
        "prompt": "Which statements are true?",
        "options": [
            {"text": "Each head has its own projections.", "correct": True, "explain": "Yes."},
            {"text": "Heads share one attention matrix.", "correct": False, "explain": "No."},
            {"text": "The output projection mixes heads.", "correct": True, "explain": "Yes."},
        ],
    },
]


def _lesson_banks() -> dict[str, list[dict]]:
    """The course's first two banks; a made-up second one while the course has only one."""
    stems = sorted(p.stem for p in quiz_dir().glob("*.yml"))[:2]
    assert stems and stems[0] == "01_input_vectors"
    banks = {stem: load_bank(stem) for stem in stems}
    if len(banks) < 2:
        banks["02_demo"] = DEMO_BANK
    return banks


BANKS = _lesson_banks()
STEM_A, STEM_B = sorted(BANKS)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="../_static/mha_quiz.css">
<script type="module" src="../_static/mha_quiz.js"></script>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 52em; margin: 1em auto;
         padding: 0 1em; background: #fff; color: #222; }}
  a {{ color: #0b57a4; }}
  html[data-theme="dark"] body {{ background: #14181e; color: #e3e6ea; }}
  html[data-theme="dark"] a {{ color: #8ab4f8; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p>{intro}</p>
{body}
</main>
</body>
</html>
"""

BLOCK_STORAGE = """
Object.defineProperty(window, "localStorage", {
  configurable: true,
  get() { throw new DOMException("The operation is insecure.", "SecurityError"); },
});
"""
FULL_STORAGE = """
Storage.prototype.setItem = function () {
  throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
};
"""
NO_STORAGE = 'Object.defineProperty(window, "localStorage", {configurable: true, value: null});'


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # signature of the base class
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("progress_site")
    for folder in ("_static", "lessons", "book"):
        (root / folder).mkdir()
    for name in ("mha_quiz.js", "mha_quiz.css"):
        shutil.copy(STATIC / name, root / "_static" / name)
    quiz_html = {stem: render_quiz_html(bank, stem) for stem, bank in BANKS.items()}
    for stem, markup in quiz_html.items():
        (root / "lessons" / f"{stem}.html").write_text(
            PAGE.format(title=f"Lesson {stem}", intro="Lesson text.", body=markup),
            encoding="utf-8",
        )
    (root / "lessons" / "empty.html").write_text(
        PAGE.format(title="Empty", intro="The widget test mounts a quiz here.", body=""),
        encoding="utf-8",
    )
    lessons = lesson_quizzes(
        BANKS, notebooks_dir=REPO / "notebooks", href=lambda stem: f"../lessons/{stem}.html"
    )
    (root / "book" / "progress.html").write_text(
        PAGE.format(
            title="Your progress",
            intro="What you have answered so far.",
            body=render_progress_html(lessons),
        ),
        encoding="utf-8",
    )
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "quiz_html": quiz_html}
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class Session:
    """One browser context (one profile: its own localStorage) with every event recorded."""

    def __init__(self, browser, site, init_script=None):
        self.site = site
        self.events = {"console": [], "pageerror": [], "blocked": [], "dialog": [], "failed": []}
        self.context = browser.new_context(viewport={"width": 1000, "height": 900})
        if init_script:
            self.context.add_init_script(init_script)
        prefix = site["url"] + "/"

        def route(route):
            if route.request.url.startswith(prefix):
                route.continue_()
            else:
                self.events["blocked"].append(route.request.url)
                route.abort()

        self.context.route("**/*", route)
        self.page = self.new_page()

    def new_page(self):
        page = self.context.new_page()
        events = self.events
        page.on("console", lambda msg: events["console"].append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda err: events["pageerror"].append(str(err)))
        page.on("requestfailed", lambda req: events["failed"].append(req.url))
        page.on(
            "response",
            lambda res: res.status >= 400 and events["failed"].append(f"{res.status} {res.url}"),
        )

        def on_dialog(dialog):
            events["dialog"].append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        return page

    def assert_clean(self):
        assert self.events == {
            "console": [],
            "pageerror": [],
            "blocked": [],
            "dialog": [],
            "failed": [],
        }

    def lesson(self, stem, page=None):
        page = page or self.page
        page.goto(f"{self.site['url']}/lessons/{stem}.html")
        expect(page.locator(f'[data-mha-quiz="{stem}"]')).to_have_attribute("data-hydrated", "true")
        return page

    def progress(self, page=None):
        page = page or self.page
        page.goto(f"{self.site['url']}/book/progress.html")
        expect(page.locator("[data-mha-progress]")).to_have_attribute("data-hydrated", "true")
        return page

    def stored(self, page=None):
        raw = (page or self.page).evaluate("key => localStorage.getItem(key)", STORAGE_KEY)
        return None if raw is None else json.loads(raw)


@pytest.fixture
def session(browser, site):
    sessions = []

    def make(init_script=None):
        sessions.append(Session(browser, site, init_script))
        return sessions[-1]

    yield make
    for s in sessions:
        s.context.close()
    for s in sessions:
        s.assert_clean()


# --- answering ------------------------------------------------------------------------------


def answer_for(q, outcome):
    """The learner's input that makes question `q` come out as `outcome`."""
    kind, options = q["type"], q.get("options", [])
    right = outcome == "correct"
    if kind == "single":
        return {next(k for k, o in enumerate(options) if o["correct"] == right)}
    if kind == "multiple":
        wanted = {k for k, o in enumerate(options) if o["correct"]}
        return (
            wanted
            if right
            else wanted | {next(k for k, o in enumerate(options) if not o["correct"])}
        )
    if kind == "numeric":
        if outcome == "invalid":
            return "seventy-two"
        step = max(1.0, abs(q["answer"]), 10 * q.get("tolerance", 0))
        return str(q["answer"] if right else q["answer"] + step)
    if outcome == "invalid":
        return "ten by eight"
    dims = q["answer"] if right else [q["answer"][0] + 1, *q["answer"][1:]]
    return "(" + ", ".join(map(str, dims)) + ")"


def question(page, qid):
    return page.locator(f'[data-question-id="{qid}"]')


def feedback(page, qid):
    return question(page, qid).locator(".mha-quiz-feedback")


def give(page, q, value, state):
    loc = question(page, q["id"])
    if isinstance(value, set):
        for box in loc.locator("input[type=radio], input[type=checkbox]").all():
            chosen = int(box.get_attribute("value")) in value
            if box.get_attribute("type") == "checkbox":
                box.set_checked(chosen)
            elif chosen:
                box.check()
    else:
        loc.locator("input[type=text]").fill(value)
    loc.get_by_role("button", name="Check", exact=True).click()
    expect(feedback(page, q["id"])).to_have_attribute("data-state", state)


def shown_answer(page, q):
    loc = question(page, q["id"])
    if q["type"] in ("single", "multiple"):
        return {
            int(v)
            for v in loc.locator("input[type=radio], input[type=checkbox]").evaluate_all(
                "els => els.filter(e => e.checked).map(e => e.value)"
            )
        }
    return loc.locator("input[type=text]").input_value()


def plan_for(stem):
    """Right, wrong, untouched, in turn: some of each in every lesson."""
    return {q["id"]: ("correct", "incorrect", None)[i % 3] for i, q in enumerate(BANKS[stem])}


def answer_plan(page, stem, plan):
    given = {}
    for q in BANKS[stem]:
        outcome = plan.get(q["id"])
        if outcome:
            given[q["id"]] = answer_for(q, outcome)
            give(page, q, given[q["id"]], outcome)
    return given


def assert_restored(page, stem, plan, given):
    for q in BANKS[stem]:
        state = plan.get(q["id"])
        fb = feedback(page, q["id"])
        if state is None:
            assert fb.get_attribute("data-state") is None, q["id"]
            assert shown_answer(page, q) in (set(), ""), q["id"]
        else:
            expect(fb, q["id"]).to_have_attribute("data-state", state)
            assert fb.inner_text().strip(), q["id"]
            assert shown_answer(page, q) == given[q["id"]], q["id"]


def counts(page):
    """{quiz: (answered, correct, questions)} and the totals row, as the page shows them."""

    def cells(row):
        return tuple(
            row.locator(f".mha-progress-{name}").inner_text()
            for name in ("answered", "correct", "total")
        )

    rows = page.locator("[data-mha-progress] tbody tr")
    table = {
        rows.nth(i).get_attribute("data-quiz"): cells(rows.nth(i)) for i in range(rows.count())
    }
    return table, cells(page.locator("[data-mha-progress] tfoot tr"))


def expected_counts(plans):
    table = {}
    for stem, bank in BANKS.items():
        states = [plans.get(stem, {}).get(q["id"]) for q in bank]
        answered = sum(s in ("correct", "incorrect") for s in states)
        table[stem] = (str(answered), str(states.count("correct")), str(len(bank)))
    totals = tuple(str(sum(int(row[i]) for row in table.values())) for i in range(3))
    return table, totals


def focused(page):
    return page.evaluate(
        "() => ({tag: document.activeElement.tagName, text: document.activeElement.textContent})"
    )


# --- tests ----------------------------------------------------------------------------------


def test_answers_survive_a_reload(session):
    s = session()
    page = s.lesson(STEM_A)
    plan = plan_for(STEM_A)
    given = answer_plan(page, STEM_A, plan)

    stored = s.stored()
    assert set(stored) == {"version", "questions"} and stored["version"] == 1
    assert set(stored["questions"]) == {qid for qid, state in plan.items() if state}
    for qid, entry in stored["questions"].items():
        assert set(entry) == {"quiz", "answer", "state", "updated"}
        assert entry["quiz"] == STEM_A and entry["state"] == plan[qid]
        value = given[qid]
        assert entry["answer"] == (sorted(value) if isinstance(value, set) else value)
        assert datetime.fromisoformat(entry["updated"]).tzinfo is not None

    for _ in range(2):  # the options are shuffled again on every load; values still match
        page.reload()
        expect(page.locator("[data-mha-quiz]")).to_have_attribute("data-hydrated", "true")
        assert_restored(page, STEM_A, plan, given)
    # Restoring is not a new answer: nothing in storage changed.
    assert s.stored() == stored

    # A restored question can be answered again; the new answer replaces the stored one.
    q = next(q for q in BANKS[STEM_A] if plan[q["id"]] == "incorrect")
    give(page, q, answer_for(q, "correct"), "correct")
    plan[q["id"]], given[q["id"]] = "correct", answer_for(q, "correct")
    # An unreadable typed answer is kept as typed (and shown again as invalid) ...
    text_q = next(q for q in BANKS[STEM_A] if q["type"] in ("numeric", "shape"))
    give(page, text_q, answer_for(text_q, "invalid"), "invalid")
    plan[text_q["id"]], given[text_q["id"]] = "invalid", answer_for(text_q, "invalid")
    # ... but checking an empty answer leaves nothing to restore: the question starts fresh.
    empty_q = next(q for q in BANKS[STEM_A] if q["type"] == "multiple" and plan[q["id"]])
    give(page, empty_q, set(), "invalid")
    plan[empty_q["id"]] = None
    assert empty_q["id"] not in s.stored()["questions"]

    page.reload()
    expect(page.locator("[data-mha-quiz]")).to_have_attribute("data-hydrated", "true")
    assert_restored(page, STEM_A, plan, given)
    assert (
        question(page, text_q["id"]).locator("input[type=text]").get_attribute("aria-invalid")
        == "true"
    )

    # The other lesson is not affected by this one's answers.
    page = s.lesson(STEM_B)
    assert page.locator("[data-mha-quiz] .mha-quiz-feedback[data-state]").count() == 0


def test_progress_page_counts_and_keyboard_reset(session):
    s = session()
    page = s.progress()
    empty_table, empty_totals = expected_counts({})
    assert counts(page) == (empty_table, empty_totals)
    expect(page.locator(".mha-progress-summary")).to_have_text(
        f"You have not answered any of the {empty_totals[2]} questions yet."
    )

    plans = {STEM_A: plan_for(STEM_A), STEM_B: {BANKS[STEM_B][0]["id"]: "correct"}}
    for stem, plan in plans.items():
        answer_plan(s.lesson(stem), stem, plan)
    page = s.progress()
    table, totals = expected_counts(plans)
    assert counts(page) == (table, totals)
    assert int(totals[0]) >= 3 and int(totals[1]) >= 2 and totals[0] != totals[1]
    expect(page.locator(".mha-progress-summary")).to_have_text(
        f"You have answered {totals[0]} of the {totals[2]} questions, {totals[1]} of them"
        " correctly."
    )
    expect(page.locator(".mha-progress-actions")).to_be_visible()

    # The lesson links lead to the lessons, which show the stored answers.
    link = page.locator(f'tr[data-quiz="{STEM_B}"] th a')
    assert link.get_attribute("href") == f"../lessons/{STEM_B}.html"
    link.click()
    expect(page.locator(f'[data-mha-quiz="{STEM_B}"]')).to_have_attribute("data-hydrated", "true")
    expect(feedback(page, BANKS[STEM_B][0]["id"])).to_have_attribute("data-state", "correct")
    page.go_back()
    expect(page.locator("[data-mha-progress]")).to_have_attribute("data-hydrated", "true")
    assert counts(page) == (table, totals)

    # Keyboard only: Tab to "Reset progress", Enter; Escape cancels and keeps everything.
    page.locator("body").click(position={"x": 5, "y": 5})
    for _ in range(30):
        page.keyboard.press("Tab")
        if focused(page) == {"tag": "BUTTON", "text": "Reset progress"}:
            break
    assert focused(page) == {"tag": "BUTTON", "text": "Reset progress"}
    page.keyboard.press("Enter")
    confirm = page.locator(".mha-progress-confirm")
    expect(confirm).to_be_visible()
    expect(page.get_by_role("button", name="Reset progress")).to_be_hidden()
    assert page.get_by_role("group", name="Delete every stored answer").count() == 1
    assert focused(page) == {"tag": "BUTTON", "text": "Cancel"}
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    assert focused(page) == {"tag": "BUTTON", "text": "Reset progress"}
    expect(page.locator(".mha-progress-status")).to_have_text(
        "Reset cancelled; nothing was deleted."
    )
    assert counts(page) == (table, totals)
    assert s.stored() is not None

    # Enter, then Shift+Tab from "Cancel" to "Yes, reset", Enter: everything is deleted.
    page.keyboard.press("Enter")
    expect(confirm).to_be_visible()
    page.keyboard.press("Shift+Tab")
    assert focused(page) == {"tag": "BUTTON", "text": "Yes, reset"}
    page.keyboard.press("Enter")
    expect(confirm).to_be_hidden()
    status = page.locator(".mha-progress-status")
    expect(status).to_have_text(
        "Progress reset: every stored answer was deleted from this browser."
    )
    assert status.get_attribute("aria-live") == "polite"
    assert focused(page) == {"tag": "BUTTON", "text": "Reset progress"}
    assert counts(page) == (empty_table, empty_totals)
    assert s.stored() is None

    # After a reload the lessons' quizzes are fresh.
    for stem in BANKS:
        page = s.lesson(stem)
        assert page.locator(".mha-quiz-feedback[data-state]").count() == 0
        assert page.locator("[data-mha-quiz] input:checked").count() == 0
        assert all(
            v == ""
            for v in page.locator("input[type=text]").evaluate_all("els => els.map(e => e.value)")
        )


def test_progress_page_follows_other_tabs(session):
    s = session()
    table_page = s.progress()
    lesson_page = s.lesson(STEM_B, page=s.new_page())
    q = BANKS[STEM_B][0]
    give(lesson_page, q, answer_for(q, "incorrect"), "incorrect")
    row = table_page.locator(f'tr[data-quiz="{STEM_B}"]')
    expect(row.locator(".mha-progress-answered")).to_have_text("1")
    expect(row.locator(".mha-progress-correct")).to_have_text("0")


@pytest.mark.parametrize(
    "init_script", [BLOCK_STORAGE, NO_STORAGE, FULL_STORAGE], ids=["blocked", "absent", "full"]
)
def test_quiz_works_without_storage(session, init_script):
    s = session(init_script)
    page = s.lesson(STEM_A)
    plan = plan_for(STEM_A)
    answer_plan(page, STEM_A, plan)  # grading works: every expected state is reached
    page.reload()
    expect(page.locator("[data-mha-quiz]")).to_have_attribute("data-hydrated", "true")
    assert page.locator(".mha-quiz-feedback[data-state]").count() == 0, "nothing restored"
    q = BANKS[STEM_A][0]
    give(page, q, answer_for(q, "correct"), "correct")

    page = s.progress()
    table, _ = counts(page)
    if init_script == FULL_STORAGE:  # reading works, writing never did: honest zeros
        assert table == expected_counts({})[0]
        expect(page.locator(".mha-progress-actions")).to_be_visible()
    else:
        assert all(row[:2] == ("\u2013", "\u2013") for row in table.values())
        expect(page.locator(".mha-progress-summary")).to_contain_text(
            "does not let the site store data"
        )
        expect(page.locator(".mha-progress-actions")).to_be_hidden()


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        "",
        "null",
        "[]",
        '"a string"',
        '{"questions": []}',
        '{"questions": {"__proto__": {"state": "correct", "answer": [0]}}}',
    ],
)
def test_corrupt_storage_is_ignored(session, raw):
    s = session()
    page = s.lesson(STEM_A)
    page.evaluate("([key, raw]) => localStorage.setItem(key, raw)", [STORAGE_KEY, raw])
    page.reload()
    expect(page.locator("[data-mha-quiz]")).to_have_attribute("data-hydrated", "true")
    assert page.locator(".mha-quiz-feedback[data-state]").count() == 0
    # Reading alone changes nothing: the value is left as it was.
    assert page.evaluate("key => localStorage.getItem(key)", STORAGE_KEY) == raw
    q = BANKS[STEM_A][0]
    give(page, q, answer_for(q, "correct"), "correct")
    stored = s.stored()  # the next Check writes a clean object over the corrupt value
    assert list(stored["questions"]) == [q["id"]]
    assert stored["questions"][q["id"]]["state"] == "correct"
    assert page.evaluate("() => ({}).state === undefined && ({}).answer === undefined")


def test_stale_and_malformed_entries(session):
    """Entries that no longer fit the quiz are dropped; a stale verdict is re-graded."""
    s = session()
    bank = BANKS[STEM_A]
    single = next(q for q in bank if q["type"] == "single")
    multiple = next(q for q in bank if q["type"] == "multiple")
    text_q = next(q for q in bank if q["type"] in ("numeric", "shape"))
    wrong = answer_for(single, "incorrect")
    saved = {
        "version": 1,
        "questions": {
            # stored as correct, but the key in the page says it is wrong
            single["id"]: {
                "quiz": STEM_A,
                "answer": sorted(wrong),
                "state": "correct",
                "updated": "2020-01-01T00:00:00.000Z",
            },
            # an option index this question does not have
            multiple["id"]: {"quiz": STEM_A, "answer": [0, 99], "state": "incorrect"},
            # wrong type of answer for a text question: ignored
            text_q["id"]: {"quiz": STEM_A, "answer": {"x": 1}, "state": "correct"},
            # not a question id at all, and a state that does not exist
            "Not An Id!": {"quiz": STEM_A, "answer": "1", "state": "correct"},
            "unknown-question": {"quiz": "gone", "answer": "1", "state": "bogus"},
        },
    }
    page = s.progress()
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [STORAGE_KEY, json.dumps(saved)])
    page.reload()
    expect(page.locator("[data-mha-progress]")).to_have_attribute("data-hydrated", "true")
    table, _ = counts(page)
    assert table[STEM_A][:2] == ("2", "1")  # what storage claims, malformed entries ignored

    page = s.lesson(STEM_A)
    expect(feedback(page, single["id"])).to_have_attribute("data-state", "incorrect")
    assert shown_answer(page, single) == wrong
    assert feedback(page, multiple["id"]).get_attribute("data-state") is None
    assert shown_answer(page, multiple) == set()
    assert feedback(page, text_q["id"]).get_attribute("data-state") is None
    questions = s.stored()["questions"]
    assert set(questions) == {single["id"]}
    assert questions[single["id"]]["state"] == "incorrect"
    assert questions[single["id"]]["updated"] == "2020-01-01T00:00:00.000Z"

    page = s.progress()
    table, _ = counts(page)
    assert table[STEM_A][:2] == ("1", "0")


def test_anywidget_view_restores_and_never_throws(session):
    """The widget front-end (JupyterLab) runs the same code: it restores, or quietly does not."""
    mount = """async (html) => {
        const mod = await import('/_static/mha_quiz.js');
        const model = { get: (n) => (n === 'html' ? html : null), on() {}, off() {} };
        const el = document.createElement('div');
        el.className = 'widget-view';
        document.querySelector('main').appendChild(el);
        mod.default.render({ model, el });
    }"""
    q = BANKS[STEM_B][0]
    for script in (None, BLOCK_STORAGE):
        s = session(script)
        page = s.lesson(STEM_B)
        give(page, q, answer_for(q, "correct"), "correct")
        page.goto(f"{s.site['url']}/lessons/empty.html")
        page.evaluate(mount, s.site["quiz_html"][STEM_B])
        view = page.locator(f'.widget-view [data-mha-quiz="{STEM_B}"]')
        expect(view).to_have_attribute("data-hydrated", "true")
        fb = view.locator(f'[data-question-id="{q["id"]}"] .mha-quiz-feedback')
        if script is None:
            expect(fb).to_have_attribute("data-state", "correct")
        else:
            assert fb.get_attribute("data-state") is None
            give(page, q, answer_for(q, "incorrect"), "incorrect")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_progress_page_screenshot(session, theme):
    s = session()
    plans = {STEM_A: plan_for(STEM_A), STEM_B: {BANKS[STEM_B][0]["id"]: "correct"}}
    for stem, plan in plans.items():
        answer_plan(s.lesson(stem), stem, plan)
    page = s.progress()
    page.evaluate("t => { document.documentElement.dataset.theme = t; }", theme)
    page.get_by_role("button", name="Reset progress").focus()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"progress_{theme}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    colours = page.evaluate(
        """() => [getComputedStyle(document.body).color,
                  getComputedStyle(document.querySelector('.mha-progress-table td')).color,
                  getComputedStyle(document.querySelector('.mha-progress-summary')).color,
                  getComputedStyle(document.querySelector('.mha-progress-reset')).color]"""
    )
    assert len(set(colours)) == 1, colours  # text inherits the page's colour in both themes
    # The confirm step, for a look as well.
    page.keyboard.press("Enter")
    expect(page.locator(".mha-progress-confirm")).to_be_visible()
    page.locator(".mha-progress").screenshot(
        path=str(SCREENSHOTS / f"progress_confirm_{theme}.png")
    )
