"""Checker for lesson 02: projecting the input to queries, keys and values."""

from __future__ import annotations

import dataclasses

import numpy as np

import mha_lib

from ._harness import (
    Checker,
    close,
    describe_value,
    difference_clause,
    fail,
    fmt_shape,
    shape_problem,
    to_array,
)
from .result import CheckResult

_OUTPUT_NAMES = ("q", "k", "v")
_WEIGHT_NAMES = ("w_q", "w_k", "w_v")
_RULE = "q = x @ w_q, k = x @ w_k, v = x @ w_v, returned in that order"


@dataclasses.dataclass(frozen=True)
class ProjectionCase:
    x: np.ndarray  # (seq_len, d_in)
    weights: tuple  # w_q, w_k (d_in, d_k) and w_v (d_in, d_v)
    hint: str = ""

    @property
    def args(self) -> tuple:
        return (self.x, *self.weights)

    @property
    def inputs(self) -> str:
        w_q, w_k, w_v = (fmt_shape(w.shape) for w in self.weights)
        return f"x of shape {fmt_shape(self.x.shape)}, w_q {w_q}, w_k {w_k} and w_v {w_v}"


def cases() -> list[ProjectionCase]:
    """The first case has square weights, so a weight applied transposed or swapped still runs
    and is recognised by its values; the second has d_model ≠ d_in and d_v ≠ d_k, so nothing
    can rely on square shapes."""
    rng = np.random.default_rng(202)
    x = rng.standard_normal((10, 8))  # (seq_len=10, d_in=8)
    square = tuple(rng.standard_normal((8, 8)) for _ in range(3))  # each (d_in, d_model)
    narrow = (
        rng.standard_normal((8, 6)),  # w_q (d_in, d_k)
        rng.standard_normal((8, 6)),  # w_k (d_in, d_k)
        rng.standard_normal((8, 4)),  # w_v (d_in, d_v)
    )
    hint = (
        "It worked with square (8, 8) weights, so look for a place that assumes "
        "d_model = d_in or d_v = d_k, e.g. a transposed weight."
    )
    return [ProjectionCase(x, square), ProjectionCase(x, narrow, hint)]


def reference(case) -> tuple:
    """``mha_lib.linear(x, w)`` for each weight: q ``(seq_len, d_k)``, k, v ``(seq_len, d_v)``."""
    return tuple(mha_lib.linear(case.x, w) for w in case.weights)


def _read(raw, case, expected) -> tuple:
    if isinstance(raw, np.ndarray) or not isinstance(raw, (tuple, list)) or len(raw) != 3:
        fail(
            "wrong_type",
            f"Your function returned {describe_value(raw)} instead of three arrays (q, k, v). "
            "End it with `return q, k, v`.",
        )
    return tuple(
        to_array(item, f"Your {name}", want.shape)
        for item, name, want in zip(raw, _OUTPUT_NAMES, expected)
    )


def _first_wrong(got, case, same):
    """(name, got, expected, weight name) of the first output for which ``same`` fails."""
    for item in zip(_OUTPUT_NAMES, got, reference(case), _WEIGHT_NAMES):
        if not same(item[1], item[2]):
            return item
    raise AssertionError("no output differs")  # the driver only asks when one does


def _shape_message(got, case) -> str:
    name, got, want, weight_name = _first_wrong(got, case, lambda g, w: g.shape == w.shape)
    problem = shape_problem(f"Your {name}", got.shape, want.shape, "(seq_len, d_out)")
    if close(got, want.T):
        return (
            f"{problem} It is the transpose ({weight_name}.T @ x.T): compute {name} = "
            f"x @ {weight_name}, so that row i belongs to token i."
        )
    weight_shape = fmt_shape((case.x.shape[1], want.shape[1]))
    return (
        f"{problem} Multiply x {fmt_shape(case.x.shape)} by {weight_name} {weight_shape}: "
        f"{name} = x @ {weight_name}."
    )


def _values_message(got, case) -> tuple[str, str]:
    """Name the product the first wrong output equals: x @ w.T, or another output's x @ w."""
    name, got, want, weight_name = _first_wrong(got, case, close)
    candidates = {
        formula: case.x @ matrix
        for w_name, w in zip(_WEIGHT_NAMES, case.weights)
        for formula, matrix in ((f"x @ {w_name}", w), (f"x @ {w_name}.T", w.T))
        if matrix.shape[0] == case.x.shape[1]
    }
    source = next((formula for formula, product in candidates.items() if close(got, product)), None)
    weight_shape = case.weights[_WEIGHT_NAMES.index(weight_name)].shape
    if source == f"x @ {weight_name}.T":
        return "wrong_values", (
            f"Your {name} equals x @ {weight_name}.T: the weight was applied transposed. Here "
            f"weights are stored as (d_in, d_out) = {fmt_shape(weight_shape)}, so "
            f"{name} = x @ {weight_name}."
        )
    if source is not None:
        return (
            "wrong_values",
            f"Your {name} equals {source}, the wrong weight for {name}. Use {_RULE}.",
        )
    return "wrong_values", (
        f"Your {name} has the right shape {fmt_shape(want.shape)} but different values: "
        f"{difference_clause(name, got, want)}. Use {_RULE}."
    )


CHECKER = Checker(
    name="check_qkv_projection",
    example="check_qkv_projection(project_qkv)",
    cases=cases,
    reference=reference,
    read=_read,
    shape_message=_shape_message,
    values_message=_values_message,
    passed=(
        "q = x @ w_q, k = x @ w_k and v = x @ w_v, also with d_k ≠ d_v: for x of shape "
        "(10, 8) and weights (8, 6), (8, 6), (8, 4) you return (10, 6), (10, 6), (10, 4)."
    ),
)


def check_qkv_projection(fn) -> CheckResult:
    """Check the three projections q = x @ w_q, k = x @ w_k, v = x @ w_v.

    The learner's function: ``fn(x, w_q, w_k, w_v) -> (q, k, v)`` with x ``(seq_len, d_in)``,
    w_q and w_k ``(d_in, d_k)``, w_v ``(d_in, d_v)``; returns q ``(seq_len, d_k)``, k
    ``(seq_len, d_k)``, v ``(seq_len, d_v)``. Weights are stored as (d_in, d_out) and applied
    as ``x @ w``. The mistakes are recognised per output, among every ``x @ w`` and
    ``x @ w.T``.

    Recognises: ``wrong_values`` (a weight applied transposed, weights swapped, outputs in the
    wrong order), ``wrong_shape``, ``raised``, ``wrong_type``.

    Used in notebooks/02_qkv_projections.ipynb.
    """
    return CHECKER(fn)
