"""Lesson 12's library (mha_lib.gqa, mha_lib.sliding_window_mask): grouped-query attention
equals PyTorch's ``enable_gqa`` attention and, with as many key/value heads as heads, the
course's MultiHeadAttention; decoding with a KVCache (token by token or in chunks, with or
without a window) equals one masked forward pass; the cache's length, shapes and bytes; named
errors for bad arguments."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import mha_lib
from _mha_strategies import prop
from mha_lib import GroupedQueryAttention, KVCache, causal_mask, repeat_kv, sliding_window_mask

HEAD_LAYOUTS = [(8, 8), (8, 4), (8, 2), (8, 1), (6, 3), (4, 1), (3, 1)]  # (heads, kv heads)


def _module(num_heads, num_kv_heads, d_head=3, bias=True, seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    module = GroupedQueryAttention(num_heads * d_head, num_heads, num_kv_heads, bias=bias)
    return module.to(dtype)


def _reference(module, x, mask):
    """The same layer through PyTorch's own grouped-query attention (enable_gqa=True)."""
    batch, seq_len, _ = x.shape
    h, kv, d = module.num_heads, module.num_kv_heads, module.d_head
    q = module.q_proj(x).view(batch, seq_len, h, d).transpose(1, 2)
    k = module.k_proj(x).view(batch, seq_len, kv, d).transpose(1, 2)
    v = module.v_proj(x).view(batch, seq_len, kv, d).transpose(1, 2)
    heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
    return module.out_proj(heads.transpose(1, 2).reshape(batch, seq_len, h * d))


# --- sliding_window_mask ----------------------------------------------------------------------


@pytest.mark.parametrize(("seq_len", "window"), [(1, 1), (5, 1), (6, 2), (7, 3), (4, 4), (4, 9)])
def test_sliding_window_mask_is_the_rule_i_minus_window_lt_j_le_i(seq_len, window):
    mask = sliding_window_mask(seq_len, window)
    assert mask.dtype == bool and mask.shape == (seq_len, seq_len)
    assert type(mask) is type(causal_mask(seq_len))
    for i in range(seq_len):
        for j in range(seq_len):
            assert mask[i, j] == (i - window < j <= i), (i, j)
    assert mask.sum(axis=1).tolist() == [min(i + 1, window) for i in range(seq_len)]


def test_a_window_as_long_as_the_sequence_is_the_causal_mask():
    np.testing.assert_array_equal(sliding_window_mask(6, 6), causal_mask(6))
    np.testing.assert_array_equal(sliding_window_mask(6, 100), causal_mask(6))
    np.testing.assert_array_equal(sliding_window_mask(6, 1), np.eye(6, dtype=bool))


@pytest.mark.parametrize(
    ("seq_len", "window", "error", "pattern"),
    [
        (5, 0, ValueError, r"window must be a positive int .* got window=0 \(seq_len=5\)"),
        (5, -2, ValueError, r"got window=-2"),
        (5, 2.0, TypeError, r"window must be a positive int .* got float 2\.0"),
        (5, True, TypeError, r"window must be a positive int"),
        (5, None, TypeError, r"window must be a positive int .* got NoneType"),
        (0, 2, ValueError, r"seq_len must be a positive int, got seq_len=0"),
        ("5", 2, TypeError, r"seq_len must be a positive int"),
    ],
)
def test_sliding_window_mask_names_bad_arguments(seq_len, window, error, pattern):
    with pytest.raises(error, match=pattern):
        sliding_window_mask(seq_len, window)


# --- repeat_kv ---------------------------------------------------------------------------------


def test_repeat_kv_pairs_kv_head_g_with_query_heads_g_times_n_rep_onwards():
    x = torch.arange(3.0).view(1, 3, 1, 1).expand(2, 3, 4, 5)  # head g holds the number g
    repeated = repeat_kv(x, 2)
    assert repeated.shape == (2, 6, 4, 5)
    assert repeated[0, :, 0, 0].tolist() == [0, 0, 1, 1, 2, 2]  # not [0, 1, 2, 0, 1, 2]
    assert repeat_kv(x, 1) is x


