"""Checker for lesson 05: a softmax over the keys that gives blocked keys weight exactly 0.
Also home of the masking step, its mistakes and messages, shared with the attention checkers.
"""

from __future__ import annotations

import numpy as np

import mha_lib

from ._harness import Case, Checker, Mistake, fmt_index, fmt_number, fmt_vector, outputs, texts
from .result import CheckResult

# True = may attend. T_q=4 ≠ T_k=6, and every row and every column holds both True and
# False, so neither the mask nor its negation blocks a whole row.
PATTERN_MASK = np.array(
    [[1, 1, 0, 0, 0, 1], [0, 1, 1, 0, 1, 0], [1, 0, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=bool
)
FULLY_MASKED_ROW = 2  # the query of the last case whose keys are all blocked
MASK_ROWS = (  # the masking mistakes, in the order every checker tries them
    Mistake("mask_inverted", {"invert_mask": True}),
    Mistake("mask_after_softmax", {"after_softmax": True}),
    Mistake("masked_with_zero", {"fill": 0.0}),
)


def masked_softmax(scores, mask, *, axis=-1, fill=-np.inf, invert_mask=False, use_mask=True,
                   after_softmax=False, nan_rows=False):  # fmt: skip
    """``mha_lib.softmax(np.where(mask, scores, -inf), axis)``, with one switch per mistake:
    another ``axis`` or ``fill``, the mask inverted or unused (``use_mask=False``), applied
    ``after_softmax``, or NaN for a query whose keys are all blocked (``nan_rows``)."""
    if mask is None or not use_mask:
        return mha_lib.softmax(scores, axis=axis)
    allowed = np.broadcast_to(~mask if invert_mask else mask, scores.shape)  # (..., T_q, T_k)
    if after_softmax:
        return mha_lib.softmax(scores, axis=axis) * allowed
    weights = mha_lib.softmax(np.where(allowed, scores, fill), axis=axis)  # (..., T_q, T_k)
    if nan_rows:
        weights = np.where(allowed.any(axis=-1, keepdims=True), weights, np.nan)
    return weights


def first_index(where) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(where)[0])


def _allowed(weights, mask):
    return np.ones(weights.shape, bool) if mask is None else np.broadcast_to(mask, weights.shape)


def _leaks(weights, mask):
    return ~_allowed(weights, mask) & (np.abs(weights) > 1e-6)


def _unnormalised_rows(weights, mask):  # rows that have an allowed key but do not sum to 1
    return _allowed(weights, mask).any(-1) & ~np.isclose(weights.sum(axis=-1), 1, atol=1e-4)


def mask_facts(weights, mask) -> dict:
    """``leak`` ("weights[0, 2] is 0.12 although mask[0, 2] is False") and ``row_sum``
    ("weights[0] sums to 0.41", the first row with an allowed key not summing to 1)."""

    def leak():
        index = first_index(_leaks(weights, mask))
        at = tuple(0 if size == 1 else i for i, size in zip(index[-mask.ndim :], mask.shape))
        value = fmt_number(weights[index])
        return f"weights{fmt_index(index)} is {value} although mask{fmt_index(at)} is False"

    def row_sum():
        index = first_index(_unnormalised_rows(weights, mask))
        return f"weights{fmt_index(index)} sums to {fmt_number(weights[index].sum())}"

    return {"leak": leak, "row_sum": row_sum}


def _nan(got, case, fn) -> bool:
    return not np.isfinite(outputs(got)[-1]).all()  # the weights are the last output


def _leak(got, case, fn) -> bool:
    return case.mask is not None and _leaks(outputs(got)[-1], case.mask).any()


def _unnormalised(got, case, fn) -> bool:
    return _unnormalised_rows(outputs(got)[-1], case.mask).any()


WEIGHTS_ROWS = (  # rows for wrong weights, shared with the attention checkers (after theirs)
    Mistake("wrong_values", test=_nan, name="nan_weights"),
    Mistake("wrong_values", test=_leak, name="blocked_keys_weighted"),
    Mistake("wrong_values", test=_unnormalised, name="rows_not_normalised"),
)


def cases() -> list[Case]:
    """A (4, 6) patterned mask; a (2, 1, 6) padding mask broadcast over batch and queries;
    then a mask with one fully masked query, broadcast over a batch."""
    rng = np.random.default_rng(505)
    hints = texts("check_masked_softmax")["hints"]

    def scores(*shape):
        return (2 * rng.standard_normal(shape)).round(2)

    with_full_row = PATTERN_MASK.copy()
    with_full_row[FULLY_MASKED_ROW] = False
    return [
        Case({"scores": scores(4, 6), "mask": PATTERN_MASK.copy()}),
        Case(
            {"scores": scores(2, 4, 6), "mask": mha_lib.padding_mask([6, 3], 6)[:, None, :]},
            hint=hints["padding_mask"],
        ),
        Case(
            {"scores": scores(2, 4, 6), "mask": with_full_row},
            hint=hints["fully_masked"].format(row=FULLY_MASKED_ROW),
        ),
    ]


def _facts(got, case, switches) -> dict:
    def full_row():
        index = first_index(~_allowed(got, case.mask).any(axis=-1))
        return (
            f"query {index[-1]}, whose keys are all blocked: weights{fmt_index(index)} is "
            f"{fmt_vector(got[index])} instead of all 0"
        )

    return mask_facts(got, case.mask) | {"full_row": full_row}


CHECKER = Checker(
    name="check_masked_softmax",
    cases=cases,
    reference=lambda case, **switches: masked_softmax(case.scores, case.mask, **switches),
    outputs=(("Your weights", "weights", "scores.shape"),),
    facts=_facts,
    mistakes=(
        *MASK_ROWS,
        Mistake("fully_masked_nan", {"nan_rows": True}),
        Mistake("wrong_values", {"fill": -1e9}, name="large_negative_fill"),
        *WEIGHTS_ROWS,
    ),
    shape_mistakes=(
        Mistake("wrong_shape", test=lambda got, case, fn: got.ndim == 1, name="boolean_indexing"),
    ),
)


def check_masked_softmax(fn) -> CheckResult:
    """Check ``fn(scores, mask) -> scores.shape``: a softmax over the keys with blocked keys
    (mask False) at exactly 0, and all zeros for a query whose keys are all blocked.
    Used in notebooks/05_masks.ipynb."""
    return CHECKER(fn)
