"""Tests for mha_lib.exercises: every mistake is named, right answers pass, nothing raises."""

from __future__ import annotations

import dataclasses
import functools
import html
import math
import re
import time
import warnings

import numpy as np
import pytest
import torch

import _exercise_variants as learner
import _gqa_variants
import mha_lib
from mha_lib import exercises
from mha_lib.data import embed
from mha_lib.exercises import (
    MISTAKE_KEYS,
    CheckResult,
    attention_check,
    check_attention,
    check_embedding,
    check_load_bert_attention,
    check_masked_softmax,
    check_merge_heads,
    check_multi_head_attention,
    check_multi_head_module,
    check_online_softmax,
    check_qkv_projection,
    check_repeat_kv,
    check_scores,
    check_softmax,
    check_split_heads,
    embedding_check,
    gqa_check,
    heads_check,
    masked_softmax_check,
    module_check,
    multi_head_check,
    online_softmax_check,
    pretrained_check,
    projection_check,
    scores_check,
    softmax_check,
)
from mha_lib.exercises._harness import Case, explain, fmt_number, fmt_vector, same
from mha_lib.exercises.attention_check import PATTERN_MASK, attention_variant
from mha_lib.exercises.multi_head_check import mha_variant

CHECKERS = [
    check_embedding,
    check_qkv_projection,
    check_scores,
    check_softmax,
    check_masked_softmax,
    check_attention,
    check_split_heads,
    check_merge_heads,
    check_multi_head_attention,
    check_multi_head_module,
]
# Checkers whose learner functions take other arguments (a BERT layer; a running max and sum):
# their own test files try them on crashes and odd results; here, their mistake tables.
ALL_CHECKERS = [*CHECKERS, check_load_bert_attention, check_online_softmax]
ALL_CHECKERS += [check_repeat_kv]  # lesson 12: fn(x, n_rep), x a torch tensor

# ---------------------------------------------------------------------------------------------
# every mistake is diagnosed with its key
# ---------------------------------------------------------------------------------------------

