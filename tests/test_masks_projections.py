"""Masks and projections: the helpers lessons 02 and 04 introduce."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import mha_lib
from mha_lib import MHAParams, causal_mask, linear, padding_mask, project_qkv

REPRO = settings(derandomize=True, database=None, deadline=None, max_examples=30)


@REPRO
@given(st.integers(1, 12))
def test_causal_mask_allows_exactly_the_past_and_present(seq_len):
    mask = causal_mask(seq_len)
    assert mask.shape == (seq_len, seq_len) and mask.dtype == bool
    for i in range(seq_len):
        for j in range(seq_len):
            assert mask[i, j] == (j <= i)


def test_causal_mask_matches_torch_sdpa_is_causal():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 6, 4)) for _ in range(3))
    ours, _ = mha_lib.scaled_dot_product_attention(q, k, v, mask=causal_mask(6))
    theirs = torch.nn.functional.scaled_dot_product_attention(
        *(torch.from_numpy(a) for a in (q, k, v)), is_causal=True
    )
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-12)


def test_padding_mask_marks_real_tokens_and_broadcasts_over_heads():
    mask = padding_mask([3, 1, 4], max_len=4)
    assert mask.tolist() == [
        [True, True, True, False],
        [True, False, False, False],
        [True, True, True, True],
    ]
    params = MHAParams.init(8, seed=1)
    x = np.random.default_rng(1).standard_normal((3, 4, 8))
    _, weights = mha_lib.multi_head_attention(x, x, x, params, 2, mask=mask[:, None, None, :])
    assert weights.shape == (3, 2, 4, 4)
    assert np.all(weights[1, :, :, 1:] == 0), "padding keys get no weight"
    np.testing.assert_allclose(weights.sum(-1), 1.0)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: causal_mask(0), ValueError, "seq_len"),
        (lambda: causal_mask(2.5), TypeError, "seq_len"),
        (lambda: padding_mask([0, 2], 3), ValueError, "max_len=3"),
        (lambda: padding_mask([2, 5], 3), ValueError, "lengths"),
        (lambda: padding_mask([[2]], 3), TypeError, r"shape \(1, 1\)"),
        (lambda: padding_mask([1.5], 3), TypeError, "lengths"),
        (lambda: padding_mask([], 3), ValueError, "lengths is empty"),
        (lambda: linear(np.ones((2, 3)), np.ones((4, 5))), ValueError, r"x.shape=\(2, 3\)"),
        (lambda: linear(np.ones((2, 3)), np.ones(3)), ValueError, r"w.shape=\(3,\)"),
        (lambda: linear(np.ones((2, 3)), np.ones((3, 4)), np.ones(3)), ValueError, "b.shape"),
        (lambda: linear(np.full((2, 3), np.nan), np.ones((3, 4))), ValueError, "x"),
        (lambda: project_qkv(np.ones((2, 8)), np.ones((2, 8)), np.ones((2, 8)), {}), TypeError,
         "MHAParams"),
        (lambda: project_qkv(np.ones((2, 7)), np.ones((2, 8)), np.ones((2, 8)),
                             MHAParams.init(8)), ValueError, r"query.shape=\(2, 7\)"),
    ],
)
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


@REPRO
@given(st.integers(1, 3), st.integers(1, 6), st.sampled_from([4, 8]), st.booleans())
def test_project_qkv_matches_torch_linear(batch, seq_len, d_model, bias):
    torch_mha = torch.nn.MultiheadAttention(d_model, 2, bias=bias, batch_first=True).double()
    with torch.no_grad():
        for p in torch_mha.parameters():
            p.uniform_(-1, 1)
    params = MHAParams.from_torch(torch_mha)
    x = np.random.default_rng(seq_len).standard_normal((batch, seq_len, d_model))
    q, k, v = project_qkv(x, x, x, params)
    weight = torch_mha.in_proj_weight.detach()
    b = torch_mha.in_proj_bias.detach() if bias else None
    for index, ours in enumerate((q, k, v)):
        rows = slice(index * d_model, (index + 1) * d_model)
        theirs = torch.nn.functional.linear(
            torch.from_numpy(x), weight[rows], None if b is None else b[rows]
        )
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-12)


def test_attention_scores_is_the_scaled_product_sdpa_uses():
    rng = np.random.default_rng(3)
    q, k = rng.standard_normal((5, 16)), rng.standard_normal((7, 16))
    scores = mha_lib.attention_scores(q, k)
    np.testing.assert_allclose(scores, q @ k.T / 4.0, atol=1e-12)
    _, weights = mha_lib.scaled_dot_product_attention(q, k, rng.standard_normal((7, 3)))
    np.testing.assert_allclose(weights, mha_lib.softmax(scores), atol=1e-12)
    with pytest.raises(ValueError, match=r"q.shape=\(5, 16\).*k.shape=\(7, 15\)"):
        mha_lib.attention_scores(q, k[:, :15])
