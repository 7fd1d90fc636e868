"""Checker for lesson 04: a numerically stable softmax along a chosen axis."""

from __future__ import annotations

import dataclasses

import numpy as np

import mha_lib

from ._harness import (
    Checker,
    Mistake,
    call_learner,
    difference_clause,
    fmt_shape,
    fmt_vector,
    nonfinite_where_finite,
    probe_matches,
    raised_message,
    read_array,
    shape_problem,
)
from .result import CheckResult

# Every axis has its own size, so a sum over the wrong axis shows in the shape of the mistake.
MODERATE_SHAPE = (3, 4, 5)
SQUARE_SHAPE = (4, 4)  # where a forgotten keepdims broadcasts without an error
LARGE_LOGITS = np.array(
    [
        [1000.0, 999.0, 998.0, 1001.0],  # np.exp(1000) overflows to inf
        [-1000.0, -1002.0, -999.0, -1000.5],  # np.exp(-1000) underflows to 0, then 0 / 0
        [0.5, 0.0, -0.5, 1000.0],  # one huge logit next to ordinary ones
    ]
)
KEEPDIMS_FIX = "pass keepdims=True to both the max and the sum"


@dataclasses.dataclass(frozen=True)
class SoftmaxCase:
    """One call ``fn(x)`` (default axis) or ``fn(x, axis=axis)``."""

    x: np.ndarray
    axis: int | None  # None: use the learner's default
    hint: str = ""

    @property
    def args(self) -> tuple:
        return (self.x,)

    @property
    def kwargs(self) -> dict:
        return {} if self.axis is None else {"axis": self.axis}

    @property
    def requested(self) -> int:
        """The axis asked for, counted from 0."""
        return (-1 if self.axis is None else self.axis) % self.x.ndim

    @property
    def axis_arg(self) -> int:
        """The axis as the call passed it (-1 for the default)."""
        return -1 if self.axis is None else self.axis

    @property
    def shown_axis(self) -> str:
        return "the default axis -1" if self.axis is None else f"axis={self.axis}"

    @property
    def inputs(self) -> str:
        return f"x of shape {fmt_shape(self.x.shape)}" + (
            "" if self.axis is None else f" and axis={self.axis}"
        )


def cases() -> list[SoftmaxCase]:
    """Axis 0, then a square matrix with the default axis, the default axis and axis 1 of the
    same (3, 4, 5) array, then logits around ±1000."""
    rng = np.random.default_rng(404)
    x = (3 * rng.standard_normal(MODERATE_SHAPE)).round(2)
    square = (3 * rng.standard_normal(SQUARE_SHAPE)).round(2)
    return [
        SoftmaxCase(x, 0),
        SoftmaxCase(square, None),
        SoftmaxCase(x, None),
        SoftmaxCase(x, 1),
        SoftmaxCase(LARGE_LOGITS.copy(), None),
    ]


def softmax_variant(case, *, axis=None, whole_array=False, normalise=True):
    """``mha_lib.softmax(x, axis)``, with one switch per mistake.

    Args:
        axis: normalise along this axis instead of the requested one.
        whole_array: normalise over every entry at once.
        normalise: False returns ``np.exp(x)``.
    """
    if not normalise:
        return np.exp(case.x)
    if whole_array:
        return mha_lib.softmax(case.x.ravel()).reshape(case.x.shape)
    return mha_lib.softmax(case.x, axis=case.requested if axis is None else axis)


def _right_along(fn, x, axis) -> bool:
    return probe_matches(fn, mha_lib.softmax(x, axis=axis), x, axis=axis)


def _reduced_shape(case) -> str:
    """The max's shape without keepdims, e.g. "(3, 5) instead of (3, 1, 5)"."""
    shape = list(case.x.shape)
    kept = shape[: case.requested] + [1] + shape[case.requested + 1 :]
    del shape[case.requested]
    return f"{fmt_shape(shape)} instead of {fmt_shape(kept)}"


