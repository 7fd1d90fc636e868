"""Build the head explorer's markup: one HTML builder for the live widget and the static site.

The markup is useful with no JavaScript at all: a caption and, for every head, an HTML table of
its attention weights (the screen-reader view). ``static/mha_explorer.js`` enhances it in the
browser (head selector, focusable tokens, a spoken readout, heads side by side) from the same
data, embedded as ``<script type="application/json" class="mha-explorer-data">``.

The output is deterministic - the same tokens and weights give byte-identical HTML, with no
random ids and no timestamps - because it is stored in the notebooks and compared by nbval.
Weights are rounded to 3 decimals in the embedded data (for bars, shading and ranking). The
numbers a reader sees are the original weights to 2 decimals, formatted once in Python exactly
as numpy and torch print them with ``precision=2``, and embedded next to the weights; so the
tables, the readout and the panels show the same digits as the lesson's printed arrays.

Introduced in notebooks/07_multiple_heads.ipynb.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._markup import json_for_script
from .._validate import ArgumentTypeError, _is_torch_tensor, describe, shape_str
from ..ui_text import (
    DEFAULT_LANGUAGE,
    caption_translation,
    markup_attributes,
    resolve_language,
    text,
)

__all__ = [
    "ROW_SUM_TOLERANCE",
    "ExplorerData",
    "explorer_from_html",
    "format_weight",
    "prepare_explorer",
    "render_explorer_html",
    "translate_explorer",
]

ROW_SUM_TOLERANCE = 0.01
"""How far a row of weights may sum from 1 (weights rounded for display still pass)."""

_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*\Z")
_LAYOUT = "(num_heads, T_q, T_k)"


@dataclass(frozen=True)
class ExplorerData:
    """Validated explorer input.

    ``weights`` is a nested list ``(num_heads, T_q, T_k)`` of floats rounded to 3 decimals;
    ``display`` holds the same entries as 2-decimal strings (from the unrounded weights).
    """

    explorer_id: str
    tokens: tuple[str, ...]
    key_tokens: tuple[str, ...] | None
    head_names: tuple[str, ...]
    caption: str
    weights: list[list[list[float]]]
    display: list[list[list[str]]]

    @property
    def num_heads(self) -> int:
        return len(self.head_names)

    @property
    def keys(self) -> tuple[str, ...]:
        """The key tokens (the query tokens themselves for self-attention)."""
        return self.tokens if self.key_tokens is None else self.key_tokens

    def summary(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """One deterministic line in ``lang``, used as the widget's ``text/plain``."""
        heads = text("explorer.heads", lang, count=self.num_heads)
        if self.key_tokens is None:
            size = text("explorer.tokens", lang, count=len(self.tokens))
        else:
            size = text(
                "explorer.cross_size", lang, queries=len(self.tokens), keys=len(self.key_tokens)
            )
        return text("explorer.plain", lang, explorer=self.explorer_id, heads=heads, size=size)


def format_weight(value: float) -> str:
    """Format one weight with 2 decimals, as numpy and torch print it with ``precision=2``.

    The exact binary value is rounded (ties to even), so ``0.0751 -> "0.08"`` and
    ``0.125 -> "0.12"``; float32 weights are formatted from their own value.
    """
    return f"{float(value):.2f}"


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------


def _check_explorer_id(explorer_id: Any) -> str:
    if not isinstance(explorer_id, str):
        raise ArgumentTypeError(f"explorer_id must be a str, got {describe(explorer_id)}")
    if not _ID_PATTERN.match(explorer_id):
        raise ValueError(
            f"explorer_id must start with a letter or digit and use only letters, digits and "
            f"'_.:-' (it names the explorer in the page), got explorer_id={explorer_id!r}"
        )
    return explorer_id


