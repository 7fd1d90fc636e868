"""Linear maps from token vectors to queries, keys and values (numpy reference).

Introduced in notebooks/02_qkv_projections.ipynb.
"""

from __future__ import annotations

import numpy as np

from . import _validate
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
    x, w, b = _validate.linear_args(x, w, b)
    return _linear(x, w, b)


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
    query, key, value = _validate.project_qkv_args(query, key, value, params, MHAParams)
    return _project_qkv(query, key, value, params)


def _linear(x, w, b, names=("x", "w")):
    """``x @ w + b`` (``b`` may be None) of checked arrays: ``(..., d_in) -> (..., d_out)``.

    Finite inputs can still overflow to inf: that raises a ``ValueError`` naming ``names``.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        out = x @ w  # (..., seq_len, d_in) @ (d_in, d_out) -> (..., seq_len, d_out)
        out = out if b is None else out + b  # b (d_out,) is added to every row
    if not np.isfinite(out).all():
        x_name, w_name = names
        raise _validate.overflow_error(f"{x_name} @ {w_name}", **{x_name: x.shape, w_name: w.shape})
    return out


def _project_qkv(query, key, value, params):
    """:func:`project_qkv` of checked arrays."""
    q = _linear(query, params.w_q, params.b_q, ("query", "w_q"))  # (..., T_q, d_model)
    k = _linear(key, params.w_k, params.b_k, ("key", "w_k"))  # (..., T_k, d_model)
    v = _linear(value, params.w_v, params.b_v, ("value", "w_v"))  # (..., T_k, d_model)
    return q, k, v
