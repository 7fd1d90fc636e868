"""The "Your progress" table: one row per lesson quiz, filled in by the browser.

The learner's answers never leave the browser: ``static/mha_quiz.js`` stores them in
``localStorage`` (key ``mha-course-progress-v1``) when a question is checked, restores them
when a lesson is reopened, and fills in this table's Answered and Correct columns. This module
builds the table's static markup at site-build time: the lessons, their links and the ids of
their questions (``data-question-ids``), with "–" in the columns only the browser can know.

The output is deterministic (same banks -> byte-identical HTML) and every piece of text is
HTML-escaped. :mod:`mha_lib.sphinx_progress` puts it on the site's progress page.

Introduced in book/progress.md (the "Your progress" page).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..ui_text import DEFAULT_LANGUAGE, markup_attributes, resolve_language, text
from .render import _inline

__all__ = ["STORAGE_KEY", "LessonQuiz", "lesson_quizzes", "lesson_title", "render_progress_html"]

STORAGE_KEY = "mha-course-progress-v1"
"""The one ``localStorage`` key ``mha_quiz.js`` keeps every answer under."""

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_UNKNOWN = "\u2013"  # an en dash: "not known until the browser has looked"


@dataclass(frozen=True)
class LessonQuiz:
    """One row of the progress table.

    Attributes:
        quiz: the quiz id, i.e. the bank's stem (``"01_input_vectors"``), as in the quiz's
            ``data-mha-quiz`` attribute.
        title: the lesson's title (Markdown: `backtick spans` become ``<code>``).
        href: the lesson page's address relative to the progress page, or None (no link).
        question_ids: the ids of the quiz's questions, in bank order.
    """

    quiz: str
    title: str
    href: str | None
    question_ids: tuple[str, ...]


def lesson_title(
    notebook: str | Path, translate: Callable[[str], str] | None = None
) -> str | None:
    """The text of the first Markdown heading in a notebook (``.ipynb``), or None.

    Links keep their text and bold markers are dropped; backticks stay (rendered as code).
    ``translate`` maps the heading's source text (as the gettext catalogs hold it) to
    another language's before that clean-up (the Japanese edition's progress page).
    """
    try:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        fenced = False
        for line in text.splitlines():
            if line.lstrip().startswith(("```", "~~~", ":::")):
                fenced = not fenced
                continue
            match = None if fenced else _HEADING.match(line)
            if match:
                heading = translate(match.group(1)) if translate else match.group(1)
                title = _EMPHASIS.sub(r"\2", _LINK.sub(r"\1", heading)).strip()
                if title:
                    return title
    return None


def lesson_quizzes(
    banks: Mapping[str, Sequence[Mapping[str, Any]]],
    notebooks_dir: str | Path | None = None,
    href: Callable[[str], str | None] | None = None,
    translate: Callable[[str, str], str] | None = None,
) -> list[LessonQuiz]:
    """One :class:`LessonQuiz` per bank, ordered by stem (``NN_slug`` gives lesson order).

    Args:
        banks: stem -> questions, as returned by :func:`mha_lib.quiz.load_all_banks`.
        notebooks_dir: folder of the lesson notebooks (``<stem>.ipynb``) whose first heading
            is the title; without it, or without a heading, the title is made from the stem.
        href: stem -> the lesson page's address relative to the progress page (or None).
        translate: (stem, heading source) -> the heading in the page's language.
    """
    rows = []
    for stem in sorted(banks):
        title = None
        if notebooks_dir is not None:
            per_lesson = (lambda heading, stem=stem: translate(stem, heading)) if translate else None
            title = lesson_title(Path(notebooks_dir) / f"{stem}.ipynb", per_lesson)
        if not title:
            title = stem.replace("_", " ")
        ids = tuple(str(question["id"]) for question in banks[stem])
        rows.append(
            LessonQuiz(quiz=stem, title=title, href=href(stem) if href else None, question_ids=ids)
        )
    return rows


def _attr(value: str) -> str:
    return html.escape(str(value), quote=True)


def _t(key: str, lang: str, **values) -> str:
    return html.escape(text(key, lang, **values), quote=False)


def _row(lesson: LessonQuiz) -> str:
    title = _inline(lesson.title)
    if lesson.href:
        title = f'<a href="{_attr(lesson.href)}">{title}</a>'
    return (
        f'<tr data-quiz="{_attr(lesson.quiz)}"'
        f' data-question-ids="{_attr(" ".join(lesson.question_ids))}">'
        f'<th scope="row">{title}</th>'
        f'<td class="mha-progress-answered">{_UNKNOWN}</td>'
        f'<td class="mha-progress-correct">{_UNKNOWN}</td>'
        f'<td class="mha-progress-total">{len(lesson.question_ids)}</td></tr>'
    )


def render_progress_html(lessons: Sequence[LessonQuiz], lang: str = DEFAULT_LANGUAGE) -> str:
    """The progress table's markup (HTML string), hydrated by ``mha_quiz.js``.

    The wrapper is ``<div class="mha-progress" data-mha-progress="mha-course-progress-v1">``;
    each lesson is a ``<tr data-quiz=… data-question-ids="id id …">``; the footer row holds
    the totals. Before the script runs, Answered and Correct show "–" and the Reset button
    is hidden (without the script it could do nothing). ``lang`` (``"en"``, ``"ja"``)
    chooses the interface strings (:mod:`mha_lib.ui_text`); a non-English table also
    carries ``lang`` and the browser's strings (``data-mha-text``).
    """
    lang = resolve_language(lang)
    ids = [qid for lesson in lessons for qid in lesson.question_ids]
    if len(ids) != len(set(ids)):
        raise ValueError("question ids must be unique across the course")
    total = len(ids)
    lines = [
        (
            f'<div class="mha-progress" data-mha-progress="{STORAGE_KEY}"'
            f'{markup_attributes(lang, "progress")}>'
        ),
        f'<p class="mha-progress-privacy">{_t("progress.privacy", lang)}</p>',
        f'<p class="mha-progress-summary">{_t("progress.no_script", lang)}</p>',
        '<table class="mha-progress-table">',
        f"<caption>{_t('progress.caption', lang)}</caption>",
        (
            f'<thead><tr><th scope="col">{_t("progress.lesson", lang)}</th>'
            f'<th scope="col">{_t("progress.answered", lang)}</th>'
            f'<th scope="col">{_t("progress.correct", lang)}</th>'
            f'<th scope="col">{_t("progress.questions", lang)}</th></tr></thead>'
        ),
        "<tbody>",
        *(_row(lesson) for lesson in lessons),
        "</tbody>",
        (
            f'<tfoot><tr><th scope="row">{_t("progress.all_lessons", lang)}</th>'
            f'<td class="mha-progress-answered">{_UNKNOWN}</td>'
            f'<td class="mha-progress-correct">{_UNKNOWN}</td>'
            f'<td class="mha-progress-total">{total}</td></tr></tfoot>'
        ),
        "</table>",
        '<div class="mha-progress-actions" hidden>',
        f'<button type="button" class="mha-progress-reset">{_t("progress.reset", lang)}</button>',
        '<div class="mha-progress-confirm" role="group" aria-labelledby="mha-progress-ask" hidden>',
        f'<p id="mha-progress-ask">{_t("progress.confirm", lang)}</p>',
        f'<button type="button" class="mha-progress-yes">{_t("progress.yes", lang)}</button>',
        f'<button type="button" class="mha-progress-cancel">{_t("progress.cancel", lang)}</button>',
        "</div>",
        "</div>",
        '<p class="mha-progress-status" role="status" aria-live="polite" aria-atomic="true"></p>',
        "</div>",
    ]
    return "\n".join(lines) + "\n"