WRONG = [
    # lesson 01
    (check_embedding, learner.embed_transposed, "wrong_shape"),
    (check_embedding, learner.embed_columns, "wrong_shape"),
    (check_embedding, learner.embed_one_hot_not_multiplied, "wrong_shape"),
    (check_embedding, learner.embed_transposed_table, "wrong_shape"),
    (check_embedding, learner.embed_off_by_one, "wrong_values"),
    (check_embedding, learner.embed_reversed, "wrong_values"),
    (check_embedding, learner.embed_doubled, "wrong_values"),
    # lesson 02
    (check_qkv_projection, learner.project_qkv_transposed, "wrong_values"),
    (check_qkv_projection, learner.project_qkv_swapped, "wrong_values"),
    (check_qkv_projection, learner.project_qkv_only_two, "wrong_type"),
    (check_qkv_projection, learner.project_qkv_weight_first, "wrong_shape"),
    # lesson 03
    (check_scores, learner.scores_missing_scale, "missing_scale"),
    (check_scores, learner.scores_scale_by_d, "scale_by_d"),
    (check_scores, learner.scores_multiplied, "wrong_values"),
    (check_scores, learner.scores_sqrt_seq_len, "wrong_values"),
    (check_scores, learner.scores_sqrt_keys, "wrong_values"),
    (check_scores, learner.scores_halved, "wrong_values"),
    (check_scores, learner.scores_softmaxed, "wrong_values"),
    (check_scores, learner.scores_keys_first, "wrong_shape"),
    (check_scores, learner.scores_k_transposed, "raised"),
    # lesson 04
    (check_softmax, learner.softmax_naive, "unstable_softmax"),
    (check_softmax, learner.softmax_global_max, "unstable_softmax"),
    (check_softmax, learner.softmax_ignores_axis, "softmax_wrong_axis"),
    (check_softmax, learner.softmax_over_axis_0, "softmax_wrong_axis"),
    (check_softmax, learner.softmax_whole_array, "wrong_values"),
    (check_softmax, learner.softmax_not_normalised, "wrong_values"),
    (check_softmax, learner.softmax_no_keepdims, "forgot_keepdims"),
    (check_softmax, learner.softmax_lse_no_keepdims, "forgot_keepdims"),
    (check_softmax, learner.softmax_keepdims_at_end, "forgot_keepdims"),
    (check_softmax, learner.softmax_keepdims_for_matrices_only, "forgot_keepdims"),
    (check_softmax, learner.softmax_over_axis_1, "softmax_wrong_axis"),
    # lesson 05: masks
    (check_masked_softmax, learner.masked_softmax_inverted, "mask_inverted"),
    (check_masked_softmax, learner.masked_softmax_after, "mask_after_softmax"),
    (check_masked_softmax, learner.masked_softmax_zero, "masked_with_zero"),
    (check_masked_softmax, learner.masked_softmax_multiplied, "masked_with_zero"),
    (check_masked_softmax, learner.masked_softmax_nan, "fully_masked_nan"),
    (check_masked_softmax, learner.masked_softmax_naive_nan, "fully_masked_nan"),
    (check_masked_softmax, learner.masked_softmax_after_renormalised, "fully_masked_nan"),
    (check_masked_softmax, learner.masked_softmax_large_negative, "wrong_values"),
    (check_masked_softmax, learner.masked_softmax_times_inf, "wrong_values"),
    (check_masked_softmax, learner.masked_softmax_not_normalised, "wrong_values"),
    (check_masked_softmax, learner.masked_softmax_ignores_mask, "wrong_values"),
    (check_masked_softmax, learner.masked_softmax_boolean_index, "wrong_shape"),
    (check_masked_softmax, learner.masked_softmax_same_shape_only, "raised"),
    # lesson 06
    (check_attention, learner.attention_missing_scale, "missing_scale"),
    (check_attention, learner.attention_scale_by_d, "scale_by_d"),
    (check_attention, learner.attention_softmax_over_queries, "softmax_wrong_axis"),
    (check_attention, learner.attention_mask_inverted, "mask_inverted"),
    (check_attention, learner.attention_naive_softmax, "unstable_softmax"),
    (check_attention, learner.attention_output_only, "wrong_type"),
    (check_attention, learner.attention_weights_first, "wrong_shape"),
    (check_attention, learner.attention_sums_keys, "wrong_shape"),
    (check_attention, learner.attention_mask_after_softmax, "mask_after_softmax"),
    (check_attention, learner.attention_masked_with_zero, "masked_with_zero"),
    (check_attention, learner.attention_mask_times_inf, "wrong_values"),
    (check_attention, learner.attention_weights_transposed, "wrong_shape"),
    (check_attention, learner.attention_ignores_mask, "wrong_values"),
    (check_attention, learner.attention_k_transposed, "raised"),
    # lesson 07
    (check_split_heads, learner.split_reshape_only, "split_without_transpose"),
    (check_split_heads, learner.split_heads_last, "split_without_transpose"),
    (check_split_heads, learner.split_interleaved, "wrong_values"),
    (check_split_heads, learner.split_batch_only, "raised"),
    (check_merge_heads, learner.merge_reshape_only, "merge_without_transpose"),
    (check_merge_heads, learner.merge_summed, "heads_summed"),
    (check_merge_heads, learner.merge_averaged, "heads_summed"),
    (check_merge_heads, learner.merge_along_sequence, "wrong_shape"),
    # lesson 08
    (check_multi_head_attention, learner.mha_missing_scale, "missing_scale"),
    (check_multi_head_attention, learner.mha_scale_by_d, "scale_by_d"),
    (check_multi_head_attention, learner.mha_softmax_over_queries, "softmax_wrong_axis"),
    (check_multi_head_attention, learner.mha_mask_inverted, "mask_inverted"),
    (check_multi_head_attention, learner.mha_naive_softmax, "unstable_softmax"),
    (check_multi_head_attention, learner.mha_split_reshape_only, "split_without_transpose"),
    (
        check_multi_head_attention,
        learner.mha_split_and_merge_reshape_only,
        "split_without_transpose",
    ),
    (check_multi_head_attention, learner.mha_merge_reshape_only, "merge_without_transpose"),
    (check_multi_head_attention, learner.mha_heads_summed, "heads_summed"),
    (check_multi_head_attention, learner.mha_heads_averaged, "heads_summed"),
    (check_multi_head_attention, learner.mha_no_output_projection, "missing_output_projection"),
    (check_multi_head_attention, learner.mha_no_output_bias, "wrong_values"),
    (check_multi_head_attention, learner.mha_no_input_biases, "wrong_values"),
    (check_multi_head_attention, learner.mha_sqrt_d_model, "wrong_values"),
    (check_multi_head_attention, learner.mha_weights_averaged, "wrong_shape"),
    (check_multi_head_attention, learner.mha_single_head, "wrong_shape"),
    (check_multi_head_attention, learner.mha_single_head_squeezed, "wrong_shape"),
    (check_multi_head_attention, learner.mha_weights_without_mask, "wrong_values"),
    (check_multi_head_attention, learner.mha_weights_offset, "wrong_values"),
    (check_multi_head_attention, learner.mha_weights_transposed, "wrong_shape"),
    (check_multi_head_attention, learner.mha_first_head_only, "wrong_shape"),
    (check_multi_head_attention, learner.mha_output_only, "wrong_type"),
    # lesson 09
    (check_multi_head_module, learner.ModuleMissingScale, "missing_scale"),
    (check_multi_head_module, learner.ModuleScaleByD, "scale_by_d"),
    (check_multi_head_module, learner.ModuleSoftmaxOverQueries, "softmax_wrong_axis"),
    (check_multi_head_module, learner.ModuleTorchMaskPolarity, "mask_inverted"),
    (check_multi_head_module, learner.ModuleNaiveSoftmax, "unstable_softmax"),
    (check_multi_head_module, learner.ModuleSplitReshapeOnly, "split_without_transpose"),
    (check_multi_head_module, learner.ModuleMergeReshapeOnly, "merge_without_transpose"),
    (check_multi_head_module, learner.ModuleSumsHeads, "heads_summed"),
    (check_multi_head_module, learner.ModuleAveragesHeads, "heads_summed"),
    (check_multi_head_module, learner.ModuleNoOutputProjection, "missing_output_projection"),
    (check_multi_head_module, learner.ModuleAveragesWeights, "wrong_shape"),
    (check_multi_head_module, learner.ModulePerHeadProjections, "wrong_shape"),
    (check_multi_head_module, learner.ModuleIgnoresBiasFlag, "wrong_shape"),
    (check_multi_head_module, learner.ModuleNeverBias, "wrong_shape"),
    (check_multi_head_module, learner.ModuleWeightsWithoutMask, "wrong_values"),
    (check_multi_head_module, learner.ModuleSqrtDModel, "wrong_values"),
    (check_multi_head_module, learner.ModuleNoInputBiases, "wrong_values"),
    (check_multi_head_module, learner.ModuleNoOutputBias, "wrong_values"),
    (check_multi_head_module, learner.ModuleSplitAndMergeReshapeOnly, "split_without_transpose"),
    (check_multi_head_module, learner.ModuleOneHead, "wrong_shape"),
    (check_multi_head_module, learner.ModuleFirstHeadOnly, "wrong_shape"),
    (check_multi_head_module, learner.ModuleWeightsTransposed, "wrong_shape"),
    (check_multi_head_module, learner.ModuleOneHeadSqueezed, "wrong_shape"),
    (check_multi_head_module, learner.ModuleNeedsKeyAndValue, "raised"),
    (check_multi_head_module, learner.ModuleWrongOutputShape, "wrong_shape"),
    (check_multi_head_module, learner.ModuleOtherNames, "wrong_type"),
    (check_multi_head_module, learner.ModuleReturnsOutputOnly, "wrong_type"),
    (check_multi_head_module, learner.ModuleForwardReturnsNone, "wrong_type"),
    (check_multi_head_module, learner.module_factory_returning_none, "wrong_type"),
    (check_multi_head_module, learner.ModuleForwardRaises, "raised"),
    (check_multi_head_module, learner.ModuleWithoutKdim, "raised"),
]


