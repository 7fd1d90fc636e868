"""Inputs for lesson 07's inline step (multi_head_attention)."""

from __future__ import annotations

import numpy as np

from mha_lib import MHAParams, causal_mask, padding_mask

from . import Compare


def _mha_cases():
    # Self-attention on one sequence (the lesson's shapes), no mask.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 8))
    yield x, x, x, MHAParams.init(8, seed=0), 2

    # A batch with a causal mask, 4 heads.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 8))
    yield x, x, x, MHAParams.init(8, seed=1), 4, causal_mask(6)

    # Cross-attention: T_q = 5, T_k = 7, key and value widths 10 and 6, a padding mask with
    # the heads and query axes added, 3 heads of d_head = 4.
    rng = np.random.default_rng(2)
    params = MHAParams.init(12, d_key_in=10, d_value_in=6, seed=2)
    query = rng.standard_normal((2, 5, 12))
    key = rng.standard_normal((2, 7, 10))
    value = rng.standard_normal((2, 7, 6))
    mask = padding_mask([7, 4], 7)[:, None, None, :]  # (batch, 1, 1, T_k)
    yield query, key, value, params, 3, mask

    # No biases, one head, two batch axes.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 6))
    yield x, x, x, MHAParams.init(6, bias=False, seed=3), 1

    # As many heads as features (d_head = 1), with a fully masked query row.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4))
    mask = causal_mask(3)
    mask[0] = False
    yield x, x, x, MHAParams.init(4, seed=4), 4, mask


def _compare_mha(inline, library) -> int:
    """Both return (output, weights); compare each, then a float32 case."""
    count = 0
    for args in _mha_cases():
        got, expected = inline(*args), library(*args)
        assert len(got) == len(expected) == 2
        for name, g, e in zip(("output", "weights"), got, expected, strict=True):
            assert np.shape(g) == e.shape, f"case {count}: {name} {np.shape(g)} vs {e.shape}"
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12, err_msg=f"case {count}")
        count += 1
    params32 = MHAParams.init(8, seed=5, dtype=np.float32)
    x32 = np.random.default_rng(5).standard_normal((2, 10, 8)).astype(np.float32)
    got = inline(x32, x32, x32, params32, 2)
    expected = library(x32, x32, x32, params32, 2)
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == e.dtype == np.float32
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)
    return count + 1


CASES = {
    "mha_lib.multi_head_attention": Compare(_compare_mha),
}
