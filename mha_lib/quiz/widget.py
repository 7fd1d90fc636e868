"""The quiz as an anywidget: a live view in Jupyter, static HTML everywhere else.

The widget's output carries three representations of the same quiz:

* ``application/vnd.jupyter.widget-view+json`` - the live view (JupyterLab, Notebook 7,
  VS Code, Colab), rendered by ``static/mha_quiz.js``;
* ``text/html`` - the deterministic markup of :func:`render_quiz_html`, which the course
  website shows and hydrates with the same ``mha_quiz.js`` (no kernel, no widget manager);
* ``text/plain`` - a fixed sentence (no memory address), so stored outputs stay stable.

Introduced in notebooks/01_input_vectors.ipynb (the first lesson with a quiz).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import traitlets

from ..static_widget import StaticHtmlWidget
from ..ui_text import js_strings, resolve_language, text
from .bank import load_bank
from .render import render_quiz_html

__all__ = ["CSS_PATH", "ESM_PATH", "STATIC_DIR", "QuizWidget", "show_quiz"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
ESM_PATH = STATIC_DIR / "mha_quiz.js"
CSS_PATH = STATIC_DIR / "mha_quiz.css"


class QuizWidget(StaticHtmlWidget):
    """A lesson's quiz; grading runs in the browser, so no Python callback is needed.

    Args:
        questions: a bank (list of question dicts), validated on render.
        quiz_id: the quiz's name, usually the lesson stem (``"01_input_vectors"``).
        lang: the interface language, ``"en"`` or ``"ja"`` (``None``: ``$MHA_LANG``, else
            ``"en"``); the questions' texts are the bank's.
    """

    _esm = ESM_PATH
    _css = CSS_PATH

    quiz_id = traitlets.Unicode("quiz").tag(sync=True)
    questions = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(
        self,
        questions: Sequence[dict[str, Any]] = (),
        quiz_id: str = "quiz",
        lang: str | None = None,
        **kwargs: Any,
    ) -> None:
        lang = resolve_language(lang)
        questions = [dict(q) for q in questions]
        html = render_quiz_html(questions, quiz_id, lang) if questions else ""
        super().__init__(
            questions=questions, quiz_id=quiz_id, html=html, lang=lang,
            ui_text=js_strings(lang, "quiz"), **kwargs,
        )

    @traitlets.observe("questions", "quiz_id", "lang")
    def _rerender(self, change: dict[str, Any]) -> None:
        if change["name"] == "lang":
            self.ui_text = js_strings(resolve_language(self.lang), "quiz")
        html = render_quiz_html(self.questions, self.quiz_id, self.lang) if self.questions else ""
        self.html = html

    def _plain_text(self) -> str:
        return text("quiz.plain", self.lang, count=len(self.questions), quiz=self.quiz_id)


def show_quiz(stem: str | os.PathLike[str], lang: str | None = None) -> QuizWidget:
    """Load a lesson's bank (by stem, e.g. ``"01_input_vectors"``, or path) as a quiz widget.

    ``lang``: ``"en"`` or ``"ja"``; ``None`` means ``$MHA_LANG`` if set, else ``"en"`` (so
    ``MHA_LANG=ja make lab`` shows every lesson's quiz in Japanese, from
    ``mha_lib/quiz/banks/ja/<stem>.yml``). Make it the last expression of a notebook cell so
    Jupyter displays it.
    """
    lang = resolve_language(lang)
    questions = load_bank(stem, lang)
    return QuizWidget(questions=questions, quiz_id=Path(os.fspath(stem)).stem, lang=lang)
