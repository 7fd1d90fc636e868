"""Inputs for lesson 02's inline steps (linear, project_qkv)."""

from __future__ import annotations

import numpy as np

from mha_lib import MHAParams

from . import Compare


def _linear_cases():
    """(x, w, b): square and narrow weights, with and without bias, with batch and head axes."""
    shapes = [
        ((10, 8), (8, 8), True),  # the lesson's case
        ((7, 8), (8, 4), True),  # d_out < d_in
        ((2, 5, 3), (3, 6), False),  # a batch axis, no bias
        ((2, 3, 4, 6), (6, 2), True),  # batch and head axes
        ((6,), (6, 5), True),  # a single token vector
    ]
    for seed, (x_shape, w_shape, with_bias) in enumerate(shapes):
        rng = np.random.default_rng(100 + seed)
        x = rng.standard_normal(x_shape)
        w = rng.standard_normal(w_shape)
        b = rng.standard_normal(w_shape[1]) if with_bias else None
        yield x, w, b


def _compare_project_qkv(inline, library) -> int:
    """Both return (q, k, v); compare each over self- and cross-attention inputs."""
    cases = [
        # (d_model, d_query_in, d_key_in, d_value_in, query shape[:-1], key shape[:-1])
        (8, None, None, None, (10,), (10,)),  # the lesson's self-attention
        (6, 4, 5, 3, (7,), (9,)),  # cross-attention: different widths and lengths
        (4, None, None, None, (2, 5), (2, 5)),  # a batch axis
        (8, 3, 3, 3, (2, 4), (3, 2, 6)),  # batch axes that broadcast differently
    ]
    for seed, (d_model, d_q, d_k, d_v, q_lead, k_lead) in enumerate(cases):
        params = MHAParams.init(
            d_model, d_query_in=d_q, d_key_in=d_k, d_value_in=d_v, seed=10 + seed
        )
        rng = np.random.default_rng(200 + seed)
        query = rng.standard_normal((*q_lead, params.d_query_in))
        key = rng.standard_normal((*k_lead, params.d_key_in))
        value = rng.standard_normal((*k_lead, params.d_value_in))
        got = inline(query, key, value, params)
        expected = library(query, key, value, params)
        assert len(got) == len(expected) == 3
        for name, g, e in zip("qkv", got, expected, strict=True):
            assert np.shape(g) == e.shape, f"case {seed}: {name} shape {np.shape(g)} vs {e.shape}"
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12, err_msg=f"case {seed}: {name}")
    # float32 weights and inputs stay float32 in both.
    params32 = MHAParams.init(8, seed=3, dtype=np.float32)
    x32 = np.random.default_rng(3).standard_normal((10, 8)).astype(np.float32)
    for g, e in zip(inline(x32, x32, x32, params32), library(x32, x32, x32, params32), strict=True):
        assert g.dtype == e.dtype == np.float32
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)
    return len(cases) + 1


CASES = {
    "mha_lib.linear": _linear_cases,
    "mha_lib.project_qkv": Compare(_compare_project_qkv),
}
