"""Inputs for lesson 04's inline steps (softmax).

The lesson's softmax is the plain stable formula; it is compared with mha_lib.softmax on rows
that hold at least one finite score (partly masked rows included). A row that is entirely -inf
is where the two differ on purpose (nan vs zeros): the lesson shows that difference itself.
"""

from __future__ import annotations

import numpy as np


def _softmax_cases():
    rng = np.random.default_rng(4)
    yield (rng.standard_normal(10),)  # one row of scores
    yield (rng.standard_normal((10, 10)), -1)  # the (T_q, T_k) matrix
    yield (3 * rng.standard_normal((2, 3, 5, 7)),)  # (batch, num_heads, T_q, T_k)
    yield (rng.standard_normal((4, 6, 5)), 0)  # another axis
    yield (rng.standard_normal((4, 6, 5)), 1)
    yield (np.array([[1000.0, 999.0, 998.0], [-1000.0, -999.0, -1001.0]]),)  # huge logits
    partly_masked = rng.standard_normal((6, 6))
    partly_masked[np.triu_indices(6, k=1)] = -np.inf  # a causal mask applied as -inf
    yield (partly_masked,)
    yield (rng.standard_normal((3, 8)).astype(np.float32),)  # float32 stays float32


CASES = {
    "mha_lib.softmax": _softmax_cases,
}
