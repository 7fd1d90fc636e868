"""Checker for lesson 04: a numerically stable softmax along a chosen axis."""

from __future__ import annotations

import numpy as np

import mha_lib

from ._harness import (
    Case,
    Checker,
    Mistake,
    call_learner,
    fmt_shape,
    fmt_vector,
    nonfinite_where_finite,
    probe_matches,
    raised_message,
)
from .result import CheckResult

LARGE_LOGITS = np.array(
    [
        [1000.0, 999.0, 998.0, 1001.0],  # np.exp(1000) overflows to inf
        [-1000.0, -1002.0, -999.0, -1000.5],  # np.exp(-1000) underflows to 0, then 0 / 0
        [0.5, 0.0, -0.5, 1000.0],  # one huge logit next to ordinary ones
    ]
)
KEEPDIMS_FIX = "pass keepdims=True to both the max and the sum"


def cases() -> list[Case]:
    """x (3, 4, 5) with axis=0; a square (4, 4) matrix with the default axis (where a forgotten
    keepdims broadcasts silently); x with the default axis and axis=1; logits around ±1000.
    Every axis of x has its own size, so a sum over the wrong axis shows in its shape."""
    rng = np.random.default_rng(404)
    x = (3 * rng.standard_normal((3, 4, 5))).round(2)
    square = (3 * rng.standard_normal((4, 4))).round(2)
    calls = [(x, 0), (square, None), (x, None), (x, 1), (LARGE_LOGITS.copy(), None)]
    return [Case({"x": x}, {} if axis is None else {"axis": axis}) for x, axis in calls]


def _axis(case) -> int:
    return case.kwargs.get("axis", -1)


def softmax_variant(case, *, axis=None, whole_array=False, normalise=True):
    """``mha_lib.softmax(x, axis)``, with one switch per mistake: another ``axis``, the
    ``whole_array`` at once, or ``normalise=False`` (``np.exp(x)``)."""
    if not normalise:
        return np.exp(case.x)
    if whole_array:
        return mha_lib.softmax(case.x.ravel()).reshape(case.x.shape)
    return mha_lib.softmax(case.x, axis=_axis(case) if axis is None else axis)


def _right_along(fn, x, axis) -> bool:
    return probe_matches(fn, mha_lib.softmax(x, axis=axis), x, axis=axis)


def _reduced_shape(case) -> str:
    """The max's shape without keepdims, e.g. "(3, 5) instead of (3, 1, 5)"."""
    shape, axis = list(case.x.shape), _axis(case) % case.x.ndim
    kept = shape[:axis] + [1] + shape[axis + 1 :]
    del shape[axis]
    return f"{fmt_shape(shape)} instead of {fmt_shape(kept)}"


def _call(fn, case, memo):
    """Call the learner; a broadcasting error from a forgotten keepdims is named as such."""

    def on_raise(error):
        if not (isinstance(error, ValueError) and "broadcast" in str(error)):
            return None
        if _right_along(fn, case.x, 0):  # only axis 0 survives a forgotten keepdims
            advice = (
                f"Without keepdims=True, x.max(axis={_axis(case)}) has shape "
                f"{_reduced_shape(case)} and no longer lines up with x (only axis=0 works by "
                f"luck, and a square x gives wrong numbers without an error): {KEEPDIMS_FIX}."
            )
        elif _right_along(fn, case.x, case.x.ndim - 1):
            advice = (
                "It works along the last axis, so the reduced axis comes back in the wrong "
                "place: x.max(axis=axis)[..., None] puts it at the end, which fits only "
                f"axis=-1, while keepdims=True keeps it where it was: {KEEPDIMS_FIX}."
            )
        else:
            return None
        return "forgot_keepdims", raised_message(error, fn, case.inputs, advice)

    return call_learner(
        fn, *case.positional, kwargs=case.kwargs, inputs=case.inputs, on_raise=on_raise
    )


