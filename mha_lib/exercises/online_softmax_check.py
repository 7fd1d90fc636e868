"""Checker for lesson 11: one step of the online softmax (running max and running sum).

The learner's ``fn(m, l, scores) -> (m_new, l_new)`` takes each query's running max ``m``
``(...,)``, its running sum ``l = Σ exp(x − m)`` over the scores seen so far ``(...,)``, and the
next block of scores ``(..., n)``; it returns both updated to include the block.
"""

from __future__ import annotations

import numpy as np

from ._harness import Case, Checker, Mistake, fmt_index, fmt_number, fmt_vector, outputs
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
    big = 1000 + rng.standard_normal((2, 4)).round(2)
    masked = rng.standard_normal((2, 3, 4)).round(2)
    masked[..., 1] = -np.inf  # a key every query must ignore
    masked[0, 1, :] = [-np.inf, -np.inf, -np.inf, -np.inf]  # a block with nothing to see
    return [
        Case({"m": np.full(2, -np.inf), "l": np.zeros(2),
              "scores": np.array([[0.5, 2.0, -1.0], [1.0, 0.0, 0.3]])}),
        Case({"m": np.array([1.0, 3.0]), "l": np.array([1.5, 2.0]),
              "scores": np.array([[2.5, 0.0, 1.0], [0.5, 1.0, 2.0]])},
             hint="It worked for the first block (m = -inf, l = 0), so the problem is the "
             "update of a state that already holds a sum."),
        Case({"m": np.array([1001.0, 999.0]), "l": np.array([1.2, 2.5]), "scores": big},
             hint="It worked for small scores, so look for an np.exp of a large number."),
        Case({"m": rng.standard_normal((2, 3)).round(2), "l": 1 + rng.random((2, 3)).round(2),
              "scores": masked},
             hint="It worked for rows of shape (2,), so the batch axes (m of shape (2, 3), "
             "scores (2, 3, 4)) are the problem: take the max and the sum over axis=-1."),
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


_STATE = (
    "For {row} with m = {m}, l = {l} and the new scores {scores}, the right update is "
    "m_new = {m_new}, l_new = {l_new}; you returned m_new = {got_m}, l_new = {got_l}. "
)
CHECKER = Checker(
    name="check_online_softmax",
    example="check_online_softmax(online_softmax_update)",
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
    messages={
        "sum_not_rescaled": _STATE + "You forgot to rescale the old sum when the max changed: "
        "the terms already in l are exp(x − m), measured from the old max, so multiply l by "
        "exp(m − m_new) (here {factor}) before adding the new block's terms, l_new = "
        "l * np.exp(m - m_new) + np.exp(scores - m_new[..., None]).sum(axis=-1).",
        "rescaled_the_wrong_way": _STATE + "You rescaled the old sum by exp(m_new − m), the "
        "inverse of the right factor: moving the terms from the old max m to the larger m_new "
        "makes them smaller, so multiply by exp(m − m_new) ≤ 1 (here {factor}).",
        "block_max_only": _STATE + "Your new max is the block's own max, but the running max "
        "must cover every score seen so far (when the block's max is below m, the terms "
        "measured from it can overflow): m_new = np.maximum(m, scores.max(axis=-1)).",
        "no_max_subtracted": _STATE + "You add np.exp(scores) without subtracting the max, "
        "which overflows to inf for scores around 1000 (e^1000 = inf): the running sum must "
        "hold exp(x − m_new), so keep every exponent ≤ 0 with m_new = np.maximum(m, "
        "scores.max(axis=-1)) and np.exp(scores - m_new[..., None]).sum(axis=-1).",
    },
    shape_fallback="{problem} The running max and sum have one number per query, the shape "
    "of m: reduce the block with .max(axis=-1) and .sum(axis=-1), and add [..., None] to "
    "m_new where it meets the (..., n) scores.",
    values_fallback=_STATE + "Compute m_new = np.maximum(m, "
    "scores.max(axis=-1)), then l_new = l * np.exp(m - m_new) + np.exp(scores - m_new[..., "
    "None]).sum(axis=-1).",
    passed=(
        "your update keeps the running max and rescales the running sum whenever the max "
        "rises: a first block from m = -inf, a block that raises the max in one row but not "
        "the other, scores around 1000, and a (2, 3) batch of rows with masked keys."
    ),
)


def check_online_softmax(fn) -> CheckResult:
    """Check ``fn(m, l, scores) -> (m_new, l_new)``: the running max ``m (...,)`` and running
    sum ``l (...,)`` of ``exp(x − m)``, updated with a block of scores ``(..., n)``.

    Used in notebooks/11_cost_of_attention.ipynb.
    """
    return CHECKER(fn)
