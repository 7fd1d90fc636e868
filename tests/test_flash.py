"""mha_lib.flash_attention: equal to the reference for every tiling, masks and odd lengths;
zeros (never NaN) for a fully masked query; named errors; and a smaller peak memory."""

from __future__ import annotations

import re
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mha_lib
from _mha_strategies import max_abs_error, prop, random_mask, rng_array
from mha_lib import flash_attention, scaled_dot_product_attention

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}


@st.composite
def attention_inputs(draw):
    """Batch axes (with broadcasting), T_q ≠ T_k, d_k ≠ d_v, a mask of any of five kinds
    (fully masked queries included) and a block size from 1 to max(T_q, T_k) + 3."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16), label="seed"))
    dtype = draw(st.sampled_from([np.float64, np.float32]), label="dtype")
    batch = draw(st.sampled_from([(), (2,), (2, 3)]), label="batch")
    seq_len_q = draw(st.integers(1, 13), label="T_q")
    seq_len_k = draw(st.integers(1, 13), label="T_k")
    d_k, d_v = draw(st.integers(1, 6), label="d_k"), draw(st.integers(1, 5), label="d_v")
    broadcast_k = batch and draw(st.booleans(), label="k, v shared over the first batch axis")
    kv_batch = (1, *batch[1:]) if broadcast_k else batch
    q = rng_array(rng, (*batch, seq_len_q, d_k), dtype)
    k = rng_array(rng, (*kv_batch, seq_len_k, d_k), dtype)
    v = rng_array(rng, (*kv_batch, seq_len_k, d_v), dtype)
    kind = draw(
        st.sampled_from(["none", "causal", "padding", "random", "with_empty_rows"]), label="mask"
    )
    weights_shape = (*batch, seq_len_q, seq_len_k)
    mask = None
    if kind == "causal":
        mask = np.tril(np.ones((seq_len_q, seq_len_k), dtype=bool))  # (T_q, T_k)
    elif kind == "padding":  # (..., 1, T_k): broadcast over the queries
        lengths = rng.integers(1, seq_len_k + 1, size=batch)  # one per sequence
        mask = (np.arange(seq_len_k) < lengths[..., None])[..., None, :]  # (..., 1, T_k)
    elif kind == "random":
        mask = random_mask(rng, weights_shape)
    elif kind == "with_empty_rows":  # some queries may attend to nothing at all
        mask = rng.random(weights_shape) < 0.3
        mask[..., 0, :] = False
    block_size = draw(st.integers(1, max(seq_len_q, seq_len_k) + 3), label="block_size")
    return q, k, v, mask, block_size


@prop(250)
@given(inputs=attention_inputs())
def test_flash_attention_equals_the_reference(inputs):
    q, k, v, mask, block_size = inputs
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warnings either
        got = flash_attention(q, k, v, mask, block_size=block_size)
    expected, weights = scaled_dot_product_attention(q, k, v, mask)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert np.isfinite(got).all()
    assert max_abs_error(got, expected) <= TOLERANCE[q.dtype.type]
    empty = ~weights.any(axis=-1)  # queries whose keys are all blocked
    assert np.all(got[empty] == 0.0)


@pytest.mark.parametrize("block_size", [1, 2, 3, 4, 5, 7, 64])
def test_every_block_size_gives_the_same_output_float64(block_size):
    rng = np.random.default_rng(11)
    q, k, v = rng.standard_normal((7, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    expected, _ = scaled_dot_product_attention(q, k, v)
    assert max_abs_error(flash_attention(q, k, v, block_size=block_size), expected) <= 1e-10


def test_the_default_block_size_and_large_scores_stay_exact():
    rng = np.random.default_rng(12)
    q = 30 * rng.standard_normal((2, 150, 16))  # scores in the hundreds: the max shifts matter
    k = 30 * rng.standard_normal((2, 130, 16))
    v = rng.standard_normal((2, 130, 8))
    causal = np.tril(np.ones((150, 130), dtype=bool))  # (T_q, T_k)
    expected, _ = scaled_dot_product_attention(q, k, v, causal)
    assert max_abs_error(flash_attention(q, k, v, causal), expected) <= 1e-10


def test_a_fully_masked_query_gives_zeros_never_nan():
    rng = np.random.default_rng(13)
    q, k, v = rng.standard_normal((4, 3)), rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    mask = np.ones((4, 6), dtype=bool)
    mask[1] = False  # query 1 may attend to nothing
    mask[2, :3] = False  # query 2 sees nothing in the first tile of 3 keys, then some
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = flash_attention(q, k, v, mask, block_size=3)
    np.testing.assert_array_equal(got[1], [0.0, 0.0])
    expected, _ = scaled_dot_product_attention(q, k, v, mask)
    assert max_abs_error(got, expected) <= 1e-10
    everything_blocked = flash_attention(q, k, v, np.zeros((4, 6), dtype=bool), block_size=2)
    np.testing.assert_array_equal(everything_blocked, np.zeros((4, 2)))


def test_float32_stays_float32():
    rng = np.random.default_rng(14)
    q, k, v = (rng.standard_normal((2, 9, 4)).astype(np.float32) for _ in range(3))
    got = flash_attention(q, k, v, block_size=4)
    assert got.dtype == np.float32
    assert max_abs_error(got, scaled_dot_product_attention(q, k, v)[0]) <= 1e-5


def _peak_bytes(fn, *args, **kwargs) -> int:
    """Peak of the memory numpy allocates during ``fn(*args)`` (tracemalloc sees numpy)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_stays_far_below_the_reference():
    """At T = 1024 the reference holds (T_q, T_k) scores and weights (8 MiB each in float64);
    flash_attention holds (block, block) tiles and (T_q, d) accumulators."""
    rng = np.random.default_rng(15)
    seq_len, d = 1024, 32
    q, k, v = (rng.standard_normal((seq_len, d)) for _ in range(3))
    causal = mha_lib.causal_mask(seq_len)
    for mask in (None, causal):
        reference = _peak_bytes(scaled_dot_product_attention, q, k, v, mask)
        flash = _peak_bytes(flash_attention, q, k, v, mask, block_size=64)
        scores_bytes = seq_len * seq_len * 8
        assert reference >= scores_bytes  # it builds the whole matrix, at least once
        assert flash < scores_bytes / 8  # never anything near it
        assert flash * 10 < reference


