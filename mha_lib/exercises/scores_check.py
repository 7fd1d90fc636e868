"""Checker for lesson 03: attention scores q @ kᵀ / √d_k."""

from __future__ import annotations

import math

import numpy as np

import mha_lib

from ._harness import Case, Checker, Mistake, fmt_index, fmt_number, scale_factor, texts
from .result import CheckResult

D_K = 16  # √16 = 4, so a missing or wrong scale is easy to see in the numbers


def cases() -> list[Case]:
    """(q, k): first plain (T_q=5, T_k=7, d_k=16), then with batch and head axes."""
    rng = np.random.default_rng(303)
    hints = texts("check_scores")["hints"]
    return [
        Case({"q": rng.standard_normal((5, D_K)), "k": rng.standard_normal((7, D_K))}),
        Case(
            {"q": rng.standard_normal((2, 3, 5, D_K)), "k": rng.standard_normal((2, 3, 7, D_K))},
            hint=hints["batch_axes"],
        ),
    ]


def _divisors(case) -> dict[str, float]:
    d_k, seq_len_q, seq_len_k = case.q.shape[-1], case.q.shape[-2], case.k.shape[-2]
    names = ("1", "d_k", "1/√d_k", "√T_q", "√T_k")
    return dict(
        zip(names, (1.0, d_k, 1 / math.sqrt(d_k), math.sqrt(seq_len_q), math.sqrt(seq_len_k)))
    )


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
        "d_k": d_k,
        "sqrt_d_k": fmt_number(math.sqrt(d_k)),
        "at": f"scores{fmt_index(index)}",
        "value": lambda: fmt_number(got[index]),
        "raw": fmt_number(raw[index]),
        "right": lambda: fmt_number(scores_variant(case)[index]),
        "length": round(divisor**2),
        "length_name": switches.get("divisor", "")[1:],
        "T_q": case.q.shape[-2],
        "T_k": case.k.shape[-2],
        "factor": lambda: fmt_number(1 / scale_factor(got, raw)),
    }


def _softmax_applied(got, case, fn) -> bool:
    return np.all(got >= 0) and np.allclose(got.sum(-1), 1, atol=1e-4)


def _other_divisor(got, case, fn) -> bool:
    return bool(scale_factor(got, scores_variant(case, divisor="1")))


CHECKER = Checker(
    name="check_scores",
    cases=cases,
    reference=scores_variant,
    outputs=(("Your scores", "scores", "(..., T_q, T_k)"),),
    facts=_facts,
    mistakes=(
        Mistake("missing_scale", {"divisor": "1"}),
        Mistake("scale_by_d", {"divisor": "d_k"}),
        Mistake("wrong_values", {"divisor": "1/√d_k"}, name="multiplied"),
        Mistake("wrong_values", ({"divisor": "√T_q"}, {"divisor": "√T_k"}), name="sqrt_length"),
        Mistake("wrong_values", test=_softmax_applied, name="softmax_applied"),
        Mistake("wrong_values", test=_other_divisor, name="other_divisor"),
    ),
    shape_mistakes=(Mistake("wrong_shape", {"keys_first": True}, name="keys_first"),),
)


def check_scores(fn) -> CheckResult:
    """Check ``fn(q, k) -> (..., T_q, T_k)``: q ``(..., T_q, d_k)``, k ``(..., T_k, d_k)``,
    scores = q @ kᵀ / √d_k. Used in notebooks/03_attention_scores.ipynb."""
    return CHECKER(fn)
