"""Numbers as the lessons print them, targeted feedback within a tolerance, and progress kept
across the lessons' renumbering, on the built site in Chromium (every host but 127.0.0.1
blocked). Every lesson's targeted feedback is tested in the reader's walk through its quiz
(test_site.py).

The script's own functions (``parseNumber``, ``migrateProgress``) are also exercised directly,
imported into a page of the site: the same module file the lessons load.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from mha_lib.quiz import load_all_banks
from mha_lib.quiz.progress import STORAGE_KEY

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

BANKS = load_all_banks()
QUESTIONS = {q["id"]: (stem, q) for stem, bank in BANKS.items() for q in bank}
# The module as the English edition serves it, from its book/intro.html (where it is imported).
MODULE = "../_static/mha_quiz.js"


@pytest.fixture
def page(offline_page):
    """The strict offline page, plus our own record of anything that went wrong in it."""
    problems: list[str] = []
    offline_page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    offline_page.on(
        "console", lambda m: m.type in ("error", "warning") and problems.append(m.text)
    )
    offline_page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    offline_page.problems = problems
    yield offline_page
    assert problems == []


def call(page, site_url, function: str, argument):
    """Call an exported function of mha_quiz.js in the page and return its (JSON) result."""
    page.goto(f"{site_url}/book/intro.html")
    return page.evaluate(
        "async ([url, name, arg]) => (await import(url))[name](arg)",
        [MODULE, function, argument],
    )


def lesson(page, site_url, stem):
    page.goto(f"{site_url}/notebooks/{stem}.html")
    expect(page.locator(f'[data-mha-quiz="{stem}"]')).to_have_attribute("data-hydrated", "true")
    return page


def box(page, qid):
    return page.locator(f'[data-question-id="{qid}"]')


def type_and_check(page, qid, text):
    question = box(page, qid)
    question.locator("input[type=text]").fill(text)
    question.get_by_role("button", name="Check", exact=True).click()
    return question.locator(".mha-quiz-feedback")


# --- numbers ----------------------------------------------------------------------------------

NUMBERS = [
    ("1,088", 1088),
    ("98 496", 98496),
    ("98\u202f496", 98496),  # narrow no-break space
    ("98\u2009496", 98496),  # thin space
    ("98\u00a0496", 98496),  # no-break space
    ("98_496", 98496),
    ("  -1,088.5 ", -1088.5),
    ("+12,345,678", 12345678),
    ("1 000 000", 1000000),
    ("\u22120.3", -0.3),  # a typographic minus
    ("0.705", 0.705),
    (".5", 0.5),
    ("7.2e1", 72),
    ("98496", 98496),
    ("1.088", 1.088),  # a point is always the decimal point
]
NOT_NUMBERS = [
    ("1,08", "decimalComma"),
    ("0,5", "decimalComma"),
    ("1.088,5", "decimalComma"),
    ("1 088,5", "decimalComma"),
    ("1,0880", "decimalComma"),
    ("1,000 000", "numeric"),  # two kinds of separator in one number
    ("10,00,000", "numeric"),  # groups of two
    (",088", "decimalComma"),  # read as a European 0.088
    ("1,088e3", "numeric"),
    ("7 2", "numeric"),
    ("1e999", "numeric"),
    ("NaN", "numeric"),
    ("Infinity", "numeric"),
    ("", "numeric"),
    ("seventy-two", "numeric"),
    ("0x48", "numeric"),
]


def test_parse_number_unit(page, site_url):
    cases = [text for text, _ in NUMBERS + NOT_NUMBERS]
    page.goto(f"{site_url}/book/intro.html")
    results = page.evaluate(
        "async ([url, cases]) => { const m = await import(url);"
        " return cases.map((c) => m.parseNumber(c)); }",
        [MODULE, cases],
    )
    got = dict(zip(cases, results, strict=True))
    for text, value in NUMBERS:
        assert got[text] == {"value": pytest.approx(value)}, repr(text)
    for text, error in NOT_NUMBERS:
        assert got[text] == {"error": error}, repr(text)


def test_thousands_separators_on_lesson_pages(page, site_url):
    lesson(page, site_url, "02_qkv_projections")
    for text in ("98 496", "98,496", "98\u202f496", "98\u2009496", "98_496", "98496"):
        feedback = type_and_check(page, "qkv-param-count-paper", "not a number")
        expect(feedback).to_have_attribute("data-state", "invalid")
        feedback = type_and_check(page, "qkv-param-count-paper", text)
        expect(feedback, repr(text)).to_have_attribute("data-state", "correct")
    feedback = type_and_check(page, "qkv-param-count-paper", "98,49")
    expect(feedback).to_have_attribute("data-state", "invalid")
    expect(feedback).to_contain_text("write decimals with a point")
    feedback = type_and_check(page, "qkv-param-count-paper", "seventy")
    expect(feedback).to_have_attribute("data-state", "invalid")
    expect(feedback).to_contain_text("1,088")  # the message shows the accepted forms
    feedback = type_and_check(page, "qkv-param-count-paper", "98.496")
    expect(feedback).to_have_attribute("data-state", "incorrect")

    lesson(page, site_url, "08_concat_and_output_projection")
    feedback = type_and_check(page, "concat-param-count-16", "1,088")
    expect(feedback).to_have_attribute("data-state", "correct")


# --- targeted feedback ----------------------------------------------------------------------
# Every lesson's targeted feedback is walked through in test_site.py (in the reader's one
# visit of each lesson's quiz); here, how a hint matches within a question's tolerance.


def test_feedback_matches_within_its_tolerance(page, site_url):
    lesson(page, site_url, "04_softmax")
    qid = "softmax-large-logits-weight"
    for typed in ("0.67", "0.665", "0.6652"):  # the lesson's own row, however it is rounded
        feedback = type_and_check(page, qid, typed)
        expect(feedback).to_have_attribute("data-state", "incorrect")
        expect(feedback).to_contain_text("softmax([1000, 999, 998])")
    feedback = type_and_check(page, qid, "0.71")
    expect(feedback).to_contain_text("rounded to 2 decimal places")
    for typed in ("0.705", "0.7054"):
        expect(type_and_check(page, qid, typed)).to_have_attribute("data-state", "correct")
    expect(type_and_check(page, qid, "0.706")).to_contain_text("That is not the expected answer")


# --- progress stored before the lessons were renumbered -----------------------------------------

OLD = "2026-01-01T00:00:00.000Z"
# Version 1 answers, with the old quiz stems and the option indices of the banks of that time.
V1_PROGRESS = {
    "version": 1,
    "questions": {
        # unchanged question, correct (three true options)
        "inputs-matrix-facts": {
            "quiz": "01_input_vectors", "answer": [1, 3, 4], "state": "correct", "updated": OLD,
        },
        # options re-ordered: old index 2 (right) is index 3 now
        "softmax-axis-for-scores": {
            "quiz": "04_softmax_and_masks", "answer": [2], "state": "correct", "updated": OLD,
        },
        # moved to the new lesson 5 and re-ordered: old index 1 (right) is index 0 now
        "softmax-mask-polarity": {
            "quiz": "04_softmax_and_masks", "answer": [1], "state": "correct", "updated": OLD,
        },
        # old lesson 5 is lesson 6: old index 3 (right) is index 1 now
        "weighted-equal-values": {
            "quiz": "05_weighted_sum", "answer": [3], "state": "correct", "updated": OLD,
        },
        # a wrong answer stays wrong: old index 0 (features 0-3 of token 1) is still index 0
        "heads-reshape-only-row": {
            "quiz": "06_multiple_heads", "answer": [0], "state": "incorrect", "updated": OLD,
        },
        # old lesson 8 is lesson 9
        "module-torch-default-weights": {
            "quiz": "08_the_module", "answer": [0], "state": "correct", "updated": OLD,
        },
        "module-parameter-count-cross": {
            "quiz": "08_the_module", "answer": "352", "state": "correct", "updated": OLD,
        },
        # dropped: a removed question, a rewritten one, and a removed option
        "module-mask-polarity-torch": {
            "quiz": "08_the_module", "answer": [2], "state": "correct", "updated": OLD,
        },
        "softmax-large-logits-weight": {
            "quiz": "04_softmax_and_masks", "answer": "0.67", "state": "correct", "updated": OLD,
        },
        "qkv-why-separate-query-key": {
            "quiz": "02_qkv_projections", "answer": [3], "state": "incorrect", "updated": OLD,
        },
    },
}
# What each kept answer is in today's banks: (quiz, answer, state).
MIGRATED = {
    "inputs-matrix-facts": ("01_input_vectors", [1, 3, 4], "correct"),
    "softmax-axis-for-scores": ("04_softmax", [3], "correct"),
    "softmax-mask-polarity": ("05_masks", [0], "correct"),
    "weighted-equal-values": ("06_weighted_sum", [1], "correct"),
    "heads-reshape-only-row": ("07_multiple_heads", [0], "incorrect"),
    "module-torch-default-weights": ("09_the_module", [3], "correct"),
    "module-parameter-count-cross": ("09_the_module", "352", "correct"),
}


def test_migrate_progress_unit(page, site_url):
    migrated = call(page, site_url, "migrateProgress", V1_PROGRESS)
    assert migrated["version"] == 2
    assert {
        qid: (e["quiz"], e["answer"], e["state"]) for qid, e in migrated["questions"].items()
    } == MIGRATED
    assert all(e["updated"] == OLD for e in migrated["questions"].values())
    # Version 2 is today's format: read as it is, never translated a second time.
    again = call(page, site_url, "migrateProgress", migrated)
    assert again == migrated
    # Missing or corrupt progress reads as empty.
    for broken in (None, [], {"questions": []}, {"version": 1}):
        assert call(page, site_url, "migrateProgress", broken) == {"version": 2, "questions": {}}


def test_every_right_v1_answer_is_still_right(page, site_url):
    """The old right answer of every choice question is today's right answer, or dropped."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from test_progress import V1_KEYS  # the historical keys, beside the table's unit tests

    saved = {
        qid: {"quiz": stem, "answer": [i for i, right in enumerate(key) if right],
              "state": "correct", "updated": OLD}
        for qid, (stem, key) in V1_KEYS.items()
        if isinstance(key, list) and isinstance(key[0], bool)
    }
    migrated = call(page, site_url, "migrateProgress", {"version": 1, "questions": saved})
    kept = migrated["questions"]
    assert len(kept) >= len(saved) - 6
    for qid, entry in kept.items():
        stem, question = QUESTIONS[qid]
        right = [i for i, o in enumerate(question["options"]) if o["correct"]]
        assert entry["answer"] == right and entry["quiz"] == stem, qid


