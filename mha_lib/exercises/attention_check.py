"""Checker for lesson 05: scaled dot-product attention (scores, mask, softmax, weighted sum)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..attention import scaled_dot_product_attention
from ._harness import (
    as_pair,
    call_learner,
    close,
    difference_clause,
    fail,
    fmt_index,
    fmt_number,
    fmt_shape,
    fmt_vector,
    nonfinite_where_finite,
    require_callable,
    run_check,
    shape_problem,
    to_array,
)
from ._reference import attention_variant
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


@dataclasses.dataclass(frozen=True)
class AttentionExample:
    """One call of the learner's attention: inputs and how to describe them."""

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    mask: np.ndarray | None
    large: bool = False

    @property
    def inputs(self) -> str:
        shapes = f"q of shape {fmt_shape(self.q.shape)}, k {fmt_shape(self.k.shape)}, v {fmt_shape(self.v.shape)}"
        return shapes + (
            " and no mask" if self.mask is None else f" and mask {fmt_shape(self.mask.shape)}"
        )

    def call(self, fn, after_success: str):
        args = (
            (self.q, self.k, self.v) if self.mask is None else (self.q, self.k, self.v, self.mask)
        )
        return call_learner(fn, *args, inputs=self.inputs, after_success=after_success)


def _attention_examples() -> list[AttentionExample]:
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
        AttentionExample(q, k, v, None),
        AttentionExample(*qkv(), PATTERN_MASK.copy()),
        AttentionExample(*qkv(2, 3), per_batch_mask),
        AttentionExample(LARGE_INPUT_FACTOR * q, LARGE_INPUT_FACTOR * k, v, None, large=True),
    ]


def check_attention(fn) -> CheckResult:
    """Check scaled dot-product attention: ``softmax(q @ kᵀ / √d_k, masked) @ v``.

    The learner's function: ``fn(q, k, v, mask=None) -> (output, weights)`` with q
    ``(..., T_q, d_k)``, k ``(..., T_k, d_k)``, v ``(..., T_k, d_v)`` and an optional bool
    mask broadcastable to ``(..., T_q, T_k)`` (True = may attend); returns output
    ``(..., T_q, d_v)`` and weights ``(..., T_q, T_k)``. Checked with T_q ≠ T_k, d_k ≠ d_v,
    without and with a patterned mask, with batch and head axes, and with huge scores.

    Recognises: ``missing_scale``, ``scale_by_d``, ``softmax_wrong_axis``, ``mask_inverted``,
    ``unstable_softmax``, ``wrong_shape``, ``wrong_values``, ``raised``, ``wrong_type``.

    Used in notebooks/06_weighted_sum.ipynb.
    """
    return run_check(_check_attention_steps, fn)


def _check_attention_steps(fn) -> str:
    require_callable(fn, "check_attention", "check_attention(attention)")
    examples = _attention_examples()
    hints = [
        "",
        "It worked without a mask, so look at the masking: mask is bool with True = may attend.",
        (
            f"It worked for q {fmt_shape(examples[1].q.shape)}, so the leading (batch, head) "
            "axes are the problem: if you wrote k.T, it reverses every axis; swap only the last "
            "two with np.swapaxes(k, -1, -2)."
        ),
        "",
    ]
    for example, after_success in zip(examples, hints):
        result = example.call(fn, after_success)
        expected_output, expected_weights = scaled_dot_product_attention(
            example.q, example.k, example.v, example.mask
        )
        output, weights = as_pair(
            result,
            "Your function",
            ("output", "weights"),
            "End it with `return output, weights`.",
        )
        output = to_array(output, "The output you returned", expected_output.shape)
        weights = to_array(weights, "The weights you returned", expected_weights.shape)
        _require_shapes(output, weights, expected_output, expected_weights, example)
        if not (close(output, expected_output) and close(weights, expected_weights)):
            mistake, message = _diagnose_attention(output, weights, example)
            fail(mistake, message)
    return (
        "your attention matches mha_lib.scaled_dot_product_attention: T_q=5 queries over "
        "T_k=7 keys with d_k=16 and d_v=6, without and with a mask, with batch and head "
        "axes (2, 3), and with scores around ±1000."
    )


