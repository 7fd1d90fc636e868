"""Linear maps from token vectors to queries, keys and values (numpy reference).

Introduced in notebooks/02_qkv_projections.ipynb.
"""

from __future__ import annotations

from ._validate import as_float_array, check_finite, check_ndim, shape_str, type_name
from .params import MHAParams


def linear(x, w, b=None):
    """``x @ w + b``: map every row of ``x`` from ``d_in`` to ``d_out`` numbers.

    Args:
        x: ``(..., seq_len, d_in)``.
        w: ``(d_in, d_out)``, used as ``x @ w`` (torch's ``nn.Linear`` stores the transpose).
        b: optional ``(d_out,)``.

    Returns:
        ``(..., seq_len, d_out)``. Introduced in notebooks/02_qkv_projections.ipynb.
    """
    x = as_float_array(x, "x")
    w = as_float_array(w, "w")
    check_ndim(x.shape, "x", 1, "(..., d_in)")
    check_finite(x, "x")
    if w.ndim != 2:
        raise ValueError(f"w must be 2-D (d_in, d_out), got w.shape={shape_str(w.shape)}")
    if x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"x has width {x.shape[-1]} (x.shape={shape_str(x.shape)}) but w expects "
            f"{w.shape[0]} inputs (w.shape={shape_str(w.shape)})"
        )
    out = x @ w  # (..., seq_len, d_in) @ (d_in, d_out) -> (..., seq_len, d_out)
    if b is not None:
        b = as_float_array(b, "b")
        if b.shape != (w.shape[1],):
            raise ValueError(
                f"b must have shape ({w.shape[1]},) to match w.shape={shape_str(w.shape)}, "
                f"got b.shape={shape_str(b.shape)}"
            )
        out = out + b
    return out


def project_qkv(query, key, value, params):
    """Project queries, keys and values with their own learned matrices.

    Args:
        query: ``(..., T_q, d_query_in)``; key: ``(..., T_k, d_key_in)``;
        value: ``(..., T_k, d_value_in)`` — for self-attention all three are ``x``.
        params: an :class:`MHAParams` (``w_q``, ``w_k``, ``w_v`` and biases).

    Returns:
        ``(q, k, v)`` with shapes ``(..., T_q, d_model)``, ``(..., T_k, d_model)``,
        ``(..., T_k, d_model)``. Introduced in notebooks/02_qkv_projections.ipynb.
    """
    if not isinstance(params, MHAParams):
        raise TypeError(f"params must be an MHAParams, got {type_name(params)}")
    named = {"query": (query, "w_q", "b_q"), "key": (key, "w_k", "b_k"),
             "value": (value, "w_v", "b_v")}
    results = []
    for name, (x, w_name, b_name) in named.items():
        x = as_float_array(x, name)
        w = getattr(params, w_name)
        if x.ndim < 1 or x.shape[-1] != w.shape[0]:
            raise ValueError(
                f"{name} has width {x.shape[-1] if x.ndim else None} "
                f"({name}.shape={shape_str(x.shape)}) but params.{w_name} expects "
                f"{w.shape[0]} ({w_name}.shape={shape_str(w.shape)})"
            )
        results.append(linear(x, w, getattr(params, b_name)))
    q, k, v = results
    return q, k, v
