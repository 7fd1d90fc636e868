"""Checker for lesson 03: attention scores q @ kᵀ / √d_k."""

from __future__ import annotations

import math

import numpy as np

import mha_lib

from ._harness import (
    Case,
    Checker,
    Mistake,
    fmt_index,
    fmt_number,
    scale_factor,
)
from .result import CheckResult

D_K = 16  # √16 = 4, so a missing or wrong scale is easy to see in the numbers


def cases() -> list[Case]:
    """(q, k): first plain (T_q=5, T_k=7, d_k=16), then with batch and head axes."""
    rng = np.random.default_rng(303)
    return [
        Case({"q": rng.standard_normal((5, D_K)), "k": rng.standard_normal((7, D_K))}),
        Case(
            {"q": rng.standard_normal((2, 3, 5, D_K)), "k": rng.standard_normal((2, 3, 7, D_K))},
            hint="It worked for q (5, 16) and k (7, 16), so the leading (batch, head) axes are "
            "the problem: if you wrote k.T, it reverses every axis; swap only the last two with "
            "np.swapaxes(k, -1, -2).",
        ),
    ]


def _divisors(case) -> dict[str, float]:
    """What a learner may divide q @ kᵀ by, by name."""
    d_k, seq_len_q, seq_len_k = case.q.shape[-1], case.q.shape[-2], case.k.shape[-2]
    return {
        "1": 1.0,
        "d_k": float(d_k),
        "1/√d_k": 1 / math.sqrt(d_k),
        "√T_q": math.sqrt(seq_len_q),
        "√T_k": math.sqrt(seq_len_k),
    }


def scores_variant(case, *, divisor=None, keys_first=False):
    """``mha_lib.attention_scores(q, k)``, with one switch per mistake: q @ kᵀ divided by
    another ``divisor`` (by name, see :func:`_divisors`), or k @ qᵀ (``keys_first``)."""
    scores = mha_lib.attention_scores(case.q, case.k)  # (..., T_q, T_k)
    if divisor is not None:
        scores = scores * math.sqrt(case.q.shape[-1]) / _divisors(case)[divisor]
    return np.swapaxes(scores, -1, -2) if keys_first else scores


def _facts(got, case, switches) -> dict:
    raw = scores_variant(case, divisor="1")  # q @ kᵀ, where a scaling shows most
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(raw))), raw.shape))
    d_k, divisor = case.q.shape[-1], _divisors(case).get(switches.get("divisor"), 1.0)
    return {
        "d_k": lambda: d_k,
        "sqrt_d_k": lambda: fmt_number(math.sqrt(d_k)),
        "at": lambda: f"scores{fmt_index(index)}",
        "value": lambda: fmt_number(got[index]),
        "raw": lambda: fmt_number(raw[index]),
        "right": lambda: fmt_number(scores_variant(case)[index]),
        "length": lambda: round(divisor**2),
        "length_name": lambda: switches.get("divisor", "")[1:],
        "T_q": lambda: case.q.shape[-2],
        "T_k": lambda: case.k.shape[-2],
        "factor": lambda: fmt_number(1 / scale_factor(got, raw)),
    }


_EVIDENCE = "{at} is {value} instead of {right}"
CHECKER = Checker(
    name="check_scores",
    example="check_scores(attention_scores)",
    cases=cases,
    reference=scores_variant,
    outputs=(("Your scores", "scores", "(..., T_q, T_k)"),),
    facts=_facts,
    mistakes=(
        Mistake(
            "missing_scale",
            "Your scores are q @ kᵀ without the scaling: {at} is {value} but should be {raw} / "
            "√{d_k} = {right}. Divide by np.sqrt(d_k), where d_k = q.shape[-1] = {d_k}.",
            {"divisor": "1"},
        ),
        Mistake(
            "scale_by_d",
            "Your scores are divided by d_k = {d_k} instead of √d_k = {sqrt_d_k}: {at} is "
            "{value} but should be {right}. Use np.sqrt(d_k).",
            {"divisor": "d_k"},
        ),
        Mistake(
            "wrong_values",
            "You multiplied q @ kᵀ by √d_k = {sqrt_d_k} instead of dividing by it: "
            f"{_EVIDENCE}. Use q @ kᵀ / np.sqrt(d_k).",
            {"divisor": "1/√d_k"},
            name="multiplied",
        ),
        Mistake(
            "wrong_values",
            f"You divided by √{{length}}, but {{length}} is {{length_name}}, not d_k: {_EVIDENCE}. "
            "d_k is the width of each query and key, q.shape[-1] = {d_k}; divide by "
            "np.sqrt({d_k}).",
            ({"divisor": "√T_q"}, {"divisor": "√T_k"}),
            name="sqrt_length",
        ),
        Mistake(
            "wrong_values",
            "Every row of your result sums to 1, so you already applied the softmax. Return the "
            "scaled scores q @ kᵀ / √d_k; the softmax comes in the next step.",
            test=lambda got, case, fn: np.all(got >= 0) and np.allclose(got.sum(-1), 1, atol=1e-4),
            name="softmax_applied",
        ),
        Mistake(
            "wrong_values",
            "Your scores are q @ kᵀ divided by {factor} instead of √d_k = {sqrt_d_k} (d_k = "
            f"q.shape[-1] = {{d_k}}): {_EVIDENCE}.",
            test=lambda got, case, fn: bool(scale_factor(got, scores_variant(case, divisor="1"))),
            name="other_divisor",
        ),
    ),
    shape_mistakes=(
        Mistake(
            "wrong_shape",
            "{problem} You computed k @ qᵀ: rows must be the {T_q} queries and columns the {T_k} "
            "keys, so use q @ kᵀ.",
            {"keys_first": True},
            name="keys_first",
        ),
    ),
    shape_fallback="{problem} Compare each of the {T_q} queries with each of the {T_k} keys: "
    "q @ kᵀ.",
    values_fallback="Your scores have the right shape {shape} but {difference}. Compute q @ kᵀ / "
    "np.sqrt(d_k) with d_k = q.shape[-1] = {d_k}.",
    passed=(
        f"your scores equal q @ kᵀ / √d_k = q @ kᵀ / {math.isqrt(D_K)}, also with batch and "
        "head axes: q (2, 3, 5, 16) and k (2, 3, 7, 16) give (2, 3, 5, 7)."
    ),
)


def check_scores(fn) -> CheckResult:
    """Check scaled attention scores: every query compared with every key, divided by √d_k.

    The learner's function: ``fn(q, k) -> scores`` with q ``(..., T_q, d_k)`` and k
    ``(..., T_k, d_k)``; returns ``(..., T_q, T_k)`` = ``q @ kᵀ / sqrt(d_k)``. Checked without
    and with leading (batch, head) axes.

    Recognises: ``missing_scale``, ``scale_by_d``, ``wrong_shape`` (e.g. k @ qᵀ),
    ``wrong_values`` (other scalings, softmax already applied), ``raised``, ``wrong_type``.

    Used in notebooks/03_attention_scores.ipynb.
    """
    return CHECKER(fn)