def _case_id(case) -> str:
    checker, fn, key = case
    return f"{checker.__name__}-{getattr(fn, '__name__', fn)}-{key}"


@pytest.mark.parametrize(("checker", "wrong_fn", "expected_key"), WRONG, ids=map(_case_id, WRONG))
def test_a_mistake_is_diagnosed_with_its_key(checker, wrong_fn, expected_key):
    result = checker(wrong_fn)
    assert isinstance(result, CheckResult)
    assert not result.passed and not result
    assert result.mistake == expected_key, result.message
    assert str(result).startswith("✗ Not yet: ")


WRONG += [(check_load_bert_attention, fn, key) for fn, key, _ in learner.BERT_LOAD_WRONG]
WRONG += [(check_online_softmax, fn, key) for fn, key, _ in learner.ONLINE_SOFTMAX_WRONG]
WRONG += [(check_repeat_kv, fn, key) for fn, key, _ in _gqa_variants.REPEAT_KV_WRONG]


def test_every_catalogue_key_is_exercised():
    assert {key for _, _, key in WRONG} == set(MISTAKE_KEYS)


SPECS = {
    check_embedding: embedding_check.CHECKER,
    check_qkv_projection: projection_check.CHECKER,
    check_scores: scores_check.CHECKER,
    check_softmax: softmax_check.CHECKER,
    check_masked_softmax: masked_softmax_check.CHECKER,
    check_attention: attention_check.CHECKER,
    check_split_heads: heads_check.SPLIT_CHECKER,
    check_merge_heads: heads_check.MERGE_CHECKER,
    check_multi_head_attention: multi_head_check.CHECKER,
    check_multi_head_module: module_check.CHECKER,
    check_load_bert_attention: pretrained_check.CHECKER,
    check_online_softmax: online_softmax_check.CHECKER,
}
SPECS[check_repeat_kv] = gqa_check.CHECKER


@functools.cache
def _planted_rows() -> dict:
    """For each planted mistake (WRONG, FALLBACKS), the row that named it (None: a fallback)."""
    planted = [case[:2] for case in WRONG + FALLBACKS]
    return {(checker, fn): explain(SPECS[checker].steps, fn)[1] for checker, fn in planted}


def test_every_checker_is_its_table_driven_spec():
    assert (
        set(SPECS)
        == set(ALL_CHECKERS)
        == {getattr(exercises, n) for n in exercises.__all__ if n.startswith("check_")}
    )
    for checker, fn, _ in WRONG[::6]:
        assert SPECS[checker].name == checker.__name__
        assert checker(fn) == explain(SPECS[checker].steps, fn)[0]


@pytest.mark.parametrize("checker", ALL_CHECKERS, ids=lambda c: c.__name__)
def test_every_row_of_every_mistake_table_is_planted(checker):
    spec = SPECS[checker]
    rows = spec.tables
    labels = [row.label for row in rows]
    assert len(labels) == len(set(labels)), f"{checker.__name__}: row names must be unique"
    assert {row.key for row in rows} <= set(MISTAKE_KEYS)
    planted = {row for (c, _), row in _planted_rows().items() if c is checker}
    missing = [label for label in labels if label not in planted]
    assert not missing, f"{checker.__name__}: no test plants the rows {missing}"


@pytest.mark.parametrize("checker", ALL_CHECKERS, ids=lambda c: c.__name__)
def test_every_variant_row_shows_in_some_case(checker):
    """A variant that equals the right answer on every case could never name its mistake."""
    spec = SPECS[checker]
    for row in spec.tables:
        for switches in row.switches:
            differs = []
            for case in spec.cases():
                try:
                    with np.errstate(over="ignore"):  # np.exp(1000), as a learner's mistake does
                        wrong = spec.reference(case, **switches)
                except (IndexError, ValueError):
                    continue
                differs.append(not same(spec.reference(case), wrong, nan=True))
            assert any(differs), f"{checker.__name__}: {row.label} {switches} never differs"


CONCEPT_KEYS = {  # keys that must be recognised wherever the mistake can occur
    check_scores: {"missing_scale", "scale_by_d"},
    check_softmax: {"softmax_wrong_axis", "unstable_softmax"},
    check_masked_softmax: {
        "mask_inverted",
        "mask_after_softmax",
        "masked_with_zero",
        "fully_masked_nan",
    },
    check_attention: {
        "missing_scale",
        "scale_by_d",
        "softmax_wrong_axis",
        "unstable_softmax",
        "mask_inverted",
    },
    check_split_heads: {"split_without_transpose"},
    check_merge_heads: {"merge_without_transpose", "heads_summed"},
}
CONCEPT_KEYS[check_multi_head_attention] = (
    CONCEPT_KEYS[check_attention]
    | CONCEPT_KEYS[check_split_heads]
    | CONCEPT_KEYS[check_merge_heads]
    | {"missing_output_projection"}
)
CONCEPT_KEYS[check_multi_head_module] = CONCEPT_KEYS[check_multi_head_attention]


@pytest.mark.parametrize("checker", list(CONCEPT_KEYS), ids=lambda c: c.__name__)
def test_each_checker_is_tested_on_every_mistake_it_can_meet(checker):
    tested = {key for c, _, key in WRONG if c is checker}
    assert CONCEPT_KEYS[checker] <= tested


# ---------------------------------------------------------------------------------------------
# right answers pass, in more than one style
# ---------------------------------------------------------------------------------------------

