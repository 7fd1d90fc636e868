"""Checker for lesson 05: a softmax over the keys that gives blocked keys weight exactly 0.

Also home of the masking step with its mistakes, shared by the attention checkers.
"""

from __future__ import annotations

import dataclasses

import numpy as np

import mha_lib

from ._harness import (
    Checker,
    Mistake,
    difference_clause,
    fmt_index,
    fmt_number,
    fmt_shape,
    fmt_vector,
    read_array,
    shape_problem,
)
from .result import CheckResult

# True = may attend. T_q=4 ≠ T_k=6, and every row and every column holds both True and
# False, so neither the mask nor its negation blocks a whole row.
PATTERN_MASK = np.array(
    [
        [1, 1, 0, 0, 0, 1],
        [0, 1, 1, 0, 1, 0],
        [1, 0, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 1],
    ],
    dtype=bool,
)
FULLY_MASKED_ROW = 2  # the query of the last case whose keys are all blocked
FIX = "np.where(mask, scores, -np.inf), then the softmax"


def masked_softmax(
    scores,
    mask,
    *,
    axis=-1,
    fill=-np.inf,
    invert_mask=False,
    use_mask=True,
    after_softmax=False,
    nan_rows=False,
):
    """``mha_lib.softmax(np.where(mask, scores, -inf), axis)``, with one switch per mistake.

    Args:
        scores: ``(..., T_q, T_k)``; mask: bool broadcastable to it (True = may attend) or None.
        axis: -1 is right (over the keys); -2 normalises over the queries.
        fill: the value blocked scores get (0 and -1e9 are mistakes).
        invert_mask: treat True as "blocked"; use_mask: False ignores the mask.
        after_softmax: multiply the weights by the mask after the softmax instead.
        nan_rows: a query with every key blocked gets NaN weights instead of zeros.
    """
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
    """The first index where the bool array ``where`` is True."""
    return tuple(int(i) for i in np.argwhere(where)[0])


def blocked_weight(weights, mask) -> str:
    """E.g. "weights[0, 2] is 0.12 although mask[0, 2] is False" at the first leak."""
    index = first_index(np.broadcast_to(~mask, weights.shape) & (np.abs(weights) > 1e-6))
    mask_index = tuple(0 if size == 1 else i for i, size in zip(index[-mask.ndim :], mask.shape))
    return (
        f"weights{fmt_index(index)} is {fmt_number(weights[index])} although "
        f"mask{fmt_index(mask_index)} is False"
    )


def mask_inverted_message(weights, mask, fix=FIX) -> str:
    return (
        f"Your weights are 0 where the mask is True and non-zero where it is False: "
        f'{blocked_weight(weights, mask)}. Here True means "may attend" (as in '
        "F.scaled_dot_product_attention; nn.MultiheadAttention uses the opposite): keep the "
        f"scores where mask is True, {fix}."
    )


def row_sum_clause(weights, mask=None) -> str:
    """E.g. "weights[0] sums to 0.41": the first row (with an allowed key) not summing to 1."""
    sums = weights.sum(axis=-1)
    wrong = ~np.isclose(sums, 1, atol=1e-4)
    if mask is not None:
        wrong &= np.broadcast_to(mask, weights.shape).any(axis=-1)
    index = first_index(wrong)
    return f"weights{fmt_index(index)} sums to {fmt_number(sums[index])}"


@dataclasses.dataclass(frozen=True)
class MaskedSoftmaxCase:
    """One call ``fn(scores, mask)`` and how to describe it."""

    scores: np.ndarray
    mask: np.ndarray
    hint: str = ""  # said when this call raises although the earlier ones worked

    @property
    def args(self) -> tuple:
        return (self.scores, self.mask)

    @property
    def inputs(self) -> str:
        return (
            f"scores of shape {fmt_shape(self.scores.shape)} and mask {fmt_shape(self.mask.shape)}"
        )

    @property
    def allowed(self) -> np.ndarray:
        """The mask broadcast to the scores' shape ``(..., T_q, T_k)``."""
        return np.broadcast_to(self.mask, self.scores.shape)


def cases() -> list[MaskedSoftmaxCase]:
    """A (4, 6) patterned mask; a (2, 1, 6) padding mask broadcast over batch and queries;
    then a mask with one fully masked query, broadcast over a batch."""
    rng = np.random.default_rng(505)

    def scores(*shape):
        return (2 * rng.standard_normal(shape)).round(2)

    padding = mha_lib.padding_mask([6, 3], 6)[:, None, :]  # (batch=2, 1, T_k=6)
    with_full_row = PATTERN_MASK.copy()
    with_full_row[FULLY_MASKED_ROW] = False
    return [
        MaskedSoftmaxCase(scores(4, 6), PATTERN_MASK.copy()),
        MaskedSoftmaxCase(
            scores(2, 4, 6),
            padding,
            "It worked with a mask of the scores' own shape, so the broadcasting is the "
            "problem: a padding mask (2, 1, 6) must broadcast over the 4 queries; "
            "np.where(mask, scores, -np.inf) does that (scores[~mask] = ... needs equal shapes).",
        ),
        MaskedSoftmaxCase(
            scores(2, 4, 6),
            with_full_row,
            f"It worked while every query could attend to some key; here query "
            f"{FULLY_MASKED_ROW} has every key blocked, and its weights must be all 0.",
        ),
    ]


def _full_row(got, case) -> str:
    """E.g. "query 2, whose keys are all blocked: weights[0, 2] is [nan, …] instead of all 0"."""
    index = first_index(~case.allowed.any(axis=-1))
    return (
        f"query {index[-1]}, whose keys are all blocked: weights{fmt_index(index)} is "
        f"{fmt_vector(got[index])} instead of all 0"
    )