@pytest.mark.parametrize(
    ("x", "n_rep", "error", "pattern"),
    [
        (np.zeros((1, 2, 3, 4)), 2, TypeError, r"x must be a torch\.Tensor, got numpy\.ndarray"),
        (torch.zeros(2, 3, 4), 2, ValueError, r"x must be 4-D .* got x\.shape=\(2, 3, 4\)"),
        (torch.zeros(1, 2, 3, 4), 0, ValueError, r"n_rep=0 \(x\.shape=\(1, 2, 3, 4\)\)"),
        (torch.zeros(1, 2, 3, 4), 2.5, TypeError, r"n_rep must be a positive int .* float 2\.5"),
    ],
)
def test_repeat_kv_names_bad_arguments(x, n_rep, error, pattern):
    with pytest.raises(error, match=pattern):
        repeat_kv(x, n_rep)


# --- GroupedQueryAttention without a cache ---------------------------------------------------


def test_the_layers_have_the_issues_shapes():
    module = GroupedQueryAttention(12, 4, 2)
    assert module.q_proj.weight.shape == (12, 12) and module.out_proj.weight.shape == (12, 12)
    assert module.k_proj.weight.shape == module.v_proj.weight.shape == (6, 12)  # 2 heads of 3
    assert module.q_proj.bias is None  # bias=False by default
    assert all(isinstance(getattr(module, n), torch.nn.Linear) for n in ("k_proj", "v_proj"))
    assert "num_kv_heads=2" in repr(module)


@pytest.mark.parametrize(("num_heads", "num_kv_heads"), HEAD_LAYOUTS)
@pytest.mark.parametrize("masked", [False, True])
def test_equals_pytorch_enable_gqa(num_heads, num_kv_heads, masked):
    module = _module(num_heads, num_kv_heads, seed=num_heads + num_kv_heads)
    x = torch.randn(2, 7, module.d_model, generator=torch.Generator().manual_seed(1))
    mask = torch.tensor(causal_mask(7)) if masked else None
    with torch.no_grad():
        output, weights = module(x, mask=mask, need_weights=True)
        reference = _reference(module, x, mask)
    assert weights.shape == (2, num_heads, 7, 7)
    torch.testing.assert_close(output, reference, rtol=0, atol=1e-5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, num_heads, 7))
    assert module(x, mask=mask)[1] is None


def test_as_many_kv_heads_as_heads_is_the_courses_multi_head_attention():
    torch.manual_seed(3)
    mha = mha_lib.MultiHeadAttention(12, 4, bias=True).double()
    gqa = GroupedQueryAttention(12, 4, 4, bias=True).double()
    gqa.load_state_dict(mha.state_dict())  # the same layer names and shapes
    x = torch.randn(3, 6, 12, dtype=torch.float64)
    mask = torch.tensor(causal_mask(6))
    with torch.no_grad():
        for m in (None, mask):
            ours, ours_weights = gqa(x, mask=m, need_weights=True)
            theirs, their_weights = mha(x, mask=m, need_weights=True)
            torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)
            torch.testing.assert_close(ours_weights, their_weights, rtol=0, atol=1e-12)


def test_one_kv_head_is_multi_query_every_head_reads_the_same_keys():
    module = _module(4, 1, d_head=2)
    x = torch.randn(1, 5, 8)
    assert module.k_proj.weight.shape == (2, 8)  # one head of width d_head
    with torch.no_grad():
        q = module.q_proj(x).view(1, 5, 4, 2).transpose(1, 2)  # (1, 4, 5, 2)
        k = module.k_proj(x)[:, None]  # (1, 1, 5, 2): one key head for all four
        scores = q @ k.transpose(-2, -1) / 2**0.5
        _, weights = module(x, need_weights=True)
    torch.testing.assert_close(weights, torch.softmax(scores, -1), rtol=0, atol=1e-6)


def test_a_fully_blocked_query_gets_zero_weights_not_nan():
    module = _module(4, 2)
    x = torch.randn(1, 4, 12)
    mask = torch.tensor(causal_mask(4))
    mask[2] = False
    output, weights = module(x, mask=mask, need_weights=True)
    assert torch.isfinite(output).all() and (weights[:, :, 2] == 0).all()
    output.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())


# --- the KV cache ------------------------------------------------------------------------------


