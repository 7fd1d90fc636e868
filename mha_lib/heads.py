"""Split the model dimension into heads and merge the heads back (numpy reference)."""

from __future__ import annotations

import numpy as np

from . import _validate


def split_heads(x, num_heads):
    """Split the last axis into ``num_heads`` heads and move the heads before the sequence.

    Args:
        x: shape ``(..., seq_len, d_model)``, e.g. the projected queries ``(batch, seq_len,
            d_model)``.
        num_heads: a positive int that divides ``d_model``.

    Returns:
        shape ``(..., num_heads, seq_len, d_head)`` with ``d_head = d_model // num_heads``.
        Head ``h`` holds the columns ``h * d_head : (h + 1) * d_head`` of every position.

    The reshape alone would give ``(..., seq_len, num_heads, d_head)``; the swap of the
    sequence and heads axes is what lets each head attend over the whole sequence. Reshaping
    straight to ``(..., num_heads, seq_len, d_head)`` would mix positions between heads.

    Introduced in notebooks/07_multiple_heads.ipynb.
    """
    x, num_heads = _validate.split_heads_args(x, num_heads)
    return _split_heads(x, num_heads)


def merge_heads(x):
    """Undo :func:`split_heads`: put the heads side by side again (concatenate, not sum).

    Args:
        x: shape ``(..., num_heads, seq_len, d_head)``, e.g. the heads' outputs.

    Returns:
        shape ``(..., seq_len, num_heads * d_head)``; columns ``h * d_head : (h + 1) * d_head``
        hold head ``h``. ``merge_heads(split_heads(x, num_heads))`` equals ``x``.

    numpy's reshape copies the swapped (non-contiguous) array when it must; torch's ``view``
    would need ``.contiguous()`` first.

    Introduced in notebooks/07_multiple_heads.ipynb.
    """
    x = _validate.merge_heads_args(x)
    return _merge_heads(x)


def _split_heads(x: np.ndarray, num_heads: int) -> np.ndarray:
    """:func:`split_heads`, unchecked."""
    *batch_shape, seq_len, d_model = x.shape
    d_head = d_model // num_heads
    x = x.reshape(*batch_shape, seq_len, num_heads, d_head)  # (..., seq_len, num_heads, d_head)
    return np.swapaxes(x, -3, -2)  # (..., num_heads, seq_len, d_head)


def _merge_heads(x: np.ndarray) -> np.ndarray:
    """:func:`merge_heads`, unchecked."""
    *batch_shape, num_heads, seq_len, d_head = x.shape
    x = np.swapaxes(x, -3, -2)  # (..., seq_len, num_heads, d_head)
    return x.reshape(*batch_shape, seq_len, num_heads * d_head)  # (..., seq_len, d_model)
