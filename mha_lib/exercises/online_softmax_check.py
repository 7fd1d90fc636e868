"""Checker for lesson 11: one step of the online softmax (running max and running sum).

The learner's ``fn(m, l, scores) -> (m_new, l_new)`` takes each query's running max ``m``
``(...,)``, its running sum ``l = Σ exp(x − m)`` over the scores seen so far ``(...,)``, and the
next block of scores ``(..., n)``; it returns both updated to include the block.
"""

from __future__ import annotations

import numpy as np

from ._harness import Case, Checker, Mistake, fmt_index, fmt_number, fmt_vector, outputs, texts
from .result import CheckResult


def online_update(case, *, rescale="right", running_max=True, shift=True):
    """The right update (as ``mha_lib.flash_attention`` does it per query), with one switch
    per mistake: the old sum not rescaled (``rescale="none"``) or by the inverse factor
    (``"inverted"``), the block's max alone taken as the new max (``running_max=False``), or
    no max subtracted at all (``shift=False``: plain sums of exp)."""
    m, l, scores = case.m, case.l, case.scores
    with np.errstate(over="ignore", invalid="ignore"):
        block_max = scores.max(axis=-1)  # (...,)
        m_new = np.maximum(m, block_max) if running_max else block_max  # (...,)
        if not shift:
            return m_new, l + np.exp(scores).sum(axis=-1)
        factor = {"right": np.exp(m - m_new), "none": 1.0, "inverted": np.exp(m_new - m)}
        old = np.where(l > 0, factor[rescale] * l, 0.0)  # an empty sum stays 0 (m = -inf)
        return m_new, old + np.exp(scores - m_new[..., None]).sum(axis=-1)


def cases() -> list[Case]:
    """A first block (m = -inf, l = 0); a block that raises the max of row 0 but not of row
    1; scores around 1000; a (2, 3) batch of rows with masked (-inf) keys."""
    rng = np.random.default_rng(1111)
    hints = texts("check_online_softmax")["hints"]
    big = 1000 + rng.standard_normal((2, 4)).round(2)
    masked = rng.standard_normal((2, 3, 4)).round(2)
    masked[..., 1] = -np.inf  # a key every query must ignore
    masked[0, 1, :] = [-np.inf, -np.inf, -np.inf, -np.inf]  # a block with nothing to see
    return [
        Case({"m": np.full(2, -np.inf), "l": np.zeros(2),
              "scores": np.array([[0.5, 2.0, -1.0], [1.0, 0.0, 0.3]])}),
        Case({"m": np.array([1.0, 3.0]), "l": np.array([1.5, 2.0]),
              "scores": np.array([[2.5, 0.0, 1.0], [0.5, 1.0, 2.0]])},
             hint=hints["second_block"]),
        Case({"m": np.array([1001.0, 999.0]), "l": np.array([1.2, 2.5]), "scores": big},
             hint=hints["large_scores"]),
        Case({"m": rng.standard_normal((2, 3)).round(2), "l": 1 + rng.random((2, 3)).round(2),
              "scores": masked},
             hint=hints["batch_axes"]),
    ]  # fmt: skip


def _first_wrong_row(got, case) -> tuple[int, ...]:
    right = online_update(case)
    wrong = ~np.isclose(outputs(got)[1], right[1], rtol=1e-4, atol=1e-5)
    wrong |= ~np.isclose(outputs(got)[0], right[0], rtol=1e-4, atol=1e-5)
    return tuple(int(i) for i in np.argwhere(wrong)[0]) if wrong.any() else (0,) * case.m.ndim


def _facts(got, case, switches) -> dict:
    """Message fields about the first query whose result is wrong (used only when the
    shapes are right)."""
    m_new, l_new = online_update(case)

    def row():
        return _first_wrong_row(got, case)

    return {
        "row": lambda: f"query {fmt_index(row())}" if case.m.ndim > 1 else f"query {row()[0]}",
        "m": lambda: fmt_number(case.m[row()]),
        "l": lambda: fmt_number(case.l[row()]),
        "scores": lambda: fmt_vector(case.scores[row()]),
        "m_new": lambda: fmt_number(m_new[row()]),
        "l_new": lambda: fmt_number(l_new[row()]),
        "got_m": lambda: fmt_number(got[0][row()]),
        "got_l": lambda: fmt_number(got[1][row()]),
        "factor": lambda: fmt_number(np.exp(case.m[row()] - m_new[row()])),
    }


CHECKER = Checker(
    name="check_online_softmax",
    cases=cases,
    reference=online_update,
    outputs=(
        ("Your running max", "m_new", "m.shape"),
        ("Your running sum", "l_new", "l.shape"),
    ),
    facts=_facts,
    mistakes=(
        Mistake("unstable_softmax", {"shift": False}, name="no_max_subtracted", evident_in=1),
        Mistake("sum_not_rescaled", {"rescale": "none"}, evident_in=1),
        Mistake("wrong_values", {"rescale": "inverted"}, name="rescaled_the_wrong_way"),
        Mistake("wrong_values", {"running_max": False}, name="block_max_only"),
    ),
)


def check_online_softmax(fn) -> CheckResult:
    """Check ``fn(m, l, scores) -> (m_new, l_new)``: the running max ``m (...,)`` and running
    sum ``l (...,)`` of ``exp(x − m)``, updated with a block of scores ``(..., n)``.

    Used in notebooks/11_cost_of_attention.ipynb.
    """
    return CHECKER(fn)
