"""check_online_softmax (lesson 11): right answers pass, every row of its mistake table is
named (every row is planted in tests/test_exercises.py, with every other checker's), and the
checker's reference is the online softmax."""

from __future__ import annotations

import numpy as np
import pytest

import _exercise_variants as learner
import mha_lib
from mha_lib.exercises import MISTAKE_KEYS, check_online_softmax
from mha_lib.exercises._harness import explain
from mha_lib.exercises.online_softmax_check import CHECKER, Case, online_update


@pytest.mark.parametrize("fn", learner.ONLINE_SOFTMAX_RIGHT, ids=lambda f: f.__name__)
def test_a_right_update_passes(fn):
    result = check_online_softmax(fn)
    assert result.passed, result.message
    assert str(result).startswith("✓ Passed: ")


@pytest.mark.parametrize(
    ("fn", "key", "row"), learner.ONLINE_SOFTMAX_WRONG, ids=lambda x: getattr(x, "__name__", x)
)
def test_each_mistake_is_named(fn, key, row):
    result, named_row = explain(CHECKER.steps, fn)
    assert not result.passed and result.mistake == key, result.message
    assert named_row == row, result.message
    assert key in MISTAKE_KEYS
    assert str(check_online_softmax(fn)) == str(result)  # the public function is this table


def test_the_classic_mistake_message_says_what_to_do():
    message = check_online_softmax(learner.update_not_rescaled).message
    assert "forgot to rescale the old sum when the max changed" in message
    assert "exp(m − m_new)" in message
    assert "query 0 with m = 1, l = 1.5" in message  # the row whose max rose, with numbers


def test_the_reference_is_the_online_softmax_of_the_library():
    """Feeding a row's scores block by block through the reference gives the softmax's
    normaliser: exp(x - m) / l equals mha_lib.softmax(x), for any split into blocks."""
    rng = np.random.default_rng(7)
    x = 5 * rng.standard_normal((3, 11))
    for block in (1, 2, 4, 11):
        m, l = np.full(3, -np.inf), np.zeros(3)
        for start in range(0, 11, block):
            m, l = online_update(Case({"m": m, "l": l, "scores": x[:, start : start + block]}))
        np.testing.assert_allclose(np.exp(x - m[:, None]) / l[:, None], mha_lib.softmax(x),
                                   rtol=1e-12)  # fmt: skip


def test_the_checker_never_raises_on_odd_results():
    for odd in (None, 3.0, "m", [1, 2], (np.zeros(2),), (np.zeros(2), np.zeros(2), 1)):
        result = check_online_softmax(lambda m, l, scores, odd=odd: odd)
        assert not result.passed and result.mistake in MISTAKE_KEYS
    assert check_online_softmax("not a function").mistake == "wrong_type"
