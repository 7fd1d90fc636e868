"""Quizzes for the course: question banks (data), one HTML builder, one browser behaviour.

* :mod:`.bank` - load and validate ``mha_lib/quiz/banks/<lesson-stem>.yml``;
* :mod:`.render` - :func:`render_quiz_html`, deterministic markup with the answer key;
* :mod:`.widget` - :class:`QuizWidget` (anywidget) and :func:`show_quiz` for lesson notebooks;
* ``static/mha_quiz.js`` and ``static/mha_quiz.css`` - behaviour and style, used both by the
  widget and by the static site (copied to ``_static/``).

The widget names are imported lazily so that loading and validating banks does not need
ipywidgets.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .._markup import lazy_attributes
from .bank import MISCONCEPTIONS, BankError, load_all_banks, load_bank, quiz_dir, validate_bank
from .render import render_quiz_html

if TYPE_CHECKING:  # pragma: no cover
    from .widget import QuizWidget, show_quiz

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Folder holding ``mha_quiz.js`` and ``mha_quiz.css`` (for the site's ``_static/``)."""

__all__ = [
    "MISCONCEPTIONS",
    "STATIC_DIR",
    "BankError",
    "QuizWidget",
    "load_all_banks",
    "load_bank",
    "quiz_dir",
    "render_quiz_html",
    "show_quiz",
    "validate_bank",
]

_LAZY = {"QuizWidget", "show_quiz"}
__getattr__, __dir__ = lazy_attributes(__name__, "widget", _LAZY)