def _facts(got, case, switches) -> dict:
    x, axis = case.x, _axis(case)
    other = switches.get("axis", 0) % x.ndim
    shown = f"axis={axis}" if case.kwargs else "the default axis -1"
    expected = softmax_variant(case)

    def broken_row():
        return int(np.argwhere(nonfinite_where_finite(got, expected))[0][0])

    return {
        "called": lambda: f"Called with {shown} on x of shape {fmt_shape(x.shape)}",
        "shown": lambda: shown,
        "x_shape": lambda: fmt_shape(x.shape),
        "axis": lambda: axis,
        "size": lambda: x.shape[axis],
        "other": lambda: other,
        "other_size": lambda: x.shape[other],
        "sums": lambda: fmt_vector(got.sum(axis=axis).ravel(), limit=4),
        "logits": lambda: fmt_vector(x[broken_row()]),
        "got_row": lambda: fmt_vector(got[broken_row()]),
        "right_row": lambda: fmt_vector(expected[broken_row()]),
        "reduced": lambda: _reduced_shape(case),
    }


def _forgot_keepdims(got, case, fn) -> bool:
    return _axis(case) % case.x.ndim != 0 and _right_along(fn, case.x, 0)


def _unstable(got, case, fn) -> bool:
    return nonfinite_where_finite(got, softmax_variant(case)).any()


_WRONG_AXIS = (
    "{called}, your result sums to 1 along axis {other} (size {other_size}) instead of axis "
    "{axis} (size {size}): its sums along axis {axis} are {sums}, not all 1. "
)
CHECKER = Checker(
    name="check_softmax",
    example="check_softmax(my_softmax)",
    cases=cases,
    reference=softmax_variant,
    outputs=(("Your softmax's result", "out", "x.shape"),),
    call=_call,
    facts=_facts,
    mistakes=(
        Mistake("unstable_softmax", test=_unstable),
        Mistake("softmax_wrong_axis", {"axis": 2}, name="axis_ignored"),  # x's last axis
        Mistake("softmax_wrong_axis", ({"axis": 0}, {"axis": 1})),
        Mistake("forgot_keepdims", test=_forgot_keepdims),
        Mistake("wrong_values", {"whole_array": True}, name="whole_array"),
        Mistake("wrong_values", {"normalise": False}, name="not_normalised"),
    ),
    messages={
        "unstable_softmax": "For the logits {logits} your softmax returns {got_row} instead of "
        "{right_row}: np.exp overflows (e^1000 = inf) or underflows to 0 / 0. Subtract the "
        "maximum first, np.exp(x - x.max(axis=axis, keepdims=True)): the result is the same and "
        "every exponent is ≤ 0.",
        "axis_ignored": _WRONG_AXIS + "You normalised along the last axis and ignored the axis "
        "argument: pass axis=axis (with keepdims=True) to both the max and the sum.",
        "softmax_wrong_axis": _WRONG_AXIS + "Use axis=axis (default -1) with keepdims=True in "
        "both the max and the sum.",
        "forgot_keepdims": "{called}, your softmax runs without an error but {difference}: "
        "without keepdims=True, x.max(axis={axis}) has shape {reduced}, and numpy lines it up "
        "with the last axes, so x[i, j] is paired with the maximum (and sum) of row j instead of "
        "row i. Only axis=0 survives a forgotten keepdims (other shapes raise an error); "
        f"{KEEPDIMS_FIX}.",
        "whole_array": "Your result sums to 1 over the whole array of shape {x_shape}, not along "
        "{shown}. Sum with axis=axis and keepdims=True.",
        "not_normalised": "Your result is np.exp(x) without dividing by the sum along {shown}: "
        "its values sum to {sums}, not 1.",
    },
    shape_fallback="{problem} Softmax keeps the shape; keep the reduced axis with keepdims=True "
    "in the max and the sum so that they broadcast back.",
    values_fallback="Your softmax has the right shape {shape} but {difference} for {shown}. "
    "Compute e = np.exp(x - x.max(axis=axis, keepdims=True)), then e / e.sum(axis=axis, "
    "keepdims=True).",
    passed=(
        "your softmax sums to 1 along the requested axis (axis=0, the default -1 and axis=1 on "
        "x of shape (3, 4, 5), and the default on a square (4, 4) matrix) and stays finite for "
        "logits around ±1000."
    ),
)


def check_softmax(fn) -> CheckResult:
    """Check ``fn(x, axis=-1) -> x.shape``: positive values that sum to 1 along ``axis``, on
    x (3, 4, 5) with several axes, a square (4, 4) matrix (where a forgotten keepdims
    broadcasts silently), and logits around ±1000.

    Used in notebooks/04_softmax.ipynb.
    """
    return CHECKER(fn)
