"""Reference computations with a switch for each classic mistake (private).

The checkers recognise a mistake by computing what that mistake produces and comparing it
with the learner's result. With every switch at its default, each function here equals the
canonical library function (tests/test_exercises.py proves it), so the variants differ from
the truth in exactly one step.
"""

from __future__ import annotations

import math

import numpy as np

from ..softmax import softmax


def attention_variant(q, k, v, mask=None, *, divisor=None, softmax_axis=-1, invert_mask=False):
    """Scaled dot-product attention, optionally done wrong.

    Args:
        q, k, v: ``(..., T_q, d_k)``, ``(..., T_k, d_k)``, ``(..., T_k, d_v)``.
        mask: bool, broadcastable to ``(..., T_q, T_k)``; True = may attend.
        divisor: what the scores are divided by; default ``sqrt(d_k)`` (1 = no scaling).
        softmax_axis: -1 is right (over the keys); -2 normalises over the queries.
        invert_mask: treat True as "blocked".

    Returns:
        ``(output (..., T_q, d_v), weights (..., T_q, T_k))``.
    """
    if divisor is None:
        divisor = math.sqrt(q.shape[-1])
    scores = q @ np.swapaxes(k, -1, -2) / divisor  # (..., T_q, T_k)
    if mask is not None:
        allowed = ~mask if invert_mask else mask
        scores = np.where(allowed, scores, -np.inf)
    weights = softmax(scores, axis=softmax_axis)  # (..., T_q, T_k)
    return weights @ v, weights


def split_heads_variant(x, num_heads, *, transpose=True):
    """``(..., T, d_model) -> (..., num_heads, T, d_head)``; ``transpose=False`` only reshapes."""
    *batch_shape, seq_len, d_model = x.shape
    d_head = d_model // num_heads
    if not transpose:  # the mistake: positions leak between heads
        return x.reshape(*batch_shape, num_heads, seq_len, d_head)
    x = x.reshape(*batch_shape, seq_len, num_heads, d_head)  # (..., T, num_heads, d_head)
    return np.swapaxes(x, -3, -2)  # (..., num_heads, T, d_head)


def split_heads_reshape_to_heads_last(x, num_heads):
    """The first half of a split, without the swap: ``(..., T, num_heads, d_head)``."""
    *batch_shape, seq_len, d_model = x.shape
    return x.reshape(*batch_shape, seq_len, num_heads, d_model // num_heads)


def merge_heads_variant(x, *, transpose=True):
    """``(..., num_heads, T, d_head) -> (..., T, num_heads * d_head)``; ``transpose=False``
    only reshapes (the mistake)."""
    *batch_shape, num_heads, seq_len, d_head = x.shape
    if transpose:
        x = np.swapaxes(x, -3, -2)  # (..., T, num_heads, d_head)
    return x.reshape(*batch_shape, seq_len, num_heads * d_head)


def mha_variant(
    query,
    key,
    value,
    params,
    num_heads,
    mask=None,
    *,
    divisor=None,
    softmax_axis=-1,
    invert_mask=False,
    split_transpose=True,
    merge_transpose=True,
    combine_heads="concatenate",
    output_projection=True,
    output_bias=True,
    input_biases=True,
):
    """Multi-head attention with one switch per mistake.

    Args (beyond :func:`mha_lib.multi_head.multi_head_attention`'s):
        divisor: what each head's scores are divided by; default ``sqrt(d_head)``.
        softmax_axis, invert_mask: as in :func:`attention_variant`.
        split_transpose, merge_transpose: False = reshape only.
        combine_heads: "concatenate" (right), "sum" or "mean" — the latter two return the
            combined heads ``(..., T_q, d_head)`` without any output projection.
        output_projection: False leaves out ``@ w_o + b_o``.
        output_bias, input_biases: False leaves out ``b_o`` / ``b_q, b_k, b_v``.

    Returns:
        ``(output, weights (..., num_heads, T_q, T_k))``.
    """

    def project(x, weight, bias):
        return x @ weight + (bias if bias is not None and input_biases else 0)

    d_head = params.d_model // num_heads
    q = project(query, params.w_q, params.b_q)  # (..., T_q, d_model)
    k = project(key, params.w_k, params.b_k)  # (..., T_k, d_model)
    v = project(value, params.w_v, params.b_v)  # (..., T_k, d_model)
    q, k, v = (split_heads_variant(t, num_heads, transpose=split_transpose) for t in (q, k, v))
    heads, weights = attention_variant(
        q,
        k,
        v,
        mask,
        divisor=math.sqrt(d_head) if divisor is None else divisor,
        softmax_axis=softmax_axis,
        invert_mask=invert_mask,
    )  # heads (..., num_heads, T_q, d_head); weights (..., num_heads, T_q, T_k)
    if combine_heads == "sum":
        return heads.sum(axis=-3), weights  # (..., T_q, d_head)
    if combine_heads == "mean":
        return heads.mean(axis=-3), weights  # (..., T_q, d_head)
    merged = merge_heads_variant(heads, transpose=merge_transpose)  # (..., T_q, d_model)
    if not output_projection:
        return merged, weights
    output = merged @ params.w_o  # (..., T_q, d_model)
    if output_bias and params.b_o is not None:
        output = output + params.b_o
    return output, weights
