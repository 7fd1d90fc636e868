"""Checker for lesson 06: scaled dot-product attention (scores, mask, softmax, weighted sum).

Also home of the attention step with its mistakes and their messages, shared with the
multi-head checkers.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

import mha_lib

from ._harness import (
    Checker,
    Mistake,
    close,
    difference_clause,
    fmt_number,
    fmt_shape,
    fmt_vector,
    nonfinite_where_finite,
    read_pair,
    shape_problem,
)
from .masked_softmax_check import (
    blocked_weight,
    mask_inverted_message,
    masked_softmax,
    row_sum_clause,
)
from .result import CheckResult

# A mask with a pattern, True = may attend: not symmetric (T_q=5 ≠ T_k=7), every row and
# every column has both True and False, so neither the mask nor its negation blocks a whole
# row, and softmax over the wrong axis stays finite.
PATTERN_MASK = np.array(
    [
        [1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0, 1],
        [0, 1, 1, 1, 0, 0, 0],
        [1, 0, 0, 1, 1, 1, 0],
        [0, 0, 0, 0, 1, 1, 1],
    ],
    dtype=bool,
)
LARGE_INPUT_FACTOR = 25.0  # q and k times 25: scaled scores reach about ±1000


def attention_variant(q, k, v, mask=None, *, divisor=None, values_from_keys=False, **masking):
    """``mha_lib.scaled_dot_product_attention``, with one switch per mistake.

    Args:
        q, k, v: ``(..., T_q, d_k)``, ``(..., T_k, d_k)``, ``(..., T_k, d_v)``.
        mask: bool, broadcastable to ``(..., T_q, T_k)``; True = may attend.
        divisor: what q @ kᵀ is divided by instead of ``sqrt(d_k)`` (1 = no scaling).
        values_from_keys: the weighted sum over k instead of v.
        masking: the switches of :func:`masked_softmax` (axis, invert_mask, fill, ...).

    Returns:
        ``(output (..., T_q, d_v), weights (..., T_q, T_k))``.
    """
    if divisor is None and not values_from_keys and not masking:
        return mha_lib.scaled_dot_product_attention(q, k, v, mask)
    scores = mha_lib.attention_scores(q, k)  # (..., T_q, T_k), divided by √d_k
    if divisor is not None:
        scores = scores * math.sqrt(q.shape[-1]) / divisor
    weights = masked_softmax(scores, mask, **masking)  # (..., T_q, T_k)
    return weights @ (k if values_from_keys else v), weights


def first_row(array) -> tuple:
    """Index of the first row (first query of the first batch/head): (0, ..., 0, slice)."""
    return (0,) * (array.ndim - 1) + (slice(None),)


def unstable_mistake(largest_score: str = "") -> Mistake:
    """The row for NaN or inf where the reference is finite, on a case with huge scores."""

    def message(got, case) -> str:
        output, weights = got
        expected_weights = case.expected()[1]
        if weights is not None and nonfinite_where_finite(weights, expected_weights).any():
            row = tuple(int(i) for i in np.argwhere(~np.isfinite(weights))[0][:-1])
            where = f" of head {row[-2]}" if weights.ndim == 4 else ""
            shown = f"weights for query {row[-1]}{where} are {fmt_vector(weights[row])}" + (
                "" if where else f" instead of {fmt_vector(expected_weights[row])}"
            )
        else:
            row = tuple(int(i) for i in np.argwhere(~np.isfinite(output))[0][:-1])
            shown = f"output for position {row[-1]} is {fmt_vector(output[row])}"
        return (
            f"With large scores (up to {fmt_number(case.largest_scaled_score())} after scaling) "
            f"your {shown}: np.exp overflows to inf. Subtract each row's maximum before np.exp "
            "(a stable softmax); the weights do not change."
        )

    def unstable(got, case, fn) -> bool:
        return case.large and any(
            g is not None and nonfinite_where_finite(g, e).any()
            for g, e in zip(got, case.expected())
        )

    return Mistake("unstable_softmax", message, test=unstable)


@dataclasses.dataclass(frozen=True)
class AttentionCase:
    """One call of the learner's attention: inputs and how to describe them."""

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    mask: np.ndarray | None
    large: bool = False
    hint: str = ""

    @property
    def args(self) -> tuple:
        return (self.q, self.k, self.v) + (() if self.mask is None else (self.mask,))

    @property
    def inputs(self) -> str:
        shapes = f"q of shape {fmt_shape(self.q.shape)}, k {fmt_shape(self.k.shape)}, v {fmt_shape(self.v.shape)}"
        return shapes + (
            " and no mask" if self.mask is None else f" and mask {fmt_shape(self.mask.shape)}"
        )

    @property
    def seq_lens(self) -> tuple[int, int]:
        return self.q.shape[-2], self.k.shape[-2]

    def variant(self, *, divisor=None, **switches):
        """What a mistake produces; ``divisor`` by name: "1" or "d" (= d_k)."""
        divisor = {None: None, "1": 1.0, "d": float(self.q.shape[-1])}[divisor]
        return attention_variant(self.q, self.k, self.v, self.mask, divisor=divisor, **switches)

    def expected(self):
        return self.variant()

    def largest_scaled_score(self) -> float:
        return float(np.abs(mha_lib.attention_scores(self.q, self.k)).max())


