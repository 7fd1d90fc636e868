"""split_heads / merge_heads and MHAParams."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from _mha_strategies import prop, rng_array
from mha_lib.heads import merge_heads, split_heads
from mha_lib.modules import MultiHeadAttention
from mha_lib.params import MHAParams


@st.composite
def head_cases(draw):
    batch_shape = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    seq_len = draw(st.integers(1, 5))
    num_heads = draw(st.integers(1, 4))
    d_head = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x = rng_array(
        np.random.default_rng(draw(st.integers(0, 999))),
        (*batch_shape, seq_len, num_heads * d_head),
        dtype,
    )
    return x, num_heads


# ---------------------------------------------------------------------------------------------
# split_heads / merge_heads
# ---------------------------------------------------------------------------------------------


@prop(50)
@given(case=head_cases())
def test_split_heads_shape_and_merge_is_its_exact_inverse(case):
    x, num_heads = case
    *batch_shape, seq_len, d_model = x.shape
    heads = split_heads(x, num_heads)
    assert heads.shape == (*batch_shape, num_heads, seq_len, d_model // num_heads)
    assert heads.dtype == x.dtype
    np.testing.assert_array_equal(merge_heads(heads), x)
    np.testing.assert_array_equal(split_heads(merge_heads(heads), num_heads), heads)


@prop(50)
@given(case=head_cases())
def test_head_h_is_the_column_block_h(case):
    """The test that catches a reshape without the transpose (misconception 1)."""
    x, num_heads = case
    d_head = x.shape[-1] // num_heads
    heads = split_heads(x, num_heads)
    for h in range(num_heads):
        np.testing.assert_array_equal(heads[..., h, :, :], x[..., h * d_head : (h + 1) * d_head])


def test_reshape_without_transpose_is_not_split_heads():
    x = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)  # (batch, seq_len, d_model)
    wrong = x.reshape(2, 2, 3, 2)  # (batch, num_heads, seq_len, d_head) -- mixes positions
    assert not np.array_equal(split_heads(x, 2), wrong)
    np.testing.assert_array_equal(split_heads(x, 2)[0, 1, 0], [2.0, 3.0])  # position 0, head 1


def test_merge_heads_concatenates_not_sums():
    heads = np.stack([np.full((3, 2), 1.0), np.full((3, 2), 10.0)])  # (num_heads, seq_len, d_head)
    np.testing.assert_array_equal(merge_heads(heads), np.tile([1.0, 1.0, 10.0, 10.0], (3, 1)))


def test_one_head_is_the_whole_model_dimension():
    x = rng_array(np.random.default_rng(0), (2, 5, 6))
    np.testing.assert_array_equal(split_heads(x, 1), x[:, None])


# ---------------------------------------------------------------------------------------------
# MHAParams
# ---------------------------------------------------------------------------------------------


def test_init_shapes_dtypes_and_sizes():
    params = MHAParams.init(8, d_query_in=3, d_key_in=5, d_value_in=7, seed=1)
    assert params.w_q.shape == (3, 8) and params.w_k.shape == (5, 8)
    assert params.w_v.shape == (7, 8) and params.w_o.shape == (8, 8)
    assert all(b.shape == (8,) for b in (params.b_q, params.b_k, params.b_v, params.b_o))
    assert (params.d_model, params.d_query_in, params.d_key_in, params.d_value_in) == (8, 3, 5, 7)
    assert params.num_parameters == (3 + 5 + 7 + 8) * 8 + 4 * 8
    assert params.dtype == np.float64
    assert MHAParams.init(4, dtype=np.float32).w_q.dtype == np.float32


def test_init_is_seeded_and_bias_free_keeps_the_same_weights():
    a, b = MHAParams.init(6, seed=3), MHAParams.init(6, seed=3)
    np.testing.assert_array_equal(a.w_k, b.w_k)
    assert not np.array_equal(a.w_k, MHAParams.init(6, seed=4).w_k)
    no_bias = MHAParams.init(6, seed=3, bias=False)
    assert no_bias.b_q is None and no_bias.b_o is None and not no_bias.has_bias
    np.testing.assert_array_equal(no_bias.w_o, a.w_o)
    np.testing.assert_allclose(MHAParams.init(6, seed=3, dtype=np.float32).w_v, a.w_v, rtol=1e-6)


def test_init_weights_are_xavier_uniform_and_biases_small_but_nonzero():
    params = MHAParams.init(64, d_key_in=16, seed=0)
    for weight in (params.w_q, params.w_k, params.w_v, params.w_o):
        bound = math.sqrt(6 / sum(weight.shape))
        assert np.abs(weight).max() <= bound
        assert np.abs(weight).max() > 0.9 * bound  # it really uses the range
    for bias in (params.b_q, params.b_k, params.b_v, params.b_o):
        assert np.all(bias != 0) and np.abs(bias).max() <= 0.1


@pytest.mark.parametrize("d_model", [12, 16])
def test_parameter_count_does_not_depend_on_num_heads(d_model):
    """Misconception 9: more heads means smaller heads, not more parameters."""
    ours = MHAParams.init(d_model).num_parameters
    assert ours == 4 * d_model * d_model + 4 * d_model
    for num_heads in [h for h in range(1, d_model + 1) if d_model % h == 0]:
        reference = torch.nn.MultiheadAttention(d_model, num_heads)
        assert sum(p.numel() for p in reference.parameters()) == ours
        module = MultiHeadAttention(d_model, num_heads)
        assert sum(p.numel() for p in module.parameters()) == ours


def test_params_are_read_only_copies():
    w = np.eye(4)
    params = MHAParams(w_q=w, w_k=w, w_v=w, w_o=w)
    w[0, 0] = 5.0
    assert params.w_q[0, 0] == 1.0
    with pytest.raises(ValueError):
        params.w_q[0, 0] = 2.0
    with pytest.raises(AttributeError):
        params.w_q = np.zeros((4, 4))


def test_params_promote_to_one_dtype_and_convert_lists():
    params = MHAParams(
        w_q=np.eye(2, dtype=np.float32), w_k=np.eye(2), w_v=[[1, 0], [0, 1]], w_o=np.eye(2)
    )
    assert {a.dtype for a in (params.w_q, params.w_k, params.w_v, params.w_o)} == {
        np.dtype("float64")
    }
    as32 = params.to_dtype(np.float32)
    assert as32.dtype == np.float32 and as32.w_v.dtype == np.float32 and as32.b_q is None


def test_repr_is_short_and_deterministic():
    assert repr(MHAParams.init(4, d_key_in=2, seed=9)) == (
        "MHAParams(d_model=4, d_query_in=4, d_key_in=2, d_value_in=4, bias=True, "
        "dtype=float64, num_parameters=72)"
    )


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kdim_vdim", [(None, None), (3, 5)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_from_torch_unpacks_and_transposes_the_weights(bias, kdim_vdim, dtype):
    kdim, vdim = kdim_vdim
    m = torch.nn.MultiheadAttention(6, 2, bias=bias, kdim=kdim, vdim=vdim, dtype=dtype)
    with torch.no_grad():
        for parameter in m.parameters():
            parameter.normal_()
    params = MHAParams.from_torch(m)
    assert params.dtype == (np.float32 if dtype == torch.float32 else np.float64)
    if kdim is None:
        w_q, w_k, w_v = m.in_proj_weight.detach().numpy().reshape(3, 6, 6)
    else:
        w_q, w_k, w_v = (
            p.detach().numpy() for p in (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight)
        )
    np.testing.assert_array_equal(params.w_q, w_q.T)
    np.testing.assert_array_equal(params.w_k, w_k.T)
    np.testing.assert_array_equal(params.w_v, w_v.T)
    np.testing.assert_array_equal(params.w_o, m.out_proj.weight.detach().numpy().T)
    assert (params.d_key_in, params.d_value_in) == (kdim or 6, vdim or 6)
    if bias:
        _, b_k, _ = m.in_proj_bias.detach().numpy().reshape(3, 6)
        np.testing.assert_array_equal(params.b_k, b_k)
        np.testing.assert_array_equal(params.b_o, m.out_proj.bias.detach().numpy())
    else:
        assert not params.has_bias
    assert params.num_parameters == sum(p.numel() for p in m.parameters())


def test_from_torch_copies_so_later_training_does_not_change_params():
    m = torch.nn.MultiheadAttention(4, 2)
    params = MHAParams.from_torch(m)
    before = params.w_q.copy()
    with torch.no_grad():
        m.in_proj_weight.add_(1.0)
    np.testing.assert_array_equal(params.w_q, before)


def test_from_torch_accepts_our_module_and_round_trips_through_from_params():
    params = MHAParams.init(6, d_key_in=4, d_value_in=5, seed=2)
    module = MultiHeadAttention.from_params(params, num_heads=3)
    back = MHAParams.from_torch(module)
    for name in ("w_q", "w_k", "w_v", "w_o", "b_q", "b_k", "b_v", "b_o"):
        np.testing.assert_array_equal(getattr(back, name), getattr(params, name))
