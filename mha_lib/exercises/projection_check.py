"""Checker for lesson 02: projecting the input to queries, keys and values."""

from __future__ import annotations

import numpy as np

import mha_lib

from ._harness import (
    Case,
    Checker,
    close,
    describe_value,
    difference_clause,
    fail,
    fmt_shape,
    shape_problem,
    texts,
    to_array,
)
from .result import CheckResult

_OUTPUT_NAMES = ("q", "k", "v")
_WEIGHT_NAMES = ("w_q", "w_k", "w_v")
_RULE = "q = x @ w_q, k = x @ w_k, v = x @ w_v, returned in that order"


def cases() -> list[Case]:
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
    hint = texts("check_qkv_projection")["hints"]["narrow"]
    return [
        Case({"x": x} | dict(zip(_WEIGHT_NAMES, square))),
        Case({"x": x} | dict(zip(_WEIGHT_NAMES, narrow)), hint=hint),
    ]


def _weights(case) -> tuple:
    return tuple(case.args[name] for name in _WEIGHT_NAMES)


def reference(case) -> tuple:
    """``mha_lib.linear(x, w)`` for each weight: q ``(seq_len, d_k)``, k, v ``(seq_len, d_v)``."""
    return tuple(mha_lib.linear(case.x, w) for w in _weights(case))


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


def _diagnose(got, case, facts) -> str:
    """Name what the first wrong output is: the transpose, x @ w.T or another output's x @ w."""
    right = reference(case)
    i = min(range(3), key=lambda i: (got[i].shape == right[i].shape, close(got[i], right[i])))
    name, weight_name, mine, want = _OUTPUT_NAMES[i], _WEIGHT_NAMES[i], got[i], right[i]
    weight = f"x @ {weight_name}"
    if mine.shape != want.shape:
        problem = shape_problem(f"Your {name}", mine.shape, want.shape, "(seq_len, d_out)")
        if close(mine, want.T):
            return (
                f"{problem} It is the transpose ({weight_name}.T @ x.T): compute {name} = "
                f"{weight}, so that row i belongs to token i."
            )
        weight_shape = fmt_shape(case.args[weight_name].shape)
        x_shape = fmt_shape(case.x.shape)
        return f"{problem} Multiply x {x_shape} by {weight_name} {weight_shape}: {name} = {weight}."
    products = {
        f"x @ {w_name}{t}": case.x @ (w.T if t else w)
        for w_name, w in zip(_WEIGHT_NAMES, _weights(case))
        for t in ("", ".T")
        if (w.T if t else w).shape[0] == case.x.shape[1]
    }
    source = next((formula for formula, product in products.items() if close(mine, product)), None)
    if source == f"{weight}.T":
        return (
            f"Your {name} equals {source}: the weight was applied transposed. Here weights are "
            f"stored as (d_in, d_out) = {fmt_shape(case.args[weight_name].shape)}, so {name} = "
            f"{weight}."
        )
    if source is not None:
        return f"Your {name} equals {source}, the wrong weight for {name}. Use {_RULE}."
    return (
        f"Your {name} has the right shape {fmt_shape(want.shape)} but different values: "
        f"{difference_clause(name, mine, want)}. Use {_RULE}."
    )


CHECKER = Checker(
    name="check_qkv_projection",
    cases=cases,
    reference=reference,
    read=_read,
    outputs=tuple((f"Your {name}", name, "(seq_len, d_out)") for name in _OUTPUT_NAMES),
    shape_fallback=_diagnose,
    values_fallback=_diagnose,
)


def check_qkv_projection(fn) -> CheckResult:
    """Check ``fn(x, w_q, w_k, w_v) -> (q, k, v)``: x ``(seq_len, d_in)``, each w ``(d_in,
    d_out)``, q = x @ w_q, k = x @ w_k, v = x @ w_v. Used in notebooks/02_qkv_projections.ipynb."""
    return CHECKER(fn)