def cases() -> list[AttentionCase]:
    """T_q=5 ≠ T_k=7 and d_k=16 ≠ d_v=6 throughout; then a mask, batch and head axes, and
    huge scores."""
    rng = np.random.default_rng(505)

    def qkv(*batch_shape):
        return (
            rng.standard_normal((*batch_shape, 5, 16)),  # q (..., T_q, d_k)
            rng.standard_normal((*batch_shape, 7, 16)),  # k (..., T_k, d_k)
            rng.standard_normal((*batch_shape, 7, 6)),  # v (..., T_k, d_v)
        )

    per_batch_mask = np.stack([PATTERN_MASK, PATTERN_MASK[:, ::-1]])[:, None]  # (2, 1, 5, 7)
    q, k, v = qkv()
    return [
        AttentionCase(q, k, v, None),
        AttentionCase(
            *qkv(),
            PATTERN_MASK.copy(),
            hint=(
                "It worked without a mask, so look at the masking: mask is bool with True = "
                "may attend."
            ),
        ),
        AttentionCase(
            *qkv(2, 3),
            per_batch_mask,
            hint=(
                "It worked for q (5, 16), so the leading (batch, head) axes are the problem: if "
                "you wrote k.T, it reverses every axis; swap only the last two with "
                "np.swapaxes(k, -1, -2)."
            ),
        ),
        AttentionCase(LARGE_INPUT_FACTOR * q, LARGE_INPUT_FACTOR * k, v, None, large=True),
    ]


def _largest_first_weight(got, case) -> str:
    """E.g. "the largest weight of query 0 is 0.91 instead of 0.55"."""
    row = first_row(got[1])
    return (
        f"the largest weight of query 0 is {fmt_number(got[1][row].max())} instead of "
        f"{fmt_number(case.expected()[1][row].max())}"
    )


def _sqrt_d_k(case) -> str:
    return f"√d_k = {fmt_number(math.sqrt(case.q.shape[-1]))}"


MASK_FIX = "np.where(mask, scores, -np.inf)"
MISTAKES = (
    unstable_mistake(),
    Mistake(
        "missing_scale",
        lambda got, case: (
            f"Your weights are softmax(q @ kᵀ) without dividing the scores by {_sqrt_d_k(case)} "
            f"(d_k = {case.q.shape[-1]}), so they are too peaked: "
            f"{_largest_first_weight(got, case)}. Divide the scores by np.sqrt(d_k) before the "
            "softmax."
        ),
        {"divisor": "1"},
    ),
    Mistake(
        "scale_by_d",
        lambda got, case: (
            f"You divided the scores by d_k = {case.q.shape[-1]} instead of {_sqrt_d_k(case)}, "
            f"so the weights are too flat: {_largest_first_weight(got, case)}. Divide by "
            "np.sqrt(d_k)."
        ),
        {"divisor": "d"},
    ),
    Mistake(
        "softmax_wrong_axis",
        lambda got, case: (
            f"Your weights sum to 1 down each column (over the {case.seq_lens[0]} queries, "
            f"axis -2) instead of along each row (over the {case.seq_lens[1]} keys): row 0 sums "
            f"to {fmt_number(got[1][first_row(got[1])].sum())}. Normalise with axis=-1 so that "
            f"each query's weights over the {case.seq_lens[1]} keys sum to 1."
        ),
        {"axis": -2},
    ),
    Mistake(
        "mask_inverted",
        lambda got, case: mask_inverted_message(got[1], case.mask, MASK_FIX),
        {"invert_mask": True},
    ),
    Mistake(
        "mask_after_softmax",
        lambda got, case: (
            "You applied the mask after the softmax, so the rows no longer sum to 1 ("
            f"{row_sum_clause(got[1], case.mask)}). Mask the scores before the softmax: "
            f"{MASK_FIX}."
        ),
        {"after_softmax": True},
    ),
    Mistake(
        "masked_with_zero",
        lambda got, case: (
            "You set the blocked scores to 0 (or multiplied the scores by the mask), but "
            f"e^0 = 1, so blocked keys still get weight: {blocked_weight(got[1], case.mask)}. "
            f"Block them with -inf instead: {MASK_FIX}."
        ),
        {"fill": 0.0},
    ),
    Mistake(
        "wrong_values",
        lambda got, case: (
            f"Blocked keys still get weight: {blocked_weight(got[1], case.mask)}. Set the "
            "blocked scores to -np.inf before the softmax so that their weights are 0."
        ),
        {"use_mask": False},
        name="mask_ignored",
    ),
)


