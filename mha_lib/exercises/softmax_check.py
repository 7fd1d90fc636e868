"""Checker for lesson 04: a numerically stable softmax along a chosen axis."""

from __future__ import annotations

import numpy as np

import mha_lib

from ._harness import (
    Case,
    Checker,
    Mistake,
    fmt_shape,
    fmt_vector,
    nonfinite_where_finite,
    probe_matches,
)
from .result import CheckResult

LARGE_LOGITS = np.array(
    [
        [1000.0, 999.0, 998.0, 1001.0],  # np.exp(1000) overflows to inf
        [-1000.0, -1002.0, -999.0, -1000.5],  # np.exp(-1000) underflows to 0, then 0 / 0
        [0.5, 0.0, -0.5, 1000.0],  # one huge logit next to ordinary ones
    ]
)


def cases() -> list[Case]:
    """x (3, 4, 5) with axis=0; a square (4, 4) matrix with the default axis (where a forgotten
    keepdims broadcasts silently); x with the default axis and axis=1; logits around ±1000.
    Every axis of x has its own size, so a sum over the wrong axis shows in its shape."""
    rng = np.random.default_rng(404)
    x = (3 * rng.standard_normal((3, 4, 5))).round(2)
    square = (3 * rng.standard_normal((4, 4))).round(2)
    calls = [(x, 0), (square, None), (x, None), (x, 1), (LARGE_LOGITS.copy(), None)]
    return [Case({"x": x}, {} if axis is None else {"axis": axis}) for x, axis in calls]


def softmax_variant(case, *, axis=None, whole_array=False, normalise=True):
    """``mha_lib.softmax(x, axis)``, with one switch per mistake: another ``axis``, the
    ``whole_array`` at once, or ``normalise=False`` (``np.exp(x)``)."""
    if not normalise:
        return np.exp(case.x)
    if whole_array:
        return mha_lib.softmax(case.x.ravel()).reshape(case.x.shape)
    return mha_lib.softmax(case.x, axis=case.kwargs.get("axis", -1) if axis is None else axis)


def _right_along(fn, case, axis) -> bool:
    return probe_matches(fn, mha_lib.softmax(case.x, axis=axis), case.x, axis=axis)


def _broadcast_error(error) -> bool:
    return isinstance(error, ValueError) and "broadcast" in str(error)


def _facts(got, case, switches) -> dict:
    x, axis = case.x, case.kwargs.get("axis", -1)
    other = switches.get("axis", 0) % x.ndim
    shown = f"axis={axis}" if case.kwargs else "the default axis -1"
    at = axis % x.ndim
    kept = (*x.shape[:at], 1, *x.shape[at + 1 :])  # the max's shape with keepdims=True
    reduced = x.shape[:at] + x.shape[at + 1 :]  # and without

    def row(values):  # the first row where the softmax should be finite but is not
        expected = softmax_variant(case)
        return fmt_vector(values[np.argwhere(nonfinite_where_finite(got, expected))[0][0]])

    return {
        "called": f"Called with {shown} on x of shape {fmt_shape(x.shape)}",
        "shown": shown,
        "x_shape": fmt_shape(x.shape),
        "axis": axis,
        "size": x.shape[axis],
        "other": other,
        "other_size": x.shape[other],
        "sums": lambda: fmt_vector(got.sum(axis=axis).ravel(), limit=4),
        "logits": lambda: row(x),
        "got_row": lambda: row(got),
        "right_row": lambda: row(softmax_variant(case)),
        "reduced": f"{fmt_shape(reduced)} instead of {fmt_shape(kept)}",
    }


CHECKER = Checker(
    name="check_softmax",
    cases=cases,
    reference=softmax_variant,
    outputs=(("Your softmax's result", "out", "x.shape"),),
    facts=_facts,
    mistakes=(
        Mistake(
            "unstable_softmax",
            test=lambda got, case, fn: nonfinite_where_finite(got, softmax_variant(case)).any(),
        ),
        Mistake("softmax_wrong_axis", {"axis": 2}, name="axis_ignored"),  # x's last axis
        Mistake("softmax_wrong_axis", ({"axis": 0}, {"axis": 1})),
        Mistake(  # only axis 0 survives a forgotten keepdims without an error
            "forgot_keepdims",
            test=lambda got, case, fn: (
                case.kwargs.get("axis", -1) % case.x.ndim != 0 and _right_along(fn, case, 0)
            ),
        ),
        Mistake("wrong_values", {"whole_array": True}, name="whole_array"),
        Mistake("wrong_values", {"normalise": False}, name="not_normalised"),
    ),
    raise_mistakes=(  # a broadcasting error from a forgotten keepdims
        Mistake(
            "forgot_keepdims",
            test=lambda error, case, fn: _broadcast_error(error) and _right_along(fn, case, 0),
            name="keepdims_raises",
        ),
        Mistake(
            "forgot_keepdims",
            test=lambda error, case, fn: (
                _broadcast_error(error) and _right_along(fn, case, case.x.ndim - 1)
            ),
            name="reduced_axis_at_the_end",
        ),
    ),
)


def check_softmax(fn) -> CheckResult:
    """Check ``fn(x, axis=-1) -> x.shape``: values that sum to 1 along ``axis``, for several
    axes, a square matrix (where a forgotten keepdims broadcasts silently) and logits of ±1000.
    Used in notebooks/04_softmax.ipynb."""
    return CHECKER(fn)
