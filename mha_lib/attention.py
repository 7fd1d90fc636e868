"""Scaled dot-product attention for one or many heads at once (numpy reference)."""

from __future__ import annotations

import math

import numpy as np

from ._validate import (
    as_bool_mask,
    as_float_array,
    broadcast_batch_shapes,
    check_finite,
    check_ndim,
    check_nonempty_sequence,
    check_nonzero_width,
    shape_str,
)
from .softmax import softmax


def attention_scores(q, k):
    """Compare every query with every key: ``q @ kᵀ / sqrt(d_k)``.

    Args:
        q: queries, shape ``(..., T_q, d_k)``.
        k: keys, shape ``(..., T_k, d_k)``; leading dims broadcast against q's.

    Returns:
        scores, shape ``(..., T_q, T_k)``: entry ``[i, j]`` says how well query i matches key j.
        Dividing by ``sqrt(d_k)`` keeps their spread near 1 whatever ``d_k`` is, so softmax
        does not saturate.

    Introduced in notebooks/03_attention_scores.ipynb.
    """
    q, k = _checked_queries_and_keys(q, k)
    broadcast_batch_shapes({"q": q.shape, "k": k.shape})
    return _scaled_scores(q, k)


def _checked_queries_and_keys(q, k):
    """q and k as float arrays, with named errors for bad dims, widths, lengths or values."""
    q = as_float_array(q, "q")
    k = as_float_array(k, "k")
    for name, x, layout in (("q", q, "(..., T_q, d_k)"), ("k", k, "(..., T_k, d_k)")):
        check_ndim(x.shape, name, 2, layout)
        check_finite(x, name)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must have the same width d_k, got q.shape={shape_str(q.shape)} "
            f"and k.shape={shape_str(k.shape)}"
        )
    check_nonempty_sequence(q.shape, "q", "T_q")
    check_nonempty_sequence(k.shape, "k", "T_k")
    check_nonzero_width(q.shape, "q")
    return q, k


def _scaled_scores(q, k):
    """``q @ kᵀ / sqrt(d_k)`` for validated arrays; a named error instead of an overflow."""
    d_k = q.shape[-1]
    k_t = np.swapaxes(k, -1, -2)  # (..., d_k, T_k)
    with np.errstate(over="ignore", invalid="ignore"):
        scores = q @ k_t / math.sqrt(d_k)  # (..., T_q, T_k)
    if not np.isfinite(scores).all():
        raise ValueError(
            "scores = q @ kᵀ / sqrt(d_k) overflowed to inf: q and k are too large for "
            f"{scores.dtype} (q.shape={shape_str(q.shape)}, k.shape={shape_str(k.shape)})"
        )
    return scores


def scaled_dot_product_attention(q, k, v, mask=None):
    """Attend from every query to every key and return the weighted sum of the values.

    Args:
        q: queries, shape ``(..., T_q, d_k)``.
        k: keys, shape ``(..., T_k, d_k)``.
        v: values, shape ``(..., T_k, d_v)``.
        mask: optional bool array broadcastable to ``(..., T_q, T_k)``; True = may attend
            (the convention of ``torch.nn.functional.scaled_dot_product_attention``; note that
            ``torch.nn.MultiheadAttention``'s bool masks use the opposite polarity).

    The leading dims ``...`` of q, k and v broadcast against each other (e.g. ``(batch,
    num_heads)``). Inputs are float32 or float64; the result has the promoted dtype.

    Returns:
        ``(output, weights)``: output ``(..., T_q, d_v)``, weights ``(..., T_q, T_k)``.
        Each row of weights sums to 1 over the keys, except for a query whose keys are all
        masked: its weights are all 0 and so is its output (never NaN).

    Steps: scores = q @ kᵀ / sqrt(d_k); masked scores become -inf; weights = softmax over the
    keys; output = weights @ v.

    Introduced in notebooks/06_weighted_sum.ipynb.
    """
    q, k = _checked_queries_and_keys(q, k)
    v = as_float_array(v, "v")
    check_ndim(v.shape, "v", 2, "(..., T_k, d_v)")
    check_finite(v, "v")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"k and v must have the same length T_k (one value per key), got "
            f"k.shape={shape_str(k.shape)} and v.shape={shape_str(v.shape)}"
        )
    check_nonzero_width(v.shape, "v")
    batch_shape = broadcast_batch_shapes({"q": q.shape, "k": k.shape, "v": v.shape})
    seq_len_q = q.shape[-2]
    seq_len_k = k.shape[-2]
    weights_shape = (*batch_shape, seq_len_q, seq_len_k)
    if mask is not None:
        mask = as_bool_mask(mask, weights_shape, "(..., T_q, T_k)")

    scores = _scaled_scores(q, k)  # (..., T_q, T_k)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)  # a blocked key gets weight exp(-inf) = 0
    weights = softmax(scores, axis=-1)  # (..., T_q, T_k), each row sums to 1 over the keys
    output = weights @ v  # (..., T_q, d_v)
    return output, weights
