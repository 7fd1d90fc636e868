"""Checker for lesson 08: multi-head attention as a function of arrays and an MHAParams.
The torch module checker of lesson 09 shares it, with torch's wording of the fixes."""

from __future__ import annotations

import math

import numpy as np

import mha_lib

from . import attention_check as attention
from ._harness import Case, Checker, Mistake, close, difference_clause, fmt_number, texts
from .heads_check import merge_variant, split_variant
from .masked_softmax_check import mask_facts
from .result import CheckResult

D_MODEL = 12
LARGE_INPUT_FACTOR = 20.0  # query and key times 20: each head's scaled scores reach about ±1000


def mha_variant(case, *, num_heads=None, input_biases=True, split_transpose=True, divisor=None,
                weights_unmasked=False, combine_heads=None, merge_transpose=True,
                output_projection=True, output_bias=True, average_weights=False,
                squeeze_heads=False, **masking):  # fmt: skip
    """Multi-head attention from the library's steps, with one switch per mistake: another
    ``num_heads``; no input/output biases; split or merge by reshape alone; ``divisor`` by name
    ("1", "d" = d_head, "√d_model"); the switches of :func:`masked_softmax`; the weights
    ``weights_unmasked``, averaged or squeezed over the heads; the heads combined by "sum" or
    "mean" instead of merged; no output projection. Returns ``(output, weights)``."""
    params, num_heads = case.params, num_heads or case.num_heads
    inputs = ((case.query, params.w_q, params.b_q), (case.key, params.w_k, params.b_k))
    inputs += ((case.value, params.w_v, params.b_v),)
    projected = (mha_lib.linear(x, w, b if input_biases else None) for x, w, b in inputs)
    q, k, v = (split_variant(x, num_heads, transpose=split_transpose) for x in projected)
    d_model = params.d_model
    divisors = {None: None, "1": 1.0, "d": d_model / num_heads, "√d_model": math.sqrt(d_model)}
    heads, weights = attention.attention_variant(
        q, k, v, case.mask, divisor=divisors[divisor], **masking
    )
    if weights_unmasked:
        _, weights = attention.attention_variant(q, k, v)  # (..., num_heads, T_q, T_k)
    if average_weights:
        weights = weights.mean(axis=-3)  # (..., T_q, T_k)
    if squeeze_heads:
        weights = weights[..., 0, :, :]
    merged = merge_variant(heads, transpose=merge_transpose, combine=combine_heads)
    if combine_heads is not None or not output_projection:
        return merged, weights  # (..., T_q, d_model), or d_head wide
    return mha_lib.linear(merged, params.w_o, params.b_o if output_bias else None), weights


class MultiHeadCase(Case):
    """A call ``fn(query, key, value, params, num_heads[, mask])``."""

    def reference(self, **switches):
        if switches:
            return mha_variant(self, **switches)
        return mha_lib.multi_head_attention(
            self.query, self.key, self.value, self.params, self.num_heads, self.mask
        )

    def largest_scaled_score(self) -> float:
        q, k, _ = mha_lib.project_qkv(self.query, self.key, self.value, self.params)
        q, k = mha_lib.split_heads(q, self.num_heads), mha_lib.split_heads(k, self.num_heads)
        return float(np.abs(mha_lib.attention_scores(q, k)).max())


def cases() -> list[MultiHeadCase]:
    """Batch 2, T_q=5 ≠ T_k=7, d_model=12: first 3 heads without a mask, then with a
    patterned mask, then 4 heads with key/value widths 10 and 6, then huge scores."""
    rng = np.random.default_rng(707)

    def sequences(params, num_heads, widths=(D_MODEL, D_MODEL), mask=None):
        return {
            "query": rng.standard_normal((2, 5, D_MODEL)),  # (batch, T_q, d_model)
            "key": rng.standard_normal((2, 7, widths[0])),  # (batch, T_k, d_key_in)
            "value": rng.standard_normal((2, 7, widths[1])),  # (batch, T_k, d_value_in)
            "params": params,
            "num_heads": num_heads,
            "mask": mask,
        }

    params = mha_lib.MHAParams.init(D_MODEL, seed=7)
    cross_params = mha_lib.MHAParams.init(D_MODEL, d_key_in=10, d_value_in=6, seed=8)
    plain = sequences(params, 3)
    large = {"query": LARGE_INPUT_FACTOR * plain["query"], "key": LARGE_INPUT_FACTOR * plain["key"]}
    hints = texts("check_multi_head_attention")["hints"]
    return [
        MultiHeadCase(plain),
        MultiHeadCase(
            sequences(params, 3, mask=attention.PATTERN_MASK.copy()),
            hint=hints["mask"],
        ),
        MultiHeadCase(sequences(cross_params, 4, (10, 6)), hint=hints["widths"]),
        MultiHeadCase(plain | large, extra={"large": True}),
    ]


