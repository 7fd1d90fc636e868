"""Checker for lesson 04: a numerically stable softmax along a chosen axis."""

from __future__ import annotations

import numpy as np

from ..softmax import softmax
from ._harness import (
    call_learner,
    close,
    difference_clause,
    fail,
    fmt_shape,
    fmt_vector,
    nonfinite_where_finite,
    require_callable,
    run_check,
    shape_problem,
    to_array,
)
from .result import CheckResult

# Every axis has its own size, so a sum over the wrong axis shows in the shape of the mistake.
MODERATE_SHAPE = (3, 4, 5)
LARGE_LOGITS = np.array(
    [
        [1000.0, 999.0, 998.0, 1001.0],  # np.exp(1000) overflows to inf
        [-1000.0, -1002.0, -999.0, -1000.5],  # np.exp(-1000) underflows to 0, then 0 / 0
        [0.5, 0.0, -0.5, 1000.0],  # one huge logit next to ordinary ones
    ]
)


def _softmax_calls():
    """(x, axis or None for "use the default"), in the order they are checked."""
    rng = np.random.default_rng(404)
    x = (3 * rng.standard_normal(MODERATE_SHAPE)).round(2)
    return [(x, None), (x, 0), (x, 1), (LARGE_LOGITS.copy(), None)]


def check_softmax(fn) -> CheckResult:
    """Check a softmax: positive values that sum to 1 along ``axis``, stable for huge inputs.

    The learner's function: ``fn(x, axis=-1) -> array`` of the same shape as ``x``. Checked
    on x of shape (3, 4, 5) with the default axis and with axis=0 and axis=1, then on logits
    around ±1000 of shape (3, 4).

    Recognises: ``softmax_wrong_axis`` (including an ignored ``axis`` argument),
    ``unstable_softmax`` (NaN or inf for huge logits), ``wrong_shape``, ``wrong_values``
    (e.g. normalised over the whole array, or not normalised), ``raised``, ``wrong_type``.

    Used in notebooks/04_softmax.ipynb.
    """
    return run_check(_check_softmax_steps, fn)


def _check_softmax_steps(fn) -> str:
    require_callable(fn, "check_softmax", "check_softmax(my_softmax)")
    for x, axis in _softmax_calls():
        requested = -1 if axis is None else axis
        kwargs = {} if axis is None else {"axis": axis}
        inputs = f"x of shape {fmt_shape(x.shape)}" + ("" if axis is None else f" and axis={axis}")
        result = call_learner(fn, x, kwargs=kwargs, inputs=inputs)
        expected = softmax(x, axis=requested)
        got = to_array(result, "Your softmax's result", expected.shape)
        if got.shape != expected.shape:
            fail(
                "wrong_shape",
                shape_problem("Your softmax's result", got.shape, x.shape, "x.shape")
                + " Softmax keeps the shape; keep the reduced axis with keepdims=True in the "
                "max and the sum so that they broadcast back.",
            )
        if not close(got, expected):
            mistake, message = _diagnose_softmax(got, x, axis)
            fail(mistake, message)
    return (
        "your softmax sums to 1 along the requested axis (default -1, and axis=0 and 1 on x "
        "of shape (3, 4, 5)) and stays finite for logits around ±1000."
    )


def _diagnose_softmax(got, x, axis) -> tuple[str, str]:
    requested = -1 if axis is None else axis
    expected = softmax(x, axis=requested)
    shown_axis = "the default axis -1" if axis is None else f"axis={axis}"
    broken = nonfinite_where_finite(got, expected)
    if broken.any():
        row = int(np.argwhere(broken)[0][0])
        return "unstable_softmax", (
            f"For the logits {fmt_vector(x[row])} your softmax returns {fmt_vector(got[row])} "
            f"instead of {fmt_vector(expected[row])}: np.exp overflows (e^1000 = inf) or "
            "underflows to 0 / 0. Subtract the maximum first, np.exp(x - x.max(axis=axis, "
            "keepdims=True)): the result is the same and every exponent is ≤ 0."
        )
    wanted_axis = requested % x.ndim
    for other_axis in range(x.ndim):
        if other_axis != wanted_axis and close(got, softmax(x, axis=other_axis)):
            sums = got.sum(axis=wanted_axis).ravel()
            if axis is not None and other_axis == x.ndim - 1:
                fix = (
                    "You normalised along the last axis and ignored the axis argument: pass "
                    "axis=axis (with keepdims=True) to both the max and the sum."
                )
            else:
                fix = "Use axis=axis (default -1) with keepdims=True in both the max and the sum."
            return "softmax_wrong_axis", (
                f"Called with {shown_axis} on x of shape {fmt_shape(x.shape)}, your result sums "
                f"to 1 along axis {other_axis} (size {x.shape[other_axis]}) instead of axis "
                f"{requested} (size {x.shape[requested]}): its sums along axis {requested} are "
                f"{fmt_vector(sums, limit=4)}, not all 1. {fix}"
            )
    exps = np.exp(x - x.max())
    if close(got, exps / exps.sum()):
        return "wrong_values", (
            f"Your result sums to 1 over the whole array of shape {fmt_shape(x.shape)}, not "
            f"along {shown_axis}. Sum with axis=axis and keepdims=True."
        )
    if close(got, np.exp(x)):
        return "wrong_values", (
            f"Your result is np.exp(x) without dividing by the sum along {shown_axis}: its "
            f"values sum to {fmt_vector(got.sum(axis=requested).ravel(), limit=4)}, not 1."
        )
    return "wrong_values", (
        f"Your softmax has the right shape {fmt_shape(x.shape)} but "
        f"{difference_clause('out', got, expected)} for {shown_axis}. Compute "
        "e = np.exp(x - x.max(axis=axis, keepdims=True)), then e / e.sum(axis=axis, "
        "keepdims=True)."
    )