RIGHT = [
    (check_embedding, learner.embed_index),
    (check_embedding, learner.embed_one_hot),
    (check_embedding, learner.embed_loop_as_list),
    (check_embedding, learner.embed_torch),
    (check_embedding, embed),
    (check_qkv_projection, learner.project_qkv),
    (check_qkv_projection, learner.project_qkv_einsum),
    (check_qkv_projection, learner.project_qkv_torch),
    (check_scores, learner.scores_numpy),
    (check_scores, learner.scores_einsum),
    (check_scores, learner.scores_torch),
    (check_softmax, learner.softmax_numpy),
    (check_softmax, learner.softmax_logsumexp),
    (check_softmax, learner.softmax_torch),
    (check_softmax, learner.softmax_in_place),
    (check_softmax, mha_lib.softmax),
    (check_masked_softmax, learner.masked_softmax_numpy),
    (check_masked_softmax, learner.masked_softmax_library),
    (check_masked_softmax, learner.masked_softmax_torch),
    (check_attention, learner.attention_numpy),
    (check_attention, learner.attention_einsum),
    (check_attention, learner.attention_torch),
    (check_attention, mha_lib.scaled_dot_product_attention),
    (check_split_heads, learner.split_numpy),
    (check_split_heads, learner.split_by_slicing),
    (check_split_heads, learner.split_torch),
    (check_split_heads, mha_lib.split_heads),
    (check_merge_heads, learner.merge_numpy),
    (check_merge_heads, learner.merge_by_concatenating),
    (check_merge_heads, learner.merge_torch),
    (check_merge_heads, mha_lib.merge_heads),
    (check_multi_head_attention, learner.mha_numpy),
    (check_multi_head_attention, learner.mha_loop_over_heads),
    (check_multi_head_attention, learner.mha_torch),
    (check_multi_head_attention, mha_lib.multi_head_attention),
    (check_multi_head_module, learner.LearnerMHA),
    (check_multi_head_module, learner.EinsumMHA),
    (check_multi_head_module, mha_lib.MultiHeadAttention),
]
RIGHT += [(check_repeat_kv, fn) for fn in [*_gqa_variants.REPEAT_KV_RIGHT, mha_lib.repeat_kv]]


@pytest.mark.parametrize(
    ("checker", "right_fn"),
    RIGHT,
    ids=[f"{c.__name__}-{getattr(f, '__name__', f)}" for c, f in RIGHT],
)
def test_a_right_answer_passes(checker, right_fn):
    result = checker(right_fn)
    assert result.passed and result, result.message
    assert result.mistake is None
    assert str(result).startswith("✓ Passed: ")


def test_every_checker_has_two_right_styles():
    for checker in CHECKERS:
        assert sum(c is checker for c, _ in RIGHT) >= 2, checker.__name__


# ---------------------------------------------------------------------------------------------
# crashing, None, wrong shapes, odd results: a clean verdict, never an exception
# ---------------------------------------------------------------------------------------------


class LearnerError(Exception):
    pass


class OddBaseException(BaseException):
    """Not an Exception: a checker must still catch it."""


def _crash(*args, **kwargs):
    raise LearnerError("shapes do not fit <b>here</b>")


def _none(*args, **kwargs):
    return None


def _tiny(*args, **kwargs):
    return np.zeros((1, 2, 3))


def _as_module(forward):
    """A learner module class whose forward is ``forward`` (layers are right)."""

    class Module(learner.LearnerMHA):
        def forward(self, query, key=None, value=None, mask=None, need_weights=False):
            return forward(query, key, value, mask, need_weights)

    return Module


def _pair(fn):
    return lambda *args, **kwargs: (fn(), fn())


def _triple(fn):
    return lambda *args, **kwargs: (fn(), fn(), fn())


def _bad_function(checker, behaviour):
    """``behaviour`` ("crash", "none", "tiny") in the shape that the checker expects."""
    base = {"crash": _crash, "none": _none, "tiny": _tiny}[behaviour]
    if behaviour in ("crash", "none"):
        fn = base
    elif checker is check_qkv_projection:
        fn = _triple(_tiny)
    elif checker in (check_attention, check_multi_head_attention, check_multi_head_module):
        fn = _pair(_tiny)
    else:
        fn = base
    return _as_module(fn) if checker is check_multi_head_module else fn


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    ("behaviour", "expected_key"),
    [("crash", "raised"), ("none", "wrong_type"), ("tiny", "wrong_shape")],
)
def test_crash_none_and_wrong_shape_get_clean_results(checker, behaviour, expected_key):
    result = checker(_bad_function(checker, behaviour))
    assert result.mistake == expected_key, result.message
    assert not result


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: c.__name__)
def test_raised_names_the_exception_and_the_input_shapes(checker):
    message = checker(_bad_function(checker, "crash")).message
    assert "LearnerError: shapes do not fit <b>here</b>" in message
    assert re.search(r"of shape \(\d+(, \d+)*,?\)", message), message
    assert "raise LearnerError" in message  # the learner's own line


def test_raised_message_of_the_first_input_is_exact():
    result = check_attention(_crash)
    assert result.message == (
        "Your function raised LearnerError: shapes do not fit <b>here</b> at `raise "
        'LearnerError("shapes do not fit <b>here</b>")` when called with q of shape (5, 16), '
        "k (7, 16), v (7, 6) and no mask. Fix that error, then run the check again."
    )


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: c.__name__)
def test_wrong_shape_message_gives_expected_and_got_shapes(checker):
    message = checker(_bad_function(checker, "tiny")).message
    assert "(1, 2, 3)" in message
    assert "should have shape (" in message


