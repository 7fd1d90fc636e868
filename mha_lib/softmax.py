"""A numerically stable softmax that also handles fully masked rows."""

from __future__ import annotations

import numpy as np

from . import _validate


def softmax(x, axis=-1):
    """Turn scores into weights that are positive and sum to 1 along ``axis``.

    Args:
        x: scores of any shape, e.g. ``(..., T_q, T_k)``; float32 or float64 (lists and integer
            arrays become float64). ``-inf`` entries are allowed (this is how a mask enters) and
            get weight 0; NaN and ``+inf`` raise ``ValueError``.
        axis: the axis to normalise over, default the last one (over the keys).

    Returns:
        weights with the same shape and dtype as ``x``. A slice that is entirely ``-inf``
        (a query whose keys are all masked) gives all zeros, not NaN.

    The maximum along ``axis`` is subtracted before ``exp``: softmax does not change when a
    constant is added to every score, and this keeps ``exp`` from overflowing for huge scores.

    Introduced in notebooks/04_softmax.ipynb.
    """
    x, axis = _validate.softmax_args(x, axis)
    return _softmax(x, axis)


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """:func:`softmax` of a float array with no NaN or ``+inf``, unchecked."""
    if x.shape[axis] == 0:
        return x.copy()
    row_max = np.max(x, axis=axis, keepdims=True)
    row_max[np.isneginf(row_max)] = 0  # an all -inf row: exp(-inf - 0) = 0 everywhere
    with np.errstate(over="ignore"):  # x - row_max may round to -inf, and exp(-inf) = 0
        exps = np.exp(x - row_max)
    totals = np.sum(exps, axis=axis, keepdims=True)
    # An all -inf row has total 0: leave its weights at 0 instead of dividing 0 by 0.
    return np.divide(exps, totals, out=np.zeros_like(exps), where=totals > 0)
