"""The head explorer as an anywidget: a live view in Jupyter, static HTML everywhere else.

The widget's output carries three representations of the same explorer:

* ``application/vnd.jupyter.widget-view+json`` - the live view (JupyterLab, Notebook 7,
  VS Code, Colab), rendered by ``static/mha_explorer.js``;
* ``text/html`` - the deterministic markup of :func:`render_explorer_html` (tables of the
  weights plus the data), which the course website shows and ``mha_explorer.js`` enhances
  with no kernel, no widget manager and no network;
* ``text/plain`` - one fixed line (no memory address), so stored outputs stay stable.

Introduced in notebooks/07_multiple_heads.ipynb.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import traitlets

from ..static_widget import StaticHtmlWidget
from ..ui_text import js_strings, resolve_language
from .render import ExplorerData, prepare_explorer, render_data_html

__all__ = ["CSS_PATH", "ESM_PATH", "STATIC_DIR", "HeadExplorer", "show_heads"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
ESM_PATH = STATIC_DIR / "mha_explorer.js"
CSS_PATH = STATIC_DIR / "mha_explorer.css"


class HeadExplorer(StaticHtmlWidget):
    """Every head's attention for one sentence; all interaction runs in the browser.

    Args:
        tokens: ``T_q`` query tokens (for self-attention also the keys).
        weights: attention weights ``(num_heads, T_q, T_k)``, numpy array or torch tensor.
        explorer_id: the explorer's name in the page, e.g. ``"heads-running"``.
        head_names: ``num_heads`` labels (default ``"Head 0"``, ``"Head 1"``, ...).
        caption: a sentence shown above the explorer.
        key_tokens: ``T_k`` key tokens for cross-attention (default: ``tokens``).
        lang: the interface language, ``"en"`` or ``"ja"`` (``None``: ``$MHA_LANG``, else
            ``"en"``).

    The only synced state is the rendered ``html`` (and ``explorer_id``); ``data`` keeps the
    validated inputs, with the weights rounded to 3 decimals.

    Introduced in notebooks/07_multiple_heads.ipynb.
    """

    _esm = ESM_PATH
    _css = CSS_PATH

    explorer_id = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self, tokens: Sequence[str], weights: Any, lang: str | None = None, **options: Any
    ):
        # options: explorer_id, head_names, caption, key_tokens, as in show_heads.
        lang = resolve_language(lang)
        data = prepare_explorer(tokens, weights, lang=lang, **options)
        super().__init__(
            explorer_id=data.explorer_id, html=render_data_html(data, lang), lang=lang,
            ui_text=js_strings(lang, "explorer"),
        )
        self.data: ExplorerData = data

    def _plain_text(self) -> str:
        return self.data.summary(self.lang)


def show_heads(
    tokens: Sequence[str], weights: Any, lang: str | None = None, **options: Any
) -> HeadExplorer:
    """Show every head's attention weights for one sentence as an interactive explorer.

    Args (the keywords are checked by :func:`~mha_lib.explorer.render.prepare_explorer`):
        tokens: ``T_q`` strings, e.g. ``data.running_example().tokens`` (10).
        weights: ``(num_heads, T_q, T_k)`` attention weights (numpy or torch), e.g. the second
            result of ``mha_lib.multi_head_attention(x, x, x, params, num_heads)``.
        explorer_id: a name for this explorer, unique on its page (``"heads-running"``).
        head_names: optional ``num_heads`` labels; default ``"Head 0"``, ``"Head 1"``, ...
        caption: optional sentence shown above the explorer.
        key_tokens: ``T_k`` strings for cross-attention (``T_q != T_k``).
        lang: the interface language, ``"en"`` or ``"ja"``; ``None`` (default) means
            ``$MHA_LANG`` if set, else ``"en"``.

    Returns:
        A :class:`HeadExplorer`; make it the last expression of a cell so Jupyter shows it.

    Raises:
        ValueError: naming the argument and shapes, for a wrong number of dimensions, a token
            count that does not match ``T_q``/``T_k``, negative weights, NaN, or rows that do
            not sum to 1 (a fully masked row of zeros is allowed).

    Introduced in notebooks/07_multiple_heads.ipynb.
    """
    return HeadExplorer(tokens, weights, lang=lang, **options)