def _odd_results():
    class ArrayRaises:
        def __array__(self, *args, **kwargs):
            raise OddBaseException("no array for you")

    class StrRaises(Exception):
        def __str__(self):
            raise ValueError("cannot print")

    def raises_odd(*args, **kwargs):
        raise OddBaseException("not an Exception")

    def raises_unprintable(*args, **kwargs):
        raise StrRaises()

    return {
        "nan-filled": (lambda *a, **k: np.full((10, 12), np.nan), "wrong_values"),
        "string": (lambda *a, **k: "table[token_ids]", "wrong_type"),
        "generator": (lambda *a, **k: (row for row in a[1]), "wrong_type"),
        "ragged list": (lambda *a, **k: [[1.0, 2.0], [3.0]], "wrong_type"),
        "list of str": (lambda *a, **k: ["fox"] * 10, "wrong_type"),
        "list of None": (lambda *a, **k: [[None] * 12] * 10, "wrong_values"),  # None → nan
        "complex": (lambda *a, **k: np.asarray(a[1])[a[0]] * 1j, "wrong_type"),
        "__array__ raises": (lambda *a, **k: ArrayRaises(), "wrong_type"),
        "huge view": (lambda *a, **k: np.broadcast_to(0.0, (100_000, 100_000)), "wrong_shape"),
        "huge tensor view": (
            lambda *a, **k: torch.zeros(1).expand(100_000, 100_000),
            "wrong_shape",
        ),
        "BaseException": (raises_odd, "raised"),
        "unprintable exception": (raises_unprintable, "raised"),
        "tensor needing grad": (
            lambda ids, table: torch.tensor(np.asarray(table)[ids], requires_grad=True) * 1,
            None,
        ),
        "float16 tensor": (lambda ids, table: torch.tensor(table[ids]).half(), "wrong_values"),
        "int table lookup": (lambda ids, table: np.asarray(table)[ids].astype(np.float32), None),
    }


@pytest.mark.parametrize("name", list(_odd_results()))
def test_odd_results_never_raise(name):
    fn, expected_key = _odd_results()[name]
    result = check_embedding(fn)
    assert result.mistake == expected_key, result.message
    assert result.passed == (expected_key is None)


def test_a_non_callable_is_a_wrong_type():
    for checker in CHECKERS:
        result = checker(None)
        assert result.mistake == "wrong_type"
        assert "you passed None" in result.message


def test_keyboard_interrupt_and_system_exit_reach_the_learner():
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    def exits(*args, **kwargs):
        raise SystemExit(1)

    with pytest.raises(KeyboardInterrupt):
        check_softmax(interrupted)
    with pytest.raises(SystemExit):
        check_softmax(exits)


def test_no_warning_escapes_from_a_checker():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_softmax(learner.softmax_naive)
        check_attention(learner.attention_naive_softmax)
        check_softmax(lambda x, axis=-1: np.log(-np.abs(x)))
    assert caught == []


def test_a_checker_does_not_let_the_learner_change_its_inputs():
    assert check_softmax(learner.softmax_in_place)
    assert check_softmax(learner.softmax_numpy)  # the inputs are still the original ones
    assert check_split_heads(learner.split_numpy)


def test_a_learner_that_edits_mha_params_gets_a_clean_result():
    def edits_params(query, key, value, params, num_heads, mask=None):
        params.w_q[0, 0] = 1.0  # read-only array
        return learner.mha_numpy(query, key, value, params, num_heads, mask)

    result = check_multi_head_attention(edits_params)
    assert result.mistake == "raised"
    assert "ValueError" in result.message


# ---------------------------------------------------------------------------------------------
# messages: the numbers and shapes they claim
# ---------------------------------------------------------------------------------------------


def test_embedding_messages_give_shapes_and_rows():
    transposed = check_embedding(learner.embed_transposed).message
    assert "has shape (12, 10) but should have shape (10, 12)" in transposed
    assert "transpose" in transposed
    one_hot = check_embedding(learner.embed_one_hot_not_multiplied).message
    assert "one-hot matrix" in one_hot and "(10, 9)" in one_hot and "one_hot @ table" in one_hot
    off_by_one = check_embedding(learner.embed_off_by_one).message
    assert "shifted by -1" in off_by_one
    assert "row 0 is table[7] but token_ids[0] is 8" in off_by_one


def test_projection_messages_name_the_formula():
    transposed = check_qkv_projection(learner.project_qkv_transposed).message
    assert "Your q equals x @ w_q.T" in transposed and "(8, 8)" in transposed
    swapped = check_qkv_projection(learner.project_qkv_swapped).message
    assert "Your q equals x @ w_k" in swapped


def test_scores_missing_scale_message_shows_the_numbers():
    rng = np.random.default_rng(303)
    q, k = rng.standard_normal((5, 16)), rng.standard_normal((7, 16))
    raw = q @ k.T
    index = np.unravel_index(np.argmax(np.abs(raw)), raw.shape)
    message = check_scores(learner.scores_missing_scale).message
    assert f"scores[{index[0]}, {index[1]}] is {fmt_number(raw[index])}" in message
    assert f"/ √16 = {fmt_number(raw[index] / 4)}" in message
    assert "d_k = q.shape[-1] = 16" in message
    by_d = check_scores(learner.scores_scale_by_d).message
    assert f"is {fmt_number(raw[index] / 16)} but should be {fmt_number(raw[index] / 4)}" in by_d
    seq_len = check_scores(learner.scores_sqrt_seq_len).message
    assert "√5, but 5 is T_q" in seq_len


def test_softmax_wrong_axis_message_shows_the_sums():
    x = (3 * np.random.default_rng(404).standard_normal((3, 4, 5))).round(2)
    got = learner.softmax_ignores_axis(x, axis=0)
    message = check_softmax(learner.softmax_ignores_axis).message
    assert "Called with axis=0 on x of shape (3, 4, 5)" in message
    assert "along axis 2 (size 5) instead of axis 0 (size 3)" in message
    assert fmt_vector(got.sum(axis=0).ravel(), limit=4) in message
    assert "ignored the axis argument" in message