def seed(page, site_url, progress):
    page.goto(f"{site_url}/book/intro.html")
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [STORAGE_KEY, json.dumps(progress)])


def stored(page):
    return json.loads(page.evaluate("k => localStorage.getItem(k)", STORAGE_KEY))


def test_old_progress_is_found_after_the_renumbering(page, site_url):
    seed(page, site_url, V1_PROGRESS)

    # The progress page counts the kept answers in today's lessons.
    page.goto(f"{site_url}/book/progress.html")
    table = page.locator("[data-mha-progress]")
    expect(table).to_have_attribute("data-hydrated", "true")
    renumbered = {  # stem -> (answered, correct), for the lessons that existed in version 1
        "01_input_vectors": (1, 1), "02_qkv_projections": (0, 0), "03_attention_scores": (0, 0),
        "04_softmax": (1, 1), "05_masks": (1, 1), "06_weighted_sum": (1, 1),
        "07_multiple_heads": (1, 0), "08_concat_and_output_projection": (0, 0),
        "09_the_module": (2, 2),
    }
    assert set(renumbered) <= set(BANKS)
    expected = {stem: (0, 0) for stem in BANKS} | renumbered  # later lessons: nothing answered
    for stem, (answered, correct) in expected.items():
        row = table.locator(f'tr[data-quiz="{stem}"]')
        expect(row.locator(".mha-progress-answered")).to_have_text(str(answered))
        expect(row.locator(".mha-progress-correct")).to_have_text(str(correct))
    footer = table.locator("tfoot tr")
    expect(footer.locator(".mha-progress-answered")).to_have_text("7")
    expect(footer.locator(".mha-progress-correct")).to_have_text("6")
    assert stored(page) == V1_PROGRESS  # reading alone writes nothing

    # Each lesson restores its answers at today's option positions and grades them again; a
    # question that is still asked but whose old answer was dropped shows no answer. (One load
    # of each lesson.)
    dropped = [q for q in set(V1_PROGRESS["questions"]) - set(MIGRATED) if q in QUESTIONS]
    assert dropped, "no dropped answer left to check"
    stems = {stem for stem, _, _ in MIGRATED.values()} | {QUESTIONS[q][0] for q in dropped}
    for stem in sorted(stems):
        lesson(page, site_url, stem)
        for qid, (_, answer, state) in ((q, m) for q, m in MIGRATED.items() if m[0] == stem):
            question = box(page, qid)
            expect(question.locator(".mha-quiz-feedback")).to_have_attribute("data-state", state)
            if isinstance(answer, list):
                checked = question.locator("input:checked").evaluate_all(
                    "nodes => nodes.map((n) => Number(n.value)).sort((a, b) => a - b)"
                )
                assert checked == answer, qid
            else:
                expect(question.locator("input[type=text]")).to_have_value(answer)
        for qid in (q for q in dropped if QUESTIONS[q][0] == stem):
            expect(box(page, qid).locator(".mha-quiz-feedback")).not_to_have_attribute(
                "data-state", re.compile(".")
            )

    # The next Check stores everything in today's format.
    lesson(page, site_url, "03_attention_scores")
    feedback = type_and_check(page, "scores-quadratic-growth", "9")
    expect(feedback).to_have_attribute("data-state", "correct")
    after = stored(page)
    assert after["version"] == 2
    assert {qid: (e["quiz"], e["answer"], e["state"]) for qid, e in after["questions"].items()} == {
        **MIGRATED, "scores-quadratic-growth": ("03_attention_scores", "9", "correct")
    }
