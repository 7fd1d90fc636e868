"""check_online_softmax (lesson 11): right answers pass, every row of its mistake table is
reached by a planted learner mistake, and the checker's reference is the online softmax."""

from __future__ import annotations

import numpy as np
import pytest

import mha_lib
from mha_lib.exercises import MISTAKE_KEYS, check_online_softmax
from mha_lib.exercises._harness import explain, same
from mha_lib.exercises.online_softmax_check import CHECKER, Case, online_update

# ---- learners' versions, written independently of the checker ------------------------------


def update_numpy(m, l, scores):
    m_new = np.maximum(m, scores.max(axis=-1))
    l_new = l * np.exp(m - m_new) + np.exp(scores - m_new[..., None]).sum(axis=-1)
    return m_new, l_new


def update_loop(m, l, scores):  # one query at a time, in plain Python floats
    m_new, l_new = np.empty_like(m), np.empty_like(l)
    for index in np.ndindex(m.shape):
        new_max = max(m[index], max(scores[index]))
        total = l[index] * np.exp(m[index] - new_max)
        for x in scores[index]:
            total += np.exp(x - new_max)
        m_new[index], l_new[index] = new_max, total
    return m_new, l_new


def update_logaddexp(m, l, scores):  # through log-sum-exp: log l + m is the running log-sum
    m_new = np.maximum(m, scores.max(axis=-1))
    with np.errstate(divide="ignore"):
        log_sum = np.logaddexp(np.log(l) + m, np.logaddexp.reduce(scores, axis=-1))
    return m_new, np.exp(log_sum - m_new)


def update_not_rescaled(m, l, scores):  # THE classic mistake
    m_new = np.maximum(m, scores.max(axis=-1))
    return m_new, l + np.exp(scores - m_new[..., None]).sum(axis=-1)


def update_rescaled_inverted(m, l, scores):
    m_new = np.maximum(m, scores.max(axis=-1))
    old = np.where(l > 0, l * np.exp(m_new - m), 0.0)
    return m_new, old + np.exp(scores - m_new[..., None]).sum(axis=-1)


def update_block_max(m, l, scores):
    m_new = scores.max(axis=-1)
    return m_new, l * np.exp(m - m_new) + np.exp(scores - m_new[..., None]).sum(axis=-1)


def update_no_shift(m, l, scores):
    return np.maximum(m, scores.max(axis=-1)), l + np.exp(scores).sum(axis=-1)


def update_no_shift_old_max(m, l, scores):  # forgets the max entirely
    return m, l + np.exp(scores).sum(axis=-1)


def update_no_axis(m, l, scores):  # reduces the whole block to one number
    m_new = np.maximum(m, scores.max())
    return m_new, l * np.exp(m - m_new) + np.exp(scores - scores.max()).sum()


def update_keeps_block_axis(m, l, scores):
    m_new = np.maximum(m[..., None], scores)
    return m_new, l[..., None] * np.exp(m[..., None] - m_new)


def update_returns_sum_only(m, l, scores):
    return update_numpy(m, l, scores)[1]


def update_raises(m, l, scores):
    return m + scores  # (2,) + (2, 3) does not broadcast


def update_half(m, l, scores):
    m_new, l_new = update_numpy(m, l, scores)
    return m_new, l_new / 2


RIGHT = [update_numpy, update_loop, update_logaddexp]
WRONG = [  # (function, key, row of the table or None for a fallback)
    (update_not_rescaled, "wrong_values", "sum_not_rescaled"),
    (update_rescaled_inverted, "wrong_values", "rescaled_the_wrong_way"),
    (update_block_max, "wrong_values", "block_max_only"),
    (update_no_shift, "unstable_softmax", "no_max_subtracted"),
    (update_no_shift_old_max, "unstable_softmax", "no_max_subtracted"),
    (update_no_axis, "wrong_values", None),
    (update_half, "wrong_values", None),
    (update_keeps_block_axis, "wrong_shape", None),
    (update_returns_sum_only, "wrong_type", None),
    (update_raises, "raised", None),
]


@pytest.mark.parametrize("fn", RIGHT, ids=lambda f: f.__name__)
def test_a_right_update_passes(fn):
    result = check_online_softmax(fn)
    assert result.passed, result.message
    assert str(result).startswith("✓ Passed: ")


@pytest.mark.parametrize(("fn", "key", "row"), WRONG, ids=lambda x: getattr(x, "__name__", x))
def test_each_mistake_is_named(fn, key, row):
    result, named_row = explain(CHECKER.steps, fn)
    assert not result.passed and result.mistake == key, result.message
    assert named_row == row, result.message
    assert key in MISTAKE_KEYS
    assert str(check_online_softmax(fn)) == str(result)  # the public function is this table


def test_the_classic_mistake_message_says_what_to_do():
    message = check_online_softmax(update_not_rescaled).message
    assert "forgot to rescale the old sum when the max changed" in message
    assert "exp(m − m_new)" in message
    assert "query 0 with m = 1, l = 1.5" in message  # the row whose max rose, with numbers


def test_every_row_of_the_table_is_planted():
    rows = {row.label for row in CHECKER.mistakes + CHECKER.shape_mistakes}
    planted = {row for _, _, row in WRONG if row is not None}
    assert rows == planted


def test_every_variant_differs_from_the_right_update_in_some_case():
    for row in CHECKER.mistakes:
        for switches in row.switches:
            assert any(
                not same(online_update(case), online_update(case, **switches), nan=True)
                for case in CHECKER.cases()
            ), row.label


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