def _decode(module, x, chunks, window=None):
    """Run ``x (B, T, d_model)`` through ``module`` in pieces of the given lengths, with one
    cache; return the outputs side by side and the cache."""
    cache, outputs, start = KVCache(window=window), [], 0
    for size in chunks:
        outputs.append(module(x[:, start : start + size], cache=cache)[0])
        start += size
    return torch.cat(outputs, dim=1), cache


@st.composite
def decoding(draw):
    """A layout of heads, a batch, a length, a split of it into a prompt and later chunks
    (often single tokens), a dtype-float32 input, and sometimes a window."""
    num_heads, num_kv_heads = draw(st.sampled_from(HEAD_LAYOUTS), label="heads, kv heads")
    d_head = draw(st.integers(1, 4), label="d_head")
    batch = draw(st.integers(1, 3), label="batch")
    seq_len = draw(st.integers(1, 12), label="seq_len")
    prompt = draw(st.integers(1, seq_len), label="prompt")
    chunks, left = [prompt], seq_len - prompt
    while left:
        size = draw(st.sampled_from([1, 1, 1, 2, 3]), label="chunk")
        chunks.append(min(size, left))
        left -= chunks[-1]
    window = draw(st.one_of(st.none(), st.integers(1, seq_len + 2)), label="window")
    seed = draw(st.integers(0, 2**16), label="seed")
    return num_heads, num_kv_heads, d_head, batch, seq_len, chunks, window, seed


@prop(120)
@given(case=decoding())
def test_decoding_with_a_cache_equals_one_masked_forward_pass(case):
    num_heads, num_kv_heads, d_head, batch, seq_len, chunks, window, seed = case
    module = _module(num_heads, num_kv_heads, d_head=d_head, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, seq_len, module.d_model, generator=generator)
    rule = causal_mask(seq_len) if window is None else sliding_window_mask(seq_len, window)
    with torch.no_grad():
        full, _ = module(x, mask=torch.tensor(rule))
        decoded, cache = _decode(module, x, chunks, window)
        one_by_one, _ = _decode(module, x, [1] * seq_len, window)
    assert (decoded - full).abs().max() <= 1e-5
    assert (one_by_one - full).abs().max() <= 1e-5
    kept = seq_len if window is None else min(window, seq_len)
    assert len(cache) == kept and cache.seen == seq_len
    assert cache.keys.shape == cache.values.shape == (batch, num_kv_heads, kept, d_head)
    assert cache.nbytes == 2 * batch * num_kv_heads * kept * d_head * 4  # float32


def test_the_cache_holds_the_keys_and_values_of_the_layer():
    module = _module(4, 2, d_head=3)
    x = torch.randn(2, 5, 12)
    cache = KVCache()
    assert len(cache) == 0 and cache.nbytes == 0 and cache.keys is None
    with torch.no_grad():
        module(x[:, :3], cache=cache)
        module(x[:, 3:], cache=cache)
        keys = module.k_proj(x).view(2, 5, 2, 3).transpose(1, 2)  # (B, kv, T, d_head)
        values = module.v_proj(x).view(2, 5, 2, 3).transpose(1, 2)
    torch.testing.assert_close(cache.keys, keys, rtol=0, atol=1e-6)
    torch.testing.assert_close(cache.values, values, rtol=0, atol=1e-6)
    assert cache.nbytes == 2 * 2 * 2 * 5 * 3 * 4
    assert repr(cache) == "KVCache(len=5, window=None, keys.shape=(2, 2, 5, 3))"


def test_a_windowed_cache_stops_growing_and_keeps_the_last_positions():
    module = _module(4, 1, d_head=2)
    x = torch.randn(1, 9, 8)
    cache, sizes = KVCache(window=3), []
    with torch.no_grad():
        for t in range(9):
            module(x[:, t : t + 1], cache=cache)
            sizes.append(len(cache))
        keys = module.k_proj(x).view(1, 9, 1, 2).transpose(1, 2)
    assert sizes == [1, 2, 3, 3, 3, 3, 3, 3, 3]
    torch.testing.assert_close(cache.keys, keys[:, :, -3:], rtol=0, atol=1e-6)


