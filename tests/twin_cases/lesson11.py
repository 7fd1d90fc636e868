"""Inputs for lesson 11's inline step (tiled_attention, twin of mha_lib.flash_attention).

Float64 arrays with the batch axes equal in q, k and v (the lesson's version does not
broadcast them); masks of the full (T_q, T_k) shape, which the lesson slices tile by tile.
Cases: lengths that block_size does not divide, T_q ≠ T_k, d_k ≠ d_v, block sizes from 1 to
more than the length, a causal mask, a padding-like mask, a query that may attend to nothing
(zeros in both), and scores in the hundreds, where the running max changes a lot.
"""

from __future__ import annotations

import numpy as np


def _flash_cases():
    rng = np.random.default_rng(11)

    def qkv(*batch, t_q, t_k, d_k, d_v, scale=1.0):
        return (
            scale * rng.standard_normal((*batch, t_q, d_k)),  # q (..., T_q, d_k)
            scale * rng.standard_normal((*batch, t_k, d_k)),  # k (..., T_k, d_k)
            rng.standard_normal((*batch, t_k, d_v)),  # v (..., T_k, d_v)
        )

    yield (*qkv(t_q=10, t_k=10, d_k=8, d_v=8), None, 4)
    yield (*qkv(t_q=7, t_k=13, d_k=5, d_v=3), None, 1)
    yield (*qkv(2, t_q=9, t_k=9, d_k=4, d_v=4), np.tril(np.ones((9, 9), dtype=bool)), 3)
    padding = np.arange(11) < 6  # keys 6.. are padding: (T_k,) -> (T_q, T_k)
    yield (*qkv(2, 3, t_q=5, t_k=11, d_k=4, d_v=2), np.tile(padding, (5, 1)), 4)
    blocked = np.ones((6, 8), dtype=bool)
    blocked[2] = False  # query 2 may attend to nothing: zeros
    blocked[4, :5] = False  # query 4 sees nothing in its first tiles
    yield (*qkv(t_q=6, t_k=8, d_k=3, d_v=2), blocked, 2)
    yield (*qkv(t_q=12, t_k=12, d_k=8, d_v=4, scale=15.0), None, 5)  # scores in the hundreds
    yield (*qkv(t_q=3, t_k=4, d_k=2, d_v=2), None, 64)  # one tile bigger than everything


CASES = {
    "mha_lib.flash_attention": _flash_cases,
}
