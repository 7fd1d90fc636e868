"""Scaled dot-product attention for one or many heads at once (numpy reference)."""

from __future__ import annotations

import math

import numpy as np

from . import _validate
from .softmax import _softmax


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
    q, k = _validate.scores_args(q, k)
    return _scores(q, k)


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

    Introduced in notebooks/06_weighted_sum.ipynb.
    """
    q, k, v, mask = _validate.attention_args(q, k, v, mask)
    return _attention(q, k, v, mask)


def _scores(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``q @ kᵀ / sqrt(d_k)``, unchecked, but a named error instead of an overflow."""
    d_k = q.shape[-1]
    k_t = np.swapaxes(k, -1, -2)  # (..., d_k, T_k)
    with np.errstate(over="ignore", invalid="ignore"):
        scores = q @ k_t / math.sqrt(d_k)  # (..., T_q, d_k) @ (..., d_k, T_k) -> (..., T_q, T_k)
    if not np.isfinite(scores).all():
        raise _validate.overflow_error("scores = q @ kᵀ / sqrt(d_k)", q=q.shape, k=k.shape)
    return scores


def _attention(q, k, v, mask):
    """:func:`scaled_dot_product_attention` of checked arrays, in three steps."""
    # 1. Scores: how well each query matches each key.
    scores = _scores(q, k)  # (..., T_q, T_k)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)  # a blocked key gets weight exp(-inf) = 0

    # 2. Weights: softmax over the keys, so each query's weights sum to 1.
    weights = _softmax(scores, axis=-1)  # (..., T_q, T_k)

    # 3. Output: each query's weighted sum of the values.
    output = weights @ v  # (..., T_q, T_k) @ (..., T_k, d_v) -> (..., T_q, d_v)
    return output, weights
