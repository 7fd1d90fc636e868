"""Answering a quiz in the browser the way a reader does, for every question type.

A question is a bank entry (a dict: id, type, options or answer); its box on the page is
``[data-question-id=...]`` (the DOM contract of mha_lib/quiz/render.py). An answer is a set
of option indices (``single``, ``multiple``) or the text typed (``numeric``, ``shape``).

The quiz speaks its edition's language, from that language's bank (``course.edition_bank``). ``WORDS`` holds what mha_quiz.js says in
each language, word for word.
"""

from __future__ import annotations

import html
import re

from playwright.sync_api import expect

from mha_lib.quiz.render import _inline

OUTCOMES = ("correct", "incorrect", "invalid")
# What mha_quiz.js says, word for word, by language: the verdict that opens the feedback of
# each state, the button, and the words around a targeted hint and the general wrong answer.
# Written out here, not read from mha_lib/ui_text: the test is a second, independent reading.
# "join" is what stands between the verdict and a targeted hint.
WORDS = {
    "en": {
        "correct": "✓ Correct.", "incorrect": "✗ Not quite.", "invalid": "Invalid answer:",
        "check": "Check", "try_again": "Try again.", "join": " ",
        "unexpected": "That is not the expected answer",
    },
    "ja": {
        "correct": "✓ 正解です。", "incorrect": "✗ 正解ではありません。",
        "invalid": "答えを読み取れません：", "check": "答え合わせ",
        "try_again": "もう一度試してください。", "join": "",
        "unexpected": "期待される答えではありません",
    },
}  # fmt: skip


def verdict_problem(text: str, state: str, language: str) -> str | None:
    """Why ``text``, a feedback shown in ``state``, is not the quiz's verdict in ``language``
    (None: it is): it opens with that language's exact words."""
    if language not in WORDS:
        return f"no words known for the quiz language {language!r}"
    expected = WORDS[language][state]
    return None if text.startswith(expected) else f"{text!r} does not open with {expected!r}"


def right_options(question) -> set[int]:
    return {k for k, o in enumerate(question.get("options", [])) if o["correct"]}


def shape_text(dims) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ")"


def as_typed(question, answer) -> str:
    """``answer`` (a number, or a shape's dimensions) as a reader types it."""
    return shape_text(answer) if question["type"] == "shape" else repr(answer)


def shown_text(text: str) -> str:
    """Bank text as the page shows it: rendered, tags dropped, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", _inline(text))).split())


def answer_for(question, outcome: str):
    """The reader's input that makes ``question`` come out as ``outcome``. A wrong answer to a
    ``multiple`` question misses a right option and picks a wrong one; a wrong number is out
    of the tolerance; an invalid choice is no choice at all (for ``single`` only on a fresh
    question: a radio button cannot be cleared)."""
    assert outcome in OUTCOMES, outcome
    kind, options = question["type"], question.get("options", [])
    right = sorted(right_options(question))
    wrong = [k for k in range(len(options)) if k not in right]
    if kind in ("single", "multiple"):
        if outcome == "invalid":
            return set()
        if outcome == "correct":
            return set(right)
        return {wrong[0]} if kind == "single" else set(right[1:]) | {wrong[0]}
    answer = question["answer"]
    if outcome == "invalid":
        return "seventy-two" if kind == "numeric" else "ten by eight"
    if kind == "numeric":
        step = max(1.0, abs(answer), 10 * question.get("tolerance", 0))
        return str(answer if outcome == "correct" else answer + step)
    return shape_text(answer if outcome == "correct" else [answer[0] + 1, *answer[1:]])


def question_box(scope, qid: str):
    return scope.locator(f'[data-question-id="{qid}"]')


def feedback(box):
    return box.locator(".mha-quiz-feedback")


def check_button(box, language: str = "en"):
    """The question's "Check" button, by its role and its name in ``language``."""
    return box.get_by_role("button", name=WORDS[language]["check"], exact=True)


def give(box, value, language: str = "en") -> None:
    """Enter ``value`` (see ``answer_for``) in the question ``box`` and press "Check"."""
    if isinstance(value, set):
        # The options as they stand (one round trip), then a click on each one that must change:
        # a checkbox whose state differs from the answer, the radio button of the answer.
        options = box.locator("input[type=radio], input[type=checkbox]")
        states = options.evaluate_all(
            "els => els.map(e => [Number(e.value), e.type === 'radio', e.checked])")
        for index, (option, radio, checked) in enumerate(states):
            if checked != (option in value) and not (radio and checked):
                options.nth(index).set_checked(option in value)
    else:
        box.locator("input[type=text]").fill(value)
    check_button(box, language).click()


def give_and_expect(box, question, outcome: str, language: str = "en") -> None:
    """Answer ``question`` so that it comes out as ``outcome``, and see that it does."""
    give(box, answer_for(question, outcome), language)
    expect(feedback(box), question["id"]).to_have_attribute("data-state", outcome)


def shown_answer(box, question):
    """What the question shows as answered: the chosen indices, or the text in its box."""
    if question["type"] in ("single", "multiple"):
        values = box.locator("input[type=radio], input[type=checkbox]").evaluate_all(
            "els => els.filter(e => e.checked).map(e => e.value)"
        )
        return {int(v) for v in values}
    return box.locator("input[type=text]").input_value()