def _check_strings(values: Any, name: str) -> tuple[str, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise ArgumentTypeError(
            f"{name} must be a list of strings (one per token), got {describe(values)}"
        )
    items = list(values)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise ArgumentTypeError(
                f"{name}[{index}] must be a str, got {describe(item)} (in {name} of length "
                f"{len(items)})"
            )
        if not item.strip():
            raise ValueError(
                f"{name}[{index}] is {item!r}: every entry of {name} must show some text "
                f"(len({name})={len(items)})"
            )
    return tuple(items)


def _as_weights(weights: Any) -> np.ndarray:
    if _is_torch_tensor(weights):
        tensor = weights.detach().cpu()
        if tensor.is_complex() or str(tensor.dtype) == "torch.bool":
            raise ArgumentTypeError(
                f"weights must hold real numbers, got a tensor of dtype {tensor.dtype} and "
                f"shape {shape_str(tensor.shape)}"
            )
        weights = tensor.double().numpy()
    try:
        array = np.asarray(weights)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise ArgumentTypeError(
            f"weights must be an array {_LAYOUT} of real numbers, got {describe(weights)}: {error}"
        ) from error
    if array.dtype.kind not in "fiu":
        raise ArgumentTypeError(
            f"weights must hold real numbers, got dtype {array.dtype} with "
            f"weights.shape={shape_str(array.shape)}"
        )
    return array.astype(np.float64)


def _check_weights(array: np.ndarray) -> None:
    shape = shape_str(array.shape)
    if array.ndim != 3:
        hint = ""
        if array.ndim == 2:
            hint = "; for a single head add the heads axis: weights[None]"
        elif array.ndim == 4:
            hint = "; for a batch pick one example, e.g. weights[0]"
        raise ValueError(
            f"weights must have 3 dimensions {_LAYOUT}, got weights.shape={shape} "
            f"(ndim={array.ndim}){hint}"
        )
    if 0 in array.shape:
        raise ValueError(
            f"weights must have at least one head, one query and one key {_LAYOUT}, got "
            f"weights.shape={shape}"
        )
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"weights contains NaN or inf (first at index {where}: {array[where]}); "
            f"weights.shape={shape}"
        )
    negative = array < 0
    if negative.any():
        where = tuple(int(i) for i in np.argwhere(negative)[0])
        raise ValueError(
            f"weights must be non-negative (attention weights come from a softmax), found "
            f"{array[where]:.4g} at index {where}; weights.shape={shape}. "
            "Did you pass the scores instead of the weights?"
        )
    sums = array.sum(axis=-1)
    ok = (np.abs(sums - 1.0) <= ROW_SUM_TOLERANCE) | (sums == 0.0)
    if not ok.all():
        h, q = (int(i) for i in np.argwhere(~ok)[0])
        raise ValueError(
            f"each row of weights (one query's weights over the keys) must sum to 1, or be "
            f"all 0 for a fully masked query; weights[{h}, {q}, :] sums to {sums[h, q]:.4g}; "
            f"weights.shape={shape}. Did you pass the scores instead of the weights, or "
            "apply the softmax over the wrong axis?"
        )


def _check_labels(labels, name: str, axis: str, count: int, shape: str) -> tuple[str, ...]:
    """``labels`` (strings), one per entry of the weights' ``axis`` (``count`` of them)."""
    labels = _check_strings(labels, name)
    if len(labels) != count:
        one = "one token per key" if name == "key_tokens" else "one name per head"
        raise ValueError(
            f"{name} has {len(labels)} entries but weights.shape={shape} has {axis} {_LAYOUT}; "
            f"pass {one}"
        )
    return labels


