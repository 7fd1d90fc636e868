"""mha_lib.MultiHeadAttention's fast path (need_weights=False) against its step-by-step path,
torch.nn.MultiheadAttention and the numpy reference: masks (fully masked queries included),
cross-attention (key is value, and three separate inputs), bias on and off, kdim/vdim,
unbatched input, float32 and float64, gradients, and weights changed in place."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given

from _mha_strategies import (
    TOLERANCE,
    make_inputs,
    make_torch_mha,
    max_abs_error,
    mha_cases,
    prop,
    torch_reference,
)
from mha_lib import MultiHeadAttention
from mha_lib.multi_head import multi_head_attention


def _module_and_inputs(case):
    torch_mha = make_torch_mha(case)
    module = MultiHeadAttention.from_torch(torch_mha)
    inputs = make_inputs(case)
    query = torch.from_numpy(inputs.query)
    # Self-attention passes one tensor (so the fused q/k/v product is used) when make_inputs
    # made key and value the same array as the query.
    key = query if inputs.key is inputs.query else torch.from_numpy(inputs.key)
    value = key if inputs.value is inputs.key else torch.from_numpy(inputs.value)
    mask = None if inputs.mask is None else torch.from_numpy(np.asarray(inputs.mask))
    return torch_mha, module, inputs, (query, key, value), mask


@prop(150)
@given(case=mha_cases())
def test_fast_path_equals_the_step_by_step_path_torch_and_numpy(case):
    torch_mha, module, inputs, (query, key, value), mask = _module_and_inputs(case)
    with torch.no_grad():
        fast, none = module(query, key, value, mask=mask)
        steps, _ = module(query, key, value, mask=mask, need_weights=True)
    assert none is None
    tolerance = TOLERANCE[case.dtype]
    assert max_abs_error(fast, steps) <= tolerance
    torch_output, _ = torch_reference(torch_mha, inputs)
    assert max_abs_error(fast, torch_output) <= tolerance
    numpy_output, _ = multi_head_attention(
        inputs.query, inputs.key, inputs.value, module.to_params(), case.num_heads, inputs.mask
    )
    assert max_abs_error(fast, numpy_output) <= tolerance


@prop(40)
@given(case=mha_cases(dtypes=(np.float64,)))
def test_fast_path_gradients_equal_the_step_by_step_gradients(case):
    _, module, _, (query, key, value), mask = _module_and_inputs(case)
    grads = []
    for need_weights in (False, True):
        module.zero_grad()
        leaves = [t.detach().clone().requires_grad_() for t in (query, key, value)]
        # keep the identity of shared inputs, so the fast path fuses the same projections
        q_in = leaves[0]
        k_in = q_in if key is query else leaves[1]
        v_in = k_in if value is key else leaves[2]
        output, _ = module(q_in, k_in, v_in, mask=mask, need_weights=need_weights)
        (output * torch.linspace(-1, 1, output.shape[-1], dtype=output.dtype)).sum().backward()
        grads.append([p.grad.clone() for p in module.parameters()] + [q_in.grad.clone()])
    for fast, steps in zip(*grads, strict=True):
        assert torch.isfinite(fast).all()
        assert max_abs_error(fast, steps) <= 1e-9


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_self_attention_uses_one_fused_product_and_the_fused_kernel(monkeypatch, dtype, bias):
    calls = {"linear": [], "sdpa": 0}
    real_linear, real_sdpa = F.linear, F.scaled_dot_product_attention

    def linear(x, weight, bias=None):
        calls["linear"].append(tuple(weight.shape))
        return real_linear(x, weight, bias)

    def sdpa(*args, **kwargs):
        calls["sdpa"] += 1
        return real_sdpa(*args, **kwargs)

    module = MultiHeadAttention(12, 3, bias=bias).to(dtype)
    x = torch.randn(2, 5, 12, dtype=dtype)
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    expected, _ = module(x, mask=causal, need_weights=True)
    monkeypatch.setattr(F, "linear", linear)
    monkeypatch.setattr(F, "scaled_dot_product_attention", sdpa)
    output, _ = module(x, mask=causal)
    assert calls["linear"][0] == (36, 12)  # q, k and v in one product
    assert calls["sdpa"] == 1
    torch.testing.assert_close(output, expected)

    calls["linear"].clear()
    memory = torch.randn(2, 7, 12, dtype=dtype)
    module(x, memory)  # cross-attention, key is value: k and v in one product
    assert calls["linear"][:2] == [(12, 12), (24, 12)]


def test_a_fully_masked_query_falls_back_and_stays_finite():
    module = MultiHeadAttention(8, 2).double()
    x = torch.randn(2, 4, 8, dtype=torch.float64, requires_grad=True)
    keep = torch.tensor([[True, True, False, False], [False, False, False, False]])
    mask = keep[:, None, None, :]  # (batch, 1, 1, T_k): sequence 1 is all padding
    output, _ = module(x, mask=mask)
    expected, _ = module(x, mask=mask, need_weights=True)
    torch.testing.assert_close(output, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(output[1], module.out_proj.bias.detach().expand(4, 8))
    output.square().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())


def test_unbatched_input_and_separate_key_and_value():
    module = MultiHeadAttention(8, 4, kdim=6, vdim=5).double()
    query = torch.randn(3, 8, dtype=torch.float64)
    key, value = torch.randn(7, 6, dtype=torch.float64), torch.randn(7, 5, dtype=torch.float64)
    output, weights = module(query, key, value)
    expected, _ = module(query, key, value, need_weights=True)
    assert output.shape == (3, 8) and weights is None
    torch.testing.assert_close(output, expected, rtol=0, atol=1e-12)


def test_weights_changed_in_place_or_by_an_optimiser_are_used_at_once():
    """Nothing is cached: the fused weights are re-read from the layers on every call."""
    torch.manual_seed(3)
    module = MultiHeadAttention(8, 2)
    x = torch.randn(2, 5, 8)
    before, _ = module(x)
    with torch.no_grad():
        module.k_proj.weight.mul_(2.0)
        module.v_proj.bias.add_(0.5)
    after, _ = module(x)
    steps, _ = module(x, need_weights=True)
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, steps)

    optimiser = torch.optim.SGD(module.parameters(), lr=0.1)
    module(x)[0].square().sum().backward()
    optimiser.step()
    trained, _ = module(x)
    torch.testing.assert_close(trained, module(x, need_weights=True)[0])
    assert not torch.allclose(trained, after)

    state = MultiHeadAttention(8, 2)
    state.load_state_dict(module.state_dict())
    torch.testing.assert_close(state(x)[0], trained)


def test_the_fast_path_docstring_says_why_it_is_shaped_so():
    doc = MultiHeadAttention._forward_fast.__doc__
    for words in ("One matrix product for q, k and v", "cannot go stale", "No copies",
                  "fused attention kernel", "all masked"):  # fmt: skip
        assert words in doc
