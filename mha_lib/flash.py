"""Tiled attention with an online softmax: the idea behind FlashAttention, in numpy.

Introduced in notebooks/11_cost_of_attention.ipynb.
"""

from __future__ import annotations

import math

import numpy as np

from . import _validate


def flash_attention(q, k, v, mask=None, block_size=64):
    """Scaled dot-product attention computed tile by tile, never holding all the scores.

    Args:
        q: queries, shape ``(..., T_q, d_k)``.
        k: keys, shape ``(..., T_k, d_k)``.
        v: values, shape ``(..., T_k, d_v)``.
        mask: optional bool array broadcastable to ``(..., T_q, T_k)``; True = may attend
            (as in :func:`mha_lib.scaled_dot_product_attention` and
            ``torch.nn.functional.scaled_dot_product_attention``).
        block_size: a positive int, the rows (queries) and columns (keys) of one tile; the
            lengths need not be multiples of it (the last tile is smaller).

    Returns:
        output ``(..., T_q, d_v)``, equal to ``scaled_dot_product_attention(q, k, v,
        mask)[0]`` up to rounding (within 1e-10 in float64). A query whose keys are all masked
        gets an output of zeros, never NaN. The weights are not returned: they are never
        stored.

    For each block of ``block_size`` queries the keys are visited one block at a time. Each
    query keeps three running numbers: the largest score seen so far ``m``, the sum of
    ``exp(score - m)`` so far ``l``, and the weighted sum of values so far ``acc`` (scaled by
    the same ``exp(-m)``). When a new block raises the maximum to ``m_new``, the old ``l`` and
    ``acc`` are multiplied by ``exp(m - m_new)``, which turns ``exp(old_score - m)`` into
    ``exp(old_score - m_new)``; at the end ``acc / l`` is the softmax-weighted sum. The
    largest array is one ``(..., block_size, block_size)`` tile of scores instead of the
    ``(..., T_q, T_k)`` matrix.

    Introduced in notebooks/11_cost_of_attention.ipynb.
    """
    q, k, v, mask, block_size = _validate.flash_args(q, k, v, mask, block_size)
    return _flash_attention(q, k, v, mask, block_size)


def _flash_attention(q, k, v, mask, block_size):
    """:func:`flash_attention` of checked arrays."""
    *_, seq_len_q, d_k = q.shape
    seq_len_k, d_v = k.shape[-2], v.shape[-1]
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    dtype = np.result_type(q, k, v)
    sqrt_d_k = math.sqrt(d_k)
    output = np.empty((*batch, seq_len_q, d_v), dtype=dtype)  # (..., T_q, d_v)

    for q_start in range(0, seq_len_q, block_size):
        rows = slice(q_start, min(q_start + block_size, seq_len_q))
        q_tile = q[..., rows, :]  # (..., rows, d_k)
        n_rows = rows.stop - rows.start
        # 1. Running state of each query in the block: max m, sum l, weighted values acc.
        m = np.full((*batch, n_rows, 1), -np.inf, dtype=dtype)  # (..., rows, 1)
        l = np.zeros((*batch, n_rows, 1), dtype=dtype)
        acc = np.zeros((*batch, n_rows, d_v), dtype=dtype)  # (..., rows, d_v)

        for k_start in range(0, seq_len_k, block_size):
            cols = slice(k_start, min(k_start + block_size, seq_len_k))
            # 2. One tile of scores, masked like the reference: blocked keys get -inf.
            scores = _tile_scores(q_tile, k[..., cols, :], sqrt_d_k, q.shape, k.shape)
            if mask is not None:
                scores = np.where(_mask_tile(mask, rows, cols), scores, -np.inf)
            # scores (..., rows, cols)

            # 3. The new running max; rows with only -inf so far shift by 0 instead (no NaN).
            m_new = np.maximum(m, scores.max(axis=-1, keepdims=True))  # (..., rows, 1)
            shift = np.where(np.isneginf(m_new), 0.0, m_new)
            # 4. Rescale the old sum and values to the new max, then add this tile's share.
            correction = np.exp(m - shift)  # exp(m_old - m_new) <= 1; exp(-inf) = 0 at start
            p = np.exp(scores - shift)  # (..., rows, cols), every exponent <= 0
            l = correction * l + p.sum(axis=-1, keepdims=True)
            acc = correction * acc + p @ v[..., cols, :]  # (..., rows, cols) @ (..., cols, d_v)
            m = m_new

        # 5. Normalise once at the end; a fully masked query has l = 0 and keeps zeros.
        output[..., rows, :] = np.divide(acc, l, out=np.zeros_like(acc), where=l > 0)
    return output


def _tile_scores(q_tile, k_tile, sqrt_d_k, q_shape, k_shape):
    """``q_tile @ k_tileᵀ / sqrt(d_k)``, and the reference's named error if it overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        scores = q_tile @ np.swapaxes(k_tile, -1, -2) / sqrt_d_k  # (..., rows, cols)
    if not np.isfinite(scores).all():
        raise _validate.overflow_error("scores = q @ kᵀ / sqrt(d_k)", q=q_shape, k=k_shape)
    return scores


def _mask_tile(mask, rows, cols):
    """The part of ``mask`` (broadcastable to ``(..., T_q, T_k)``) that covers one tile;
    an axis of size 1 (or missing) broadcasts over the whole tile."""
    if mask.ndim < 2:
        mask = mask.reshape((1,) * (2 - mask.ndim) + mask.shape)  # (1, T_k) or (1, 1)
    row_part = rows if mask.shape[-2] > 1 else slice(None)
    col_part = cols if mask.shape[-1] > 1 else slice(None)
    return mask[..., row_part, col_part]