def _call(fn, case, memo):
    """Call the learner; a broadcasting error from a forgotten keepdims is named as such."""

    def on_raise(error):
        if not (isinstance(error, ValueError) and "broadcast" in str(error)):
            return None
        if _right_along(fn, case.x, 0):  # only axis 0 survives a forgotten keepdims
            advice = (
                f"Without keepdims=True, x.max(axis={case.axis_arg}) has shape "
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

    return call_learner(fn, *case.args, kwargs=case.kwargs, inputs=case.inputs, on_raise=on_raise)


def _wrong_axis_message(got, case, other) -> str:
    sums = got.sum(axis=case.requested).ravel()
    if case.axis is not None and other == case.x.ndim - 1:
        fix = (
            "You normalised along the last axis and ignored the axis argument: pass "
            "axis=axis (with keepdims=True) to both the max and the sum."
        )
    else:
        fix = "Use axis=axis (default -1) with keepdims=True in both the max and the sum."
    axis = case.axis_arg
    return (
        f"Called with {case.shown_axis} on x of shape {fmt_shape(case.x.shape)}, your result "
        f"sums to 1 along axis {other} (size {case.x.shape[other]}) instead of axis {axis} "
        f"(size {case.x.shape[axis]}): its sums along axis {axis} are "
        f"{fmt_vector(sums, limit=4)}, not all 1. {fix}"
    )


def _unstable_message(got, case) -> str:
    expected = softmax_variant(case)
    row = int(np.argwhere(nonfinite_where_finite(got, expected))[0][0])
    return (
        f"For the logits {fmt_vector(case.x[row])} your softmax returns {fmt_vector(got[row])} "
        f"instead of {fmt_vector(expected[row])}: np.exp overflows (e^1000 = inf) or "
        "underflows to 0 / 0. Subtract the maximum first, np.exp(x - x.max(axis=axis, "
        "keepdims=True)): the result is the same and every exponent is ≤ 0."
    )


def _keepdims_message(got, case) -> str:
    return (
        f"Called with {case.shown_axis} on x of shape {fmt_shape(case.x.shape)}, your softmax "
        f"runs without an error but {difference_clause('out', got, softmax_variant(case))}: "
        f"without keepdims=True, x.max(axis={case.axis_arg}) has shape {_reduced_shape(case)}, "
        "and numpy lines it up with the last axes, so x[i, j] is paired with the maximum (and "
        f"sum) of row j instead of row i. Only axis=0 survives a forgotten keepdims (other "
        f"shapes raise an error); {KEEPDIMS_FIX}."
    )


MISTAKES = (
    Mistake(
        "unstable_softmax",
        _unstable_message,
        test=lambda got, case, fn: nonfinite_where_finite(got, softmax_variant(case)).any(),
    ),
    *(
        Mistake(
            "softmax_wrong_axis",
            lambda got, case, axis=axis: _wrong_axis_message(got, case, axis),
            {"axis": axis},
            name=f"axis_{axis}",
        )
        for axis in range(len(MODERATE_SHAPE))
    ),
    Mistake(
        "forgot_keepdims",
        _keepdims_message,
        test=lambda got, case, fn: case.requested != 0 and _right_along(fn, case.x, 0),
    ),
    Mistake(
        "wrong_values",
        lambda got, case: (
            f"Your result sums to 1 over the whole array of shape {fmt_shape(case.x.shape)}, "
            f"not along {case.shown_axis}. Sum with axis=axis and keepdims=True."
        ),
        {"whole_array": True},
        name="whole_array",
    ),
    Mistake(
        "wrong_values",
        lambda got, case: (
            f"Your result is np.exp(x) without dividing by the sum along {case.shown_axis}: its "
            f"values sum to {fmt_vector(got.sum(axis=case.requested).ravel(), limit=4)}, not 1."
        ),
        {"normalise": False},
        name="not_normalised",
    ),
)

CHECKER = Checker(
    name="check_softmax",
    example="check_softmax(my_softmax)",
    cases=cases,
    reference=softmax_variant,
    read=read_array("Your softmax's result"),
    call=_call,
    shape_message=lambda got, case: (
        shape_problem("Your softmax's result", got.shape, case.x.shape, "x.shape")
        + " Softmax keeps the shape; keep the reduced axis with keepdims=True in the max and "
        "the sum so that they broadcast back."
    ),
    values_message=lambda got, case: (
        "wrong_values",
        (
            f"Your softmax has the right shape {fmt_shape(case.x.shape)} but "
            f"{difference_clause('out', got, softmax_variant(case))} for {case.shown_axis}. "
            "Compute e = np.exp(x - x.max(axis=axis, keepdims=True)), then e / e.sum(axis=axis, "
            "keepdims=True)."
        ),
    ),
    mistakes=MISTAKES,
    passed=(
        "your softmax sums to 1 along the requested axis (axis=0, the default -1 and axis=1 on "
        "x of shape (3, 4, 5), and the default on a square (4, 4) matrix) and stays finite for "
        "logits around ±1000."
    ),
)


def check_softmax(fn) -> CheckResult:
    """Check a softmax: positive values that sum to 1 along ``axis``, stable for huge inputs.

    The learner's function: ``fn(x, axis=-1) -> array`` of the same shape as ``x``. Checked
    on x of shape (3, 4, 5) with axis=0, on a square (4, 4) matrix with the default axis (where
    a forgotten keepdims broadcasts silently), on the (3, 4, 5) array with the default axis and
    axis=1, then on logits around ±1000 of shape (3, 4).

    Recognises: ``softmax_wrong_axis`` (including an ignored ``axis`` argument),
    ``unstable_softmax`` (NaN or inf for huge logits), ``forgot_keepdims`` (a max or sum
    without keepdims=True: numpy raises a broadcasting error for every axis but the first, or
    on a square matrix silently pairs each row with another row's max and sum),
    ``wrong_shape``, ``wrong_values`` (e.g. normalised over the whole array, or not
    normalised), ``raised``, ``wrong_type``.

    Used in notebooks/04_softmax.ipynb.
    """
    return CHECKER(fn)