def _require_shapes(output, weights, expected_output, expected_weights, example) -> None:
    if output.shape == expected_weights.shape and weights.shape == expected_output.shape:
        fail(
            "wrong_shape",
            f"Your output has shape {fmt_shape(output.shape)} and your weights "
            f"{fmt_shape(weights.shape)}: they are swapped. Return (output, weights), with output "
            f"{fmt_shape(expected_output.shape)} = (..., T_q, d_v) first.",
        )
    if weights.shape != expected_weights.shape:
        fail(
            "wrong_shape",
            shape_problem("Your weights", weights.shape, expected_weights.shape, "(..., T_q, T_k)")
            + " There is one weight for each query and each key: softmax(q @ kᵀ / √d_k).",
        )
    if output.shape != expected_output.shape:
        hint = " Multiply the weights by v (not k): output = weights @ v."
        if output.shape[-1] != example.v.shape[-1] and output.shape[-1] == example.k.shape[-1]:
            hint = (
                " Its last axis has d_k entries: the weighted sum is over v, output = weights @ v."
            )
        fail(
            "wrong_shape",
            shape_problem("Your output", output.shape, expected_output.shape, "(..., T_q, d_v)")
            + hint,
        )


def _diagnose_attention(output, weights, example) -> tuple[str, str]:
    q, k, v, mask = example.q, example.k, example.v, example.mask
    expected_output, expected_weights = scaled_dot_product_attention(q, k, v, mask)
    if example.large:
        broken = nonfinite_where_finite(weights, expected_weights)
        broken_output = nonfinite_where_finite(output, expected_output)
        if broken.any() or broken_output.any():
            return "unstable_softmax", _unstable_message(weights, expected_weights, example)
    recognised = _recognise_attention_mistake(weights, q, k, v, mask)
    if recognised is not None:
        return recognised
    if close(weights, expected_weights):
        return "wrong_values", (
            f"Your weights are right but your output is not: "
            f"{difference_clause('output', output, expected_output)}. The output is the "
            "weighted sum of the values: output = weights @ v."
        )
    return "wrong_values", _weights_hint(weights, expected_weights, example)


def _recognise_attention_mistake(weights, q, k, v, mask):
    """(key, message) if ``weights`` are what a classic attention mistake produces, else None."""
    d_k = q.shape[-1]
    seq_len_q, seq_len_k = q.shape[-2], k.shape[-2]
    variants = {
        "missing_scale": {"divisor": 1.0},
        "scale_by_d": {"divisor": float(d_k)},
        "softmax_wrong_axis": {"softmax_axis": -2},
    }
    if mask is not None:
        variants["mask_inverted"] = {"invert_mask": True}
    _, expected = attention_variant(q, k, v, mask)
    for key, switches in variants.items():
        _, wrong = attention_variant(q, k, v, mask, **switches)
        if not close(weights, wrong):
            continue
        row = _first_row_index(weights)
        if key == "missing_scale":
            return key, (
                f"Your weights are softmax(q @ kᵀ) without dividing the scores by √d_k = "
                f"{fmt_number(math.sqrt(d_k))} (d_k = {d_k}), so they are too peaked: the "
                f"largest weight of query 0 is {fmt_number(weights[row].max())} instead of "
                f"{fmt_number(expected[row].max())}. Divide the scores by np.sqrt(d_k) "
                "before the softmax."
            )
        if key == "scale_by_d":
            return key, (
                f"You divided the scores by d_k = {d_k} instead of √d_k = "
                f"{fmt_number(math.sqrt(d_k))}, so the weights are too flat: the largest weight "
                f"of query 0 is {fmt_number(weights[row].max())} instead of "
                f"{fmt_number(expected[row].max())}. Divide by np.sqrt(d_k)."
            )
        if key == "softmax_wrong_axis":
            return key, (
                f"Your weights sum to 1 down each column (over the {seq_len_q} queries, "
                f"axis -2) instead of along each row (over the {seq_len_k} keys): row 0 sums to "
                f"{fmt_number(weights[row].sum())}. Normalise with axis=-1 so that each query's "
                f"weights over the {seq_len_k} keys sum to 1."
            )
        return key, _mask_inverted_message(weights, mask)
    return None


