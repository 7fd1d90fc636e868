"""Checker for lesson 06: scaled dot-product attention; its steps and mistakes are shared
with the multi-head checkers."""

from __future__ import annotations

import math

import numpy as np

import mha_lib

from ._harness import (
    Case,
    Checker,
    Mistake,
    close,
    fmt_number,
    fmt_vector,
    nonfinite_where_finite,
    texts,
)
from .masked_softmax_check import MASK_ROWS, WEIGHTS_ROWS, mask_facts, masked_softmax
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
HINTS = texts("check_attention")["hints"]


def attention_variant(q, k, v, mask=None, *, divisor=None, values_from_keys=False, **masking):
    """``mha_lib.scaled_dot_product_attention``, with one switch per mistake: q @ kᵀ divided by
    ``divisor`` instead of √d_k, the weighted sum over k (``values_from_keys``), and the
    switches of :func:`masked_softmax`. Returns ``(output (..., T_q, d_v), weights)``."""
    if divisor is None and not values_from_keys and not masking:
        return mha_lib.scaled_dot_product_attention(q, k, v, mask)
    scores = mha_lib.attention_scores(q, k)  # (..., T_q, T_k), divided by √d_k
    if divisor is not None:
        scores = scores * math.sqrt(q.shape[-1]) / divisor
    weights = masked_softmax(scores, mask, **masking)  # (..., T_q, T_k)
    return weights @ (k if values_from_keys else v), weights


def unstable(got, case, fn) -> bool:
    """The row for huge scores: an output that should be finite is not."""
    pairs = zip(got, case.reference())
    return case.extra.get("large", False) and any(
        g is not None and nonfinite_where_finite(g, e).any() for g, e in pairs
    )


def unstable_facts(got, case) -> dict:
    """``broken``: e.g. "weights for query 0 of head 1 are [nan, …]"; ``largest`` score."""

    def broken():
        (output, weights), expected = got, case.reference()[1]
        if weights is not None and not np.isfinite(weights).all():
            row = tuple(int(i) for i in np.argwhere(~np.isfinite(weights))[0][:-1])
            if weights.ndim == 4:
                return (
                    f"weights for query {row[-1]} of head {row[-2]} are {fmt_vector(weights[row])}"
                )
            right = fmt_vector(expected[row])
            return f"weights for query {row[-1]} are {fmt_vector(weights[row])} instead of {right}"
        row = tuple(int(i) for i in np.argwhere(~np.isfinite(output))[0][:-1])
        return f"output for position {row[-1]} is {fmt_vector(output[row])}"

    return {"broken": broken, "largest": lambda: fmt_number(case.largest_scaled_score())}


class AttentionCase(Case):
    """A call ``fn(q, k, v[, mask])``."""

    def reference(self, *, divisor=None, **switches):
        divisor = {None: None, "1": 1.0, "d": float(self.q.shape[-1])}[divisor]
        return attention_variant(self.q, self.k, self.v, self.mask, divisor=divisor, **switches)

    def largest_scaled_score(self) -> float:
        return float(np.abs(mha_lib.attention_scores(self.q, self.k)).max())


def cases() -> list[AttentionCase]:
    """T_q=5 ≠ T_k=7 and d_k=16 ≠ d_v=6 throughout; then a mask, batch and head axes, and
    huge scores."""
    rng = np.random.default_rng(505)

    def qkv(*batch_shape):
        return {
            "q": rng.standard_normal((*batch_shape, 5, 16)),  # (..., T_q, d_k)
            "k": rng.standard_normal((*batch_shape, 7, 16)),  # (..., T_k, d_k)
            "v": rng.standard_normal((*batch_shape, 7, 6)),  # (..., T_k, d_v)
        }

    per_batch_mask = np.stack([PATTERN_MASK, PATTERN_MASK[:, ::-1]])[:, None]  # (2, 1, 5, 7)
    plain = qkv()
    large = plain | {"q": LARGE_INPUT_FACTOR * plain["q"], "k": LARGE_INPUT_FACTOR * plain["k"]}
    return [
        AttentionCase(plain | {"mask": None}),
        AttentionCase(
            qkv() | {"mask": PATTERN_MASK.copy()},
            hint=HINTS["mask"],
        ),
        AttentionCase(
            qkv(2, 3) | {"mask": per_batch_mask},
            hint=HINTS["batch_axes"],
        ),
        AttentionCase(large | {"mask": None}, extra={"large": True}),
    ]


def _facts(got, case, switches) -> dict:
    weights, right_weights = got[1], case.reference()[1]
    first = (0,) * (weights.ndim - 1)  # the first query of the first batch and head
    d_k = case.q.shape[-1]
    return (
        unstable_facts(got, case)
        | mask_facts(weights, case.mask)
        | {
            "d_k": d_k,
            "sqrt_d_k": fmt_number(math.sqrt(d_k)),
            "T_q": case.q.shape[-2],
            "T_k": case.k.shape[-2],
            "top": lambda: fmt_number(weights[first].max()),
            "right_top": lambda: fmt_number(right_weights[first].max()),
            "axis_evidence": lambda: f"row 0 sums to {fmt_number(weights[first].sum())}",
        }
    )


def _swapped(got, case, fn) -> bool:
    return tuple(g.shape for g in got) == tuple(r.shape for r in case.reference()[::-1])


def _weights_shape(got, case, fn) -> bool:
    return got[1].shape != case.reference()[1].shape


def _right_weights(got, case, fn) -> bool:
    return close(got[1], case.reference()[1])


CHECKER = Checker(
    name="check_attention",
    cases=cases,
    reference=lambda case, **switches: case.reference(**switches),
    outputs=(
        ("Your output", "output", "(..., T_q, d_v)"),
        ("Your weights", "weights", "(..., T_q, T_k)"),
    ),
    facts=_facts,
    mistakes=(
        Mistake("unstable_softmax", test=unstable),
        Mistake("missing_scale", {"divisor": "1"}),
        Mistake("scale_by_d", {"divisor": "d"}),
        Mistake("softmax_wrong_axis", {"axis": -2}),
        *MASK_ROWS,
        Mistake("wrong_values", test=_right_weights, name="output_only"),
        *WEIGHTS_ROWS,
    ),
    shape_mistakes=(
        Mistake("wrong_shape", test=_swapped, name="swapped"),
        Mistake("wrong_shape", test=_weights_shape, name="weights_shape"),
        Mistake("wrong_shape", {"values_from_keys": True}, name="values_from_keys"),
    ),
)


def check_attention(fn) -> CheckResult:
    """Check ``fn(q, k, v, mask=None) -> (output, weights)``: weights = softmax of the masked
    q @ kᵀ / √d_k over the keys, output = weights @ v.
    Used in notebooks/06_weighted_sum.ipynb."""
    return CHECKER(fn)