def test_with_a_cache_the_mask_blocks_more_keys_and_the_weights_cover_cached_ones():
    module = _module(4, 2)
    x = torch.randn(1, 6, 12)
    padding = torch.tensor([False, True, True, True, True, True])  # key 0 is padding
    full_mask = torch.tensor(causal_mask(6)) & padding
    with torch.no_grad():
        full, _ = module(x, mask=full_mask)
        cache = KVCache()
        first, _ = module(x[:, :4], mask=full_mask[:4, :4], cache=cache)
        last, weights = module(x[:, 4:], mask=padding, cache=cache, need_weights=True)
    assert weights.shape == (1, 4, 2, 6) and (weights[..., 0] == 0).all()
    torch.testing.assert_close(torch.cat([first, last], 1), full, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: GroupedQueryAttention(12, 4, 3), ValueError,
         r"num_heads=4 is not divisible by num_kv_heads=3.*choose num_kv_heads from \[1, 2, 4\]"),
        (lambda: GroupedQueryAttention(10, 4, 2), ValueError,
         r"d_model=10 is not divisible by num_heads=4"),
        (lambda: GroupedQueryAttention(12, 4, 0), ValueError, r"num_kv_heads=0"),
        (lambda: GroupedQueryAttention(12, 4, 2.0), TypeError, r"num_kv_heads must be a positive"),
        (lambda: GroupedQueryAttention(12, 4, 2, bias=1), TypeError, r"bias must be True or Fal"),
        (lambda: KVCache(window=0), ValueError, r"window must be a positive int \(the positions kept, or None for all\), got window=0"),
        (lambda: KVCache(window="4"), TypeError, r"window must be a positive int .* got str '4'"),
    ],
)  # fmt: skip
def test_constructors_name_bad_arguments(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def _forward_errors():
    module = GroupedQueryAttention(12, 4, 2)
    filled = KVCache()
    module(torch.randn(2, 3, 12), cache=filled)
    return module, filled


@pytest.mark.parametrize(
    ("args", "error", "pattern"),
    [
        (lambda c: (np.zeros((1, 3, 12)),), TypeError, r"x must be a torch\.Tensor"),
        (lambda c: (torch.zeros(3, 12),), ValueError,
         r"x must be \(batch, seq_len, d_model\) .* got x\.shape=\(3, 12\)"),
        (lambda c: (torch.zeros(1, 3, 8),), ValueError,
         r"x has width 8 \(x\.shape=\(1, 3, 8\)\) but q_proj expects 12"),
        (lambda c: (torch.zeros(1, 3, 12, dtype=torch.float64),), TypeError,
         r"x has dtype torch\.float64 but the module's weights are torch\.float32"),
        (lambda c: (torch.zeros(1, 3, 12, dtype=torch.long),), TypeError, r"floating point"),
        (lambda c: (torch.zeros(1, 0, 12),), ValueError, r"x is an empty sequence"),
        (lambda c: (torch.zeros(1, 3, 12), torch.ones(3, 3)), TypeError, r"mask must be bool"),
        (lambda c: (torch.zeros(1, 3, 12), torch.ones(3, 4, dtype=torch.bool)), ValueError,
         r"mask\.shape=\(3, 4\) does not broadcast .* \(1, 4, 3, 3\)"),
        (lambda c: (torch.zeros(2, 1, 12), torch.ones(1, 3, dtype=torch.bool), c), ValueError,
         r"mask\.shape=\(1, 3\) does not broadcast .* \(2, 4, 1, 4\)"),
        (lambda c: (torch.zeros(1, 1, 12), None, c), ValueError,
         r"cache holds keys of shape \(2, 2, 3, 3\) .* x\.shape=\(1, 1, 12\)"),
        (lambda c: (torch.zeros(1, 1, 12), None, "cache"), TypeError,
         r"cache must be an mha_lib\.KVCache"),
    ],
)  # fmt: skip
def test_forward_names_bad_arguments(args, error, pattern):
    module, filled = _forward_errors()
    with pytest.raises(error, match=pattern):
        module(*args(filled))
    assert len(filled) == 3  # a refused call leaves the cache as it was


def test_docstrings_name_the_lesson():
    for obj in (GroupedQueryAttention, KVCache, repeat_kv, sliding_window_mask,
                GroupedQueryAttention.forward):  # fmt: skip
        assert "Introduced in notebooks/12_todays_models.ipynb" in obj.__doc__
    assert re.search(r"\(batch, num_kv_heads, len\(cache\), d_head\)", KVCache.__doc__)
