"""Inputs for lesson 03's inline step (attention_scores)."""

from __future__ import annotations

import numpy as np


def _score_cases():
    """(q, k): square and rectangular, with batch and head axes, broadcasting, and float32."""
    shapes = [
        ((10, 8), (10, 8)),  # the lesson's case
        ((5, 16), (7, 16)),  # T_q ≠ T_k
        ((2, 3, 5, 4), (2, 3, 7, 4)),  # (batch, num_heads, T, d_head)
        ((2, 1, 4, 6), (3, 9, 6)),  # leading axes that broadcast
        ((1, 1), (3, 1)),  # d_k = 1, a single query
    ]
    for seed, (q_shape, k_shape) in enumerate(shapes):
        rng = np.random.default_rng(300 + seed)
        yield rng.standard_normal(q_shape), rng.standard_normal(k_shape)
    rng = np.random.default_rng(399)
    yield (
        rng.standard_normal((4, 8)).astype(np.float32),
        rng.standard_normal((6, 8)).astype(np.float32),
    )


CASES = {
    "mha_lib.attention_scores": _score_cases,
}
