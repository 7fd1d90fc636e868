"""The quiz in a real browser: static markup + mha_quiz.js/css, served on 127.0.0.1 only.

Every request to another host is blocked; console output of any kind, page errors, failed
requests and dialogs (alert) fail the test (the ``new_page`` fixture of conftest.py).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from harness import globals_changed, injected_markup, script, site_page
from mha_lib.quiz import STATIC_DIR, load_bank, render_quiz_html
from quiz_driver import (
    answer_for,
    check_button,
    feedback,
    give,
    right_options,
)

pytestmark = pytest.mark.console("all")

LESSON = load_bank("01_input_vectors")
BY_ID = {q["id"]: q for q in LESSON}

HOSTILE = [
    {
        "id": "hostile-single",
        "type": "single",
        "prompt": "Pick <script>alert(1)</script> or `<img src=x onerror=alert(2)>` & \"q\" 'q'",
        "options": [
            {
                "text": "<script>alert('option')</script>",
                "correct": True,
                "explain": "Right </script><script>alert(3)</script> <!-- not a comment",
            },
            {
                "text": "<iframe src=https://example.com/></iframe>",
                "correct": False,
                "explain": "Wrong <img src=https://example.com/x.png onerror=alert(4)>",
            },
        ],
        "explain": "Overall </SCRIPT> <style>body{display:none}</style>",
    },
    {
        "id": "hostile-shape",
        "type": "shape",
        "prompt": "Shape of `torch.zeros(5)`? <a href=https://example.com>link</a>",
        "answer": [5],
        "explain": "</script><!-- --> (5,) is a one-dimensional shape",
    },
    {
        "id": "hostile-numeric",
        "type": "numeric",
        "prompt": "What is 0.1 + 0.2? ]]> <base href=https://example.com/>",
        "answer": 0.3,
        "tolerance": 1e-6,
        "explain": "About 0.3 <link rel=stylesheet href=https://example.com/x.css>",
    },
]

MODULE = '<script type="module" src="_static/mha_quiz.js"></script>\n'
STYLE = '<link rel="stylesheet" href="_static/mha_quiz.css">\n'


def lesson_page(body: str, module: str = MODULE) -> str:
    body = "<p>Some lesson text before the quiz.</p>\n" + body
    return site_page("Lesson 01: Input vectors", body, head=STYLE + module)


@pytest.fixture(scope="module")
def site(serve_site):
    lesson_html = render_quiz_html(LESSON, "01_input_vectors")
    hostile_html = render_quiz_html(HOSTILE, "hostile")
    pages = {
        "index.html": lesson_page(lesson_html + "<p>Text between quizzes.</p>\n" + hostile_html),
        "twice.html": lesson_page(lesson_html + lesson_html),
        "empty.html": lesson_page("<p>No quiz here; the widget test mounts one.</p>"),
        "bare.html": lesson_page(lesson_html, module=""),
    }
    assets = {f"_static/{name}": STATIC_DIR / name for name in ("mha_quiz.js", "mha_quiz.css")}
    return {"url": serve_site(pages, assets), "lesson_html": lesson_html}


def open_page(page, name="index.html"):
    page.goto(f"{page.site['url']}/{name}")
    expect(page.locator("[data-mha-quiz]").first).to_have_attribute("data-hydrated", "true")


def question(page, qid, quiz="01_input_vectors"):
    return page.locator(f'[data-mha-quiz="{quiz}"] [data-question-id="{qid}"]')


def correct_indices(qid, bank=BY_ID):
    return right_options(bank[qid])


def words(text, n=6):
    """The first n words of bank text as the browser shows it (backticks become <code>)."""
    return " ".join(text.replace("`", "").split()[:n])



# --- tests ----------------------------------------------------------------------------------


def test_every_question_wrong_then_right(page):
    open_page(page)
    for q in LESSON:
        loc = question(page, q["id"])
        fb = feedback(loc)
        assert fb.get_attribute("data-state") is None
        give(loc, answer_for(q, "incorrect"))
        expect(fb).to_have_attribute("data-state", "incorrect")
        expect(fb).to_contain_text("✗ Not quite.")
        assert fb.inner_text().startswith("✗ Not quite.")
        give(loc, answer_for(q, "correct"))
        expect(fb).to_have_attribute("data-state", "correct")
        assert fb.inner_text().startswith("✓ Correct.")
        if q["type"] in ("numeric", "shape"):
            expect(fb).to_contain_text(words(q["explain"]))


def test_choice_feedback_explains_each_chosen_option(page):
    open_page(page)
    q = BY_ID["inputs-matrix-facts"]
    loc = question(page, q["id"])
    right = sorted(correct_indices(q["id"]))
    give(loc, {right[0]})
    fb = feedback(loc)
    expect(fb).to_have_attribute("data-state", "incorrect")
    missed = len(right) - 1
    expect(fb).to_contain_text(f"{missed} true statements are still unselected")
    expect(fb).to_contain_text(words(q["options"][right[0]]["explain"]))
    # Explanations of options the learner did not choose are not revealed.
    for k in right[1:]:
        assert words(q["options"][k]["explain"]) not in fb.text_content()

    single = BY_ID["inputs-repeated-the-rows"]
    loc = question(page, single["id"])
    wrong = next(k for k, o in enumerate(single["options"]) if not o["correct"])
    give(loc, {wrong})
    expect(feedback(loc)).to_contain_text(words(single["options"][wrong]["explain"]))


INVALID = {
    "inputs-embedding-params": [
        "",
        "   ",
        "seventy-two",
        "1e999",
        "-1e999",
        "NaN",
        "Infinity",
        "-Infinity",
        "0x48",
        "7 2",
        "1,5",
        "72abc",
    ],
    "inputs-x-shape": [
        "",
        "ten by eight",
        "NaN",
        "1e999",
        "(0, 8)",
        "(-10, 8)",
        "(10.5, 8)",
        "()",
        "(10,, 8)",
        "(10 8)",
        "(99999999999999999999, 8)",
        "(Infinity, 8)",
    ],
}


@pytest.mark.parametrize("qid", sorted(INVALID))
def test_invalid_text_answers(page, qid):
    open_page(page)
    loc = question(page, qid)
    fb = feedback(loc)
    box = loc.locator("input[type=text]")
    for value in INVALID[qid]:
        give(loc, value)
        expect(fb, f"{value!r} should be invalid").to_have_attribute("data-state", "invalid")
        assert fb.inner_text().startswith("Invalid answer:"), value
        expect(box).to_have_attribute("aria-invalid", "true")
        # A valid answer afterwards is graded and clears the invalid marker.
        give(loc, answer_for(BY_ID[qid], "correct"))
        expect(fb, f"after {value!r}").to_have_attribute("data-state", "correct")
        assert box.get_attribute("aria-invalid") is None


def test_nothing_selected_is_invalid(page):
    open_page(page)
    for qid in ("inputs-repeated-the-rows", "inputs-matrix-facts"):
        loc = question(page, qid)
        check_button(loc).click()
        expect(feedback(loc)).to_have_attribute("data-state", "invalid")
        assert feedback(loc).inner_text().startswith("Invalid answer:")


def graded(page, quiz, qid, cases):
    """Type each value, check, and expect its state; an invalid entry in between makes every
    expectation a real change of state."""
    open_page(page)
    loc = question(page, qid, quiz=quiz)
    fb = feedback(loc)
    for value, state in cases:
        give(loc, "not an answer")
        expect(fb).to_have_attribute("data-state", "invalid")
        give(loc, value)
        expect(fb, f"{value!r} should be {state}").to_have_attribute("data-state", state)


def test_shape_formats_accepted(page):
    formats = [
        "(10, 8)",
        "10, 8",
        "10,8",
        "10x8",
        "10 x 8",
        "10×8",
        "10 × 8",
        "[10, 8]",
        " ( 10 , 8 ) ",
        "(10, 8,)",
        "torch.Size([10, 8])",
        "10X8",
        "(010, 8)",
    ]
    graded(
        page,
        "01_input_vectors",
        "inputs-x-shape",
        [(v, "correct") for v in formats]
        + [("(8, 10)", "incorrect"), ("(10, 8, 1)", "incorrect"), ("(10,)", "incorrect")],
    )


def test_one_dimensional_shape(page):
    graded(
        page,
        "hostile",
        "hostile-shape",
        [("(5,)", "correct"), ("5", "correct"), ("[5]", "correct"), ("(5, 1)", "incorrect")],
    )


def test_numeric_tolerance(page):
    graded(
        page,
        "hostile",
        "hostile-numeric",
        [
            ("0.3", "correct"),
            ("0.30000001", "correct"),
            (".3", "correct"),
            ("3e-1", "correct"),
            ("+0.3", "correct"),
            ("0.31", "incorrect"),
            ("\u22120.3", "incorrect"),
        ],
    )
    graded(
        page,
        "01_input_vectors",
        "inputs-embedding-params",
        [
            ("72", "correct"),
            ("72.0", "correct"),
            ("7.2e1", "correct"),
            ("72.0000001", "incorrect"),
            ("71", "incorrect"),
            ("-72", "incorrect"),
        ],
    )


def test_enter_in_text_box_checks(page):
    open_page(page)
    for qid, value, state in [
        ("inputs-embedding-params", "72", "correct"),
        ("inputs-x-shape", "(8, 10)", "incorrect"),
        ("inputs-similarity-shape", "abc", "invalid"),
    ]:
        loc = question(page, qid)
        box = loc.locator("input[type=text]")
        box.fill(value)
        box.press("Enter")
        expect(feedback(loc)).to_have_attribute("data-state", state)
    # Enter did not submit or reload anything: the page is still hydrated and unchanged.
    assert page.url.endswith("/index.html")


def test_double_click_and_repeated_checks(page):
    open_page(page)
    loc = question(page, "inputs-embedding-params")
    loc.locator("input[type=text]").fill("72")
    check_button(loc).dblclick()
    for _ in range(5):
        check_button(loc).click(delay=0)
    expect(feedback(loc)).to_have_attribute("data-state", "correct")
    assert feedback(loc).inner_text().count("✓ Correct.") == 1


def _focused(page):
    return page.evaluate(script("quiz_focus"))


def test_keyboard_only(page):
    open_page(page)
    # Tab from the top of the page to the first option of the first question.
    for _ in range(10):
        page.keyboard.press("Tab")
        if _focused(page)["question"] == "inputs-repeated-the-rows":
            break
    state = _focused(page)
    assert state["question"] == "inputs-repeated-the-rows" and state["type"] == "radio"
    # Space selects the focused radio; arrows move the selection to the right one.
    page.keyboard.press("Space")
    assert _focused(page)["checked"]
    target = str(correct_indices("inputs-repeated-the-rows").pop())
    for _ in range(8):
        if _focused(page)["value"] == target:
            break
        page.keyboard.press("ArrowDown")
    assert _focused(page)["value"] == target and _focused(page)["checked"]
    page.keyboard.press("Tab")
    assert _focused(page)["tag"] == "BUTTON" and _focused(page)["text"] == "Check"
    page.keyboard.press("Enter")
    q1 = question(page, "inputs-repeated-the-rows")
    expect(feedback(q1)).to_have_attribute("data-state", "correct")

    # Checkboxes: Tab through them, Space on the true statements, then Tab to Check.
    wanted = {str(k) for k in correct_indices("inputs-matrix-facts")}
    page.keyboard.press("Tab")
    while _focused(page)["type"] == "checkbox":
        if _focused(page)["value"] in wanted:
            page.keyboard.press("Space")
        page.keyboard.press("Tab")
    state = _focused(page)
    assert state["tag"] == "BUTTON" and state["question"] == "inputs-matrix-facts"
    page.keyboard.press("Enter")
    expect(feedback(question(page, "inputs-matrix-facts"))).to_have_attribute(
        "data-state", "correct"
    )

    # A text question: Tab into the box, type, Tab to Check, activate it with Space.
    page.keyboard.press("Tab")
    assert _focused(page)["type"] == "text" and _focused(page)["question"] == "inputs-x-shape"
    page.keyboard.type("(10, 8)")
    page.keyboard.press("Tab")
    assert _focused(page)["tag"] == "BUTTON"
    page.keyboard.press("Space")
    expect(feedback(question(page, "inputs-x-shape"))).to_have_attribute("data-state", "correct")

    # The focus ring is visible (an outline, not just a colour change).
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_hostile_text_is_shown_as_text(page):
    open_page(page)
    hostile = page.locator('[data-mha-quiz="hostile"]')
    expect(hostile).to_be_visible()
    expect(hostile.locator("legend").first).to_contain_text(
        "Pick <script>alert(1)</script> or <img src=x onerror=alert(2)> & \"q\" 'q'"
    )
    expect(hostile.get_by_text("<script>alert('option')</script>")).to_be_visible()
    expect(hostile.get_by_text("<iframe src=https://example.com/></iframe>")).to_be_visible()
    assert injected_markup(page, "[data-mha-quiz]", ".mha-quiz-key") == 0
    assert page.evaluate("() => document.scripts.length") == 4  # the module, the page's interface strings, two answer keys
    loc = question(page, "hostile-single", quiz="hostile")
    give(loc, {0})
    fb = feedback(loc)
    expect(fb).to_have_attribute("data-state", "correct")
    expect(fb).to_contain_text("Right </script><script>alert(3)</script> <!-- not a comment")
    expect(fb).to_contain_text("Overall </SCRIPT> <style>body{display:none}</style>")
    give(loc, {1})
    expect(fb).to_contain_text("Wrong <img src=https://example.com/x.png onerror=alert(4)>")
    expect(page.locator("body")).to_be_visible()
    assert page.evaluate("() => document.querySelectorAll('img, iframe').length") == 0


def test_options_are_shuffled_but_keep_their_values(new_page, site):
    pg = new_page()
    orders = set()
    for _ in range(12):
        pg.goto(f"{site['url']}/index.html")
        expect(pg.locator("[data-mha-quiz]").first).to_have_attribute("data-hydrated", "true")
        values = pg.locator('[data-question-id="inputs-matrix-facts"] input').evaluate_all(
            "els => els.map(e => e.value + ':' + e.id)"
        )
        assert sorted(values) == sorted(f"{k}:mhaq-inputs-matrix-facts-{k}" for k in range(5))
        orders.add(tuple(values))
    assert len(orders) > 1, "options were never shuffled"
    assert any(order[0] != "0:mhaq-inputs-matrix-facts-0" for order in orders)


def test_hydration_is_idempotent(page):
    open_page(page)
    before = page.locator('[data-question-id="inputs-matrix-facts"] input').evaluate_all(
        "els => els.map(e => e.value)"
    )
    page.evaluate(
        "async () => { const m = await import('/_static/mha_quiz.js');"
        " m.hydrate(document); m.hydrate(document.querySelector('[data-mha-quiz]')); }"
    )
    after = page.locator('[data-question-id="inputs-matrix-facts"] input').evaluate_all(
        "els => els.map(e => e.value)"
    )
    assert after == before
    loc = question(page, "inputs-embedding-params")
    loc.locator("input[type=text]").fill("72")
    # One listener per button: a second one would not change the state, but count checks.
    loc.locator("input[type=text]").press("Enter")
    expect(feedback(loc)).to_have_attribute("data-state", "correct")


def test_module_leaks_no_globals(page):
    assert globals_changed(page, f"{page.site['url']}/bare.html", open_page) == set()


def test_two_copies_of_a_quiz_do_not_interfere(page):
    open_page(page, "twice.html")
    quizzes = page.locator('[data-mha-quiz="01_input_vectors"]')
    expect(quizzes).to_have_count(2)
    ids = page.evaluate("() => Array.from(document.querySelectorAll('[id]'), e => e.id)")
    assert len(ids) == len(set(ids))
    first = quizzes.nth(0).locator('[data-question-id="inputs-repeated-the-rows"]')
    second = quizzes.nth(1).locator('[data-question-id="inputs-repeated-the-rows"]')
    right = correct_indices("inputs-repeated-the-rows").pop()
    wrong = next(k for k in range(4) if k != right)
    first.locator(f'label[for$="-{right}"]').click()
    second.locator(f'label[for$="-{wrong}-v2"]').click()
    assert first.locator(f'input[value="{right}"]').is_checked()
    assert second.locator(f'input[value="{wrong}"]').is_checked()
    check_button(first).click()
    check_button(second).click()
    expect(feedback(first)).to_have_attribute("data-state", "correct")
    expect(feedback(second)).to_have_attribute("data-state", "incorrect")


def test_anywidget_render_entry_point(page, render_as_anywidget):
    """The module's default export works as an anywidget front-end (model.get('html'))."""
    page.goto(f"{page.site['url']}/empty.html")
    render_as_anywidget(page, "/_static/mha_quiz.js", page.site["lesson_html"], "main")
    quiz = page.locator('.widget-view [data-mha-quiz="01_input_vectors"]')
    expect(quiz).to_have_attribute("data-hydrated", "true")
    loc = quiz.locator('[data-question-id="inputs-similarity-shape"]')
    give(loc, "10x10")
    expect(feedback(loc)).to_have_attribute("data-state", "correct")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot(page, screenshots, scheme):
    page.emulate_media(color_scheme=scheme)
    open_page(page)
    give(
        question(page, "inputs-repeated-the-rows"),
        {correct_indices("inputs-repeated-the-rows").pop()},
    )
    q2 = BY_ID["inputs-matrix-facts"]
    give(question(page, q2["id"]), answer_for(q2, "incorrect"))
    give(question(page, "inputs-x-shape"), "ten by eight")
    q = question(page, "inputs-similarity-shape")
    q.locator("input[type=text]").focus()
    suffix = "" if scheme == "light" else "_dark"
    path = screenshots / f"quiz_page{suffix}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    # Text stays readable: the quiz inherits the page's text colour in both schemes.
    colours = page.evaluate(
        """() => [getComputedStyle(document.body).color,
                  getComputedStyle(document.querySelector('.mha-quiz legend')).color,
                  getComputedStyle(document.querySelector('.mha-quiz-feedback')).color]"""
    )
    assert colours[0] == colours[1] == colours[2]
