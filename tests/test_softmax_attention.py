"""softmax and scaled_dot_product_attention: properties, and parity with torch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from _mha_strategies import TOLERANCE, max_abs_error, prop, random_mask, rng_array
from mha_lib.attention import scaled_dot_product_attention
from mha_lib.softmax import softmax

finite_floats = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
score_arrays = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
    elements=finite_floats,
)


# ---------------------------------------------------------------------------------------------
# softmax
# ---------------------------------------------------------------------------------------------


@prop(60)
@given(x=score_arrays, data=st.data())
def test_softmax_sums_to_one_along_axis_and_matches_torch(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    weights = softmax(x, axis=axis)
    assert weights.shape == x.shape and weights.dtype == np.float64
    assert np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=axis), 1.0, atol=1e-12)
    reference = torch.softmax(torch.from_numpy(x), dim=axis).numpy()
    assert max_abs_error(weights, reference) <= 1e-12


@prop(40)
@given(x=score_arrays, constant=st.floats(-1e3, 1e3))
def test_softmax_is_invariant_to_adding_a_constant(x, constant):
    np.testing.assert_allclose(softmax(x + constant), softmax(x), atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_huge_logits_stay_finite(dtype):
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4, 0.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        weights = softmax(x)
    assert weights.dtype == dtype
    assert np.isfinite(weights).all()
    np.testing.assert_allclose(weights[0], [1, 0, 0], atol=1e-7)
    np.testing.assert_allclose(weights[1], [1 / 3] * 3, atol=1e-7)
    np.testing.assert_allclose(weights[2], [0, 0, 1], atol=1e-7)


def test_softmax_of_an_all_neg_inf_row_is_zeros_not_nan():
    x = np.array([[0.5, -np.inf, 2.0], [-np.inf, -np.inf, -np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weights = softmax(x)
    np.testing.assert_array_equal(weights[1], [0.0, 0.0, 0.0])
    assert weights[0, 1] == 0.0
    np.testing.assert_allclose(weights[0, [0, 2]], softmax(np.array([0.5, 2.0])), atol=1e-15)


def test_softmax_converts_lists_and_ints_to_float64_and_keeps_float32():
    assert softmax([1, 2, 3]).dtype == np.float64
    assert softmax(np.arange(4)).dtype == np.float64
    assert softmax(np.zeros((2, 3), np.float32)).dtype == np.float32
    np.testing.assert_allclose(softmax([0, 0, 0, 0]), [0.25] * 4)


def test_softmax_over_axis_0_is_softmax_over_the_columns():
    x = rng_array(np.random.default_rng(0), (3, 4))
    np.testing.assert_allclose(softmax(x, axis=0), softmax(x.T).T, atol=1e-15)


def test_softmax_keeps_an_empty_axis_empty():
    assert softmax(np.zeros((2, 0))).shape == (2, 0)


# ---------------------------------------------------------------------------------------------
# scaled_dot_product_attention
# ---------------------------------------------------------------------------------------------


@st.composite
def sdpa_cases(draw):
    batch_shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    seq_len_q, seq_len_k = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    d_k, d_v = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    mask_kind = draw(st.sampled_from(["none", "causal", "random", "padding"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    q = rng_array(rng, (*batch_shape, seq_len_q, d_k), dtype)
    k = rng_array(rng, (*batch_shape, seq_len_k, d_k), dtype)
    v = rng_array(rng, (*batch_shape, seq_len_k, d_v), dtype)
    weights_shape = (*batch_shape, seq_len_q, seq_len_k)
    if mask_kind == "none":
        mask = None
    elif mask_kind == "causal":
        mask = np.tril(np.ones((seq_len_q, seq_len_k), bool))  # (T_q, T_k), key 0 always kept
    elif mask_kind == "padding":
        mask = random_mask(rng, (*batch_shape, 1, seq_len_k))  # (..., 1, T_k)
    else:
        mask = random_mask(rng, weights_shape)  # (..., T_q, T_k)
    return q, k, v, mask


def _torch_sdpa(q, k, v, mask):
    """torch's output, and its weights obtained by attending over identity values."""
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
    tmask = (
        None
        if mask is None
        else torch.from_numpy(np.broadcast_to(mask, q.shape[:-1] + k.shape[-2:-1]).copy())
    )
    output = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=tmask)
    # With v = identity (T_k, T_k), the output *is* the weights matrix.
    identity = torch.eye(k.shape[-2], dtype=tq.dtype).expand(*k.shape[:-1], k.shape[-2])
    weights = F.scaled_dot_product_attention(tq, tk, identity, attn_mask=tmask)
    return output.numpy(), weights.numpy()


