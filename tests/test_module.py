"""The torch MultiHeadAttention module: layers, defaults, masks, NaN-free gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from _mha_strategies import causal_mask, prop
from mha_lib.modules import MultiHeadAttention
from mha_lib.multi_head import multi_head_attention
from mha_lib.params import MHAParams


def _seeded_module(d_model=8, num_heads=2, seed=0, **kwargs) -> MultiHeadAttention:
    torch.manual_seed(seed)
    module = MultiHeadAttention(d_model, num_heads, **kwargs)
    with torch.no_grad():  # non-zero biases everywhere, so bias handling is visible
        for parameter in module.parameters():
            parameter.uniform_(-0.5, 0.5)
    return module


def _inputs(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_layers_and_sizes():
    module = MultiHeadAttention(12, 3, kdim=5, vdim=7)
    assert module.d_model == 12 and module.num_heads == 3 and module.d_head == 4
    for name, d_in in (("q_proj", 12), ("k_proj", 5), ("v_proj", 7), ("out_proj", 12)):
        linear = getattr(module, name)
        assert isinstance(linear, torch.nn.Linear)
        assert (linear.in_features, linear.out_features) == (d_in, 12)
        assert linear.bias is not None
    assert MultiHeadAttention(12, 3, bias=False).q_proj.bias is None
    assert "d_head=4" in repr(module)


def test_output_and_weight_shapes_and_defaults():
    module = _seeded_module(8, 4)
    x = _inputs(2, 5, 8)
    output, weights = module(x)
    assert output.shape == (2, 5, 8) and weights is None
    output, weights = module(x, need_weights=True)
    assert weights.shape == (2, 4, 5, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 5))
    # key and value default to query; value defaults to key when only key is given
    torch.testing.assert_close(module(x, x, x)[0], output)
    memory = _inputs(2, 3, 8, seed=1)
    torch.testing.assert_close(module(x, memory)[0], module(x, memory, memory)[0])
    cross, cross_weights = module(x, memory, need_weights=True)
    assert cross.shape == (2, 5, 8) and cross_weights.shape == (2, 4, 5, 3)


def test_unbatched_input_gives_unbatched_outputs():
    module = _seeded_module(6, 3)
    x = _inputs(4, 6)
    mask = torch.from_numpy(causal_mask(4, 4))
    output, weights = module(x, mask=mask, need_weights=True)
    assert output.shape == (4, 6) and weights.shape == (3, 4, 4)
    batched_output, batched_weights = module(x[None], mask=mask, need_weights=True)
    torch.testing.assert_close(output, batched_output[0])
    torch.testing.assert_close(weights, batched_weights[0])


@pytest.mark.parametrize(
    "mask_shape", [(5, 5), (2, 1, 1, 5), (2, 4, 5, 5), (1, 4, 1, 5), (4, 5, 5)]
)
def test_mask_broadcasting_equals_the_full_mask(mask_shape):
    module = _seeded_module(8, 4)
    x = _inputs(2, 5, 8)
    generator = torch.Generator().manual_seed(3)
    mask = torch.rand(mask_shape, generator=generator) < 0.6
    mask[..., 0] = True
    full = mask.expand(2, 4, 5, 5)
    output, weights = module(x, mask=mask, need_weights=True)
    full_output, full_weights = module(x, mask=full, need_weights=True)
    torch.testing.assert_close(output, full_output)
    torch.testing.assert_close(weights, full_weights)
    assert torch.all(weights[~full] == 0)


def test_mask_true_means_may_attend():
    module = _seeded_module(4, 2)
    x = _inputs(1, 3, 4)
    mask = torch.zeros(3, 3, dtype=torch.bool)
    mask[:, 1] = True  # every query may look at key 1 only
    _, weights = module(x, mask=mask, need_weights=True)
    torch.testing.assert_close(weights[..., 1], torch.ones(1, 2, 3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fully_masked_rows_give_zero_weights_and_finite_gradients(dtype):
    module = _seeded_module(8, 2).to(dtype)
    x = _inputs(2, 4, 8, dtype=dtype).requires_grad_()
    keep = torch.tensor([[True, True, False, False], [False, False, False, False]])
    mask = keep[:, None, None, :]  # (batch, 1, 1, T_k): batch 1 is all padding
    output, weights = module(x, mask=mask, need_weights=True)
    assert torch.isfinite(output).all() and torch.isfinite(weights).all()
    assert torch.all(weights[1] == 0)
    torch.testing.assert_close(output[1], module.out_proj.bias.detach().expand(4, 8))
    (output.square().sum() + weights.sum()).backward()
    assert torch.isfinite(x.grad).all()
    for name, parameter in module.named_parameters():
        assert torch.isfinite(parameter.grad).all(), name


def test_one_fully_masked_query_row_does_not_disturb_the_others():
    module = _seeded_module(6, 3)
    x = _inputs(1, 4, 6)
    mask = torch.from_numpy(causal_mask(4, 4))
    blocked = mask.clone()
    blocked[2] = False  # query 2 sees nothing
    output, weights = module(x, mask=mask, need_weights=True)
    blocked_output, blocked_weights = module(x, mask=blocked, need_weights=True)
    rows = [0, 1, 3]
    torch.testing.assert_close(blocked_output[:, rows], output[:, rows])
    torch.testing.assert_close(blocked_weights[..., rows, :], weights[..., rows, :])
    assert torch.all(blocked_weights[..., 2, :] == 0)


@prop(25)
@given(seed=st.integers(0, 10_000), batch=st.integers(1, 3), seq_len=st.integers(1, 5))
def test_random_masks_with_empty_rows_never_make_nan(seed, batch, seq_len):
    module = _seeded_module(4, 2, seed=seed % 7).double()
    x = _inputs(batch, seq_len, 4, seed=seed, dtype=torch.float64).requires_grad_()
    generator = torch.Generator().manual_seed(seed)
    mask = torch.rand(batch, 2, seq_len, seq_len, generator=generator) < 0.3
    output, weights = module(x, mask=mask, need_weights=True)
    output.sum().backward()
    assert torch.isfinite(output).all() and torch.isfinite(x.grad).all()
    empty_rows = ~mask.any(-1)
    assert torch.all(weights[empty_rows] == 0)
    params = MHAParams.from_torch(module)
    np_output, np_weights = multi_head_attention(
        x.detach().numpy(), x.detach().numpy(), x.detach().numpy(), params, 2, mask.numpy()
    )
    assert np.abs(np_output - output.detach().numpy()).max() <= 1e-10
    assert np.abs(np_weights - weights.detach().numpy()).max() <= 1e-10


def test_float64_module_and_dtype_preserving_from_torch():
    m = torch.nn.MultiheadAttention(6, 2, kdim=3, vdim=4, bias=False, dtype=torch.float64)
    module = MultiHeadAttention.from_torch(m)
    assert module.q_proj.weight.dtype == torch.float64
    assert module.q_proj.bias is None and module.out_proj.bias is None
    assert (module.kdim, module.vdim) == (3, 4)
    output, _ = module(
        _inputs(1, 2, 6, dtype=torch.float64),
        _inputs(1, 3, 3, dtype=torch.float64),
        _inputs(1, 3, 4, dtype=torch.float64),
    )
    assert output.dtype == torch.float64


def test_from_torch_warns_that_dropout_is_not_copied():
    with pytest.warns(UserWarning, match="dropout=0.1 is not copied"):
        MultiHeadAttention.from_torch(torch.nn.MultiheadAttention(4, 2, dropout=0.1))


def test_the_module_trains():
    module = _seeded_module(4, 2)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    x, target = _inputs(3, 5, 4), _inputs(3, 5, 4, seed=1)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = (module(x)[0] - target).square().mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_key_and_value_with_batch_one_broadcast_against_the_query_batch():
    module = _seeded_module(8, 2)
    query, memory = _inputs(3, 4, 8), _inputs(1, 5, 8, seed=1)
    output, weights = module(query, memory, need_weights=True)
    assert output.shape == (3, 4, 8) and weights.shape == (3, 2, 4, 5)
    repeated = memory.expand(3, 5, 8)
    torch.testing.assert_close(output, module(query, repeated)[0])
