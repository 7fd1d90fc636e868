"""Inputs for lesson 05's inline step (scaled_dot_product_attention).

The twin returns ``(output, weights)``, a tuple of arrays, so it is compared with ``Compare``:
both elements must agree to 1e-12. Cases: the running example's shapes, T_q ≠ T_k with
d_k ≠ d_v, batch and head axes, a causal mask, a broadcast padding mask, a fully masked query
(zeros in both), large scores and float32.
"""

from __future__ import annotations

import numpy as np

from . import Compare


def _attention_cases():
    rng = np.random.default_rng(5)

    def qkv(*shape, t_q, t_k, d_k, d_v, scale=1.0):
        return (
            scale * rng.standard_normal((*shape, t_q, d_k)),  # q (..., T_q, d_k)
            scale * rng.standard_normal((*shape, t_k, d_k)),  # k (..., T_k, d_k)
            rng.standard_normal((*shape, t_k, d_v)),  # v (..., T_k, d_v)
        )

    yield qkv(t_q=10, t_k=10, d_k=8, d_v=8), None
    yield qkv(t_q=5, t_k=7, d_k=16, d_v=6), None
    yield qkv(2, 3, t_q=5, t_k=5, d_k=4, d_v=4), np.tril(np.ones((5, 5), dtype=bool))
    padding = np.arange(7)[None, :] < np.array([7, 4])[:, None]  # (batch, T_k)
    yield qkv(2, 3, t_q=5, t_k=7, d_k=4, d_v=3), padding[:, None, None, :]  # (2, 1, 1, 7)
    fully_masked = np.ones((4, 6), dtype=bool)
    fully_masked[2] = False  # query 2 may attend to nothing: weights and output are zeros
    yield qkv(t_q=4, t_k=6, d_k=5, d_v=2), fully_masked
    yield qkv(t_q=3, t_k=4, d_k=8, d_v=2, scale=20.0), None  # scores in the hundreds
    q, k, v = qkv(2, t_q=3, t_k=3, d_k=4, d_v=4)
    yield (q.astype(np.float32), k.astype(np.float32), v.astype(np.float32)), None


def _compare_attention(inline, library) -> int:
    count = 0
    for (q, k, v), mask in _attention_cases():
        expected = library(q, k, v, mask)
        got = inline(q, k, v, mask)
        assert isinstance(got, tuple) and len(got) == 2, "returns (output, weights)"
        for name, g, e in zip(("output", "weights"), got, expected, strict=True):
            assert g.shape == e.shape, f"{name}: shape {g.shape}, library {e.shape}"
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12, err_msg=name)
        count += 1
    return count


CASES = {
    "mha_lib.scaled_dot_product_attention": Compare(_compare_attention),
}