def test_unstable_softmax_message_shows_the_large_logits_and_nan():
    message = check_softmax(learner.softmax_naive).message
    assert "[1000, 999, 998, 1001]" in message
    assert "[nan, nan, nan, nan]" in message
    assert "x - x.max(axis=axis, keepdims=True)" in message


def test_forgot_keepdims_is_named_when_numpy_raises_and_when_it_is_silent():
    silent = check_softmax(learner.softmax_lse_no_keepdims)
    assert silent.mistake == "forgot_keepdims"
    assert "x of shape (4, 4), your softmax runs without an error" in silent.message
    assert "x.max(axis=-1) has shape (4,) instead of (4, 1)" in silent.message
    assert "keepdims=True" in silent.message
    # The same function, checked on the (3, 4, 5) array first, makes numpy raise.
    x = softmax_check.cases()[2].x
    for kwargs in ({}, {"axis": 1}):  # every axis but the first breaks
        raising = dataclasses.replace(
            softmax_check.CHECKER, cases=lambda kwargs=kwargs: [Case({"x": x}, kwargs)]
        )
        result = raising(learner.softmax_lse_no_keepdims)
        assert result.mistake == "forgot_keepdims", result.message
        assert "ValueError: operands could not be broadcast" in result.message
        assert "only axis=0 works by luck" in result.message
        kept = "(3, 1, 5)" if kwargs else "(3, 4, 1)"
        assert f"instead of {kept}" in result.message
    assert raising(learner.softmax_numpy)  # and the right answer passes these cases
    at_end = check_softmax(learner.softmax_keepdims_at_end).message
    assert "works along the last axis" in at_end and "[..., None]" in at_end


def test_a_broadcasting_error_without_the_keepdims_signature_is_just_raised():
    def broadcasts_badly(x, axis=-1):
        return x + np.ones(7)

    result = check_softmax(broadcasts_badly)
    assert result.mistake == "raised"
    assert "could not be broadcast" in result.message


def test_masked_softmax_messages_show_the_evidence():
    pattern = masked_softmax_check.PATTERN_MASK
    inverted = check_masked_softmax(learner.masked_softmax_inverted).message
    match = re.search(
        r"weights\[(\d+), (\d+)\] is ([\d.]+) although mask\[(\d+), (\d+)\]", inverted
    )
    assert match, inverted
    assert not pattern[int(match[1]), int(match[2])]
    assert "nn.MultiheadAttention uses the opposite" in inverted
    after = check_masked_softmax(learner.masked_softmax_after).message
    assert "after the softmax" in after and "no longer sum to 1" in after
    zero = check_masked_softmax(learner.masked_softmax_zero).message
    assert "e^0 = 1" in zero and "-np.inf" in zero
    nan = check_masked_softmax(learner.masked_softmax_nan).message
    assert "query 2, whose keys are all blocked" in nan and "[nan, nan, nan, nan, nan, nan]" in nan
    assert "all-zero weights" in nan
    uniform = check_masked_softmax(learner.masked_softmax_large_negative).message
    assert f"[{', '.join([fmt_number(1 / 6)] * 6)}]" in uniform and "evenly" in uniform
    broadcast = check_masked_softmax(learner.masked_softmax_same_shape_only).message
    assert "mask (2, 1, 6)" in broadcast and "broadcast" in broadcast
    flat = check_masked_softmax(learner.masked_softmax_boolean_index).message
    assert "Boolean indexing" in flat


def test_masked_softmax_inputs_cannot_hide_the_mistakes():
    cases = masked_softmax_check.cases()
    for case in cases:
        assert case.scores.shape[-2] != case.scores.shape[-1]  # T_q ≠ T_k
    assert any(case.mask.shape[-2] == 1 and case.mask.ndim == 3 for case in cases)  # padding
    allowed = [np.broadcast_to(case.mask, case.scores.shape) for case in cases]
    fully_masked = [case for case, a in zip(cases, allowed) if not a.any(axis=-1).all()]
    assert fully_masked and fully_masked[0] is cases[-1]  # only the last case, after the rest
    for pattern in (allowed[0], ~allowed[0]):  # the pattern and its negation
        assert pattern.any(axis=-1).all() and pattern.any(axis=-2).all()


def test_attention_messages_show_the_evidence():
    first, masked = attention_check.cases()[:2]
    _, no_scale = first.reference(divisor="1")
    message = check_attention(learner.attention_missing_scale).message
    assert f"largest weight of query 0 is {fmt_number(no_scale[0].max())}" in message
    assert "√d_k = 4 (d_k = 16)" in message
    _, over_queries = first.reference(axis=-2)
    axis = check_attention(learner.attention_softmax_over_queries).message
    assert "over the 5 queries (axis -2)" in axis and "over the 7 keys (axis -1)" in axis
    assert f"row 0 sums to {fmt_number(over_queries[0].sum())}" in axis
    inverted = check_attention(learner.attention_mask_inverted).message
    match = re.search(
        r"weights\[(\d+), (\d+)\] is ([\d.]+) although mask\[(\d+), (\d+)\] is False", inverted
    )
    assert match, inverted
    i, j = int(match[1]), int(match[2])
    assert not PATTERN_MASK[i, j]
    _, inverted_weights = masked.reference(invert_mask=True)
    assert match[3] == fmt_number(inverted_weights[i, j])


def test_heads_messages_trace_values_back_to_x():
    split = check_split_heads(learner.split_reshape_only).message
    assert (
        "head 0 at position 1 holds features 4–7 of token 0 instead of features 0–3 of token 1"
        in split
    )
    merge = check_merge_heads(learner.merge_reshape_only).message
    assert "out[0, 0, 4:8] holds head 0 at position 1 instead of head 1 at position 0" in merge
    summed = check_merge_heads(learner.merge_summed).message
    assert "has shape (2, 5, 4) but should have shape (2, 5, 12)" in summed and "added" in summed


