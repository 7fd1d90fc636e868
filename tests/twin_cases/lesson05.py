"""Inputs for lesson 05's inline steps (causal_mask, padding_mask), notebooks/05_masks.ipynb."""

from __future__ import annotations

import numpy as np


def _causal_cases():
    for seq_len in (1, 2, 4, 10, 33):
        yield (seq_len,)


def _padding_cases():
    yield ([10, 5], 10)
    yield ([1], 1)
    yield ([3, 7, 2, 7], 7)
    yield (np.array([4, 1, 6]), 9)
    yield ((2, 2), 2)  # no padding at all: every entry True
    yield ([1, 9], 9)  # a sequence of one real token next to a full one


CASES = {
    "mha_lib.causal_mask": _causal_cases,
    "mha_lib.padding_mask": _padding_cases,
}