def facts(got, case, switches) -> dict:
    """What the messages quote; the fixes ({split}, {merge}, ...) are the parts of the
    checker's messages file: numpy code here, torch code for the module checker."""
    (output, weights), (right_output, right_weights) = got, case.reference()
    d_model, num_heads = case.params.d_model, case.num_heads
    d_head = d_model // num_heads

    def evidence():  # the largest difference in the weights if they are wrong, else the output
        if weights is not None and not close(weights, right_weights):
            return difference_clause("weights", weights, right_weights)
        return difference_clause("output", output, right_output)

    def axis_evidence():
        if weights is None:
            return evidence()
        total = fmt_number(weights[0, 0, 0].sum())
        return f"the weights of query 0 in head 0 sum to {total}, and {evidence()}"

    def and_weights():
        if weights is None:
            return ""
        return f" and {difference_clause('weights', weights, right_weights)}"

    return (
        attention.unstable_facts(got, case)
        | ({} if weights is None else mask_facts(weights, case.mask))
        | {
            "d_model": d_model,
            "num_heads": num_heads,
            "d_head": d_head,
            "product": num_heads * d_head,
            "sqrt_d_head": fmt_number(math.sqrt(d_head)),
            "T_q": case.query.shape[-2],
            "T_k": case.key.shape[-2],
            "evidence": evidence,
            "axis_evidence": axis_evidence,
            "and_weights": and_weights,
        }
    )


def _d_head_wide(got, case, fn) -> bool:
    return got[0].shape[-1] == case.params.d_model // case.num_heads


def _output_shape_right(got, case, fn) -> bool:
    return got[0].shape == case.reference()[0].shape


def _right_output(got, case, fn) -> bool:
    return close(got[0], case.reference()[0])


def _right_weights(got, case, fn) -> bool:
    return got[1] is not None and close(got[1], case.reference()[1])


ONE_HEAD = ({"num_heads": 1}, {"num_heads": 1, "squeeze_heads": True})
SPLIT_ONLY = ({"split_transpose": False}, {"split_transpose": False, "merge_transpose": False})
CHECKER = Checker(
    name="check_multi_head_attention",
    cases=cases,
    reference=lambda case, **switches: case.reference(**switches),
    outputs=(
        ("Your output", "output", "(batch, T_q, d_model)"),
        ("Your weights", "weights", "(batch, num_heads, T_q, T_k)"),
    ),
    facts=facts,
    shape_mistakes=(
        Mistake("heads_summed", {"combine_heads": "sum"}, evident_in=0),
        Mistake("heads_summed", {"combine_heads": "mean"}, name="heads_averaged", evident_in=0),
        Mistake("wrong_shape", {"average_weights": True}, name="weights_averaged", evident_in=1),
        Mistake("wrong_shape", ONE_HEAD, name="one_head", evident_in=1),
        Mistake("wrong_shape", test=_d_head_wide, name="d_head_wide_output"),
        Mistake("wrong_shape", test=_output_shape_right, name="weights_shape"),
    ),
    mistakes=(
        Mistake("unstable_softmax", test=attention.unstable),
        Mistake("missing_scale", {"divisor": "1"}, evident_in=1),
        Mistake("scale_by_d", {"divisor": "d"}, evident_in=1),
        Mistake("wrong_values", {"divisor": "√d_model"}, name="sqrt_d_model", evident_in=1),
        Mistake("softmax_wrong_axis", {"axis": -2}, evident_in=1),
        Mistake("mask_inverted", {"invert_mask": True}, evident_in=1),
        Mistake("split_without_transpose", SPLIT_ONLY, evident_in=1),
        Mistake("merge_without_transpose", {"merge_transpose": False}),
        Mistake("missing_output_projection", {"output_projection": False}),
        Mistake("wrong_values", {"output_bias": False}, name="no_output_bias"),
        Mistake("wrong_values", {"input_biases": False}, name="no_input_biases"),
        Mistake("wrong_values", {"weights_unmasked": True}, name="weights_without_mask"),
        Mistake("wrong_values", test=_right_weights, name="after_the_attention"),
        Mistake("wrong_values", test=_right_output, name="weights_only"),
    ),
)


def check_multi_head_attention(fn) -> CheckResult:
    """Check ``fn(query, key, value, params, num_heads, mask=None) -> (output, weights)``:
    output ``(..., T_q, d_model)``, each head's weights ``(..., num_heads, T_q, T_k)``.
    Used in notebooks/08_concat_and_output_projection.ipynb."""
    return CHECKER(fn)