def test_multi_head_messages_name_d_head_and_fix():
    scale = check_multi_head_attention(learner.mha_missing_scale).message
    assert "d_head = 12 / 3 = 4" in scale and "√d_head = 2" in scale
    projection = check_multi_head_attention(learner.mha_no_output_projection).message
    assert "params.w_o" in projection
    module_merge = check_multi_head_module(learner.ModuleMergeReshapeOnly).message
    assert ".contiguous()" in module_merge
    module_mask = check_multi_head_module(learner.ModuleTorchMaskPolarity).message
    assert "nn.MultiheadAttention uses the opposite" in module_mask
    assert "scores.masked_fill(~mask, float('-inf'))" in module_mask
    per_head = check_multi_head_module(learner.ModulePerHeadProjections).message
    assert "q_proj.weight has shape (4, 12) but should have shape (12, 12)" in per_head
    assert "does not depend on num_heads" in per_head


def test_messages_are_one_or_two_sentences_on_one_line():
    for checker, fn, _ in WRONG:
        message = checker(fn).message
        assert "\n" not in message
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", message)
        assert len(sentences) <= 2, message  # "(Called: …)" after a module's message is no sentence


# ---------------------------------------------------------------------------------------------
# CheckResult: truthiness, text, HTML
# ---------------------------------------------------------------------------------------------


def test_bool_equals_passed():
    for result in (check_softmax(learner.softmax_numpy), check_softmax(learner.softmax_naive)):
        assert bool(result) is result.passed


def test_text_and_html_carry_the_same_words():
    passed = check_softmax(learner.softmax_numpy)
    failed = check_softmax(learner.softmax_naive)
    for result, words in ((passed, "✓ Passed:"), (failed, "✗ Not yet:")):
        assert str(result) == repr(result) == f"{words} {result.message}"
        page = result._repr_html_()
        assert page.startswith(f'<div class="mha-check" data-passed="{str(result.passed).lower()}"')
        assert 'role="status"' in page
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        assert text == str(result)
        assert "0x" not in repr(result)


def test_html_escapes_the_learners_text():
    page = check_softmax(_crash)._repr_html_()
    assert "&lt;b&gt;here&lt;/b&gt;" in page
    assert "<b>" not in page


def test_results_are_deterministic():
    cases = [(checker, fn) for checker, fn, _ in WRONG[::5]]
    for checker, fn in cases + [(check_softmax, _crash), (check_embedding, _none)]:
        first, second = checker(fn), checker(fn)
        assert first == second
        assert first._repr_html_() == second._repr_html_()


def test_memory_addresses_are_removed_from_exception_messages():
    def raises_with_address(x, axis=-1):
        raise TypeError(f"cannot use {object()!r}")

    message = check_softmax(raises_with_address).message
    assert "0x…" in message
    assert not re.search(r"0x[0-9a-fA-F]", message)


# ---------------------------------------------------------------------------------------------
# the checkers' references agree with the library and with torch
# ---------------------------------------------------------------------------------------------


