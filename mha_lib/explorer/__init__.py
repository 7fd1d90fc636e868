"""The head explorer: every head's attention for one sentence, in Jupyter and on the site.

* :mod:`.render` - :func:`render_explorer_html`, deterministic markup (tables + data);
* :mod:`.widget` - :class:`HeadExplorer` (anywidget) and :func:`show_heads` for lessons;
* ``static/mha_explorer.js`` and ``static/mha_explorer.css`` - behaviour and style, used both
  by the widget and by the static site (served from ``_static/``).

The widget names are imported lazily so that rendering HTML does not need ipywidgets.

Introduced in notebooks/07_multiple_heads.ipynb.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .._markup import lazy_attributes
from .render import ExplorerData, format_weight, prepare_explorer, render_explorer_html

if TYPE_CHECKING:  # pragma: no cover
    from .widget import HeadExplorer, show_heads

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Folder holding ``mha_explorer.js`` and ``mha_explorer.css`` (for the site's ``_static/``)."""

__all__ = [
    "STATIC_DIR",
    "ExplorerData",
    "HeadExplorer",
    "format_weight",
    "prepare_explorer",
    "render_explorer_html",
    "show_heads",
]

_LAZY = {"HeadExplorer", "show_heads"}
__getattr__, __dir__ = lazy_attributes(__name__, "widget", _LAZY)