def test_peak_memory_grows_with_the_block_not_the_length():
    rng = np.random.default_rng(16)
    peaks = {}
    for seq_len in (512, 2048):
        q, k, v = (rng.standard_normal((seq_len, 16)) for _ in range(3))
        peaks[seq_len] = _peak_bytes(flash_attention, q, k, v, block_size=32)
    # 4× the length: the (T, d) arrays grow 4×, but nothing grows 16× like T_q × T_k.
    assert peaks[2048] < 6 * peaks[512]


BAD = [
    ({"block_size": 0}, ValueError, ["block_size must be a positive int", "block_size=0",
                                      "q.shape=(4, 3)", "k.shape=(5, 3)"]),
    ({"block_size": -2}, ValueError, ["block_size must be a positive int", "block_size=-2"]),
    ({"block_size": 2.5}, TypeError, ["block_size must be a positive int", "float 2.5",
                                       "q.shape=(4, 3)"]),
    ({"block_size": True}, TypeError, ["block_size must be a positive int", "bool True"]),
    ({"block_size": None}, TypeError, ["block_size must be a positive int", "NoneType"]),
    ({"mask": np.ones((4, 5))}, TypeError, ["mask must be bool", "float64",
                                             "mask.shape=(4, 5)"]),
    ({"mask": np.ones((5, 4), dtype=bool)}, ValueError, ["mask.shape=(5, 4)",
                                                          "(4, 5) (..., T_q, T_k)"]),
    ({"v": np.zeros((6, 2))}, ValueError, ["same length T_k", "k.shape=(5, 3)",
                                            "v.shape=(6, 2)"]),
    ({"k": np.zeros((5, 2))}, ValueError, ["same width d_k", "q.shape=(4, 3)",
                                            "k.shape=(5, 2)"]),
    ({"q": np.zeros((0, 3))}, ValueError, ["q is an empty sequence", "T_q=0"]),
    ({"q": np.full((4, 3), np.nan)}, ValueError, ["q contains NaN", "q.shape=(4, 3)"]),
    ({"q": np.full((4, 3), 1e200), "k": np.full((5, 3), 1e200)}, ValueError,
     ["overflowed to inf", "q.shape=(4, 3)", "k.shape=(5, 3)"]),
]  # fmt: skip


@pytest.mark.parametrize(("change", "error", "fragments"), BAD, ids=lambda x: str(x)[:40])
def test_bad_input_names_the_argument_and_shapes(change, error, fragments):
    args = {"q": np.zeros((4, 3)), "k": np.zeros((5, 3)), "v": np.zeros((5, 2)), "mask": None,
            "block_size": 2} | change  # fmt: skip
    with pytest.raises(error) as raised:
        flash_attention(**args)
    message = str(raised.value)
    position = 0
    for fragment in fragments:
        found = message.find(fragment, position)
        assert found >= 0, f"{fragment!r} not in {message!r}"
        position = found
    assert not re.search(r"operands could not be broadcast", message)


def test_import_mha_lib_exports_flash_attention_without_torch():
    assert mha_lib.flash_attention is flash_attention
    assert "flash_attention" in mha_lib.__all__
    assert "Introduced in notebooks/11_cost_of_attention.ipynb" in flash_attention.__doc__
