"""Every mistake ends in a ValueError or TypeError that names the argument and shows its shape.

Each case lists literal fragments that must appear, in order, in the message.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from mha_lib import data
from mha_lib.attention import scaled_dot_product_attention as sdpa
from mha_lib.heads import merge_heads, split_heads
from mha_lib.modules import MultiHeadAttention
from mha_lib.multi_head import multi_head_attention
from mha_lib.params import MHAParams
from mha_lib.softmax import softmax


def zeros(*shape, dtype=np.float64):
    return np.zeros(shape, dtype=dtype)


def with_value(shape, index, value):
    x = np.zeros(shape)
    x[index] = value
    return x


def tzeros(*shape, dtype=torch.float32):
    return torch.zeros(shape, dtype=dtype)


P8 = MHAParams.init(8, seed=0)  # d_model = 8, all inputs of width 8
P_KEY6 = MHAParams.init(8, d_key_in=6, seed=0)  # w_k.shape == (6, 8)
MODULE = MultiHeadAttention(8, 2)
MODULE_KEY6 = MultiHeadAttention(8, 2, kdim=6)
EYE4 = np.eye(4)
mha = multi_head_attention
X8 = np.zeros((2, 5, 8))  # (batch, seq_len, d_model) for P8: query, key or value
BIG = np.full((1, 2, 8), 1e200)  # finite, and so are its projections; q @ kᵀ overflows


def case(id, call, error, *fragments):
    return pytest.param(call, error, fragments, id=id)


CASES = [
    # ---- the running example (data) -----------------------------------------------------------
    case("tokenize-int", lambda: data.tokenize(5), TypeError, "text must be a str", "int 5"),
    case("vocab-sentence", lambda: data.build_vocab("the fox"), TypeError,
         "tokens must be a list of str", "sentence"),
    case("encode-sentence", lambda: data.encode("the fox", {"the": 0, "fox": 1}), TypeError,
         "tokens must be a list of str"),
    case("table-zero", lambda: data.embedding_table(0), ValueError, "vocab_size", "vocab_size=0"),
    case("table-float", lambda: data.embedding_table(9, d_model=2.0), TypeError,
         "d_model must be a positive int", "float 2.0"),
    case("embed-range", lambda: data.embed([0, 9], zeros(9, 8)), ValueError,
         "token_ids must lie in [0, 9)", "table.shape=(9, 8)", "from 0 to 9"),
    case("embed-float-ids", lambda: data.embed([0.0], zeros(9, 8)), TypeError,
         "token_ids must be integers", "float64", "(1,)"),
    case("embed-1d-table", lambda: data.embed([0], zeros(9)), ValueError,
         "table must be 2-D", "table.shape=(9,)"),
    # ---- softmax ------------------------------------------------------------------------------
    case("softmax-nan", lambda: softmax([1.0, np.nan]), ValueError,
         "x contains NaN", "x.shape=(2,)"),
    case("softmax-posinf", lambda: softmax(with_value((2, 3), (1, 2), np.inf)), ValueError,
         "x contains NaN or +inf", "(1, 2)", "x.shape=(2, 3)"),
    case("softmax-axis", lambda: softmax(zeros(2, 3), axis=2), ValueError,
         "axis=2", "x.shape=(2, 3)"),
    case("softmax-neg-axis", lambda: softmax(zeros(2, 3), axis=-3), ValueError,
         "axis=-3", "x.shape=(2, 3)"),
    case("softmax-axis-float", lambda: softmax(zeros(3), axis=1.0), TypeError,
         "axis must be an int"),
    case("softmax-scalar", lambda: softmax(np.float64(1.0)), ValueError, "x", "x.shape=()"),
    case("softmax-bool", lambda: softmax(np.ones(3, dtype=bool)), TypeError,
         "x must be", "dtype bool", "(3,)"),
    case("softmax-complex", lambda: softmax(np.ones((2, 2), dtype=complex)), TypeError,
         "x must be", "complex128", "(2, 2)"),
    case("softmax-object", lambda: softmax(np.array([1, "a"], dtype=object)), TypeError,
         "x must be", "object"),
    case("softmax-strings", lambda: softmax(["a", "b"]), TypeError, "x must be", "<U1"),
    case("softmax-tensor", lambda: softmax(torch.zeros(2, 3)), TypeError,
         "x must be a numpy array", "torch.Tensor of shape (2, 3)"),
    # ---- scaled_dot_product_attention ---------------------------------------------------------
    case("sdpa-1d-q", lambda: sdpa(zeros(4), zeros(5, 4), zeros(5, 2)), ValueError,
         "q must have at least 2", "q.shape=(4,)"),
    case("sdpa-1d-k", lambda: sdpa(zeros(3, 4), zeros(4), zeros(5, 2)), ValueError,
         "k must have at least 2", "k.shape=(4,)"),
    case("sdpa-width", lambda: sdpa(zeros(3, 4), zeros(5, 3), zeros(5, 2)), ValueError,
         "q and k", "d_k", "q.shape=(3, 4)", "k.shape=(5, 3)"),
    case("sdpa-length", lambda: sdpa(zeros(3, 4), zeros(5, 4), zeros(6, 2)), ValueError,
         "k and v", "T_k", "k.shape=(5, 4)", "v.shape=(6, 2)"),
    case("sdpa-empty-q", lambda: sdpa(zeros(0, 4), zeros(5, 4), zeros(5, 2)), ValueError,
         "q is an empty sequence", "T_q=0", "q.shape=(0, 4)"),
    case("sdpa-empty-k", lambda: sdpa(zeros(3, 4), zeros(0, 4), zeros(0, 2)), ValueError,
         "k is an empty sequence", "T_k=0", "k.shape=(0, 4)"),
    case("sdpa-zero-width", lambda: sdpa(zeros(3, 0), zeros(5, 0), zeros(5, 2)), ValueError,
         "q has width 0", "q.shape=(3, 0)"),
    case("sdpa-batch", lambda: sdpa(zeros(2, 3, 4), zeros(3, 5, 4), zeros(3, 5, 2)), ValueError,
         "batch", "q.shape=(2, 3, 4)", "k.shape=(3, 5, 4)", "v.shape=(3, 5, 2)"),
    case("sdpa-mask-shape",
         lambda: sdpa(zeros(3, 4), zeros(5, 4), zeros(5, 2), mask=np.ones((4, 5), bool)),
         ValueError, "mask.shape=(4, 5)", "(3, 5)"),
    case("sdpa-mask-enlarges",
         lambda: sdpa(zeros(3, 4), zeros(5, 4), zeros(5, 2), mask=np.ones((2, 3, 5), bool)),
         ValueError, "mask.shape=(2, 3, 5)", "(3, 5)"),
    case("sdpa-mask-float-type",
         lambda: sdpa(zeros(3, 4), zeros(5, 4), zeros(5, 2), mask=np.ones((3, 5))),
         TypeError,
         "mask must be bool, True = may attend; got dtype float64 — did you mean mask.astype(bool)?",
         "mask.shape=(3, 5)"),
    case("sdpa-mask-float-value",
         lambda: sdpa(zeros(3, 4), zeros(5, 4), zeros(5, 2), mask=np.ones((3, 5))),
         ValueError, "mask must be bool", "float64"),
    case("sdpa-mask-int",
         lambda: sdpa(zeros(3, 4), zeros(5, 4), zeros(5, 2), mask=np.ones((3, 5), int)),
         TypeError, "mask must be bool", "int64"),
    case("sdpa-nan-v", lambda: sdpa(zeros(3, 4), zeros(5, 4), with_value((5, 2), (4, 1), np.nan)),
         ValueError, "v contains NaN", "v.shape=(5, 2)"),
    case("sdpa-inf-q", lambda: sdpa(with_value((3, 4), (0, 0), -np.inf), zeros(5, 4), zeros(5, 2)),
         ValueError, "q contains NaN or inf", "q.shape=(3, 4)"),
    case("sdpa-bool-q", lambda: sdpa(np.ones((3, 4), bool), zeros(5, 4), zeros(5, 2)), TypeError,
         "q must be", "bool", "(3, 4)"),
    case("sdpa-string-k", lambda: sdpa(zeros(3, 4), [["a"] * 4] * 5, zeros(5, 2)), TypeError,
         "k must be", "(5, 4)"),
    case("sdpa-overflow", lambda: sdpa(np.full((1, 2), 1e200), np.full((1, 2), 1e200), zeros(1, 2)),
         ValueError, "scores", "overflow", "q.shape=(1, 2)"),
    # ---- split_heads / merge_heads ------------------------------------------------------------
    case("split-indivisible", lambda: split_heads(zeros(2, 5, 10), 3), ValueError,
         "d_model=10 is not divisible by num_heads=3; choose num_heads from [1, 2, 5, 10]"),
    case("split-zero-heads", lambda: split_heads(zeros(2, 5, 8), 0), ValueError,
         "num_heads must be a positive int", "num_heads=0"),
    case("split-neg-heads", lambda: split_heads(zeros(2, 5, 8), -2), ValueError, "num_heads", "-2"),
    case("split-float-heads", lambda: split_heads(zeros(2, 5, 8), 2.0), TypeError,
         "num_heads must be a positive int", "float 2.0"),
    case("split-float-heads-v", lambda: split_heads(zeros(2, 5, 8), 2.0), ValueError, "num_heads"),
    case("split-bool-heads", lambda: split_heads(zeros(2, 5, 8), True), TypeError,
         "num_heads", "bool"),
    case("split-1d", lambda: split_heads(zeros(6), 2), ValueError,
         "x must have at least 2", "x.shape=(6,)"),
    case("split-nan", lambda: split_heads(with_value((2, 4), (1, 1), np.nan), 2), ValueError,
         "x contains NaN", "x.shape=(2, 4)"),
    case("merge-2d", lambda: merge_heads(zeros(3, 4)), ValueError,
         "x must have at least 3", "x.shape=(3, 4)"),
    # ---- MHAParams ----------------------------------------------------------------------------
    case("params-w_k",
         lambda: MHAParams(w_q=zeros(8, 8), w_k=zeros(6, 7), w_v=zeros(8, 8), w_o=zeros(8, 8)),
         ValueError, "w_k", "d_model=8", "w_k.shape=(6, 7)", "w_q.shape=(8, 8)"),
    case("params-w_o",
         lambda: MHAParams(w_q=zeros(8, 8), w_k=zeros(8, 8), w_v=zeros(8, 8), w_o=zeros(8, 4)),
         ValueError, "w_o", "(8, 8)", "w_o.shape=(8, 4)"),
    case("params-bias", lambda: MHAParams(w_q=EYE4, w_k=EYE4, w_v=EYE4, w_o=EYE4, b_q=zeros(3)),
         ValueError, "b_q", "(4,)", "b_q.shape=(3,)"),
    case("params-1d", lambda: MHAParams(w_q=zeros(4), w_k=EYE4, w_v=EYE4, w_o=EYE4), ValueError,
         "w_q must be 2-D", "w_q.shape=(4,)"),
    case("params-nan",
         lambda: MHAParams(w_q=EYE4, w_k=EYE4, w_v=with_value((4, 4), (0, 3), np.nan), w_o=EYE4),
         ValueError, "w_v contains NaN", "w_v.shape=(4, 4)"),
    case("params-bool", lambda: MHAParams(w_q=EYE4 > 0, w_k=EYE4, w_v=EYE4, w_o=EYE4), TypeError,
         "w_q", "bool"),
    case("params-none-weight", lambda: MHAParams(w_q=EYE4, w_k=None, w_v=EYE4, w_o=EYE4), TypeError,
         "w_k", "None"),
    case("init-zero", lambda: MHAParams.init(0), ValueError, "d_model", "d_model=0"),
    case("init-float", lambda: MHAParams.init(8.0), TypeError,
         "d_model must be a positive int", "float 8.0"),
    case("init-neg-kdim", lambda: MHAParams.init(8, d_key_in=-1), ValueError, "d_key_in", "-1"),
    case("init-dtype", lambda: MHAParams.init(8, dtype=np.int32), TypeError, "dtype", "int32"),
    case("init-bias", lambda: MHAParams.init(8, bias="yes"), TypeError, "bias", "'yes'"),
    case("to-dtype", lambda: P8.to_dtype(np.float16), TypeError, "dtype", "float16"),
    case("from-torch-linear", lambda: MHAParams.from_torch(torch.nn.Linear(4, 4)), TypeError,
         "torch.nn.MultiheadAttention", "torch.nn.Linear"),
    case("from-torch-array", lambda: MHAParams.from_torch(np.eye(3)), TypeError, "numpy.ndarray"),
    case("from-torch-bias-kv",
         lambda: MHAParams.from_torch(torch.nn.MultiheadAttention(4, 2, add_bias_kv=True)),
         ValueError, "add_bias_kv", "unsupported"),
    case("from-torch-zero-attn",
         lambda: MHAParams.from_torch(torch.nn.MultiheadAttention(4, 2, add_zero_attn=True)),
         ValueError, "add_zero_attn", "unsupported"),
    # ---- multi_head_attention -----------------------------------------------------------------
    case("mha-params-type", lambda: mha(X8, X8, X8, {}, 2),
         TypeError, "params must be an MHAParams", "dict"),
    case("mha-indivisible", lambda: mha(X8, X8, X8, P8, 3),
         ValueError,
         "d_model=8 is not divisible by num_heads=3; choose num_heads from [1, 2, 4, 8]"),
    case("mha-zero-heads", lambda: mha(X8, X8, X8, P8, 0),
         ValueError, "num_heads", "num_heads=0"),
    case("mha-str-heads", lambda: mha(X8, X8, X8, P8, "2"),
         TypeError, "num_heads must be a positive int", "'2'"),
    case("mha-key-width", lambda: mha(zeros(2, 5, 8), zeros(2, 5, 7), zeros(2, 5, 8), P_KEY6, 2),
         ValueError,
         "key has width 7 (key.shape=(2, 5, 7)) but params.w_k expects 6 (w_k.shape=(6, 8))"),
    case("mha-query-width", lambda: mha(zeros(2, 5, 6), zeros(2, 5, 8), zeros(2, 5, 8), P8, 2),
         ValueError, "query has width 6 (query.shape=(2, 5, 6))", "w_q.shape=(8, 8)"),
    case("mha-value-width", lambda: mha(zeros(2, 5, 8), zeros(2, 5, 8), zeros(2, 5, 3), P8, 2),
         ValueError, "value has width 3 (value.shape=(2, 5, 3))", "w_v.shape=(8, 8)"),
    case("mha-length", lambda: mha(zeros(2, 3, 8), zeros(2, 5, 8), zeros(2, 4, 8), P8, 2),
         ValueError, "key and value", "T_k", "key.shape=(2, 5, 8)", "value.shape=(2, 4, 8)"),
    case("mha-batch", lambda: mha(zeros(2, 3, 8), zeros(3, 5, 8), zeros(3, 5, 8), P8, 2),
         ValueError, "batch", "query.shape=(2, 3, 8)", "key.shape=(3, 5, 8)"),
    case("mha-empty-query", lambda: mha(zeros(0, 8), zeros(5, 8), zeros(5, 8), P8, 2), ValueError,
         "query is an empty sequence", "query.shape=(0, 8)"),
    case("mha-empty-key", lambda: mha(zeros(2, 3, 8), zeros(2, 0, 8), zeros(2, 0, 8), P8, 2),
         ValueError, "key is an empty sequence", "key.shape=(2, 0, 8)"),
    case("mha-1d", lambda: mha(zeros(8), zeros(5, 8), zeros(5, 8), P8, 2), ValueError,
         "query must have at least 2", "query.shape=(8,)"),
    case("mha-nan",
         lambda: mha(zeros(2, 3, 8), with_value((2, 5, 8), (0, 0, 0), np.nan), X8, P8, 2),
         ValueError, "key contains NaN", "key.shape=(2, 5, 8)"),
    case("mha-mask-shape",
         lambda: mha(zeros(2, 3, 8), X8, X8, P8, 2, mask=np.ones((2, 5, 3), bool)),
         ValueError, "mask.shape=(2, 5, 3)", "(2, 2, 3, 5)"),
    case("mha-mask-no-heads",
         lambda: mha(*[zeros(3, 4, 8)] * 3, P8, 2, mask=np.ones((3, 4, 4), bool)),
         ValueError, "mask.shape=(3, 4, 4)", "(3, 2, 4, 4)", "mask[:, None]"),
    case("mha-mask-dtype",
         lambda: mha(zeros(2, 3, 8), zeros(2, 5, 8), zeros(2, 5, 8), P8, 2, mask=np.ones((3, 5))),
         TypeError, "mask must be bool, True = may attend; got dtype float64"),
    case("mha-overflow-scores", lambda: mha(BIG, BIG, zeros(1, 2, 8), P8, 2), ValueError,
         "scores = q @ kᵀ / sqrt(d_k) overflowed", "q.shape=(1, 2, 2, 4)"),
    case("mha-overflow-value",
         lambda: mha(zeros(1, 2, 8), zeros(1, 2, 8), np.full((1, 2, 8), 1e308), P8, 2),
         ValueError, "value @ w_v overflowed", "value.shape=(1, 2, 8)", "w_v.shape=(8, 8)"),
    # ---- MultiHeadAttention (torch) -----------------------------------------------------------
    case("module-indivisible", lambda: MultiHeadAttention(10, 3), ValueError,
         "d_model=10 is not divisible by num_heads=3; choose num_heads from [1, 2, 5, 10]"),
    case("module-zero", lambda: MultiHeadAttention(0, 1), ValueError, "d_model", "d_model=0"),
    case("module-neg-heads", lambda: MultiHeadAttention(8, -2), ValueError, "num_heads", "-2"),
    case("module-float", lambda: MultiHeadAttention(8, 2.5), TypeError, "num_heads", "float 2.5"),
    case("module-kdim", lambda: MultiHeadAttention(8, 2, kdim=0), ValueError, "kdim", "kdim=0"),
    case("module-bias", lambda: MultiHeadAttention(8, 2, bias="no"), TypeError, "bias", "'no'"),
    case("module-numpy", lambda: MODULE(np.zeros((2, 3, 4))), TypeError,
         "query must be a torch.Tensor, got numpy.ndarray of shape (2, 3, 4)"),
    case("module-list-key", lambda: MODULE(tzeros(2, 3, 8), [[0.0] * 8]), TypeError,
         "key must be a torch.Tensor", "list"),
    case("module-int", lambda: MODULE(torch.zeros(2, 3, 8, dtype=torch.int64)), TypeError,
         "query must be a floating point tensor", "torch.int64", "(2, 3, 8)"),
    case("module-dtype", lambda: MODULE(tzeros(2, 3, 8, dtype=torch.float64)), TypeError,
         "query has dtype torch.float64", "torch.float32", "query.shape=(2, 3, 8)"),
    case("module-1d", lambda: MODULE(tzeros(8)), ValueError, "query", "query.shape=(8,)"),
    case("module-4d", lambda: MODULE(tzeros(1, 2, 3, 8)), ValueError,
         "query", "query.shape=(1, 2, 3, 8)"),
    case("module-key-width", lambda: MODULE_KEY6(tzeros(2, 5, 8), tzeros(2, 5, 7), tzeros(2, 5, 8)),
         ValueError, "key has width 7 (key.shape=(2, 5, 7)) but k_proj expects 6", "(8, 6)"),
    case("module-batched-mix", lambda: MODULE(tzeros(2, 5, 8), tzeros(5, 8), tzeros(5, 8)),
         ValueError, "batched", "query.shape=(2, 5, 8)", "key.shape=(5, 8)"),
    case("module-length", lambda: MODULE(tzeros(2, 3, 8), tzeros(2, 5, 8), tzeros(2, 4, 8)),
         ValueError, "key and value", "key.shape=(2, 5, 8)", "value.shape=(2, 4, 8)"),
    case("module-batch", lambda: MODULE(tzeros(2, 3, 8), tzeros(3, 5, 8), tzeros(3, 5, 8)),
         ValueError, "batch", "query.shape=(2, 3, 8)", "key.shape=(3, 5, 8)"),
    case("module-empty", lambda: MODULE(tzeros(2, 0, 8)), ValueError,
         "query is an empty sequence", "query.shape=(2, 0, 8)"),
    case("module-mask-float", lambda: MODULE(tzeros(2, 3, 8), mask=torch.ones(3, 3)), TypeError,
         "mask must be bool, True = may attend; got dtype torch.float32 — did you mean mask.bool()?",
         "mask.shape=(3, 3)"),
    case("module-mask-float-value", lambda: MODULE(tzeros(2, 3, 8), mask=torch.ones(3, 3)),
         ValueError, "mask must be bool"),
    case("module-mask-numpy", lambda: MODULE(tzeros(2, 3, 8), mask=np.ones((3, 3), bool)),
         TypeError, "mask must be a torch.Tensor", "numpy.ndarray of shape (3, 3)"),
    case("module-mask-shape",
         lambda: MODULE(tzeros(2, 3, 8), mask=torch.ones(3, 4, dtype=torch.bool)),
         ValueError, "mask.shape=(3, 4)", "(2, 2, 3, 3)"),
    case("module-unbatched-mask-shape",
         lambda: MODULE(tzeros(3, 8), mask=torch.ones(2, 1, 3, 3, dtype=torch.bool)),
         ValueError, "mask.shape=(2, 1, 3, 3)", "(2, 3, 3)"),
    case("module-from-linear", lambda: MultiHeadAttention.from_torch(torch.nn.Linear(4, 4)),
         TypeError, "torch.nn.MultiheadAttention", "torch.nn.Linear"),
    case("module-from-bias-kv",
         lambda: MultiHeadAttention.from_torch(torch.nn.MultiheadAttention(4, 2, add_bias_kv=True)),
         ValueError, "add_bias_kv", "unsupported"),
    case("module-from-zero-attn",
         lambda: MultiHeadAttention.from_torch(
             torch.nn.MultiheadAttention(4, 2, add_zero_attn=True)
         ),
         ValueError, "add_zero_attn", "unsupported"),
    case("module-from-params-heads", lambda: MultiHeadAttention.from_params(P8, 3), ValueError,
         "d_model=8 is not divisible"),
    case("module-from-params-width",
         lambda: MultiHeadAttention.from_params(MHAParams.init(8, d_query_in=4), 2),
         ValueError, "d_query_in", "w_q.shape=(4, 8)"),
    case("module-from-params-type",
         lambda: MultiHeadAttention.from_params(torch.nn.Linear(2, 2), 2),
         TypeError, "params must be an MHAParams", "torch.nn.Linear"),
]


@pytest.mark.parametrize(("call", "error", "fragments"), CASES)
def test_bad_input_names_the_argument_and_shape(call, error, fragments):
    pattern = ".*".join(re.escape(fragment) for fragment in fragments)
    with pytest.raises(error, match=pattern) as raised:
        call()
    assert isinstance(raised.value, (TypeError, ValueError))


def test_no_case_is_a_raw_numpy_or_torch_error():
    """The messages come from mha_lib, not from a broadcasting failure deep inside numpy/torch."""
    raw = re.compile(r"operands could not be broadcast|size of tensor a|mat1 and mat2|shape '\[")
    for param in CASES:
        call = param.values[0]
        with pytest.raises((TypeError, ValueError)) as raised:
            call()
        assert not raw.search(str(raised.value)), (param.id, str(raised.value))


def test_encode_names_the_tokens_missing_from_the_vocab():
    with pytest.raises(KeyError, match=r"\['cat'\] are not in vocab \(vocab has 2 entries"):
        data.encode(["the", "cat"], {"the": 0, "fox": 1})


@pytest.mark.parametrize("big", ["query", "key", "value"])
def test_an_overflowing_projection_is_named_never_nan(big):
    """Finite inputs so large that x @ w overflows: a ValueError naming them, not NaN."""
    inputs = {"query": zeros(1, 2, 8), "key": zeros(1, 2, 8), "value": zeros(1, 2, 8)}
    inputs[big] = np.full((1, 2, 8), 1e308)
    with pytest.raises(ValueError, match=rf"{big} @ w_{big[0]} overflowed.*{big}.shape"):
        multi_head_attention(**inputs, params=P8, num_heads=2)


def test_an_overflowing_output_projection_is_named():
    params = MHAParams(w_q=np.eye(4), w_k=np.eye(4), w_v=np.eye(4), w_o=np.full((4, 4), 1e300))
    value = np.full((3, 4), 1e10)  # v is finite; merged @ w_o is not
    with pytest.raises(ValueError, match=r"merged @ w_o overflowed.*w_o.shape=\(4, 4\)"):
        multi_head_attention(zeros(3, 4), zeros(3, 4), value, params, 2)