def _first_row_index(array) -> tuple:
    """Index of the first row (first query of the first batch/head): (0, ..., 0, slice)."""
    return (0,) * (array.ndim - 1) + (slice(None),)


def _mask_inverted_message(weights, mask, fix="np.where(mask, scores, -np.inf)") -> str:
    blocked = np.broadcast_to(~mask, weights.shape)
    index = tuple(int(i) for i in np.argwhere(blocked & (weights > 1e-6))[0])
    mask_index = tuple(
        0 if size == 1 else i for i, size in zip(index[len(index) - mask.ndim :], mask.shape)
    )
    return (
        f"Your weights are 0 where the mask is True and non-zero where it is False: "
        f"weights{fmt_index(index)} is {fmt_number(weights[index])} although "
        f'mask{fmt_index(mask_index)} is False. Here True means "may attend" (as in '
        "F.scaled_dot_product_attention; nn.MultiheadAttention uses the opposite): keep the "
        f"scores where mask is True, {fix}."
    )


def _unstable_message(weights, expected_weights, example) -> str:
    row = _first_row_index(weights)
    broken_rows = np.argwhere(nonfinite_where_finite(weights, expected_weights))
    if broken_rows.size:
        row = tuple(int(i) for i in broken_rows[0][:-1]) + (slice(None),)
    largest_score = np.abs(example.q @ np.swapaxes(example.k, -1, -2)).max() / math.sqrt(
        example.q.shape[-1]
    )
    return (
        f"With large scores (up to {fmt_number(largest_score)} after scaling) your weights "
        f"for query {row[-2]} are {fmt_vector(weights[row])} instead of "
        f"{fmt_vector(expected_weights[row])}: np.exp overflows to inf. Subtract each row's "
        "maximum before np.exp (as a stable softmax does); the weights do not change."
    )


def _weights_hint(weights, expected_weights, example) -> str:
    mask = example.mask
    clause = difference_clause("weights", weights, expected_weights)
    if not np.isfinite(weights).all():
        return (
            f"Your weights contain nan or inf: {clause}. If you masked by multiplying, "
            "0 * -inf is nan; use np.where(mask, scores, -np.inf) before the softmax."
        )
    if mask is not None:
        _, unmasked = attention_variant(example.q, example.k, example.v)
        if close(weights, unmasked * mask):
            return (
                "You applied the mask after the softmax, so the rows no longer sum to 1 "
                f"(row 0 sums to {fmt_number(weights[_first_row_index(weights)].sum())}). Mask "
                "the scores before the softmax: np.where(mask, scores, -np.inf)."
            )
        leaked = np.broadcast_to(~mask, weights.shape) & (np.abs(weights) > 1e-6)
        if leaked.any():
            index = tuple(int(i) for i in np.argwhere(leaked)[0])
            return (
                f"Blocked keys still get weight: weights{fmt_index(index)} is "
                f"{fmt_number(weights[index])} although the mask is False there. Set the "
                "blocked scores to -np.inf before the softmax so that their weights are 0."
            )
    row_sums = weights.sum(axis=-1)
    if not np.allclose(row_sums, 1, atol=1e-4):
        return (
            f"Each row of weights must sum to 1 over the keys, but yours sum to "
            f"{fmt_vector(row_sums.ravel(), limit=4)}; {clause}. Use softmax(scores, axis=-1)."
        )
    return (
        f"Your weights have the right shape {fmt_shape(weights.shape)} but {clause}. Compute "
        "softmax(q @ kᵀ / np.sqrt(d_k), axis=-1), masking the scores first."
    )