def test_the_step_by_step_variants_equal_the_library_when_no_switch_is_on():
    """The variants are built from the library's steps; with every switch at its right value
    (given explicitly, so the step-by-step path runs) they equal the library's one call."""
    for case in attention_check.cases():
        ours = attention_variant(
            case.q, case.k, case.v, case.mask, divisor=math.sqrt(case.q.shape[-1]), axis=-1
        )
        library = mha_lib.scaled_dot_product_attention(case.q, case.k, case.v, case.mask)
        for a, b in zip(ours, library, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for case in multi_head_check.cases() + module_check.cases():
        ours = mha_variant(case, split_transpose=True, output_bias=True, axis=-1)
        for a, b in zip(ours, case.reference(), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_module_reference_equals_torch_multihead_attention():
    for case in module_check.cases():
        example, params = case, case.params
        kdim, vdim = params.d_key_in, params.d_value_in
        reference = torch.nn.MultiheadAttention(
            params.d_model,
            example.num_heads,
            bias=params.has_bias,
            kdim=kdim,
            vdim=vdim,
            batch_first=True,
            dtype=torch.float64,
        )
        with torch.no_grad():
            if reference._qkv_same_embed_dim:
                reference.in_proj_weight.copy_(
                    torch.from_numpy(np.concatenate([params.w_q.T, params.w_k.T, params.w_v.T]))
                )
            else:
                reference.q_proj_weight.copy_(torch.from_numpy(params.w_q.T.copy()))
                reference.k_proj_weight.copy_(torch.from_numpy(params.w_k.T.copy()))
                reference.v_proj_weight.copy_(torch.from_numpy(params.w_v.T.copy()))
            reference.out_proj.weight.copy_(torch.from_numpy(params.w_o.T.copy()))
            if params.has_bias:
                reference.in_proj_bias.copy_(
                    torch.from_numpy(np.concatenate([params.b_q, params.b_k, params.b_v]))
                )
                reference.out_proj.bias.copy_(torch.from_numpy(params.b_o.copy()))
            blocked = (
                None if example.mask is None else torch.from_numpy(~example.mask)
            )  # torch: True = blocked
            output, weights = reference(
                torch.from_numpy(example.query),
                torch.from_numpy(example.key),
                torch.from_numpy(example.value),
                attn_mask=blocked,
                need_weights=True,
                average_attn_weights=False,
            )
        expected_output, expected_weights = example.reference()
        np.testing.assert_allclose(output.numpy(), expected_output, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(weights.numpy(), expected_weights, rtol=1e-9, atol=1e-9)


def test_stability_inputs_really_overflow_a_naive_exp():
    assert np.max(exercises.softmax_check.LARGE_LOGITS) > math.log(np.finfo(np.float64).max)
    large_attention = attention_check.cases()[-1]
    scores = large_attention.q @ large_attention.k.T / 4
    assert np.abs(scores).max() > 709
    assert large_attention.largest_scaled_score() == pytest.approx(np.abs(scores).max())
    assert multi_head_check.cases()[-1].largest_scaled_score() > 709
    assert module_check.cases()[-1].largest_scaled_score() > 709


def test_masks_block_part_of_every_row_and_column():
    for mask in (PATTERN_MASK, PATTERN_MASK[:, ::-1]):
        assert mask.shape == (5, 7)
        for axis in (0, 1):
            assert mask.any(axis=axis).all() and (~mask).any(axis=axis).all()


def test_all_checkers_together_are_fast():
    start = time.perf_counter()
    for checker, fn in RIGHT:
        checker(fn)
    assert time.perf_counter() - start < 10


# ---------------------------------------------------------------------------------------------
# fallbacks: two mistakes at once, and mistakes outside the catalogue
# ---------------------------------------------------------------------------------------------


def _mha_with_output_offset(query, key, value, params, num_heads, mask=None):
    output, weights = learner.mha_numpy(query, key, value, params, num_heads, mask)
    return output + 0.1, weights


def _mha_two_mistakes(query, key, value, params, num_heads, mask=None):
    wrong = learner.make_wrong_mha(divisor=lambda d_head: 1.0, project_output=False)
    return wrong(query, key, value, params, num_heads, mask)


def _attention_output_offset(q, k, v, mask=None):
    output, weights = learner.attention_numpy(q, k, v, mask)
    return output + 1.0, weights


def _attention_unnormalised(q, k, v, mask=None):
    scores = q @ learner.swap_last(k) / 4.0
    weights = np.exp(scores - scores.max())
    return weights @ v, weights


def _merge_interleaved(x):
    *batch, num_heads, seq_len, d_head = x.shape
    return np.moveaxis(x, -3, -1).reshape(*batch, seq_len, num_heads * d_head)


class _ModuleNoWeights(learner.LearnerMHA):
    def forward(self, query, key=None, value=None, mask=None, need_weights=False):
        return super().forward(query, key, value, mask, need_weights)[0], None


class _ModuleWeightsOffset(learner.LearnerMHA):
    def forward(self, query, key=None, value=None, mask=None, need_weights=False):
        output, weights = super().forward(query, key, value, mask, need_weights)
        return output, (None if weights is None else weights + 0.01)


class _ModuleOutputOffset(learner.LearnerMHA):
    def forward(self, query, key=None, value=None, mask=None, need_weights=False):
        output, weights = super().forward(query, key, value, mask, need_weights)
        return output + 0.1, weights


def _meta_tensor(*args, **kwargs):
    return torch.zeros(10, 12, device="meta")


FALLBACKS = [
    (check_multi_head_attention, _mha_with_output_offset, "wrong_values", "Your weights are right"),
    (check_multi_head_attention, _mha_two_mistakes, "missing_scale", "1/√d_head"),
    (check_attention, _attention_output_offset, "wrong_values", "output = weights @ v"),
    (check_attention, _attention_unnormalised, "wrong_values", "must sum to 1 over its allowed"),
    (check_merge_heads, _merge_interleaved, "wrong_values", "side by side"),
    (check_multi_head_module, _ModuleNoWeights, "wrong_type", "need_weights=True"),
    (check_multi_head_module, _ModuleOutputOffset, "wrong_values", "self.out_proj(merged)"),
    (
        check_multi_head_module,
        _ModuleWeightsOffset,
        "wrong_values",
        "Your output is right, but the weights you return are not: weights[",
    ),
    (check_embedding, _meta_tensor, "wrong_type", "cannot be read as numbers"),
]


@pytest.mark.parametrize(
    ("checker", "fn", "expected_key", "phrase"),
    FALLBACKS,
    ids=[f.__name__ for _, f, _, _ in FALLBACKS],
)
def test_fallbacks_give_a_useful_verdict(checker, fn, expected_key, phrase):
    result = checker(fn)
    assert result.mistake == expected_key, result.message
    assert phrase in result.message
    assert "\n" not in result.message


@pytest.mark.parametrize("module", [_ModuleWeightsOffset, learner.ModuleWeightsWithoutMask])
def test_a_module_with_the_right_output_and_wrong_weights_is_told_its_weights_are_wrong(module):
    message = check_multi_head_module(module).message
    assert "Your output is right, but the weights you return" in message
    assert "output[" not in message


def test_the_module_checker_checks_the_bias_switch_and_forward_of_query_alone():
    never_bias = check_multi_head_module(learner.ModuleNeverBias).message
    assert (
        "In ModuleNeverBias(12, 3), q_proj.bias is None but should have shape (12,)" in never_bias
    )
    always_bias = check_multi_head_module(learner.ModuleIgnoresBiasFlag).message
    assert "bias=False), q_proj.bias should be None but has shape (12,)" in always_bias
    alone = check_multi_head_module(learner.ModuleNeedsKeyAndValue)
    assert alone.mistake == "raised"
    assert "missing 2 required positional arguments: 'key' and 'value'" in alone.message
    assert "called with query of shape (2, 5, 12), need_weights=False" in alone.message
    assert "forward(query) alone must attend with key = value = query" in alone.message


def test_multi_head_evidence_numbers_are_the_learners_and_the_references():
    example = multi_head_check.cases()[0]
    _, got = learner.mha_missing_scale(
        example.query, example.key, example.value, example.params, example.num_heads
    )
    _, expected = example.reference()
    message = check_multi_head_attention(learner.mha_missing_scale).message
    match = re.search(
        r"weights\[(\d+), (\d+), (\d+), (\d+)\] is (\S+) instead of ([^.\s]+\.?\d*)", message
    )
    assert match, message
    index = tuple(int(match[i]) for i in range(1, 5))
    assert match[5] == fmt_number(got[index])
    assert match[6].rstrip(".") == fmt_number(expected[index])