MISTAKES = (
    Mistake(
        "mask_inverted",
        lambda got, case: mask_inverted_message(got, case.mask),
        {"invert_mask": True},
    ),
    Mistake(
        "mask_after_softmax",
        lambda got, case: (
            f"You applied the mask after the softmax, so the rows no longer sum to 1: "
            f"{row_sum_clause(got, case.mask)}. Mask the scores before the softmax instead: {FIX}."
        ),
        {"after_softmax": True},
    ),
    Mistake(
        "masked_with_zero",
        lambda got, case: (
            "You set the blocked scores to 0 (or multiplied the scores by the mask), but "
            f"e^0 = 1, so blocked keys still get weight: {blocked_weight(got, case.mask)}. Set "
            "them to -np.inf, whose e^-inf is exactly 0: np.where(mask, scores, -np.inf)."
        ),
        {"fill": 0.0},
    ),
    Mistake(
        "fully_masked_nan",
        lambda got, case: (
            f"Your weights are right except for {_full_row(got, case)} (subtracting the row "
            "maximum gives -inf - (-inf) = nan, or the e^-inf terms sum to 0 and 0 / 0 = nan). "
            "The course's convention (mha_lib.softmax) gives such a query all-zero weights: "
            "replace a maximum of -inf by 0 before subtracting it, and divide only where the "
            "row's total is above 0, or call mha_lib.softmax."
        ),
        {"nan_rows": True},
    ),
    Mistake(
        "wrong_values",
        lambda got, case: (
            f"Your weights are right except for {_full_row(got, case)}: with a large negative "
            "number instead of -inf, such a query spreads its weight evenly over the blocked "
            "keys. Use np.where(mask, scores, -np.inf) and a softmax that gives such a query "
            "all zeros (as mha_lib.softmax does)."
        ),
        {"fill": -1e9},
        name="large_negative_fill",
    ),
    Mistake(
        "wrong_values",
        lambda got, case: (
            f"Your weights ignore the mask: {blocked_weight(got, case.mask)}. Blocked keys must "
            f"get weight exactly 0: {FIX}."
        ),
        {"use_mask": False},
        name="mask_ignored",
    ),
)


def _shape_message(got, case) -> str:
    problem = shape_problem("Your weights", got.shape, case.scores.shape, "scores.shape")
    if got.ndim == 1:
        return (
            f"{problem} Boolean indexing (scores[mask]) keeps only the allowed entries, "
            f"flattened; keep every position with {FIX}."
        )
    return f"{problem} The weights keep the scores' shape; the mask only broadcasts: {FIX}."


def _values_message(got, case) -> tuple[str, str]:
    expected = masked_softmax(case.scores, case.mask)
    clause = difference_clause("weights", got, expected)
    if not np.isfinite(got).all():
        advice = f"If you masked by multiplying, 0 * -inf is nan; use {FIX}"
        return "wrong_values", f"Your weights contain nan or inf: {clause}. {advice}."
    if (~case.allowed & (np.abs(got) > 1e-6)).any():
        return "wrong_values", (
            f"Blocked keys still get weight: {blocked_weight(got, case.mask)}. Set the blocked "
            "scores to -np.inf before the softmax so that their weights are exactly 0."
        )
    if not np.allclose(got.sum(axis=-1)[case.allowed.any(axis=-1)], 1, atol=1e-4):
        return "wrong_values", (
            f"Each query's weights must sum to 1 over its allowed keys, but "
            f"{row_sum_clause(got, case.mask)}; {clause}. Use {FIX} over the last axis."
        )
    return "wrong_values", (
        f"Your weights have the right shape {fmt_shape(expected.shape)} but {clause}. "
        f"Compute {FIX} over the last axis (the keys)."
    )


CHECKER = Checker(
    name="check_masked_softmax",
    example="check_masked_softmax(masked_softmax)",
    cases=cases,
    reference=lambda case, **switches: masked_softmax(case.scores, case.mask, **switches),
    read=read_array("Your weights"),
    shape_message=_shape_message,
    values_message=_values_message,
    mistakes=MISTAKES,
    passed=(
        "your masked softmax gives blocked keys weight 0 and each query's allowed keys weights "
        "that sum to 1: a patterned (4, 6) mask, a padding mask (2, 1, 6) broadcast over "
        "scores (2, 4, 6), and a fully masked query, whose weights are all 0."
    ),
)


def check_masked_softmax(fn) -> CheckResult:
    """Check a masked softmax: blocked keys get weight 0, allowed keys' weights sum to 1.

    The learner's function: ``fn(scores, mask) -> weights`` with scores ``(..., T_q, T_k)``
    and a bool mask broadcastable to them (True = may attend); returns weights of the scores'
    shape, the softmax over the keys with blocked positions at exactly 0, and a query whose
    keys are all blocked getting all zeros (as ``mha_lib.softmax(np.where(mask, scores,
    -np.inf))`` gives). Checked with T_q=4 ≠ T_k=6: a patterned (4, 6) mask, a padding mask
    (2, 1, 6) broadcast over scores (2, 4, 6), and a mask with one fully masked query.

    Recognises: ``mask_inverted``, ``mask_after_softmax``, ``masked_with_zero``,
    ``fully_masked_nan``, ``wrong_shape``, ``wrong_values`` (e.g. the mask ignored, or -1e9
    instead of -inf, which gives a fully masked query equal weights), ``raised``,
    ``wrong_type``.

    Used in notebooks/05_masks.ipynb.
    """
    return CHECKER(fn)
