"""Progress that survives a reload, in a real browser, on a tiny site of our own.

Two lesson pages carry quizzes rendered by ``render_quiz_html`` from the course's first two
banks, and a progress page carries the table of :mod:`mha_lib.quiz.progress`. All of it is
served on 127.0.0.1 with ``mha_quiz.js``/``mha_quiz.css`` copied from the package; every
request to another host is blocked. Console output of any kind, page errors, failed requests
and dialogs fail the test (the ``new_page`` fixture of conftest.py).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from playwright.sync_api import expect

import quiz_driver as quiz
from course import NOTEBOOKS
from harness import site_page
from mha_lib.quiz import STATIC_DIR, load_bank, quiz_dir, render_quiz_html
from mha_lib.quiz.progress import STORAGE_KEY, lesson_quizzes, render_progress_html

pytestmark = pytest.mark.console("all")


def _lesson_banks() -> dict[str, list[dict]]:
    """The course's first two banks."""
    stems = sorted(p.stem for p in quiz_dir().glob("*.yml"))[:2]
    assert len(stems) == 2 and stems[0] == "01_input_vectors"
    return {stem: load_bank(stem) for stem in stems}


BANKS = _lesson_banks()
STEM_A, STEM_B = sorted(BANKS)

HEAD = (
    '<link rel="stylesheet" href="../_static/mha_quiz.css">\n'
    '<script type="module" src="../_static/mha_quiz.js"></script>\n'
)


def page_in_a_folder(title: str, intro: str, body: str) -> str:
    return site_page(title, f"<p>{intro}</p>\n{body}", head=HEAD, static="../_static/")


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


@pytest.fixture(scope="module")
def site(serve_site):
    quiz_html = {stem: render_quiz_html(bank, stem) for stem, bank in BANKS.items()}
    pages = {
        f"lessons/{stem}.html": page_in_a_folder(f"Lesson {stem}", "Lesson text.", markup)
        for stem, markup in quiz_html.items()
    }
    pages["lessons/empty.html"] = page_in_a_folder(
        "Empty", "The widget test mounts a quiz here.", ""
    )
    lessons = lesson_quizzes(
        BANKS, notebooks_dir=NOTEBOOKS, href=lambda stem: f"../lessons/{stem}.html"
    )
    pages["book/progress.html"] = page_in_a_folder(
        "Your progress", "What you have answered so far.", render_progress_html(lessons)
    )
    assets = {f"_static/{name}": STATIC_DIR / name for name in ("mha_quiz.js", "mha_quiz.css")}
    return {"url": serve_site(pages, assets), "quiz_html": quiz_html}


class Session:
    """One browser context (one profile: its own localStorage); the ``new_page`` fixture
    records what goes wrong on every page of it."""

    def __init__(self, new_page, site, init_script=None):
        self.site = site
        self.page = new_page(viewport={"width": 1000, "height": 900}, init_script=init_script)
        self.context = self.page.context

    def new_page(self):
        return self.context.new_page()

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
def session(new_page, site):
    return lambda init_script=None: Session(new_page, site, init_script)


# --- answering ------------------------------------------------------------------------------


answer_for = quiz.answer_for


def question(page, qid):
    return quiz.question_box(page, qid)


def feedback(page, qid):
    return quiz.feedback(question(page, qid))


def give(page, q, value, state):
    quiz.give(question(page, q["id"]), value)
    expect(feedback(page, q["id"])).to_have_attribute("data-state", state)


def shown_answer(page, q):
    return quiz.shown_answer(question(page, q["id"]), q)


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
    assert set(stored) == {"version", "questions"} and stored["version"] == 2
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
        "version": 2,
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


def test_anywidget_view_restores_and_never_throws(session, render_as_anywidget):
    """The widget front-end (JupyterLab) runs the same code: it restores, or quietly does not."""
    q = BANKS[STEM_B][0]
    for script in (None, BLOCK_STORAGE):
        s = session(script)
        page = s.lesson(STEM_B)
        give(page, q, answer_for(q, "correct"), "correct")
        page.goto(f"{s.site['url']}/lessons/empty.html")
        render_as_anywidget(page, "/_static/mha_quiz.js", s.site["quiz_html"][STEM_B], "main")
        view = page.locator(f'.widget-view [data-mha-quiz="{STEM_B}"]')
        expect(view).to_have_attribute("data-hydrated", "true")
        fb = view.locator(f'[data-question-id="{q["id"]}"] .mha-quiz-feedback')
        if script is None:
            expect(fb).to_have_attribute("data-state", "correct")
        else:
            assert fb.get_attribute("data-state") is None
            give(page, q, answer_for(q, "incorrect"), "incorrect")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_progress_page_screenshot(session, screenshots, theme):
    s = session()
    plans = {STEM_A: plan_for(STEM_A), STEM_B: {BANKS[STEM_B][0]["id"]: "correct"}}
    for stem, plan in plans.items():
        answer_plan(s.lesson(stem), stem, plan)
    page = s.progress()
    page.evaluate("t => { document.documentElement.dataset.theme = t; }", theme)
    page.get_by_role("button", name="Reset progress").focus()
    path = screenshots / f"progress_{theme}.png"
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
        path=str(screenshots / f"progress_confirm_{theme}.png")
    )
