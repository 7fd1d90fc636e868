"""Multi-head attention as one function of numpy arrays and an MHAParams."""

from __future__ import annotations

import numpy as np

from ._validate import (
    as_bool_mask,
    as_float_array,
    broadcast_batch_shapes,
    check_finite,
    check_heads_divide,
    check_ndim,
    check_nonempty_sequence,
    check_positive_int,
    shape_str,
    type_name,
)
from .attention import scaled_dot_product_attention
from .heads import merge_heads, split_heads
from .params import MHAParams


def multi_head_attention(query, key, value, params, num_heads, mask=None):
    """Project, split into heads, attend in every head at once, merge, project the output.

    Args:
        query: ``(..., T_q, d_query_in)``, the sequence that asks (self-attention: x).
        key: ``(..., T_k, d_key_in)``, the sequence that is searched (self-attention: x).
        value: ``(..., T_k, d_value_in)``, what the keys pass on (self-attention: x).
        params: an :class:`MHAParams` with ``w_q (d_query_in, d_model)``, ``w_k (d_key_in,
            d_model)``, ``w_v (d_value_in, d_model)``, ``w_o (d_model, d_model)`` and biases.
        num_heads: a positive int dividing ``d_model``; ``d_head = d_model // num_heads``.
        mask: optional bool array broadcastable to the weights' shape ``(..., num_heads, T_q,
            T_k)``; True = may attend. A causal mask ``(T_q, T_k)`` and a padding mask
            ``(batch, 1, 1, T_k)`` both work; a per-batch mask ``(batch, T_q, T_k)`` needs the
            heads axis added: ``mask[:, None]``.

    The leading (batch) dims of query, key and value must broadcast against each other.

    Returns:
        ``(output, weights)``: output ``(..., T_q, d_model)``; weights per head ``(...,
        num_heads, T_q, T_k)``. A query whose keys are all masked gets zero weights, so its
        merged heads are 0 and its output is just the output bias ``b_o``.

    Introduced in notebooks/08_concat_and_output_projection.ipynb.
    """
    if not isinstance(params, MHAParams):
        raise TypeError(f"params must be an MHAParams, got {type_name(params)}")
    num_heads = check_positive_int(num_heads, "num_heads")
    check_heads_divide(params.d_model, num_heads)
    query = as_float_array(query, "query")
    key = as_float_array(key, "key")
    value = as_float_array(value, "value")
    inputs = {
        "query": (query, "w_q", "(..., T_q, d_query_in)"),
        "key": (key, "w_k", "(..., T_k, d_key_in)"),
        "value": (value, "w_v", "(..., T_k, d_value_in)"),
    }
    for name, (x, weight_name, layout) in inputs.items():
        check_ndim(x.shape, name, 2, layout)
        check_finite(x, name)
        weight = getattr(params, weight_name)
        if x.shape[-1] != weight.shape[0]:
            raise ValueError(
                f"{name} has width {x.shape[-1]} ({name}.shape={shape_str(x.shape)}) but "
                f"params.{weight_name} expects {weight.shape[0]} "
                f"({weight_name}.shape={shape_str(weight.shape)})"
            )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"key and value must have the same length T_k (one value per key), got "
            f"key.shape={shape_str(key.shape)} and value.shape={shape_str(value.shape)}"
        )
    check_nonempty_sequence(query.shape, "query", "T_q")
    check_nonempty_sequence(key.shape, "key", "T_k")
    shapes = {"query": query.shape, "key": key.shape, "value": value.shape}
    batch_shape = broadcast_batch_shapes(shapes)
    weights_shape = (*batch_shape, num_heads, query.shape[-2], key.shape[-2])
    if mask is not None:
        mask = as_bool_mask(mask, weights_shape, "(..., num_heads, T_q, T_k)")

    # 1. One projection each for q, k, v (not one per head): x @ w + b.
    q = _linear(query, params.w_q, params.b_q)  # (..., T_q, d_model)
    k = _linear(key, params.w_k, params.b_k)  # (..., T_k, d_model)
    v = _linear(value, params.w_v, params.b_v)  # (..., T_k, d_model)

    # 2. Split d_model into num_heads slices of width d_head.
    q = split_heads(q, num_heads)  # (..., num_heads, T_q, d_head)
    k = split_heads(k, num_heads)  # (..., num_heads, T_k, d_head)
    v = split_heads(v, num_heads)  # (..., num_heads, T_k, d_head)

    # 3. Attention in every head at once: the heads axis is just another batch axis.
    heads, weights = scaled_dot_product_attention(q, k, v, mask)
    # heads: (..., num_heads, T_q, d_head); weights: (..., num_heads, T_q, T_k)

    # 4. Concatenate the heads side by side (not summed), then mix them with w_o.
    merged = merge_heads(heads)  # (..., T_q, d_model)
    output = _linear(merged, params.w_o, params.b_o)  # (..., T_q, d_model)
    return output, weights


def _linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``x @ weight + bias`` (bias may be None): ``(..., d_in) -> (..., d_out)``."""
    y = x @ weight
    return y if bias is None else y + bias
