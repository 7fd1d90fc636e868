"""Checker for lesson 03: attention scores q @ kᵀ / √d_k."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

import mha_lib

from ._harness import (
    Checker,
    Mistake,
    difference_clause,
    fmt_index,
    fmt_number,
    fmt_shape,
    read_array,
    scale_factor,
    shape_problem,
)
from .result import CheckResult

D_K = 16  # √16 = 4, so a missing or wrong scale is easy to see in the numbers


@dataclasses.dataclass(frozen=True)
class ScoresCase:
    q: np.ndarray
    k: np.ndarray
    hint: str = ""

    @property
    def args(self) -> tuple:
        return (self.q, self.k)

    @property
    def inputs(self) -> str:
        return f"q of shape {fmt_shape(self.q.shape)} and k of shape {fmt_shape(self.k.shape)}"

    def divisors(self) -> dict[str, float]:
        """What a learner may divide q @ kᵀ by, by name."""
        d_k, seq_len_q, seq_len_k = self.q.shape[-1], self.q.shape[-2], self.k.shape[-2]
        return {
            "1": 1.0,
            "d_k": float(d_k),
            "1/√d_k": 1 / math.sqrt(d_k),
            "√T_q": math.sqrt(seq_len_q),
            "√T_k": math.sqrt(seq_len_k),
        }


def cases() -> list[ScoresCase]:
    """(q, k): first plain (T_q=5, T_k=7, d_k=16), then with batch and head axes."""
    rng = np.random.default_rng(303)
    plain = ScoresCase(rng.standard_normal((5, D_K)), rng.standard_normal((7, D_K)))
    batched = ScoresCase(
        rng.standard_normal((2, 3, 5, D_K)),
        rng.standard_normal((2, 3, 7, D_K)),
        f"It worked for q {fmt_shape(plain.q.shape)} and k {fmt_shape(plain.k.shape)}, so the "
        "leading (batch, head) axes are the problem: if you wrote k.T, it reverses every axis; "
        "swap only the last two with np.swapaxes(k, -1, -2).",
    )
    return [plain, batched]


def scores_variant(case, *, divisor=None, keys_first=False, softmax=False):
    """``mha_lib.attention_scores(q, k)``, with one switch per mistake.

    Args:
        divisor: the name (see ``ScoresCase.divisors``) of what q @ kᵀ is divided by.
        keys_first: k @ qᵀ instead of q @ kᵀ.
        softmax: the softmax already applied.
    """
    scores = mha_lib.attention_scores(case.q, case.k)  # (..., T_q, T_k)
    if divisor is not None:
        scores = scores * math.sqrt(case.q.shape[-1]) / case.divisors()[divisor]
    if softmax:
        return mha_lib.softmax(scores)
    return np.swapaxes(scores, -1, -2) if keys_first else scores


def _largest(case):
    """The index of the largest |q @ kᵀ| (where a scaling shows most), and q @ kᵀ itself."""
    raw = scores_variant(case, divisor="1")
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(raw))), raw.shape)), raw


def _evidence(got, case, joiner="instead of") -> str:
    """E.g. "scores[2, 3] is 5.1 instead of 1.28" where q @ kᵀ is largest."""
    index, _ = _largest(case)
    expected = scores_variant(case)[index]
    return f"scores{fmt_index(index)} is {fmt_number(got[index])} {joiner} {fmt_number(expected)}"


def _missing_scale_message(got, case) -> str:
    index, raw = _largest(case)
    d_k = case.q.shape[-1]
    return (
        f"Your scores are q @ kᵀ without the scaling: scores{fmt_index(index)} is "
        f"{fmt_number(got[index])} but should be {fmt_number(raw[index])} / √{d_k} = "
        f"{fmt_number(raw[index] / math.sqrt(d_k))}. Divide by np.sqrt(d_k), where d_k = "
        f"q.shape[-1] = {d_k}."
    )


def _divided_by_length(got, case, name) -> str:
    size = round(case.divisors()[name] ** 2)
    d_k = case.q.shape[-1]
    return (
        f"You divided by √{size}, but {size} is {name[1:]}, not d_k: {_evidence(got, case)}. "
        f"d_k is the width of each query and key, q.shape[-1] = {d_k}; divide by np.sqrt({d_k})."
    )


MISTAKES = (
    Mistake("missing_scale", _missing_scale_message, {"divisor": "1"}),
    Mistake(
        "scale_by_d",
        lambda got, case: (
            f"Your scores are divided by d_k = {case.q.shape[-1]} instead of √d_k = "
            f"{fmt_number(math.sqrt(case.q.shape[-1]))}: "
            f"{_evidence(got, case, 'but should be')}. Use np.sqrt(d_k)."
        ),
        {"divisor": "d_k"},
    ),
    Mistake(
        "wrong_values",
        lambda got, case: (
            f"You multiplied q @ kᵀ by √d_k = {fmt_number(math.sqrt(case.q.shape[-1]))} instead "
            f"of dividing by it: {_evidence(got, case)}. Use q @ kᵀ / np.sqrt(d_k)."
        ),
        {"divisor": "1/√d_k"},
        name="multiplied",
    ),
    Mistake(
        "wrong_values",
        lambda got, case: _divided_by_length(got, case, "√T_q"),
        {"divisor": "√T_q"},
        name="sqrt_T_q",
    ),
    Mistake(
        "wrong_values",
        lambda got, case: _divided_by_length(got, case, "√T_k"),
        {"divisor": "√T_k"},
        name="sqrt_T_k",
    ),
    Mistake(
        "wrong_values",
        lambda got, case: (
            "Every row of your result sums to 1, so you already applied the softmax. Return "
            "the scaled scores q @ kᵀ / √d_k; the softmax comes in the next step."
        ),
        test=lambda got, case, fn: np.all(got >= 0) and np.allclose(got.sum(-1), 1, atol=1e-4),
        name="softmax_applied",
    ),
)

SHAPE_MISTAKES = (
    Mistake(
        "wrong_shape",
        lambda got, case: (
            f"{shape_problem('Your scores', got.shape, scores_variant(case).shape, '(..., T_q, T_k)')}"
            f" You computed k @ qᵀ: rows must be the {case.q.shape[-2]} queries and columns the "
            f"{case.k.shape[-2]} keys, so use q @ kᵀ."
        ),
        {"keys_first": True},
        name="keys_first",
    ),
)


def _values_message(got, case) -> tuple[str, str]:
    d_k = case.q.shape[-1]
    factor = scale_factor(got, scores_variant(case, divisor="1"))
    if factor:  # q @ kᵀ divided by something else
        return "wrong_values", (
            f"Your scores are q @ kᵀ divided by {fmt_number(1 / factor)} instead of √d_k = "
            f"{fmt_number(math.sqrt(d_k))} (d_k = q.shape[-1] = {d_k}): {_evidence(got, case)}."
        )
    return "wrong_values", (
        f"Your scores have the right shape {fmt_shape(got.shape)} but "
        f"{difference_clause('scores', got, scores_variant(case))}. Compute q @ kᵀ / "
        f"np.sqrt(d_k) with d_k = q.shape[-1] = {d_k}."
    )


CHECKER = Checker(
    name="check_scores",
    example="check_scores(attention_scores)",
    cases=cases,
    reference=scores_variant,
    read=read_array("Your scores"),
    shape_message=lambda got, case: (
        shape_problem("Your scores", got.shape, scores_variant(case).shape, "(..., T_q, T_k)")
        + f" Compare each of the {case.q.shape[-2]} queries with each of the "
        f"{case.k.shape[-2]} keys: q @ kᵀ."
    ),
    values_message=_values_message,
    mistakes=MISTAKES,
    shape_mistakes=SHAPE_MISTAKES,
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
