"""Checker for lesson 02: projecting the input to queries, keys and values."""

from __future__ import annotations

import numpy as np

from ._harness import (
    call_learner,
    close,
    describe_value,
    difference_clause,
    fail,
    fmt_shape,
    require_callable,
    run_check,
    shape_problem,
    to_array,
)
from .result import CheckResult

_OUTPUT_NAMES = ("q", "k", "v")
_WEIGHT_NAMES = ("w_q", "w_k", "w_v")


def _projection_examples():
    """(x, w_q, w_k, w_v) tuples. The first has square weights, so a weight applied
    transposed or swapped still runs and is recognised by its values; the second has
    d_model ≠ d_in and d_v ≠ d_k, so nothing can rely on square shapes."""
    rng = np.random.default_rng(202)
    x = rng.standard_normal((10, 8))  # (seq_len=10, d_in=8)
    square = tuple(rng.standard_normal((8, 8)) for _ in range(3))  # each (d_in, d_model)
    narrow = (
        rng.standard_normal((8, 6)),  # w_q (d_in, d_k)
        rng.standard_normal((8, 6)),  # w_k (d_in, d_k)
        rng.standard_normal((8, 4)),  # w_v (d_in, d_v)
    )
    return [(x, *square), (x, *narrow)]


def check_qkv_projection(fn) -> CheckResult:
    """Check the three projections q = x @ w_q, k = x @ w_k, v = x @ w_v.

    The learner's function: ``fn(x, w_q, w_k, w_v) -> (q, k, v)`` with x ``(seq_len, d_in)``,
    w_q and w_k ``(d_in, d_k)``, w_v ``(d_in, d_v)``; returns q ``(seq_len, d_k)``, k
    ``(seq_len, d_k)``, v ``(seq_len, d_v)``. Weights are stored as (d_in, d_out) and applied
    as ``x @ w``.

    Recognises: ``wrong_values`` (a weight applied transposed, weights swapped, outputs in the
    wrong order), ``wrong_shape``, ``raised``, ``wrong_type``.

    Used in notebooks/02_qkv_projections.ipynb.
    """
    return run_check(_check_projection_steps, fn)


def _check_projection_steps(fn) -> str:
    require_callable(fn, "check_qkv_projection", "check_qkv_projection(project_qkv)")
    for example_number, (x, *weights) in enumerate(_projection_examples()):
        w_q, w_k, w_v = (fmt_shape(w.shape) for w in weights)
        inputs = f"x of shape {fmt_shape(x.shape)}, w_q {w_q}, w_k {w_k} and w_v {w_v}"
        after_success = (
            "It worked with square (8, 8) weights, so look for a place that assumes "
            "d_model = d_in or d_v = d_k, e.g. a transposed weight."
            if example_number
            else ""
        )
        result = call_learner(fn, x, *weights, inputs=inputs, after_success=after_success)
        if (
            isinstance(result, np.ndarray)
            or not isinstance(result, (tuple, list))
            or len(result) != 3
        ):
            fail(
                "wrong_type",
                f"Your function returned {describe_value(result)} instead of three arrays "
                "(q, k, v). End it with `return q, k, v`.",
            )
        expected = [x @ w for w in weights]  # q (seq_len, d_k), k (seq_len, d_k), v (seq_len, d_v)
        outputs = [
            to_array(item, f"Your {name}", want.shape)
            for item, name, want in zip(result, _OUTPUT_NAMES, expected)
        ]
        for name, got, want, weight_name in zip(_OUTPUT_NAMES, outputs, expected, _WEIGHT_NAMES):
            if got.shape != want.shape:
                fail("wrong_shape", _shape_message(name, got, want, weight_name, x))
        for name, got, want, weight_name in zip(_OUTPUT_NAMES, outputs, expected, _WEIGHT_NAMES):
            if not close(got, want):
                fail("wrong_values", _values_message(name, got, want, weight_name, x, weights))
    return (
        "q = x @ w_q, k = x @ w_k and v = x @ w_v, also with d_k ≠ d_v: for x of shape "
        "(10, 8) and weights (8, 6), (8, 6), (8, 4) you return (10, 6), (10, 6), (10, 4)."
    )


def _shape_message(name, got, want, weight_name, x) -> str:
    problem = shape_problem(f"Your {name}", got.shape, want.shape, "(seq_len, d_out)")
    if close(got, want.T):
        return (
            f"{problem} It is the transpose ({weight_name}.T @ x.T): compute {name} = "
            f"x @ {weight_name}, so that row i belongs to token i."
        )
    return (
        f"{problem} Multiply x {fmt_shape(x.shape)} by {weight_name} {fmt_shape((x.shape[1], want.shape[1]))}: "
        f"{name} = x @ {weight_name}."
    )


def _values_message(name, got, want, weight_name, x, weights) -> str:
    source = _recognise_product(got, x, weights)
    weight_shape = dict(zip(_WEIGHT_NAMES, weights))[weight_name].shape
    rule = "q = x @ w_q, k = x @ w_k, v = x @ w_v, returned in that order"
    if source == f"x @ {weight_name}.T":
        return (
            f"Your {name} equals x @ {weight_name}.T: the weight was applied transposed. Here "
            f"weights are stored as (d_in, d_out) = {fmt_shape(weight_shape)}, so "
            f"{name} = x @ {weight_name}."
        )
    if source is not None:
        return f"Your {name} equals {source}, the wrong weight for {name}. Use {rule}."
    return (
        f"Your {name} has the right shape {fmt_shape(want.shape)} but different values: "
        f"{difference_clause(name, got, want)}. Use {rule}."
    )


def _recognise_product(got, x, weights) -> str | None:
    """Which x @ w or x @ w.T the learner's array equals, if any."""
    for weight_name, weight in zip(_WEIGHT_NAMES, weights):
        candidates = {f"x @ {weight_name}": weight, f"x @ {weight_name}.T": weight.T}
        for formula, matrix in candidates.items():
            if matrix.shape[0] == x.shape[1] and close(got, x @ matrix):
                return formula
    return None
