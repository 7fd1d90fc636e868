"""Inputs for lesson 06's inline steps (split_heads, merge_heads)."""

from __future__ import annotations

import numpy as np


def _split_cases():
    # (shape of x, num_heads): the running example, a batch, several batch axes, one head,
    # and as many heads as features (d_head = 1).
    shapes = [
        ((10, 8), 2),
        ((2, 10, 8), 2),
        ((3, 5, 12), 3),
        ((2, 3, 7, 6), 2),
        ((4, 6), 1),
        ((1, 3, 4), 4),
    ]
    for seed, (shape, num_heads) in enumerate(shapes):
        yield np.random.default_rng(seed).standard_normal(shape), num_heads


def _merge_cases():
    # x (..., num_heads, seq_len, d_head)
    shapes = [(2, 10, 4), (2, 2, 10, 4), (3, 4, 5, 2), (2, 3, 1, 7, 3), (1, 6, 1)]
    for seed, shape in enumerate(shapes):
        yield (np.random.default_rng(100 + seed).standard_normal(shape),)


CASES = {
    "mha_lib.split_heads": _split_cases,
    "mha_lib.merge_heads": _merge_cases,
}
