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
BIG = np.full((1, 2, 8), 1e200)  # finite, and so are its projections; q @ kᵀ overflows


def case(call, error, *fragments, id):
    return pytest.param(call, error, fragments, id=id)


CASES = [
    # ---- the running example (data) -----------------------------------------------------------
    case(lambda: data.tokenize(5), TypeError, "text must be a str", "int 5", id="tokenize-int"),
    case(
        lambda: data.build_vocab("the fox"),
        TypeError,
        "tokens must be a list of str",
        "sentence",
        id="vocab-sentence",
    ),
    case(
        lambda: data.encode("the fox", {"the": 0, "fox": 1}),
        TypeError,
        "tokens must be a list of str",
        id="encode-sentence",
    ),
    case(
        lambda: data.embedding_table(0), ValueError, "vocab_size", "vocab_size=0", id="table-zero"
    ),
    case(
        lambda: data.embedding_table(9, d_model=2.0),
        TypeError,
        "d_model must be a positive int",
        "float 2.0",
        id="table-float",
    ),
    case(
        lambda: data.embed([0, 9], zeros(9, 8)),
        ValueError,
        "token_ids must lie in [0, 9)",
        "table.shape=(9, 8)",
        "from 0 to 9",
        id="embed-range",
    ),
    case(
        lambda: data.embed([0.0], zeros(9, 8)),
        TypeError,
        "token_ids must be integers",
        "float64",
        "(1,)",
        id="embed-float-ids",
    ),
    case(
        lambda: data.embed([0], zeros(9)),
        ValueError,
        "table must be 2-D",
        "table.shape=(9,)",
        id="embed-1d-table",
    ),
    # ---- softmax ------------------------------------------------------------------------------
    case(
        lambda: softmax([1.0, np.nan]),
        ValueError,
        "x contains NaN",
        "x.shape=(2,)",
        id="softmax-nan",
    ),
    case(
        lambda: softmax(with_value((2, 3), (1, 2), np.inf)),
        ValueError,
        "x contains NaN or +inf",
        "(1, 2)",
        "x.shape=(2, 3)",
        id="softmax-posinf",
    ),
    case(
        lambda: softmax(zeros(2, 3), axis=2),
        ValueError,
        "axis=2",
        "x.shape=(2, 3)",
        id="softmax-axis",
    ),
    case(
        lambda: softmax(zeros(2, 3), axis=-3),
        ValueError,
        "axis=-3",
        "x.shape=(2, 3)",
        id="softmax-neg-axis",
    ),
    case(
        lambda: softmax(zeros(3), axis=1.0),
        TypeError,
        "axis must be an int",
        id="softmax-axis-float",
    ),
    case(lambda: softmax(np.float64(1.0)), ValueError, "x", "x.shape=()", id="softmax-scalar"),
    case(
        lambda: softmax(np.ones(3, dtype=bool)),
        TypeError,
        "x must be",
        "dtype bool",
        "(3,)",
        id="softmax-bool",
    ),
    case(
        lambda: softmax(np.ones((2, 2), dtype=complex)),
        TypeError,
        "x must be",
        "complex128",
        "(2, 2)",
        id="softmax-complex",
    ),
    case(
        lambda: softmax(np.array([1, "a"], dtype=object)),
        TypeError,
        "x must be",
        "object",
        id="softmax-object",
    ),
    case(lambda: softmax(["a", "b"]), TypeError, "x must be", "<U1", id="softmax-strings"),
    case(
        lambda: softmax(torch.zeros(2, 3)),
        TypeError,
        "x must be a numpy array",
        "torch.Tensor of shape (2, 3)",
        id="softmax-tensor",
    ),
    # ---- scaled_dot_product_attention ---------------------------------------------------------
    case(
        lambda: sdpa(zeros(4), zeros(5, 4), zeros(5, 2)),
        ValueError,
        "q must have at least 2",
        "q.shape=(4,)",
        id="sdpa-1d-q",
    ),
    case(
        lambda: sdpa(zeros(3, 4), zeros(4), zeros(5, 2)),
        ValueError,
        "k must have at least 2",
        "k.shape=(4,)",
        id="sdpa-1d-k",
    ),
    case(
        lambda: sdpa(zeros(3, 4), zeros(5, 3), zeros(5, 2)),
        ValueError,
        "q and k",
        "d_k",
        "q.shape=(3, 4)",
        "k.shape=(5, 3)",
        id="sdpa-width",
    ),
    case(
        lambda: sdpa(zeros(3, 4), zeros(5, 4), zeros(6, 2)),
        ValueError,
        "k and v",
        "T_k",
        "k.shape=(5, 4)",
        "v.shape=(6, 2)",
        id="sdpa-length",
    ),
    case(
        lambda: sdpa(zeros(0, 4), zeros(5, 4), zeros(5, 2)),
        ValueError,
        "q is an empty sequence",
        "T_q=0",
        "q.shape=(0, 4)",
        id="sdpa-empty-q",
    ),
    case(
        lambda: sdpa(zeros(3, 4), zeros(0, 4), zeros(0, 2)),
        ValueError,
        "k is an empty sequence",
        "T_k=0",
        "k.shape=(0, 4)",
        id="sdpa-empty-k",
    ),
    case(
        lambda: sdpa(zeros(3, 0), zeros(5, 0), zeros(5, 2)),
        ValueError,
        "q has width 0",
        "q.shape=(3, 0)",
        id="sdpa-zero-width",
    ),
    case(
        lambda: sdpa(zeros(2, 3, 4), zeros(3, 5, 4), zeros(3, 5, 2)),
        ValueError,
        "batch",
        "q.shape=(2, 3, 4)",
        "k.shape=(3, 5, 4)",
        "v.shape=(3, 5, 2)",
        id="sdpa-batch",
    ),
    case(
        lambda: sdpa(zeros(3, 4), zeros(5, 4), zeros(5, 2), mask=np.ones((4, 5), bool)),
        ValueError,
        "mask.shape=(4, 5)",
        "(3, 5)",
        id="sdpa-mask-shape",
    ),
    case(
        lambda: sdpa(zeros(3, 4), zeros(5, 4), zeros(5, 2), mask=np.ones((2, 3, 5), bool)),
        ValueError,
        "mask.shape=(2, 3, 5)",
        "(3, 5)",
        id="sdpa-mask-enlarges",
    ),
    case(
        lambda: sdpa(zeros(3, 4), zeros(5, 4), zeros(5, 2), mask=np.ones((3, 5))),
        TypeError,
        "mask must be bool, True = may attend; got dtype float64 — did you mean mask.astype(bool)?",
        "mask.shape=(3, 5)",
        id="sdpa-mask-float-type",
    ),
    case(
        lambda: sdpa(zeros(3, 4), zeros(5, 4), zeros(5, 2), mask=np.ones((3, 5))),
        ValueError,
        "mask must be bool",
        "float64",
        id="sdpa-mask-float-value",
    ),
    case(
        lambda: sdpa(zeros(3, 4), zeros(5, 4), zeros(5, 2), mask=np.ones((3, 5), int)),
        TypeError,
        "mask must be bool",
        "int64",
        id="sdpa-mask-int",
    ),
    case(
        lambda: sdpa(zeros(3, 4), zeros(5, 4), with_value((5, 2), (4, 1), np.nan)),
        ValueError,
        "v contains NaN",
        "v.shape=(5, 2)",
        id="sdpa-nan-v",
    ),
    case(
        lambda: sdpa(with_value((3, 4), (0, 0), -np.inf), zeros(5, 4), zeros(5, 2)),
        ValueError,
        "q contains NaN or inf",
        "q.shape=(3, 4)",
        id="sdpa-inf-q",
    ),
    case(
        lambda: sdpa(np.ones((3, 4), bool), zeros(5, 4), zeros(5, 2)),
        TypeError,
        "q must be",
        "bool",
        "(3, 4)",
        id="sdpa-bool-q",
    ),
    case(
        lambda: sdpa(zeros(3, 4), [["a"] * 4] * 5, zeros(5, 2)),
        TypeError,
        "k must be",
        "(5, 4)",
        id="sdpa-string-k",
    ),
    case(
        lambda: sdpa(np.full((1, 2), 1e200), np.full((1, 2), 1e200), zeros(1, 2)),
        ValueError,
        "scores",
        "overflow",
        "q.shape=(1, 2)",
        id="sdpa-overflow",
    ),
    # ---- split_heads / merge_heads ------------------------------------------------------------
    case(
        lambda: split_heads(zeros(2, 5, 10), 3),
        ValueError,
        "d_model=10 is not divisible by num_heads=3; choose num_heads from [1, 2, 5, 10]",
        id="split-indivisible",
    ),
    case(
        lambda: split_heads(zeros(2, 5, 8), 0),
        ValueError,
        "num_heads must be a positive int",
        "num_heads=0",
        id="split-zero-heads",
    ),
    case(
        lambda: split_heads(zeros(2, 5, 8), -2), ValueError, "num_heads", "-2", id="split-neg-heads"
    ),
    case(
        lambda: split_heads(zeros(2, 5, 8), 2.0),
        TypeError,
        "num_heads must be a positive int",
        "float 2.0",
        id="split-float-heads",
    ),
    case(
        lambda: split_heads(zeros(2, 5, 8), 2.0), ValueError, "num_heads", id="split-float-heads-v"
    ),
    case(
        lambda: split_heads(zeros(2, 5, 8), True),
        TypeError,
        "num_heads",
        "bool",
        id="split-bool-heads",
    ),
    case(
        lambda: split_heads(zeros(6), 2),
        ValueError,
        "x must have at least 2",
        "x.shape=(6,)",
        id="split-1d",
    ),
    case(
        lambda: split_heads(with_value((2, 4), (1, 1), np.nan), 2),
        ValueError,
        "x contains NaN",
        "x.shape=(2, 4)",
        id="split-nan",
    ),
    case(
        lambda: merge_heads(zeros(3, 4)),
        ValueError,
        "x must have at least 3",
        "x.shape=(3, 4)",
        id="merge-2d",
    ),
    # ---- MHAParams ----------------------------------------------------------------------------
    case(
        lambda: MHAParams(w_q=zeros(8, 8), w_k=zeros(6, 7), w_v=zeros(8, 8), w_o=zeros(8, 8)),
        ValueError,
        "w_k",
        "d_model=8",
        "w_k.shape=(6, 7)",
        "w_q.shape=(8, 8)",
        id="params-w_k",
    ),
    case(
        lambda: MHAParams(w_q=zeros(8, 8), w_k=zeros(8, 8), w_v=zeros(8, 8), w_o=zeros(8, 4)),
        ValueError,
        "w_o",
        "(8, 8)",
        "w_o.shape=(8, 4)",
        id="params-w_o",
    ),
    case(
        lambda: MHAParams(w_q=EYE4, w_k=EYE4, w_v=EYE4, w_o=EYE4, b_q=zeros(3)),
        ValueError,
        "b_q",
        "(4,)",
        "b_q.shape=(3,)",
        id="params-bias",
    ),
    case(
        lambda: MHAParams(w_q=zeros(4), w_k=EYE4, w_v=EYE4, w_o=EYE4),
        ValueError,
        "w_q must be 2-D",
        "w_q.shape=(4,)",
        id="params-1d",
    ),
    case(
        lambda: MHAParams(w_q=EYE4, w_k=EYE4, w_v=with_value((4, 4), (0, 3), np.nan), w_o=EYE4),
        ValueError,
        "w_v contains NaN",
        "w_v.shape=(4, 4)",
        id="params-nan",
    ),
    case(
        lambda: MHAParams(w_q=EYE4 > 0, w_k=EYE4, w_v=EYE4, w_o=EYE4),
        TypeError,
        "w_q",
        "bool",
        id="params-bool",
    ),
    case(
        lambda: MHAParams(w_q=EYE4, w_k=None, w_v=EYE4, w_o=EYE4),
        TypeError,
        "w_k",
        "None",
        id="params-none-weight",
    ),
    case(lambda: MHAParams.init(0), ValueError, "d_model", "d_model=0", id="init-zero"),
    case(
        lambda: MHAParams.init(8.0),
        TypeError,
        "d_model must be a positive int",
        "float 8.0",
        id="init-float",
    ),
    case(lambda: MHAParams.init(8, d_key_in=-1), ValueError, "d_key_in", "-1", id="init-neg-kdim"),
    case(lambda: MHAParams.init(8, dtype=np.int32), TypeError, "dtype", "int32", id="init-dtype"),
    case(lambda: MHAParams.init(8, bias="yes"), TypeError, "bias", "'yes'", id="init-bias"),
    case(lambda: P8.to_dtype(np.float16), TypeError, "dtype", "float16", id="to-dtype"),
    case(
        lambda: MHAParams.from_torch(torch.nn.Linear(4, 4)),
        TypeError,
        "torch.nn.MultiheadAttention",
        "torch.nn.Linear",
        id="from-torch-linear",
    ),
    case(
        lambda: MHAParams.from_torch(np.eye(3)), TypeError, "numpy.ndarray", id="from-torch-array"
    ),
    case(
        lambda: MHAParams.from_torch(torch.nn.MultiheadAttention(4, 2, add_bias_kv=True)),
        ValueError,
        "add_bias_kv",
        "unsupported",
        id="from-torch-bias-kv",
    ),
    case(
        lambda: MHAParams.from_torch(torch.nn.MultiheadAttention(4, 2, add_zero_attn=True)),
        ValueError,
        "add_zero_attn",
        "unsupported",
        id="from-torch-zero-attn",
    ),
    # ---- multi_head_attention -----------------------------------------------------------------
    case(
        lambda: multi_head_attention(zeros(2, 5, 8), zeros(2, 5, 8), zeros(2, 5, 8), {}, 2),
        TypeError,
        "params must be an MHAParams",
        "dict",
        id="mha-params-type",
    ),
    case(
        lambda: multi_head_attention(zeros(2, 5, 8), zeros(2, 5, 8), zeros(2, 5, 8), P8, 3),
        ValueError,
        "d_model=8 is not divisible by num_heads=3; choose num_heads from [1, 2, 4, 8]",
        id="mha-indivisible",
    ),
    case(
        lambda: multi_head_attention(zeros(2, 5, 8), zeros(2, 5, 8), zeros(2, 5, 8), P8, 0),
        ValueError,
        "num_heads",
        "num_heads=0",
        id="mha-zero-heads",
    ),
    case(
        lambda: multi_head_attention(zeros(2, 5, 8), zeros(2, 5, 8), zeros(2, 5, 8), P8, "2"),
        TypeError,
        "num_heads must be a positive int",
        "'2'",
        id="mha-str-heads",
    ),
    case(
        lambda: multi_head_attention(zeros(2, 5, 8), zeros(2, 5, 7), zeros(2, 5, 8), P_KEY6, 2),
        ValueError,
        "key has width 7 (key.shape=(2, 5, 7)) but params.w_k expects 6 (w_k.shape=(6, 8))",
        id="mha-key-width",
    ),
    case(
        lambda: multi_head_attention(zeros(2, 5, 6), zeros(2, 5, 8), zeros(2, 5, 8), P8, 2),
        ValueError,
        "query has width 6 (query.shape=(2, 5, 6))",
        "w_q.shape=(8, 8)",
        id="mha-query-width",
    ),
    case(
        lambda: multi_head_attention(zeros(2, 5, 8), zeros(2, 5, 8), zeros(2, 5, 3), P8, 2),
        ValueError,
        "value has width 3 (value.shape=(2, 5, 3))",
        "w_v.shape=(8, 8)",
        id="mha-value-width",
    ),
    case(
        lambda: multi_head_attention(zeros(2, 3, 8), zeros(2, 5, 8), zeros(2, 4, 8), P8, 2),
        ValueError,
        "key and value",
        "T_k",
        "key.shape=(2, 5, 8)",
        "value.shape=(2, 4, 8)",
        id="mha-length",
    ),
    case(
        lambda: multi_head_attention(zeros(2, 3, 8), zeros(3, 5, 8), zeros(3, 5, 8), P8, 2),
        ValueError,
        "batch",
        "query.shape=(2, 3, 8)",
        "key.shape=(3, 5, 8)",
        id="mha-batch",
    ),
    case(
        lambda: multi_head_attention(zeros(0, 8), zeros(5, 8), zeros(5, 8), P8, 2),
        ValueError,
        "query is an empty sequence",
        "query.shape=(0, 8)",
        id="mha-empty-query",
    ),
    case(
        lambda: multi_head_attention(zeros(2, 3, 8), zeros(2, 0, 8), zeros(2, 0, 8), P8, 2),
        ValueError,
        "key is an empty sequence",
        "key.shape=(2, 0, 8)",
        id="mha-empty-key",
    ),
    case(
        lambda: multi_head_attention(zeros(8), zeros(5, 8), zeros(5, 8), P8, 2),
        ValueError,
        "query must have at least 2",
        "query.shape=(8,)",
        id="mha-1d",
    ),
    case(
        lambda: multi_head_attention(
            zeros(2, 3, 8), with_value((2, 5, 8), (0, 0, 0), np.nan), zeros(2, 5, 8), P8, 2
        ),
        ValueError,
        "key contains NaN",
        "key.shape=(2, 5, 8)",
        id="mha-nan",
    ),
    case(
        lambda: multi_head_attention(
            zeros(2, 3, 8), zeros(2, 5, 8), zeros(2, 5, 8), P8, 2, mask=np.ones((2, 5, 3), bool)
        ),
        ValueError,
        "mask.shape=(2, 5, 3)",
        "(2, 2, 3, 5)",
        id="mha-mask-shape",
    ),
    case(
        lambda: multi_head_attention(
            zeros(3, 4, 8), zeros(3, 4, 8), zeros(3, 4, 8), P8, 2, mask=np.ones((3, 4, 4), bool)
        ),
        ValueError,
        "mask.shape=(3, 4, 4)",
        "(3, 2, 4, 4)",
        "mask[:, None]",
        id="mha-mask-no-heads",
    ),
    case(
        lambda: multi_head_attention(
            zeros(2, 3, 8), zeros(2, 5, 8), zeros(2, 5, 8), P8, 2, mask=np.ones((3, 5))
        ),
        TypeError,
        "mask must be bool, True = may attend; got dtype float64",
        id="mha-mask-dtype",
    ),
    case(
        lambda: multi_head_attention(BIG, BIG, zeros(1, 2, 8), P8, 2),
        ValueError,
        "scores = q @ kᵀ / sqrt(d_k) overflowed",
        "q.shape=(1, 2, 2, 4)",
        id="mha-overflow-scores",
    ),
    case(
        lambda: multi_head_attention(zeros(1, 2, 8), zeros(1, 2, 8), np.full((1, 2, 8), 1e308), P8, 2),
        ValueError,
        "value @ w_v overflowed",
        "value.shape=(1, 2, 8)",
        "w_v.shape=(8, 8)",
        id="mha-overflow-value",
    ),
    # ---- MultiHeadAttention (torch) -----------------------------------------------------------
    case(
        lambda: MultiHeadAttention(10, 3),
        ValueError,
        "d_model=10 is not divisible by num_heads=3; choose num_heads from [1, 2, 5, 10]",
        id="module-indivisible",
    ),
    case(lambda: MultiHeadAttention(0, 1), ValueError, "d_model", "d_model=0", id="module-zero"),
    case(lambda: MultiHeadAttention(8, -2), ValueError, "num_heads", "-2", id="module-neg-heads"),
    case(
        lambda: MultiHeadAttention(8, 2.5), TypeError, "num_heads", "float 2.5", id="module-float"
    ),
    case(lambda: MultiHeadAttention(8, 2, kdim=0), ValueError, "kdim", "kdim=0", id="module-kdim"),
    case(lambda: MultiHeadAttention(8, 2, bias="no"), TypeError, "bias", "'no'", id="module-bias"),
    case(
        lambda: MODULE(np.zeros((2, 3, 4))),
        TypeError,
        "query must be a torch.Tensor, got numpy.ndarray of shape (2, 3, 4)",
        id="module-numpy",
    ),
    case(
        lambda: MODULE(tzeros(2, 3, 8), [[0.0] * 8]),
        TypeError,
        "key must be a torch.Tensor",
        "list",
        id="module-list-key",
    ),
    case(
        lambda: MODULE(torch.zeros(2, 3, 8, dtype=torch.int64)),
        TypeError,
        "query must be a floating point tensor",
        "torch.int64",
        "(2, 3, 8)",
        id="module-int",
    ),
    case(
        lambda: MODULE(tzeros(2, 3, 8, dtype=torch.float64)),
        TypeError,
        "query has dtype torch.float64",
        "torch.float32",
        "query.shape=(2, 3, 8)",
        id="module-dtype",
    ),
    case(lambda: MODULE(tzeros(8)), ValueError, "query", "query.shape=(8,)", id="module-1d"),
    case(
        lambda: MODULE(tzeros(1, 2, 3, 8)),
        ValueError,
        "query",
        "query.shape=(1, 2, 3, 8)",
        id="module-4d",
    ),
    case(
        lambda: MODULE_KEY6(tzeros(2, 5, 8), tzeros(2, 5, 7), tzeros(2, 5, 8)),
        ValueError,
        "key has width 7 (key.shape=(2, 5, 7)) but k_proj expects 6",
        "(8, 6)",
        id="module-key-width",
    ),
    case(
        lambda: MODULE(tzeros(2, 5, 8), tzeros(5, 8), tzeros(5, 8)),
        ValueError,
        "batched",
        "query.shape=(2, 5, 8)",
        "key.shape=(5, 8)",
        id="module-batched-mix",
    ),
    case(
        lambda: MODULE(tzeros(2, 3, 8), tzeros(2, 5, 8), tzeros(2, 4, 8)),
        ValueError,
        "key and value",
        "key.shape=(2, 5, 8)",
        "value.shape=(2, 4, 8)",
        id="module-length",
    ),
    case(
        lambda: MODULE(tzeros(2, 3, 8), tzeros(3, 5, 8), tzeros(3, 5, 8)),
        ValueError,
        "batch",
        "query.shape=(2, 3, 8)",
        "key.shape=(3, 5, 8)",
        id="module-batch",
    ),
    case(
        lambda: MODULE(tzeros(2, 0, 8)),
        ValueError,
        "query is an empty sequence",
        "query.shape=(2, 0, 8)",
        id="module-empty",
    ),
    case(
        lambda: MODULE(tzeros(2, 3, 8), mask=torch.ones(3, 3)),
        TypeError,
        "mask must be bool, True = may attend; got dtype torch.float32 — did you mean mask.bool()?",
        "mask.shape=(3, 3)",
        id="module-mask-float",
    ),
    case(
        lambda: MODULE(tzeros(2, 3, 8), mask=torch.ones(3, 3)),
        ValueError,
        "mask must be bool",
        id="module-mask-float-value",
    ),
    case(
        lambda: MODULE(tzeros(2, 3, 8), mask=np.ones((3, 3), bool)),
        TypeError,
        "mask must be a torch.Tensor",
        "numpy.ndarray of shape (3, 3)",
        id="module-mask-numpy",
    ),
    case(
        lambda: MODULE(tzeros(2, 3, 8), mask=torch.ones(3, 4, dtype=torch.bool)),
        ValueError,
        "mask.shape=(3, 4)",
        "(2, 2, 3, 3)",
        id="module-mask-shape",
    ),
    case(
        lambda: MODULE(tzeros(3, 8), mask=torch.ones(2, 1, 3, 3, dtype=torch.bool)),
        ValueError,
        "mask.shape=(2, 1, 3, 3)",
        "(2, 3, 3)",
        id="module-unbatched-mask-shape",
    ),
    case(
        lambda: MultiHeadAttention.from_torch(torch.nn.Linear(4, 4)),
        TypeError,
        "torch.nn.MultiheadAttention",
        "torch.nn.Linear",
        id="module-from-linear",
    ),
    case(
        lambda: MultiHeadAttention.from_torch(torch.nn.MultiheadAttention(4, 2, add_bias_kv=True)),
        ValueError,
        "add_bias_kv",
        "unsupported",
        id="module-from-bias-kv",
    ),
    case(
        lambda: MultiHeadAttention.from_torch(
            torch.nn.MultiheadAttention(4, 2, add_zero_attn=True)
        ),
        ValueError,
        "add_zero_attn",
        "unsupported",
        id="module-from-zero-attn",
    ),
    case(
        lambda: MultiHeadAttention.from_params(P8, 3),
        ValueError,
        "d_model=8 is not divisible",
        id="module-from-params-heads",
    ),
    case(
        lambda: MultiHeadAttention.from_params(MHAParams.init(8, d_query_in=4), 2),
        ValueError,
        "d_query_in",
        "w_q.shape=(4, 8)",
        id="module-from-params-width",
    ),
    case(
        lambda: MultiHeadAttention.from_params(torch.nn.Linear(2, 2), 2),
        TypeError,
        "params must be an MHAParams",
        "torch.nn.Linear",
        id="module-from-params-type",
    ),
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
