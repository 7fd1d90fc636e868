"""Checker for lesson 08: multi-head attention as a function of arrays and an MHAParams.

Its cases, reference and mistake tables are shared with the torch module checker of lesson 09
(module_check.py); only the wording of the fixes differs (numpy code vs. torch code).
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
    read_pair,
    shape_problem,
)
from .attention_check import PATTERN_MASK, attention_variant, unstable_mistake
from .masked_softmax_check import blocked_weight, mask_inverted_message
from .result import CheckResult

D_MODEL = 12
LARGE_INPUT_FACTOR = 20.0  # query and key times 20: each head's scaled scores reach about ±1000


@dataclasses.dataclass(frozen=True)
class Wording:
    """How fixes are spelled for the learner: numpy code (lesson 08) or torch code (lesson 09)."""

    split: str
    merge: str
    mask: str
    output_projection: str
    output_bias: str
    input_biases: str


NUMPY_WORDING = Wording(
    split="x.reshape(batch, seq_len, num_heads, d_head).transpose(0, 2, 1, 3)",
    merge="heads.transpose(0, 2, 1, 3).reshape(batch, seq_len, d_model)",
    mask="np.where(mask, scores, -np.inf)",
    output_projection="output = merged @ params.w_o + params.b_o",
    output_bias="params.b_o",
    input_biases="params.b_q, params.b_k and params.b_v",
)


@dataclasses.dataclass(frozen=True)
class MultiHeadCase:
    """One call of multi-head attention: inputs, weights and how to describe them."""

    query: np.ndarray
    key: np.ndarray
    value: np.ndarray
    params: mha_lib.MHAParams
    num_heads: int
    mask: np.ndarray | None = None
    large: bool = False
    hint: str = ""
    wording: Wording = NUMPY_WORDING

    @property
    def args(self) -> tuple:
        args = (self.query, self.key, self.value, self.params, self.num_heads)
        return args + (() if self.mask is None else (self.mask,))

    @property
    def d_head(self) -> int:
        return self.params.d_model // self.num_heads

    @property
    def seq_lens(self) -> tuple[int, int]:
        return self.query.shape[-2], self.key.shape[-2]

    @property
    def inputs(self) -> str:
        text = (
            f"query of shape {fmt_shape(self.query.shape)}, key {fmt_shape(self.key.shape)}, "
            f"value {fmt_shape(self.value.shape)}, num_heads={self.num_heads}"
        )
        return text + ("" if self.mask is None else f" and mask {fmt_shape(self.mask.shape)}")

    def expected(self):
        """``mha_lib.multi_head_attention``: ``(output (..., T_q, d_model), weights (...,
        num_heads, T_q, T_k))``."""
        return mha_lib.multi_head_attention(*self.args)

    def variant(self, **switches):
        """What a mistake produces; see :func:`mha_variant` for the switches."""
        return mha_variant(self, **switches) if switches else self.expected()

    def largest_scaled_score(self) -> float:
        """The largest |q @ kᵀ / √d_head| over all heads (how hard the softmax is pushed)."""
        q, k, _ = mha_lib.project_qkv(self.query, self.key, self.value, self.params)
        q, k = mha_lib.split_heads(q, self.num_heads), mha_lib.split_heads(k, self.num_heads)
        return float(np.abs(mha_lib.attention_scores(q, k)).max())


def _reshape_split(x, num_heads):
    """The mistake: ``(..., T, d_model) -> (..., num_heads, T, d_head)`` by reshape alone."""
    *batch, seq_len, d_model = x.shape
    return x.reshape(*batch, num_heads, seq_len, d_model // num_heads)


def _reshape_merge(heads):
    """The mistake: ``(..., num_heads, T, d_head) -> (..., T, d_model)`` by reshape alone."""
    *batch, num_heads, seq_len, d_head = heads.shape
    return heads.reshape(*batch, seq_len, num_heads * d_head)


def mha_variant(
    case,
    *,
    num_heads=None,
    input_biases=True,
    split_transpose=True,
    divisor=None,
    weights_unmasked=False,
    combine_heads=None,
    merge_transpose=True,
    output_projection=True,
    output_bias=True,
    average_weights=False,
    squeeze_heads=False,
    **masking,
):
    """Multi-head attention from the library's steps, with one switch per mistake.

    Args:
        num_heads: another number of heads (1: one head over the full d_model).
        input_biases, output_bias: False leaves out ``b_q, b_k, b_v`` / ``b_o``.
        split_transpose, merge_transpose: False = reshape only.
        divisor: what each head's q @ kᵀ is divided by, by name: "1", "d" (= d_head) or
            "√d_model"; default √d_head.
        masking: the switches of :func:`masked_softmax` (axis, invert_mask, fill, ...).
        weights_unmasked: return the weights computed without the mask.
        combine_heads: "sum" or "mean" — return the combined heads ``(..., T_q, d_head)``
            instead of merging them and projecting.
        output_projection: False leaves out ``@ w_o + b_o``.
        average_weights: average the returned weights over the heads; squeeze_heads: drop
            the head axis of one-head weights.

    Returns:
        ``(output (..., T_q, d_model), weights (..., num_heads, T_q, T_k))``.
    """
    params, num_heads = case.params, num_heads or case.num_heads
    d_model = params.d_model
    projected = (
        mha_lib.linear(x, w, b if input_biases else None)  # (..., T, d_model)
        for x, w, b in (
            (case.query, params.w_q, params.b_q),
            (case.key, params.w_k, params.b_k),
            (case.value, params.w_v, params.b_v),
        )
    )
    split = mha_lib.split_heads if split_transpose else _reshape_split
    q, k, v = (split(x, num_heads) for x in projected)  # (..., num_heads, T, d_head)
    divisor = {None: None, "1": 1.0, "d": d_model / num_heads, "√d_model": math.sqrt(d_model)}[
        divisor
    ]
    heads, weights = attention_variant(q, k, v, case.mask, divisor=divisor, **masking)
    if weights_unmasked:
        _, weights = attention_variant(q, k, v)  # (..., num_heads, T_q, T_k)
    if average_weights:
        weights = weights.mean(axis=-3)  # (..., T_q, T_k)
    if squeeze_heads:
        weights = weights[..., 0, :, :]
    if combine_heads is not None:
        return getattr(heads, combine_heads)(axis=-3), weights  # (..., T_q, d_head)
    merged = (mha_lib.merge_heads if merge_transpose else _reshape_merge)(heads)
    if not output_projection:
        return merged, weights  # (..., T_q, d_model)
    output = mha_lib.linear(merged, params.w_o, params.b_o if output_bias else None)
    return output, weights


def cases() -> list[MultiHeadCase]:
    """Batch 2, T_q=5 ≠ T_k=7, d_model=12: first 3 heads without a mask, then with a
    patterned mask, then 4 heads with key/value widths 10 and 6, then huge scores."""
    rng = np.random.default_rng(707)

    def sequence(length, width):
        return rng.standard_normal((2, length, width))  # (batch, seq_len, width)

    params = mha_lib.MHAParams.init(D_MODEL, seed=7)
    cross_params = mha_lib.MHAParams.init(D_MODEL, d_key_in=10, d_value_in=6, seed=8)
    query, key, value = sequence(5, D_MODEL), sequence(7, D_MODEL), sequence(7, D_MODEL)
    masked = (sequence(5, D_MODEL), sequence(7, D_MODEL), sequence(7, D_MODEL))
    return [
        MultiHeadCase(query, key, value, params, 3),
        MultiHeadCase(
            *masked,
            params,
            3,
            PATTERN_MASK.copy(),
            hint=(
                "It worked without a mask, so look at the masking: mask is bool with True = "
                "may attend, and it must broadcast to each head's scores."
            ),
        ),
        MultiHeadCase(
            sequence(5, D_MODEL),
            sequence(7, 10),
            sequence(7, 6),
            cross_params,
            4,
            hint=(
                "It worked with 3 heads and equal widths, so look for a place that assumes "
                "num_heads=3 or key/value widths equal to d_model (d_model is "
                "params.w_q.shape[1])."
            ),
        ),
        MultiHeadCase(
            LARGE_INPUT_FACTOR * query, LARGE_INPUT_FACTOR * key, value, params, 3, large=True
        ),
    ]


# ---------------------------------------------------------------------------------------------
# messages
# ---------------------------------------------------------------------------------------------


def _evidence(got, case) -> str:
    """The largest difference in the weights if they are wrong, else in the output."""
    (output, weights), (expected_output, expected_weights) = got, case.expected()
    if weights is not None and not close(weights, expected_weights):
        return difference_clause("weights", weights, expected_weights)
    return difference_clause("output", output, expected_output)


def _sqrt_d_head(case) -> str:
    return fmt_number(math.sqrt(case.d_head))


def _row_sum_clause(weights) -> str:
    """E.g. "the weights of query 0 in head 0 sum to 1.37, and " (empty without weights)."""
    if weights is None:
        return ""
    first_row = weights[(0,) * (weights.ndim - 1)]
    return f"the weights of query 0 in head 0 sum to {fmt_number(first_row.sum())}, and "


def _mask_inverted(got, case) -> str:
    if got[1] is not None:
        return mask_inverted_message(got[1], case.mask, case.wording.mask)
    return (
        f'Your output matches treating True in the mask as "blocked": {_evidence(got, case)}. '
        'Here True means "may attend" (as in F.scaled_dot_product_attention; '
        f"nn.MultiheadAttention uses the opposite): {case.wording.mask}."
    )


def _output_problem(got, case) -> str:
    shape = case.expected()[0].shape
    return shape_problem("Your output", got[0].shape, shape, "(batch, T_q, d_model)")


def _weights_problem(got, case) -> str:
    shape = case.expected()[1].shape
    return shape_problem("Your weights", got[1].shape, shape, "(batch, num_heads, T_q, T_k)")


def _heads_summed(verb):
    def message(got, case) -> str:
        num_heads, d_head = case.num_heads, case.d_head
        return (
            f"{_output_problem(got, case)} You {verb} the {num_heads} heads' outputs, leaving "
            f"d_head = {d_head} numbers per position: concatenate the heads side by side "
            f"instead ({num_heads} * {d_head} = {num_heads * d_head}), then apply the output "
            "projection."
        )

    return message


def _one_head(got, case) -> str:
    return (
        f"{_weights_problem(got, case)} These are the weights of one head over the full "
        f"d_model: split q, k and v into {case.num_heads} heads of d_head = {case.d_head} "
        f"first: {case.wording.split}."
    )


SHAPE_MISTAKES = (
    Mistake("heads_summed", _heads_summed("added"), {"combine_heads": "sum"}, evident_in=0),
    Mistake(
        "heads_summed",
        _heads_summed("averaged"),
        {"combine_heads": "mean"},
        name="heads_averaged",
        evident_in=0,
    ),
    Mistake(
        "wrong_shape",
        lambda got, case: (
            f"{_weights_problem(got, case)} You averaged the weights over the heads; return "
            "each head's weights (one (T_q, T_k) matrix per head)."
        ),
        {"average_weights": True},
        name="weights_averaged",
        evident_in=1,
    ),
    Mistake("wrong_shape", _one_head, {"num_heads": 1}, name="one_head", evident_in=1),
    Mistake(
        "wrong_shape",
        _one_head,
        {"num_heads": 1, "squeeze_heads": True},
        name="one_head_squeezed",
        evident_in=1,
    ),
)


def _shape_message(got, case) -> str:
    if got[0].shape == case.expected()[0].shape:
        return _weights_problem(got, case)
    if got[0].shape[-1] == case.d_head:
        return (
            f"{_output_problem(got, case)} Its last axis has d_head = {case.d_head} entries: the "
            f"heads must be concatenated, not combined: {case.wording.merge}."
        )
    return (
        f"{_output_problem(got, case)} Merging the heads side by side gives (batch, T_q, "
        f"d_model), and the output projection keeps that shape: "
        f"{case.wording.output_projection}."
    )


MISTAKES = (
    unstable_mistake(),
    Mistake(
        "missing_scale",
        lambda got, case: (
            "Your result is multi-head attention without the 1/√d_head scaling (d_head = "
            f"{case.params.d_model} / {case.num_heads} = {case.d_head}): {_evidence(got, case)}. "
            f"Divide each head's scores by √d_head = {_sqrt_d_head(case)} before the softmax."
        ),
        {"divisor": "1"},
        evident_in=1,
    ),
    Mistake(
        "scale_by_d",
        lambda got, case: (
            f"You divided each head's scores by d_head = {case.d_head} instead of √d_head = "
            f"{_sqrt_d_head(case)}: {_evidence(got, case)}. Use the square root."
        ),
        {"divisor": "d"},
        evident_in=1,
    ),
    Mistake(
        "wrong_values",
        lambda got, case: (
            f"You divided the scores by √d_model = √{case.params.d_model}, but each head "
            f"compares vectors of d_head = {case.d_head} numbers: {_evidence(got, case)}. Divide "
            f"by √d_head = {_sqrt_d_head(case)}."
        ),
        {"divisor": "√d_model"},
        name="sqrt_d_model",
        evident_in=1,
    ),
    Mistake(
        "softmax_wrong_axis",
        lambda got, case: (
            f"Your weights sum to 1 over the {case.seq_lens[0]} queries (axis -2) instead of "
            f"over the {case.seq_lens[1]} keys (axis -1): {_row_sum_clause(got[1])}"
            f"{_evidence(got, case)}. Apply the softmax with axis=-1, so that each query's "
            f"weights over the {case.seq_lens[1]} keys sum to 1."
        ),
        {"axis": -2},
        evident_in=1,
    ),
    Mistake("mask_inverted", _mask_inverted, {"invert_mask": True}, evident_in=1),
    *(
        Mistake(
            "split_without_transpose",
            lambda got, case: (
                f"You split the heads by reshape alone, so each head mixes positions: "
                f"{_evidence(got, case)}. Reshape to (batch, seq_len, num_heads, d_head), then "
                f"move the heads in front of seq_len: {case.wording.split}."
            ),
            switches,
            name=name,
            evident_in=1,
        )
        for name, switches in (
            ("split_without_transpose", {"split_transpose": False}),
            (
                "split_and_merge_without_transpose",
                {"split_transpose": False, "merge_transpose": False},
            ),
        )
    ),
    Mistake(
        "merge_without_transpose",
        lambda got, case: (
            "Your weights are right but you merged the heads by reshape alone, which mixes "
            f"positions: {_evidence(got, case)}. Move seq_len back in front of the heads before "
            f"the reshape: {case.wording.merge}."
        ),
        {"merge_transpose": False},
    ),
    Mistake(
        "missing_output_projection",
        lambda got, case: (
            f"Your output is the merged heads without the output projection: "
            f"{_evidence(got, case)}. Finish with {case.wording.output_projection}; W_O mixes "
            "what the heads found."
        ),
        {"output_projection": False},
    ),
    Mistake(
        "wrong_values",
        lambda got, case: (
            f"Your output leaves out the output bias: {_evidence(got, case)}. Add "
            f"{case.wording.output_bias}."
        ),
        {"output_bias": False},
        name="no_output_bias",
    ),
    Mistake(
        "wrong_values",
        lambda got, case: (
            f"Your q, k and v leave out their biases: {_evidence(got, case)}. Add "
            f"{case.wording.input_biases} to the projections."
        ),
        {"input_biases": False},
        name="no_input_biases",
    ),
    Mistake(
        "wrong_values",
        lambda got, case: (
            f"Your output is right, but the weights you return ignore the mask: "
            f"{blocked_weight(got[1], case.mask)}. Return the weights after masking, the ones "
            "your output was computed with."
        ),
        {"weights_unmasked": True},
        name="weights_without_mask",
    ),
)


def _values_message(got, case) -> tuple[str, str]:
    (output, weights), (expected_output, expected_weights) = got, case.expected()
    output_clause = difference_clause("output", output, expected_output)
    if weights is not None and close(weights, expected_weights):
        return "wrong_values", (
            f"Your weights are right, so the mistake comes after the attention: {output_clause}. "
            f"Merge the heads with {case.wording.merge}, then {case.wording.output_projection}."
        )
    weights_clause = (
        "" if weights is None else difference_clause("weights", weights, expected_weights)
    )
    if close(output, expected_output):
        return "wrong_values", (
            f"Your output is right, but the weights you return are not: {weights_clause}. "
            "Return each head's weights, the softmax of its masked, scaled scores that your "
            "output was computed with."
        )
    return "wrong_values", (
        f"Your output has the right shape {fmt_shape(expected_output.shape)} but "
        f"{output_clause}{f' and {weights_clause}' if weights_clause else ''}. The steps: "
        "project q, k, v; split into heads; softmax(q @ kᵀ / √d_head) @ v in each head; merge; "
        "output projection."
    )


CHECKER = Checker(
    name="check_multi_head_attention",
    example="check_multi_head_attention(multi_head_attention)",
    cases=cases,
    reference=lambda case, **switches: case.variant(**switches),
    read=read_pair(),
    shape_message=_shape_message,
    values_message=_values_message,
    mistakes=MISTAKES,
    shape_mistakes=SHAPE_MISTAKES,
    passed=(
        "your multi-head attention matches mha_lib.multi_head_attention: batch 2, 5 queries "
        "over 7 keys, d_model=12 with 3 and with 4 heads, with a mask, with key/value widths "
        "10 and 6, and with huge scores."
    ),
)


def check_multi_head_attention(fn) -> CheckResult:
    """Check multi-head attention: project, split into heads, attend, merge, project.

    The learner's function: ``fn(query, key, value, params, num_heads, mask=None) ->
    (output, weights)`` with query ``(..., T_q, d_query_in)``, key ``(..., T_k, d_key_in)``,
    value ``(..., T_k, d_value_in)``, ``params`` an :class:`~mha_lib.MHAParams` (used
    as ``x @ w + b``) and an optional bool mask (True = may attend) broadcastable to the
    weights; returns output ``(..., T_q, d_model)`` and per-head weights ``(..., num_heads,
    T_q, T_k)``. Checked with batch 2, T_q=5 ≠ T_k=7, d_model=12 with 3 and 4 heads, a
    patterned mask, key/value widths 10 and 6, and huge scores.

    Recognises: ``missing_scale``, ``scale_by_d``, ``softmax_wrong_axis``, ``mask_inverted``,
    ``unstable_softmax``, ``split_without_transpose``, ``merge_without_transpose``,
    ``heads_summed``, ``missing_output_projection``, ``wrong_shape``, ``wrong_values``,
    ``raised``, ``wrong_type``.

    Used in notebooks/08_concat_and_output_projection.ipynb.
    """
    return CHECKER(fn)
