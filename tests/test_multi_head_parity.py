"""multi_head_attention (numpy) and MultiHeadAttention (torch) against torch.nn.MultiheadAttention.

Every case: packed or separate (kdim/vdim) weights, bias on/off, self- or cross-attention
(T_q != T_k), batch sizes 1-3, 1-4 heads, no mask / causal / padding / both / random per-head
masks, float32 (max abs error <= 1e-5) and float64 (<= 1e-10), outputs and weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given

from _mha_strategies import (
    TOLERANCE,
    MHACase,
    causal_mask,
    make_inputs,
    make_torch_mha,
    max_abs_error,
    mha_cases,
    prop,
    rng_array,
    torch_reference,
)
from mha_lib.attention import scaled_dot_product_attention
from mha_lib.modules import MultiHeadAttention
from mha_lib.multi_head import multi_head_attention
from mha_lib.params import MHAParams


def _layer_and_inputs(case: MHACase):
    """The torch layer ``case`` describes, and inputs for it."""
    return make_torch_mha(case), make_inputs(case)


def _check_close(ours, reference, case: MHACase):
    tolerance = TOLERANCE[case.dtype]
    for name, a, b in zip(("output", "weights"), ours, reference, strict=True):
        error = max_abs_error(a, b)
        assert error <= tolerance, f"{name}: max abs error {error:.3g} > {tolerance} for {case}"


@prop(120)
@given(case=mha_cases())
def test_numpy_multi_head_attention_matches_torch(case):
    m, inputs = _layer_and_inputs(case)
    params = MHAParams.from_torch(m)
    output, weights = multi_head_attention(
        inputs.query, inputs.key, inputs.value, params, m.num_heads, mask=inputs.mask
    )
    assert output.dtype == case.dtype and weights.dtype == case.dtype
    assert output.shape == (case.batch, case.seq_len_q, case.d_model)
    assert weights.shape == case.weights_shape
    _check_close((output, weights), torch_reference(m, inputs), case)


@prop(120)
@given(case=mha_cases())
def test_torch_module_matches_torch(case):
    m, inputs = _layer_and_inputs(case)
    module = MultiHeadAttention.from_torch(m)
    mask = None if inputs.mask is None else torch.from_numpy(inputs.mask)
    tensors = (torch.from_numpy(x) for x in (inputs.query, inputs.key, inputs.value))
    with torch.no_grad():
        output, weights = module(*tensors, mask=mask, need_weights=True)
    assert output.dtype == m.out_proj.weight.dtype
    assert tuple(weights.shape) == case.weights_shape
    _check_close((output, weights), torch_reference(m, inputs), case)


@prop(40)
@given(case=mha_cases(dtypes=(np.float64,)))
def test_torch_module_gradients_match_torch(case):
    m, inputs = _layer_and_inputs(case)
    module = MultiHeadAttention.from_torch(m)
    mask = None if inputs.mask is None else torch.from_numpy(inputs.mask)
    grads = []
    for run in ("ours", "torch"):
        query = torch.from_numpy(inputs.query).clone().requires_grad_()
        key = torch.from_numpy(inputs.key).clone().requires_grad_()
        value = torch.from_numpy(inputs.value).clone().requires_grad_()
        if run == "ours":
            output, _ = module(query, key, value, mask=mask)
        else:
            output, _ = m(
                query,
                key,
                value,
                attn_mask=inputs.torch_attn_mask,
                key_padding_mask=inputs.torch_key_padding_mask,
                need_weights=False,
            )
        (
            output * torch.linspace(-1, 1, output.numel(), dtype=output.dtype).view_as(output)
        ).sum().backward()
        grads.append([query.grad, key.grad, value.grad])
    for ours, reference in zip(*grads, strict=True):
        assert max_abs_error(ours, reference) <= 1e-10


@prop(40)
@given(case=mha_cases())
def test_numpy_and_torch_module_agree_via_from_params(case):
    inputs = make_inputs(case)
    params = MHAParams.init(
        case.d_model,
        d_key_in=case.kdim,
        d_value_in=case.vdim,
        bias=case.bias,
        seed=case.seed,
        dtype=case.dtype,
    )
    ours = multi_head_attention(
        inputs.query, inputs.key, inputs.value, params, case.num_heads, inputs.mask
    )
    module = MultiHeadAttention.from_params(params, case.num_heads)
    mask = None if inputs.mask is None else torch.from_numpy(inputs.mask)
    with torch.no_grad():
        theirs = module(
            torch.from_numpy(inputs.query),
            torch.from_numpy(inputs.key),
            torch.from_numpy(inputs.value),
            mask=mask,
            need_weights=True,
        )
    _check_close(ours, theirs, case)


@prop(40)
@given(case=mha_cases())
def test_loop_over_heads_equals_batched_heads(case):
    """Each head attends with its own column block of q, k, v; the blocks are concatenated."""
    inputs = make_inputs(case)
    params = MHAParams.init(
        case.d_model, d_key_in=case.kdim, d_value_in=case.vdim, bias=case.bias, seed=case.seed
    )
    query, key, value = (a.astype(np.float64) for a in (inputs.query, inputs.key, inputs.value))
    output, weights = multi_head_attention(query, key, value, params, case.num_heads, inputs.mask)

    def project(x, w, b):
        return x @ w + (0 if b is None else b)

    q = project(query, params.w_q, params.b_q)  # (batch, T_q, d_model)
    k = project(key, params.w_k, params.b_k)  # (batch, T_k, d_model)
    v = project(value, params.w_v, params.b_v)  # (batch, T_k, d_model)
    full_mask = None
    if inputs.mask is not None:
        full_mask = np.broadcast_to(inputs.mask, case.weights_shape)
    head_outputs = []
    for h in range(case.num_heads):
        columns = slice(h * case.d_head, (h + 1) * case.d_head)
        head_mask = None if full_mask is None else full_mask[:, h]
        head_output, head_weights = scaled_dot_product_attention(
            q[..., columns], k[..., columns], v[..., columns], head_mask
        )
        np.testing.assert_allclose(weights[:, h], head_weights, atol=1e-12)
        head_outputs.append(head_output)  # (batch, T_q, d_head)
    concatenated = np.concatenate(head_outputs, axis=-1)  # (batch, T_q, d_model)
    np.testing.assert_allclose(output, project(concatenated, params.w_o, params.b_o), atol=1e-12)


def test_a_causal_mask_equals_its_full_broadcast():
    rng = np.random.default_rng(0)
    params = MHAParams.init(8, seed=0)
    x = rng_array(rng, (3, 5, 8))
    causal = causal_mask(5, 5)  # (T_q, T_k)
    full = np.broadcast_to(causal, (3, 2, 5, 5)).copy()  # (batch, num_heads, T_q, T_k)
    a = multi_head_attention(x, x, x, params, 2, mask=causal)
    b = multi_head_attention(x, x, x, params, 2, mask=full)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert np.all(np.triu(a[1][0, 0], k=1) == 0)  # no query looks ahead


def test_extra_leading_dims_and_unbatched_input_work():
    rng = np.random.default_rng(1)
    params = MHAParams.init(6, seed=1)
    x = rng_array(rng, (2, 3, 4, 6))  # (outer, batch, seq_len, d_model)
    output, weights = multi_head_attention(x, x, x, params, 3)
    assert output.shape == (2, 3, 4, 6) and weights.shape == (2, 3, 3, 4, 4)
    single, single_weights = multi_head_attention(x[1, 2], x[1, 2], x[1, 2], params, 3)
    np.testing.assert_allclose(single, output[1, 2], atol=1e-13)
    np.testing.assert_allclose(single_weights, weights[1, 2], atol=1e-13)


def test_key_and_value_batch_of_one_broadcast_against_query():
    rng = np.random.default_rng(2)
    params = MHAParams.init(4, seed=2)
    query = rng_array(rng, (3, 2, 4))  # (batch=3, T_q, d_model)
    memory = rng_array(rng, (1, 5, 4))  # (batch=1, T_k, d_model): shared by every query batch
    output, weights = multi_head_attention(query, memory, memory, params, 2)
    assert output.shape == (3, 2, 4) and weights.shape == (3, 2, 2, 5)
    repeated = np.repeat(memory, 3, axis=0)
    np.testing.assert_allclose(
        output, multi_head_attention(query, repeated, repeated, params, 2)[0]
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fully_masked_query_gets_zero_weights_and_output_bias_only(dtype):
    rng = np.random.default_rng(3)
    params = MHAParams.init(4, seed=3, dtype=dtype)
    x = rng_array(rng, (2, 3, 4), dtype)
    keep = np.array([[True, True, False], [False, False, False]])  # batch 1 is all padding
    output, weights = multi_head_attention(x, x, x, params, 2, mask=keep[:, None, None, :])
    assert output.dtype == dtype and np.isfinite(output).all()
    np.testing.assert_array_equal(weights[1], 0.0)
    np.testing.assert_allclose(output[1], np.broadcast_to(params.b_o, (3, 4)))
    np.testing.assert_allclose(weights[0].sum(-1), 1.0, rtol=1e-6)