@prop(80)
@given(case=sdpa_cases())
def test_sdpa_matches_torch_functional(case):
    q, k, v, mask = case
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    assert output.dtype == q.dtype and weights.dtype == q.dtype
    assert output.shape == q.shape[:-1] + v.shape[-1:]
    assert weights.shape == q.shape[:-1] + k.shape[-2:-1]
    ref_output, ref_weights = _torch_sdpa(q, k, v, mask)
    tolerance = TOLERANCE[q.dtype.type]
    assert max_abs_error(output, ref_output) <= tolerance
    assert max_abs_error(weights, ref_weights) <= tolerance


@prop(40)
@given(case=sdpa_cases())
def test_sdpa_weights_sum_to_one_over_keys_and_masked_keys_get_zero(case):
    q, k, v, mask = case
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
    if mask is not None:
        assert np.all(weights[~np.broadcast_to(mask, weights.shape)] == 0)


def test_sdpa_divides_by_sqrt_d_k_not_d_k():
    q = np.array([[2.0, 0.0, 0.0, 0.0]])  # (T_q=1, d_k=4)
    k = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])  # (T_k=2, d_k=4)
    v = np.array([[1.0], [0.0]])
    _, weights = scaled_dot_product_attention(q, k, v)
    scores = np.array([2.0 / math.sqrt(4), 0.0])
    expected = np.exp(scores) / np.exp(scores).sum()
    np.testing.assert_allclose(weights[0], expected, atol=1e-15)


def test_sdpa_fully_masked_row_gives_zero_weights_and_zero_output():
    rng = np.random.default_rng(1)
    q, k, v = rng_array(rng, (2, 3, 4)), rng_array(rng, (2, 5, 4)), rng_array(rng, (2, 5, 6))
    mask = np.ones((2, 3, 5), bool)
    mask[1, 2] = False  # batch 1, query 2: no key at all
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        output, weights = scaled_dot_product_attention(q, k, v, mask)
    assert np.isfinite(output).all() and np.isfinite(weights).all()
    np.testing.assert_array_equal(weights[1, 2], 0.0)
    np.testing.assert_array_equal(output[1, 2], 0.0)
    np.testing.assert_allclose(weights.sum(-1)[0], 1.0)


def test_sdpa_mask_true_means_may_attend():
    rng = np.random.default_rng(2)
    q, k, v = rng_array(rng, (3, 4)), rng_array(rng, (5, 4)), rng_array(rng, (5, 2))
    mask = np.zeros((3, 5), bool)
    mask[:, 3] = True  # every query may attend to key 3 only
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    np.testing.assert_allclose(weights[:, 3], 1.0)
    np.testing.assert_allclose(output, np.broadcast_to(v[3], (3, 2)))


def test_sdpa_values_of_masked_keys_do_not_matter():
    rng = np.random.default_rng(3)
    q, k, v = rng_array(rng, (4, 3)), rng_array(rng, (6, 3)), rng_array(rng, (6, 5))
    mask = np.tril(np.ones((4, 6), bool))
    changed = v.copy()
    changed[4:] = 1e6  # keys 4 and 5 are masked for every query
    np.testing.assert_allclose(
        scaled_dot_product_attention(q, k, v, mask)[0],
        scaled_dot_product_attention(q, k, changed, mask)[0],
        atol=1e-12,
    )


def test_sdpa_broadcasts_leading_dims():
    rng = np.random.default_rng(4)
    q = rng_array(rng, (2, 1, 3, 4))  # (batch, 1, T_q, d_k)
    k = rng_array(rng, (1, 5, 6, 4))  # (1, heads, T_k, d_k)
    v = rng_array(rng, (6, 2))  # (T_k, d_v), shared by everything
    output, weights = scaled_dot_product_attention(q, k, v)
    assert output.shape == (2, 5, 3, 2) and weights.shape == (2, 5, 3, 6)
    full = [np.broadcast_to(a, (2, 5, *a.shape[-2:])) for a in (q, k, v)]
    expected_output, expected_weights = scaled_dot_product_attention(*full)
    np.testing.assert_allclose(output, expected_output, atol=1e-15)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-15)


def test_sdpa_dtypes_float32_stays_float32_and_lists_become_float64():
    rng = np.random.default_rng(5)
    q32 = rng_array(rng, (2, 3), np.float32)
    output, weights = scaled_dot_product_attention(q32, q32, q32)
    assert output.dtype == np.float32 and weights.dtype == np.float32
    output, weights = scaled_dot_product_attention([[1, 0]], [[1, 0], [0, 1]], [[1], [2]])
    assert output.dtype == np.float64 and output.shape == (1, 1)
    mixed, _ = scaled_dot_product_attention(q32, q32.astype(np.float64), q32)
    assert mixed.dtype == np.float64
