"""Build the quiz markup: the one HTML builder shared by the live widget and the static site.

The output is deterministic (same questions -> byte-identical HTML, no random ids and no
timestamps) because it is stored in the notebooks and compared by nbval. Every piece of
bank text is HTML-escaped first; only then do `backtick spans` become ``<code>``.

Behaviour (shuffling, grading, feedback) lives in ``static/mha_quiz.js``, which hydrates
this markup both inside the anywidget view and on the static site.

Introduced in notebooks/01_input_vectors.ipynb (the first lesson with a quiz).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from .._markup import json_for_script
from ..ui_text import DEFAULT_LANGUAGE, markup_attributes, resolve_language, text
from .bank import CHOICE_TYPES, default_tolerance, validate_bank

__all__ = ["default_tolerance", "render_quiz_html"]

_CODE_SPAN = re.compile(r"`([^`]+)`")


def _inline(text: str) -> str:
    """Escape bank text for HTML, then turn `backtick spans` into <code> (on escaped text)."""
    escaped = html.escape(" ".join(str(text).split()), quote=True)
    return _CODE_SPAN.sub(r"<code>\1</code>", escaped)


def _attr(value: str) -> str:
    return html.escape(str(value), quote=True)


def _count(total: int, lang: str) -> str:
    # English: " (4 questions)" after the title; Japanese: "（全4問）" with no space.
    count = _attr(text("quiz.count", lang, count=total))
    return f" {count}" if lang == DEFAULT_LANGUAGE else count


def _key_entry(question: dict[str, Any]) -> dict[str, Any]:
    qtype = question["type"]
    entry: dict[str, Any] = {"type": qtype, "explain": _inline(question.get("explain", ""))}
    if qtype in CHOICE_TYPES:
        entry["options"] = [
            {"correct": bool(o["correct"]), "explain": _inline(o["explain"])}
            for o in question["options"]
        ]
    elif qtype == "numeric":
        entry["answer"] = question["answer"]
        tolerance = question.get("tolerance")
        entry["tolerance"] = (
            default_tolerance(question["answer"]) if tolerance is None else tolerance
        )
    else:
        entry["answer"] = list(question["answer"])
    if question.get("feedback"):
        # Targeted feedback for predictable wrong answers, in bank order (the first match wins).
        entry["feedback"] = [_feedback_entry(f, entry.get("tolerance")) for f in question["feedback"]]
    return entry


def _feedback_entry(feedback: dict[str, Any], tolerance: float | None) -> dict[str, Any]:
    answer = feedback["answer"]
    entry: dict[str, Any] = {"text": _inline(feedback["text"])}
    if isinstance(answer, list):
        entry["answer"] = list(answer)
    else:
        entry["answer"] = answer
        entry["tolerance"] = feedback.get("tolerance", tolerance)
    return entry


def _question_html(question: dict[str, Any], number: int, total: int, lang: str) -> list[str]:
    qid = question["id"]
    qtype = question["type"]
    base = f"mhaq-{qid}"
    hint_id = f"{base}-hint"
    hint = f"quiz.hint.{qtype}"
    lines = [
        (
            f'<div class="mha-quiz-question" data-question-id="{_attr(qid)}"'
            f' data-type="{_attr(qtype)}">'
        )
    ]
    legend = (
        f'<legend><span class="mha-quiz-qnum">'
        f"{_attr(text('quiz.question_number', lang, number=number, total=total))}</span> "
        f"{_inline(question['prompt'])}</legend>"
    )
    if qtype in CHOICE_TYPES:
        kind = "radio" if qtype == "single" else "checkbox"
        lines.append(f'<fieldset aria-describedby="{_attr(hint_id)}">')
        lines.append(legend)
        lines.append(f'<p class="mha-quiz-hint" id="{_attr(hint_id)}">{_attr(text(hint, lang))}</p>')
        lines.append('<div class="mha-quiz-options">')
        for index, option in enumerate(question["options"]):
            option_id = f"{base}-{index}"
            lines.append(
                f'<div class="mha-quiz-option"><input type="{kind}" id="{_attr(option_id)}"'
                f' name="{_attr(base)}" value="{index}">'
                f'<label for="{_attr(option_id)}">{_inline(option["text"])}</label></div>'
            )
        lines.append("</div>")
    else:
        input_id = f"{base}-answer"
        lines.append("<fieldset>")
        lines.append(legend)
        lines.append(
            f'<div class="mha-quiz-answer"><label for="{_attr(input_id)}">'
            f"{_attr(text(f'quiz.answer_label.{qtype}', lang))}</label> "
            f'<input type="text" id="{_attr(input_id)}" name="{_attr(base)}"'
            f' autocomplete="off" autocapitalize="off" spellcheck="false"'
            f' aria-describedby="{_attr(hint_id)}"> '
            f'<span class="mha-quiz-hint" id="{_attr(hint_id)}">{_attr(text(hint, lang))}</span>'
            "</div>"
        )
    lines.append("</fieldset>")
    lines.append(
        f'<button type="button" class="mha-quiz-check">{_attr(text("quiz.check", lang))}</button>'
    )
    lines.append(
        f'<div class="mha-quiz-feedback" id="{_attr(base)}-feedback"'
        ' aria-live="polite" aria-atomic="true"></div>'
    )
    lines.append("</div>")
    return lines


def render_quiz_html(
    questions: Sequence[dict[str, Any]], quiz_id: str, lang: str = DEFAULT_LANGUAGE
) -> str:
    """Render a validated bank as self-contained quiz markup (HTML string).

    ``quiz_id`` names the quiz (usually the lesson stem, e.g. ``"01_input_vectors"``) and
    becomes the wrapper's ``data-mha-quiz`` attribute. The result carries the answer key as
    ``<script type="application/json" class="mha-quiz-key">`` for grading in the browser.
    ``lang`` (``"en"`` or ``"ja"``; ``None``: ``$MHA_LANG``, else English) chooses the
    interface strings (:mod:`mha_lib.ui_text`); the questions' own texts come from the bank
    as given. A non-English quiz also carries ``lang`` and its browser strings
    (``data-mha-text``) on the wrapper.
    """
    lang = resolve_language(lang)
    questions = validate_bank(list(questions), source=f"quiz {quiz_id!r}")
    total = len(questions)
    lines = [
        (
            f'<div class="mha-quiz" data-mha-quiz="{_attr(quiz_id)}"'
            f'{markup_attributes(lang, "quiz")}>'
        ),
        (
            f'<p class="mha-quiz-title"><strong>{_attr(text("quiz.title", lang))}</strong>'
            f"{_count(total, lang)}</p>"
        ),
    ]
    for number, question in enumerate(questions, start=1):
        lines.extend(_question_html(question, number, total, lang))
    key = {"version": 1, "questions": {q["id"]: _key_entry(q) for q in questions}}
    key_json = json_for_script(key, sort_keys=True)
    lines.append(f'<script type="application/json" class="mha-quiz-key">{key_json}</script>')
    lines.append("</div>")
    return "\n".join(lines) + "\n"
