"""Checker for lesson 07: multi-head attention as a function of arrays and an MHAParams.

The diagnosis here is shared with the torch module checker of lesson 08 (module_check.py);
only the wording of the fixes differs (numpy code vs. torch code).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..heads import split_heads
from ..multi_head import multi_head_attention
from ..params import MHAParams
from ._harness import (
    as_pair,
    call_learner,
    close,
    difference_clause,
    fail,
    fmt_number,
    fmt_shape,
    fmt_vector,
    nonfinite_where_finite,
    require_callable,
    run_check,
    shape_problem,
    to_array,
)
from ._reference import mha_variant
from .attention_check import PATTERN_MASK, _mask_inverted_message
from .result import CheckResult

D_MODEL = 12
LARGE_INPUT_FACTOR = 20.0  # query and key times 20: each head's scaled scores reach about ±1000


@dataclasses.dataclass(frozen=True)
class Wording:
    """How fixes are spelled for the learner: numpy code (lesson 07) or torch code (lesson 08)."""

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
class MultiHeadExample:
    """One call of multi-head attention: inputs, weights and how to describe them."""

    query: np.ndarray
    key: np.ndarray
    value: np.ndarray
    params: MHAParams
    num_heads: int
    mask: np.ndarray | None = None
    large: bool = False

    @property
    def d_head(self) -> int:
        return self.params.d_model // self.num_heads

    @property
    def inputs(self) -> str:
        text = (
            f"query of shape {fmt_shape(self.query.shape)}, key {fmt_shape(self.key.shape)}, "
            f"value {fmt_shape(self.value.shape)}, num_heads={self.num_heads}"
        )
        return text + ("" if self.mask is None else f" and mask {fmt_shape(self.mask.shape)}")

    def expected(self):
        """The canonical ``(output (..., T_q, d_model), weights (..., num_heads, T_q, T_k))``."""
        return multi_head_attention(
            self.query, self.key, self.value, self.params, self.num_heads, self.mask
        )

    def variant(self, **switches):
        """What a mistake produces; see :func:`mha_variant` for the switches."""
        return mha_variant(
            self.query, self.key, self.value, self.params, self.num_heads, self.mask, **switches
        )

    def largest_scaled_score(self) -> float:
        """The largest |q @ kᵀ / √d_head| over all heads (how hard the softmax is pushed)."""
        params = self.params
        q = self.query @ params.w_q + (0.0 if params.b_q is None else params.b_q)
        k = self.key @ params.w_k + (0.0 if params.b_k is None else params.b_k)
        q = split_heads(q, self.num_heads)  # (..., num_heads, T_q, d_head)
        k = split_heads(k, self.num_heads)  # (..., num_heads, T_k, d_head)
        scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(self.d_head)  # (..., num_heads, T_q, T_k)
        return float(np.abs(scores).max())


def multi_head_examples() -> list[MultiHeadExample]:
    """Batch 2, T_q=5 ≠ T_k=7, d_model=12: first 3 heads without a mask, then with a
    patterned mask, then 4 heads with key/value widths 10 and 6, then huge scores."""
    rng = np.random.default_rng(707)

    def sequence(length, width):
        return rng.standard_normal((2, length, width))  # (batch, seq_len, width)

    params = MHAParams.init(D_MODEL, seed=7)
    cross_params = MHAParams.init(D_MODEL, d_key_in=10, d_value_in=6, seed=8)
    query, key, value = sequence(5, D_MODEL), sequence(7, D_MODEL), sequence(7, D_MODEL)
    return [
        MultiHeadExample(query, key, value, params, 3),
        MultiHeadExample(
            sequence(5, D_MODEL),
            sequence(7, D_MODEL),
            sequence(7, D_MODEL),
            params,
            3,
            PATTERN_MASK.copy(),
        ),
        MultiHeadExample(sequence(5, D_MODEL), sequence(7, 10), sequence(7, 6), cross_params, 4),
        MultiHeadExample(
            LARGE_INPUT_FACTOR * query, LARGE_INPUT_FACTOR * key, value, params, 3, large=True
        ),
    ]


def check_multi_head_attention(fn) -> CheckResult:
    """Check multi-head attention: project, split into heads, attend, merge, project.

    The learner's function: ``fn(query, key, value, params, num_heads, mask=None) ->
    (output, weights)`` with query ``(..., T_q, d_query_in)``, key ``(..., T_k, d_key_in)``,
    value ``(..., T_k, d_value_in)``, ``params`` an :class:`~mha_lib.params.MHAParams` (used
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
    return run_check(_check_multi_head_steps, fn)


def _check_multi_head_steps(fn) -> str:
    require_callable(
        fn, "check_multi_head_attention", "check_multi_head_attention(multi_head_attention)"
    )
    examples = multi_head_examples()
    hints = [
        "",
        (
            "It worked without a mask, so look at the masking: mask is bool with True = may "
            "attend, and it must broadcast to each head's scores."
        ),
        (
            "It worked with 3 heads and equal widths, so look for a place that assumes "
            "num_heads=3 or key/value widths equal to d_model (d_model is params.w_q.shape[1])."
        ),
        "",
    ]
    for example, after_success in zip(examples, hints):
        args = (example.query, example.key, example.value, example.params, example.num_heads)
        if example.mask is not None:
            args += (example.mask,)
        result = call_learner(fn, *args, inputs=example.inputs, after_success=after_success)
        output, weights = as_pair(
            result, "Your function", ("output", "weights"), "End it with `return output, weights`."
        )
        expected_output, expected_weights = example.expected()
        output = to_array(output, "The output you returned", expected_output.shape)
        weights = to_array(weights, "The weights you returned", expected_weights.shape)
        require_multi_head_shapes(output, weights, example, NUMPY_WORDING)
        if not (close(output, expected_output) and close(weights, expected_weights)):
            mistake, message = diagnose_multi_head(output, weights, example, NUMPY_WORDING)
            fail(mistake, message)
    return (
        "your multi-head attention matches mha_lib.multi_head_attention: batch 2, 5 queries "
        "over 7 keys, d_model=12 with 3 and with 4 heads, with a mask, with key/value widths "
        "10 and 6, and with huge scores."
    )


def require_multi_head_shapes(output, weights, example, wording: Wording) -> None:
    """Fail with ``heads_summed`` or ``wrong_shape`` unless both shapes are right.

    ``weights`` may be None (a module called with need_weights=False).
    """
    expected_output, expected_weights = example.expected()
    num_heads, d_head = example.num_heads, example.d_head
    if output.shape != expected_output.shape:
        problem = shape_problem(
            "Your output", output.shape, expected_output.shape, "(batch, T_q, d_model)"
        )
        for combine, verb in (("sum", "added"), ("mean", "averaged")):
            summed, _ = example.variant(combine_heads=combine)
            if close(output, summed):
                return fail(
                    "heads_summed",
                    f"{problem} You {verb} the {num_heads} heads' outputs, leaving d_head = "
                    f"{d_head} numbers per position: concatenate the heads side by side instead "
                    f"({num_heads} * {d_head} = {num_heads * d_head}), then apply the output "
                    "projection.",
                )
        if output.shape[-1] == d_head:
            problem += (
                f" Its last axis has d_head = {d_head} entries: the heads must be concatenated, "
                f"not combined: {wording.merge}."
            )
        else:
            problem += (
                " Merging the heads side by side gives (batch, T_q, d_model), and the output "
                f"projection keeps that shape: {wording.output_projection}."
            )
        fail("wrong_shape", problem)
    if weights is None or weights.shape == expected_weights.shape:
        return None
    problem = shape_problem(
        "Your weights", weights.shape, expected_weights.shape, "(batch, num_heads, T_q, T_k)"
    )
    if close(weights, expected_weights.mean(axis=-3)):
        problem += (
            " You averaged the weights over the heads; return each head's weights "
            "(one (T_q, T_k) matrix per head)."
        )
    else:
        _, single_head_weights = mha_variant(
            example.query, example.key, example.value, example.params, 1, example.mask
        )
        if close(weights, single_head_weights) or close(weights, single_head_weights[..., 0, :, :]):
            problem += (
                f" These are the weights of one head over the full d_model: split q, k and v "
                f"into {num_heads} heads of d_head = {d_head} first: {wording.split}."
            )
    fail("wrong_shape", problem)


def diagnose_multi_head(output, weights, example, wording: Wording) -> tuple[str, str]:
    """(key, message) for a result with the right shapes but wrong values.

    ``weights`` may be None (a module called with need_weights=False); the diagnosis then
    rests on the output alone.
    """
    expected_output, expected_weights = example.expected()
    weights_known = weights is not None
    weights_right = weights_known and close(weights, expected_weights)
    if example.large:
        broken = nonfinite_where_finite(output, expected_output).any() or (
            weights_known and nonfinite_where_finite(weights, expected_weights).any()
        )
        if broken:
            return "unstable_softmax", _unstable_message(output, weights, example)
    candidates = _mistake_candidates(example)
    for label, switches in candidates:
        wrong_output, wrong_weights = example.variant(**switches)
        if close(output, wrong_output) and (not weights_known or close(weights, wrong_weights)):
            return _variant_message(label, output, weights, example, wording)
    if weights_known and not weights_right:  # the weights alone may still show the mistake
        for label, switches in candidates:
            if label in _WEIGHT_MISTAKES:
                _, wrong_weights = example.variant(**switches)
                if close(weights, wrong_weights):
                    return _variant_message(label, output, weights, example, wording)
    output_clause = difference_clause("output", output, expected_output)
    if weights_right:
        return "wrong_values", (
            f"Your weights are right, so the mistake comes after the attention: {output_clause}. "
            f"Merge the heads with {wording.merge}, then {wording.output_projection}."
        )
    weights_clause = (
        f" and {difference_clause('weights', weights, expected_weights)}" if weights_known else ""
    )
    return "wrong_values", (
        f"Your output has the right shape {fmt_shape(expected_output.shape)} but "
        f"{output_clause}{weights_clause}. The steps: project q, k, v; split into heads; "
        "softmax(q @ kᵀ / √d_head) @ v in each head; merge; output projection."
    )


# Labels: a catalogue key, or "wrong_values:<hint>" for a mistake reported as wrong_values.
_WEIGHT_MISTAKES = {
    "missing_scale",
    "scale_by_d",
    "wrong_values:sqrt_d_model",
    "softmax_wrong_axis",
    "mask_inverted",
    "split_without_transpose",
}


def _mistake_candidates(example) -> list[tuple[str, dict]]:
    candidates = [
        ("missing_scale", {"divisor": 1.0}),
        ("scale_by_d", {"divisor": float(example.d_head)}),
        ("wrong_values:sqrt_d_model", {"divisor": math.sqrt(example.params.d_model)}),
        ("softmax_wrong_axis", {"softmax_axis": -2}),
        ("split_without_transpose", {"split_transpose": False}),
        ("split_without_transpose", {"split_transpose": False, "merge_transpose": False}),
        ("merge_without_transpose", {"merge_transpose": False}),
        ("missing_output_projection", {"output_projection": False}),
        ("wrong_values:no_output_bias", {"output_bias": False}),
        ("wrong_values:no_input_biases", {"input_biases": False}),
    ]
    if example.mask is not None:
        candidates.insert(4, ("mask_inverted", {"invert_mask": True}))
    return candidates


def _variant_message(label, output, weights, example, wording) -> tuple[str, str]:
    expected_output, expected_weights = example.expected()
    d_model, num_heads, d_head = example.params.d_model, example.num_heads, example.d_head
    sqrt_d_head = fmt_number(math.sqrt(d_head))
    if weights is not None and not close(weights, expected_weights):
        evidence = difference_clause("weights", weights, expected_weights)
    else:
        evidence = difference_clause("output", output, expected_output)
    key = label.split(":")[0]
    messages = {  # built lazily: only the recognised message is formatted
        "missing_scale": lambda: (
            "Your result is multi-head attention without the 1/√d_head scaling (d_head = "
            f"{d_model} / {num_heads} = {d_head}): {evidence}. Divide each head's scores by "
            f"√d_head = {sqrt_d_head} before the softmax."
        ),
        "scale_by_d": lambda: (
            f"You divided each head's scores by d_head = {d_head} instead of √d_head = "
            f"{sqrt_d_head}: {evidence}. Use the square root."
        ),
        "wrong_values:sqrt_d_model": lambda: (
            f"You divided the scores by √d_model = √{d_model}, but each head compares vectors "
            f"of d_head = {d_head} numbers: {evidence}. Divide by √d_head = {sqrt_d_head}."
        ),
        "softmax_wrong_axis": lambda: (
            f"Your weights sum to 1 over the {example.query.shape[-2]} queries (axis -2) instead "
            f"of over the {example.key.shape[-2]} keys (axis -1): {_row_sum_clause(weights)}"
            f"{evidence}. Apply the softmax with axis=-1, so that each query's weights over the "
            f"{example.key.shape[-2]} keys sum to 1."
        ),
        "mask_inverted": lambda: (
            _mask_inverted_message(weights, example.mask, wording.mask)
            if weights is not None
            else (
                f'Your output matches treating True in the mask as "blocked": {evidence}. Here '
                'True means "may attend" (as in F.scaled_dot_product_attention; '
                f"nn.MultiheadAttention uses the opposite): {wording.mask}."
            )
        ),
        "split_without_transpose": lambda: (
            f"You split the heads by reshape alone, so each head mixes positions: {evidence}. "
            f"Reshape to (batch, seq_len, num_heads, d_head), then move the heads in front of "
            f"seq_len: {wording.split}."
        ),
        "merge_without_transpose": lambda: (
            "Your weights are right but you merged the heads by reshape alone, which mixes "
            f"positions: {evidence}. Move seq_len back in front of the heads before the "
            f"reshape: {wording.merge}."
        ),
        "missing_output_projection": lambda: (
            f"Your output is the merged heads without the output projection: {evidence}. "
            f"Finish with {wording.output_projection}; W_O mixes what the heads found."
        ),
        "wrong_values:no_output_bias": lambda: (
            f"Your output leaves out the output bias: {evidence}. Add {wording.output_bias}."
        ),
        "wrong_values:no_input_biases": lambda: (
            f"Your q, k and v leave out their biases: {evidence}. Add {wording.input_biases} "
            "to the projections."
        ),
    }
    return key, messages[label]()


def _row_sum_clause(weights) -> str:
    """E.g. "the weights of query 0 in head 0 sum to 1.37, and " (empty without weights)."""
    if weights is None:
        return ""
    first_row = weights[(0,) * (weights.ndim - 1)]
    return f"the weights of query 0 in head 0 sum to {fmt_number(first_row.sum())}, and "


def _unstable_message(output, weights, example) -> str:
    if weights is not None and not np.isfinite(weights).all():
        row = tuple(int(i) for i in np.argwhere(~np.isfinite(weights))[0][:-1])
        shown = f"weights for query {row[-1]} of head {row[-2]} are {fmt_vector(weights[row])}"
    else:
        row = tuple(int(i) for i in np.argwhere(~np.isfinite(output))[0][:-1])
        shown = f"output for position {row[-1]} is {fmt_vector(output[row])}"
    return (
        f"With large scores (up to {fmt_number(example.largest_scaled_score())} after scaling) "
        f"your {shown}: np.exp overflows to inf. Use a stable softmax: subtract each row's "
        "maximum before the exponential (the weights do not change)."
    )