def prepare_explorer(
    tokens: Sequence[str],
    weights: Any,
    *,
    explorer_id: str,
    head_names: Sequence[str] | None = None,
    caption: str | None = None,
    key_tokens: Sequence[str] | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> ExplorerData:
    """Validate the explorer's inputs and round the weights; see :func:`render_explorer_html`.

    ``lang`` is the language of the default head names and caption.

    Raises ``ValueError`` (or :class:`ArgumentTypeError`, also a ``ValueError``) naming the
    argument and the shapes involved.

    Introduced in notebooks/07_multiple_heads.ipynb.
    """
    explorer_id = _check_explorer_id(explorer_id)
    tokens = _check_strings(tokens, "tokens")
    array = _as_weights(weights)
    _check_weights(array)
    num_heads, t_q, t_k = array.shape
    shape = shape_str(array.shape)
    if len(tokens) != t_q:
        raise ValueError(
            f"tokens has {len(tokens)} entries but weights.shape={shape} has T_q={t_q} "
            f"query rows {_LAYOUT}; pass one token per query"
        )
    if key_tokens is None:
        if t_k != t_q:
            raise ValueError(
                f"weights.shape={shape} has T_k={t_k} key columns but tokens has {len(tokens)} "
                "entries; for cross-attention (T_q != T_k) pass key_tokens= (one per key)"
            )
    else:
        key_tokens = _check_labels(key_tokens, "key_tokens", f"T_k={t_k} key columns", t_k, shape)
    lang = resolve_language(lang)
    if head_names is None:
        names = tuple(text("explorer.head_name", lang, index=h) for h in range(num_heads))
    else:
        names = _check_labels(head_names, "head_names", f"num_heads={num_heads}", num_heads, shape)
    if caption is None:
        caption = _default_caption(num_heads, tokens, key_tokens, lang)
    elif not isinstance(caption, str):
        raise ArgumentTypeError(f"caption must be a str or None, got {describe(caption)}")
    rounded = [[[round(float(w), 3) for w in row] for row in head] for head in array]
    display = [[[format_weight(w) for w in row] for row in head] for head in array]
    return ExplorerData(explorer_id, tokens, key_tokens, names, caption, rounded, display)


def _default_caption(
    num_heads: int, tokens: Sequence[str], key_tokens: Sequence[str] | None, lang: str
) -> str:
    heads = text("explorer.heads", lang, count=num_heads)
    if key_tokens is None:
        return text("explorer.caption_self", lang, heads=heads, tokens=" ".join(tokens))
    return text(
        "explorer.caption_cross", lang, heads=heads, queries=" ".join(tokens),
        keys=" ".join(key_tokens),
    )


# ---------------------------------------------------------------------------------------------
# another language, from the stored markup
# ---------------------------------------------------------------------------------------------

_MARKUP_ID = re.compile(r'<div class="mha-explorer" data-mha-explorer="([^"]*)"')
_MARKUP_CAPTION = re.compile(r'<p class="mha-explorer-caption">(.*?)</p>', re.DOTALL)
_MARKUP_DATA = re.compile(
    r'<script type="application/json" class="mha-explorer-data">(.*?)</script>', re.DOTALL
)


def explorer_from_html(markup: str) -> ExplorerData:
    """The :class:`ExplorerData` of a rendered explorer (as a lesson stores it), from its
    id, caption and embedded data: ``render_data_html(explorer_from_html(m)) == m`` for the
    markup ``m`` of :func:`render_explorer_html`.

    Raises ``ValueError`` when ``markup`` is not an explorer's markup.
    """
    found = _MARKUP_ID.search(markup), _MARKUP_CAPTION.search(markup), _MARKUP_DATA.search(markup)
    if not all(found):
        raise ValueError("markup is not a head explorer's (no data-mha-explorer, caption or data)")
    id_match, caption_match, data_match = found
    data = json.loads(data_match.group(1))  # json_for_script's \u escapes are valid JSON
    keys = data.get("key_tokens")
    return ExplorerData(
        explorer_id=html.unescape(id_match.group(1)),
        tokens=tuple(data["tokens"]),
        key_tokens=None if keys is None else tuple(keys),
        head_names=tuple(data["heads"]),
        caption=html.unescape(caption_match.group(1)),
        weights=data["weights"],
        display=data["display"],
    )


def translate_explorer(data: ExplorerData, lang: str) -> tuple[ExplorerData, bool]:
    """``data`` with its English default head names and caption in ``lang``.

    Head names ``"Head 0"``, ``"Head 1"``, ... (the English default) become that language's
    default; the caption is the default one in ``lang`` if it was the English default, else
    the lesson's caption from the table ``mha_lib/ui_text/<lang>.captions.json``. Returns the
    new data and whether the caption was translated (False: it stays English).
    """
    lang = resolve_language(lang)
    english = DEFAULT_LANGUAGE
    names = data.head_names
    if names == tuple(text("explorer.head_name", english, index=h) for h in range(len(names))):
        names = tuple(text("explorer.head_name", lang, index=h) for h in range(len(names)))
    default = _default_caption(data.num_heads, data.tokens, data.key_tokens, english)
    if data.caption == default:
        caption: str | None = _default_caption(data.num_heads, data.tokens, data.key_tokens, lang)
    else:
        caption = caption_translation(data.caption, lang)
    translated = caption is not None
    return (
        dataclasses.replace(data, head_names=names, caption=caption if translated else data.caption),
        translated,
    )


# ---------------------------------------------------------------------------------------------
# markup
# ---------------------------------------------------------------------------------------------


def _text(value: str) -> str:
    return html.escape(value, quote=True)




def _table_html(data: ExplorerData, head: int, lang: str) -> list[str]:
    name = data.head_names[head]
    caption = text("explorer.table_caption", lang, head=name)
    label = text("explorer.table_label", lang, head=name)
    lines = [
        (
            f'<div class="mha-explorer-table-wrap" role="group" tabindex="0"'
            f' aria-label="{_text(label)}">'
        ),
        f'<table class="mha-explorer-table" data-head="{head}">',
        f"<caption>{_text(caption)}</caption>",
        "<thead><tr>"
        f'<th scope="col">{_text(text("explorer.corner", lang))}</th>'
        + "".join(f'<th scope="col">{_text(k)}</th>' for k in data.keys)
        + "</tr></thead>",
        "<tbody>",
    ]
    rows = zip(data.tokens, data.weights[head], data.display[head], strict=True)
    for token, row, shown in rows:
        cells = "".join(
            f'<td style="--w:{w:.3f}">{text}</td>' for w, text in zip(row, shown, strict=True)
        )
        lines.append(f'<tr><th scope="row">{_text(token)}</th>{cells}</tr>')
    lines.extend(["</tbody>", "</table>", "</div>"])
    return lines


def _data_json(data: ExplorerData) -> dict[str, Any]:
    return {
        "version": 1,
        "heads": list(data.head_names),
        "tokens": list(data.tokens),
        "key_tokens": None if data.key_tokens is None else list(data.key_tokens),
        "weights": data.weights,
        "display": data.display,
    }


def render_data_html(data: ExplorerData, lang: str = DEFAULT_LANGUAGE) -> str:
    """Render already validated :class:`ExplorerData` (see :func:`render_explorer_html`)."""
    lang = resolve_language(lang)
    lines = [
        (
            f'<div class="mha-explorer" data-mha-explorer="{_text(data.explorer_id)}"'
            f'{markup_attributes(lang, "explorer")}>'
        ),
        f'<p class="mha-explorer-caption">{_text(data.caption)}</p>',
        '<div class="mha-explorer-tables">',
    ]
    for head in range(data.num_heads):
        lines.extend(_table_html(data, head, lang))
    lines.append("</div>")
    lines.append(
        '<script type="application/json" class="mha-explorer-data">'
        f"{json_for_script(_data_json(data))}</script>"
    )
    lines.append("</div>")
    return "\n".join(lines) + "\n"


def render_explorer_html(tokens: Sequence[str], weights: Any, **options: Any) -> str:
    """Render the head explorer as deterministic, self-contained HTML (a string).

    Args (the keywords are those of :func:`prepare_explorer`, which checks them):
        tokens: ``T_q`` strings, the query tokens (the rows); for self-attention also the keys.
        weights: attention weights ``(num_heads, T_q, T_k)``, numpy array or torch tensor; every
            row non-negative and summing to 1 (or all 0 for a fully masked query).
        explorer_id: the explorer's name in the page (``data-mha-explorer``), chosen by the
            caller, e.g. ``"heads-running"``; letters, digits and ``_.:-``.
        head_names: ``num_heads`` labels; default ``"Head 0"``, ``"Head 1"``, ... (the index
            into ``weights``).
        caption: a sentence above the explorer; default names the heads and tokens.
        key_tokens: ``T_k`` strings for cross-attention (``T_q != T_k``); default: ``tokens``.
        lang: the interface language, ``"en"`` (default) or ``"ja"``: table captions, default
            head names and caption, and (non-English) the browser's strings in the markup.

    Returns:
        ``<div class="mha-explorer" data-mha-explorer="...">`` holding a caption, one
        ``<table>`` per head (numbers to 2 decimals) and the data (weights rounded to 3
        decimals, plus the 2-decimal strings) as
        ``<script type="application/json" class="mha-explorer-data">``.

    Introduced in notebooks/07_multiple_heads.ipynb.
    """
    lang = resolve_language(options.get("lang", DEFAULT_LANGUAGE))
    return render_data_html(prepare_explorer(tokens, weights, **options), lang)
