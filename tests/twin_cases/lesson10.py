"""Inputs for lesson 10's inline step (pattern_mass): random attention weights, with and
without a batch axis, several head counts and lengths."""

from __future__ import annotations

import numpy as np


def _pattern_cases():
    for seed, shape in enumerate([(2, 10, 10), (3, 2, 10, 10), (4, 3, 3), (1, 1, 7, 7)]):
        scores = np.random.default_rng(seed).standard_normal(shape)
        weights = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
        yield (weights,)


CASES = {"mha_lib.specialise.pattern_mass": _pattern_cases}