def _shape_message(got, case) -> str:
    (output, weights), (expected_output, expected_weights) = got, case.expected()
    if output.shape == expected_weights.shape and weights.shape == expected_output.shape:
        return (
            f"Your output has shape {fmt_shape(output.shape)} and your weights "
            f"{fmt_shape(weights.shape)}: they are swapped. Return (output, weights), with output "
            f"{fmt_shape(expected_output.shape)} = (..., T_q, d_v) first."
        )
    if weights.shape != expected_weights.shape:
        return (
            shape_problem("Your weights", weights.shape, expected_weights.shape, "(..., T_q, T_k)")
            + " There is one weight for each query and each key: softmax(q @ kᵀ / √d_k)."
        )
    return (
        shape_problem("Your output", output.shape, expected_output.shape, "(..., T_q, d_v)")
        + " Multiply the weights by v (not k): output = weights @ v."
    )


SHAPE_MISTAKES = (
    Mistake(
        "wrong_shape",
        lambda got, case: (
            shape_problem("Your output", got[0].shape, case.expected()[0].shape, "(..., T_q, d_v)")
            + " Its last axis has d_k entries: the weighted sum is over v, output = weights @ v."
        ),
        {"values_from_keys": True},
        name="values_from_keys",
    ),
)


def _values_message(got, case) -> tuple[str, str]:
    (output, weights), (expected_output, expected_weights) = got, case.expected()
    if close(weights, expected_weights):
        return "wrong_values", (
            f"Your weights are right but your output is not: "
            f"{difference_clause('output', output, expected_output)}. The output is the "
            "weighted sum of the values: output = weights @ v."
        )
    clause = difference_clause("weights", weights, expected_weights)
    if not np.isfinite(weights).all():
        return "wrong_values", (
            f"Your weights contain nan or inf: {clause}. If you masked by multiplying, "
            "0 * -inf is nan; use np.where(mask, scores, -np.inf) before the softmax."
        )
    if not np.allclose(weights.sum(axis=-1), 1, atol=1e-4):
        return "wrong_values", (
            f"Each row of weights must sum to 1 over the keys, but yours sum to "
            f"{fmt_vector(weights.sum(axis=-1).ravel(), limit=4)}; {clause}. Use "
            "softmax(scores, axis=-1)."
        )
    return "wrong_values", (
        f"Your weights have the right shape {fmt_shape(weights.shape)} but {clause}. Compute "
        "softmax(q @ kᵀ / np.sqrt(d_k), axis=-1), masking the scores first."
    )


CHECKER = Checker(
    name="check_attention",
    example="check_attention(attention)",
    cases=cases,
    reference=lambda case, **switches: case.variant(**switches),
    read=read_pair(),
    shape_message=_shape_message,
    values_message=_values_message,
    mistakes=MISTAKES,
    shape_mistakes=SHAPE_MISTAKES,
    passed=(
        "your attention matches mha_lib.scaled_dot_product_attention: T_q=5 queries over "
        "T_k=7 keys with d_k=16 and d_v=6, without and with a mask, with batch and head "
        "axes (2, 3), and with scores around ±1000."
    ),
)


def check_attention(fn) -> CheckResult:
    """Check scaled dot-product attention: ``softmax(q @ kᵀ / √d_k, masked) @ v``.

    The learner's function: ``fn(q, k, v, mask=None) -> (output, weights)`` with q
    ``(..., T_q, d_k)``, k ``(..., T_k, d_k)``, v ``(..., T_k, d_v)`` and an optional bool
    mask broadcastable to ``(..., T_q, T_k)`` (True = may attend); returns output
    ``(..., T_q, d_v)`` and weights ``(..., T_q, T_k)``. Checked with T_q ≠ T_k, d_k ≠ d_v,
    without and with a patterned mask, with batch and head axes, and with huge scores.

    Recognises: ``missing_scale``, ``scale_by_d``, ``softmax_wrong_axis``, ``mask_inverted``,
    ``mask_after_softmax``, ``masked_with_zero``, ``unstable_softmax``, ``wrong_shape``,
    ``wrong_values``, ``raised``, ``wrong_type``.

    Used in notebooks/06_weighted_sum.ipynb.
    """
    return CHECKER(fn)
