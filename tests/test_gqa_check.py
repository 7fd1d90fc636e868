"""check_repeat_kv (lesson 12): each planted mistake is named by its own row (right answers
and the rows' keys are tested with every checker's in tests/test_exercises.py), the classic
mistake's message says what to do in two sentences, and the reference is mha_lib.repeat_kv."""

from __future__ import annotations

import numpy as np
import torch

import _gqa_variants as learner
from mha_lib import repeat_kv
from mha_lib.exercises import MISTAKE_KEYS, check_repeat_kv
from mha_lib.exercises._harness import explain
from mha_lib.exercises.gqa_check import CHECKER, cases, repeat_reference


def test_each_planted_mistake_is_named_by_its_row():
    """(tests/test_exercises.py runs these variants, and the right ones, with every checker's.)"""
    for fn, key, row in learner.REPEAT_KV_WRONG:
        result, named_row = explain(CHECKER.steps, fn)
        assert (result.passed, result.mistake, named_row) == (False, key, row), fn.__name__
        assert key in MISTAKE_KEYS and "\n" not in result.message


def test_the_classic_mistake_names_the_wrong_pairs_in_two_sentences():
    message = check_repeat_kv(learner.tiled).message
    assert message.startswith("Your heads come out in the order 0, 1, 0, 1: the block of 2 key")
    assert "(as x.repeat(1, n_rep, 1, 1) does)" in message
    assert "query head 1 meets key/value head 1 instead of head 0" in message
    assert "x.repeat_interleave(n_rep, dim=1)" in message and "(0, 0, 1, 1)" in message
    assert message.count(". ") == 1 and message.endswith(".")  # two sentences


def test_the_raise_rows_quote_the_error_and_the_fix():
    view = check_repeat_kv(learner.expand_then_view).message
    assert view.startswith("Your function raised RuntimeError: view size is not compatible")
    assert "at `return x.view(batch, num_kv_heads * n_rep, seq_len, d_head)`" in view
    assert "use .reshape(batch, num_kv_heads * n_rep, seq_len, d_head)" in view
    wrong_axis = check_repeat_kv(learner.repeated_sequence).message
    assert "You repeated along axis 2 (seq_len)" in wrong_axis


def test_the_reference_is_the_library_and_tiling_differs_only_with_several_kv_heads():
    for case in cases():
        x = torch.tensor(case.x)
        np.testing.assert_array_equal(repeat_reference(case), repeat_kv(x, case.n_rep).numpy())
        differs = not np.array_equal(repeat_reference(case, tiled=True), repeat_reference(case))
        assert differs == (case.x.shape[1] > 1 and case.n_rep > 1)


def test_the_checker_never_raises_on_odd_results():
    for odd in (None, 3.0, "x", [1, 2], (torch.zeros(2),), torch.zeros(1, 4, 3, 5, 1)):
        result = check_repeat_kv(lambda x, n_rep, odd=odd: odd)
        assert not result.passed and result.mistake in MISTAKE_KEYS
    assert check_repeat_kv("not a function").mistake == "wrong_type"
