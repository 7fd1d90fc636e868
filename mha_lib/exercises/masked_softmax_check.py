"""Checker for lesson 05: a softmax over the keys that gives blocked keys weight exactly 0.
Also home of the masking step, its mistakes and messages, shared with the attention checkers.
"""

from __future__ import annotations

import numpy as np

import mha_lib

from ._harness import Case, Checker, Mistake, fmt_index, fmt_number, fmt_vector, outputs
from .result import CheckResult

# True = may attend. T_q=4 ≠ T_k=6, and every row and every column holds both True and
# False, so neither the mask nor its negation blocks a whole row.
PATTERN_MASK = np.array(
    [[1, 1, 0, 0, 0, 1], [0, 1, 1, 0, 1, 0], [1, 0, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=bool
)
FULLY_MASKED_ROW = 2  # the query of the last case whose keys are all blocked
# Messages shared with the attention checkers; {fix} is how the course writes the masking.
MASK_MESSAGES = {
    "mask_inverted": "Your weights are 0 where the mask is True and non-zero where it is False: "
    '{leak}. Here True means "may attend" (as in F.scaled_dot_product_attention; '
    "nn.MultiheadAttention uses the opposite): keep the scores where mask is True, {fix}.",
    "mask_after_softmax": "You applied the mask after the softmax, so the rows no longer sum to "
    "1 ({row_sum}). Mask the scores before the softmax: {fix}.",
    "masked_with_zero": "You set the blocked scores to 0 (or multiplied the scores by the mask), "
    "but e^0 = 1, so blocked keys still get weight: {leak}. Block them with -inf instead: {fix}.",
    "nan_weights": "Your weights contain nan or inf: {weights_difference}. If you masked by "
    "multiplying, 0 * -inf is nan; use {fix}.",
    "blocked_keys_weighted": "Blocked keys still get weight: {leak}. Set the blocked scores to "
    "-np.inf before the softmax so that their weights are exactly 0.",
    "rows_not_normalised": "Each query's weights must sum to 1 over its allowed keys, but "
    "{row_sum}; {weights_difference}. Use softmax(scores, axis=-1).",
}
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

    def scores(*shape):
        return (2 * rng.standard_normal(shape)).round(2)

    with_full_row = PATTERN_MASK.copy()
    with_full_row[FULLY_MASKED_ROW] = False
    return [
        Case({"scores": scores(4, 6), "mask": PATTERN_MASK.copy()}),
        Case(
            {"scores": scores(2, 4, 6), "mask": mha_lib.padding_mask([6, 3], 6)[:, None, :]},
            hint="It worked with a mask of the scores' own shape, so the broadcasting is the "
            "problem: a padding mask (2, 1, 6) must broadcast over the 4 queries; "
            "np.where(mask, scores, -np.inf) does that (scores[~mask] = ... needs equal shapes).",
        ),
        Case(
            {"scores": scores(2, 4, 6), "mask": with_full_row},
            hint="It worked while every query could attend to some key; here query "
            f"{FULLY_MASKED_ROW} has every key blocked, and its weights must be all 0.",
        ),
    ]


def _facts(got, case, switches) -> dict:
    def full_row():
        index = first_index(~_allowed(got, case.mask).any(axis=-1))
        return (
            f"query {index[-1]}, whose keys are all blocked: weights{fmt_index(index)} is "
            f"{fmt_vector(got[index])} instead of all 0"
        )

    fix = "np.where(mask, scores, -np.inf), then the softmax"
    return mask_facts(got, case.mask) | {"fix": fix, "full_row": full_row}


CHECKER = Checker(
    name="check_masked_softmax",
    example="check_masked_softmax(masked_softmax)",
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
    messages={
        **MASK_MESSAGES,
        "fully_masked_nan": "Your weights are right except for {full_row} (subtracting the row "
        "maximum gives -inf - (-inf) = nan, or the e^-inf terms sum to 0 and 0 / 0 = nan). The "
        "course's convention (mha_lib.softmax) gives such a query all-zero weights: replace a "
        "maximum of -inf by 0 before subtracting it, and divide only where the row's total is "
        "above 0, or call mha_lib.softmax.",
        "large_negative_fill": "Your weights are right except for {full_row}: with a large "
        "negative number instead of -inf, such a query spreads its weight evenly over the "
        "blocked keys. Use np.where(mask, scores, -np.inf) and a softmax that gives such a "
        "query all zeros (as mha_lib.softmax does).",
        "boolean_indexing": "{problem} Boolean indexing (scores[mask]) keeps only the allowed "
        "entries, flattened; keep every position with {fix}.",
    },
    shape_fallback="{problem} The weights keep the scores' shape; the mask only broadcasts: {fix}.",
    values_fallback="Your weights have the right shape {shape} but {difference}. Compute {fix} "
    "over the last axis (the keys).",
    passed=(
        "your masked softmax gives blocked keys weight 0 and each query's allowed keys weights "
        "that sum to 1: a patterned (4, 6) mask, a padding mask (2, 1, 6) broadcast over "
        "scores (2, 4, 6), and a fully masked query, whose weights are all 0."
    ),
)


def check_masked_softmax(fn) -> CheckResult:
    """Check ``fn(scores, mask) -> scores.shape``: a softmax over the keys with blocked keys
    (mask False) at exactly 0, and all zeros for a query whose keys are all blocked.
    Used in notebooks/05_masks.ipynb."""
    return CHECKER(fn)
