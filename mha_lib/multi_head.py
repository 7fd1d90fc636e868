"""Multi-head attention as one function of numpy arrays and an MHAParams."""

from __future__ import annotations

from . import _validate
from .attention import _attention
from .heads import _merge_heads, _split_heads
from .params import MHAParams
from .projections import _linear, _project_qkv


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
    query, key, value, num_heads, mask = _validate.mha_args(
        query, key, value, params, MHAParams, num_heads, mask
    )

    # 1. One projection each for q, k, v (not one per head): x @ w + b.
    q, k, v = _project_qkv(query, key, value, params)
    # q (..., T_q, d_model); k, v (..., T_k, d_model)

    # 2. Split d_model into num_heads slices of width d_head.
    q = _split_heads(q, num_heads)  # (..., num_heads, T_q, d_head)
    k = _split_heads(k, num_heads)  # (..., num_heads, T_k, d_head)
    v = _split_heads(v, num_heads)  # (..., num_heads, T_k, d_head)

    # 3. Attention in every head at once: the heads axis is just another batch axis.
    heads, weights = _attention(q, k, v, mask)
    # heads (..., num_heads, T_q, d_head); weights (..., num_heads, T_q, T_k)

    # 4. Concatenate the heads side by side (not summed), then mix them with w_o.
    merged = _merge_heads(heads)  # (..., T_q, d_model)
    output = _linear(merged, params.w_o, params.b_o, ("merged", "w_o"))  # (..., T_q, d_model)
    return output, weights
