"""Learner implementations for tests/test_exercises.py: correct ones in several styles, and
deliberately wrong ones, each making one classic mistake.

They are written the way a learner would write them, independently of the checkers' own
reference code, so that a checker is tested against real code and not against itself.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from mha_lib import MHAParams

# ---------------------------------------------------------------------------------------------
# shared pieces
# ---------------------------------------------------------------------------------------------


def stable_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def naive_softmax(x, axis=-1):
    e = np.exp(x)  # overflows for x > 709
    return e / e.sum(axis=axis, keepdims=True)


def swap_last(k):
    return np.swapaxes(k, -1, -2)


# ---------------------------------------------------------------------------------------------
# lesson 01: embedding
# ---------------------------------------------------------------------------------------------


def embed_index(token_ids, table):
    return table[token_ids]


def embed_one_hot(token_ids, table):
    one_hot = np.eye(table.shape[0])[token_ids]  # (seq_len, vocab_size)
    return one_hot @ table


def embed_loop_as_list(token_ids, table):
    return [list(table[token_id]) for token_id in token_ids]


def embed_torch(token_ids, table):
    return nn.functional.embedding(torch.as_tensor(token_ids), torch.as_tensor(table))


def embed_transposed(token_ids, table):
    return table[token_ids].T


def embed_columns(token_ids, table):
    return table[:, token_ids]


def embed_one_hot_not_multiplied(token_ids, table):
    return np.eye(table.shape[0])[token_ids]


def embed_transposed_table(token_ids, table):
    return table.T[token_ids]


def embed_off_by_one(token_ids, table):
    return table[np.asarray(token_ids) - 1]  # ids counted from 1


def embed_reversed(token_ids, table):
    return table[np.asarray(token_ids)[::-1]]


def embed_doubled(token_ids, table):
    return 2 * table[token_ids]


# ---------------------------------------------------------------------------------------------
# lesson 02: q, k, v projections
# ---------------------------------------------------------------------------------------------


def project_qkv(x, w_q, w_k, w_v):
    return x @ w_q, x @ w_k, x @ w_v


def project_qkv_einsum(x, w_q, w_k, w_v):
    return tuple(np.einsum("ti,io->to", x, w) for w in (w_q, w_k, w_v))


def project_qkv_torch(x, w_q, w_k, w_v):
    x = torch.as_tensor(x)
    return [nn.functional.linear(x, torch.as_tensor(w).T) for w in (w_q, w_k, w_v)]


def project_qkv_transposed(x, w_q, w_k, w_v):
    return x @ w_q.T, x @ w_k.T, x @ w_v.T


def project_qkv_swapped(x, w_q, w_k, w_v):
    return x @ w_k, x @ w_q, x @ w_v


def project_qkv_only_two(x, w_q, w_k, w_v):
    return x @ w_q, x @ w_k


def project_qkv_weight_first(x, w_q, w_k, w_v):
    return w_q.T @ x.T, w_k.T @ x.T, w_v.T @ x.T


# ---------------------------------------------------------------------------------------------
# lesson 03: scores
# ---------------------------------------------------------------------------------------------


def scores_numpy(q, k):
    return q @ swap_last(k) / np.sqrt(q.shape[-1])


def scores_einsum(q, k):
    return np.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])


def scores_torch(q, k):
    q, k = torch.as_tensor(q), torch.as_tensor(k)
    return q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5


def scores_missing_scale(q, k):
    return q @ swap_last(k)


def scores_scale_by_d(q, k):
    return q @ swap_last(k) / q.shape[-1]


def scores_multiplied(q, k):
    return q @ swap_last(k) * np.sqrt(q.shape[-1])


def scores_sqrt_seq_len(q, k):
    return q @ swap_last(k) / np.sqrt(q.shape[-2])


def scores_sqrt_keys(q, k):
    return q @ swap_last(k) / np.sqrt(k.shape[-2])


def scores_halved(q, k):
    return q @ swap_last(k) / 2


def scores_k_transposed(q, k):
    return q @ k.T / np.sqrt(q.shape[-1])  # fine in 2-D, fails with batch axes


def scores_keys_first(q, k):
    return k @ swap_last(q) / np.sqrt(q.shape[-1])


def scores_softmaxed(q, k):
    return stable_softmax(scores_numpy(q, k))


# ---------------------------------------------------------------------------------------------
# lesson 04: softmax
# ---------------------------------------------------------------------------------------------


def softmax_numpy(x, axis=-1):
    return stable_softmax(x, axis=axis)


def softmax_logsumexp(x, axis=-1):
    top = np.max(x, axis=axis, keepdims=True)
    log_total = top + np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True))
    return np.exp(x - log_total)


def softmax_torch(x, axis=-1):
    return torch.softmax(torch.as_tensor(x), dim=axis)


def softmax_in_place(x, axis=-1):
    x -= x.max(axis=axis, keepdims=True)  # edits the caller's array
    np.exp(x, out=x)
    x /= x.sum(axis=axis, keepdims=True)
    return x


def softmax_naive(x, axis=-1):
    return naive_softmax(x, axis=axis)


def softmax_global_max(x, axis=-1):
    e = np.exp(x - x.max())
    return e / e.sum(axis=axis, keepdims=True)


def softmax_ignores_axis(x, axis=-1):
    return stable_softmax(x, axis=-1)


def softmax_over_axis_0(x, axis=-1):
    return stable_softmax(x, axis=0)


def softmax_whole_array(x, axis=-1):
    e = np.exp(x - x.max())
    return e / e.sum()


def softmax_not_normalised(x, axis=-1):
    return np.exp(x)


def softmax_over_axis_1(x, axis=-1):
    return stable_softmax(x, axis=1)


def softmax_no_keepdims(x, axis=-1):
    e = np.exp(x - x.max(axis=axis))
    return e / e.sum(axis=axis)


def softmax_lse_no_keepdims(x, axis=-1):
    """Lesson 04's exercise (softmax through log-sum-exp) without keepdims=True."""
    m = x.max(axis=axis)
    lse = m + np.log(np.exp(x - m).sum(axis=axis))
    return np.exp(x - lse)


def softmax_keepdims_for_matrices_only(x, axis=-1):
    """keepdims=True only for a matrix: right on the square matrix, raises on x (3, 4, 5)."""
    keep = x.ndim == 2
    e = np.exp(x - x.max(axis=axis, keepdims=keep))
    return e / e.sum(axis=axis, keepdims=keep)


def softmax_keepdims_at_end(x, axis=-1):
    """Puts the reduced axis back at the end, which fits only axis=-1."""
    e = np.exp(x - x.max(axis=axis)[..., None])
    return e / e.sum(axis=axis)[..., None]


# ---------------------------------------------------------------------------------------------
# lesson 05: masks (a masked softmax)
# ---------------------------------------------------------------------------------------------


def masked_softmax_numpy(scores, mask):
    masked = np.where(mask, scores, -np.inf)
    top = masked.max(axis=-1, keepdims=True)
    top = np.where(np.isneginf(top), 0.0, top)  # a fully masked row: keep exp(-inf) = 0
    e = np.exp(masked - top)
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def masked_softmax_library(scores, mask):
    import mha_lib

    return mha_lib.softmax(np.where(mask, scores, -np.inf))


def masked_softmax_torch(scores, mask):
    scores = torch.as_tensor(scores).masked_fill(~torch.as_tensor(mask), float("-inf"))
    return torch.softmax(scores, dim=-1).nan_to_num(0.0)  # a fully masked row: nan -> 0


def masked_softmax_inverted(scores, mask):
    return masked_softmax_numpy(scores, ~mask)


def masked_softmax_after(scores, mask):
    return stable_softmax(scores) * mask


def masked_softmax_after_renormalised(scores, mask):
    weights = stable_softmax(scores) * mask
    return weights / weights.sum(axis=-1, keepdims=True)  # 0 / 0 on a fully masked row


def masked_softmax_zero(scores, mask):
    return stable_softmax(np.where(mask, scores, 0.0))


def masked_softmax_multiplied(scores, mask):
    return stable_softmax(scores * mask)


def masked_softmax_nan(scores, mask):
    return stable_softmax(np.where(mask, scores, -np.inf))  # -inf - (-inf) = nan


def masked_softmax_naive_nan(scores, mask):
    e = np.exp(np.where(mask, scores, -np.inf))
    return e / e.sum(axis=-1, keepdims=True)  # 0 / 0 on a fully masked row


def masked_softmax_times_inf(scores, mask):
    return stable_softmax(scores * np.where(mask, 1.0, -np.inf))  # -inf * a negative score


def masked_softmax_not_normalised(scores, mask):
    masked = np.where(mask, scores, -np.inf)
    return np.exp(masked - masked.max(axis=-1, keepdims=True))  # no division by the sum


def masked_softmax_large_negative(scores, mask):
    return stable_softmax(np.where(mask, scores, -1e9))


def masked_softmax_ignores_mask(scores, mask):
    return stable_softmax(scores)


def masked_softmax_boolean_index(scores, mask):
    return stable_softmax(scores[mask])


def masked_softmax_same_shape_only(scores, mask):
    scores[~mask] = -np.inf  # needs a mask of the scores' own shape
    return masked_softmax_numpy(scores, np.isfinite(scores))


# ---------------------------------------------------------------------------------------------
# lesson 06: attention
# ---------------------------------------------------------------------------------------------


def attention_numpy(q, k, v, mask=None):
    scores = q @ swap_last(k) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = stable_softmax(scores)
    return weights @ v, weights


def attention_einsum(q, k, v, mask=None):
    scores = np.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -1e9)  # a large negative number instead of -inf
    weights = stable_softmax(scores)
    return np.einsum("...qk,...kd->...qd", weights, v), weights


def attention_torch(q, k, v, mask=None):
    q, k, v = (torch.as_tensor(t) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~torch.as_tensor(mask), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def _attention(q, k, v, mask, *, divisor=None, axis=-1, invert=False, softmax=stable_softmax):
    divisor = np.sqrt(q.shape[-1]) if divisor is None else divisor
    scores = q @ swap_last(k) / divisor
    if mask is not None:
        scores = np.where(~mask if invert else mask, scores, -np.inf)
    weights = softmax(scores, axis=axis)
    return weights @ v, weights


def attention_missing_scale(q, k, v, mask=None):
    return _attention(q, k, v, mask, divisor=1.0)


def attention_scale_by_d(q, k, v, mask=None):
    return _attention(q, k, v, mask, divisor=q.shape[-1])


def attention_softmax_over_queries(q, k, v, mask=None):
    return _attention(q, k, v, mask, axis=-2)


def attention_mask_inverted(q, k, v, mask=None):
    return _attention(q, k, v, mask, invert=True)


def attention_naive_softmax(q, k, v, mask=None):
    return _attention(q, k, v, mask, softmax=naive_softmax)


def attention_output_only(q, k, v, mask=None):
    return _attention(q, k, v, mask)[0]


def attention_weights_first(q, k, v, mask=None):
    output, weights = _attention(q, k, v, mask)
    return weights, output


def attention_mask_after_softmax(q, k, v, mask=None):
    weights = stable_softmax(q @ swap_last(k) / np.sqrt(q.shape[-1]))
    if mask is not None:
        weights = weights * mask
    return weights @ v, weights


def attention_masked_with_zero(q, k, v, mask=None):
    scores = q @ swap_last(k) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores * mask  # blocked scores become 0, not -inf
    weights = stable_softmax(scores)
    return weights @ v, weights


def attention_mask_times_inf(q, k, v, mask=None):
    scores = q @ swap_last(k) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores * np.where(mask, 1.0, -np.inf)
    weights = stable_softmax(scores)
    return weights @ v, weights


def attention_weights_transposed(q, k, v, mask=None):
    output, weights = _attention(q, k, v, mask)
    return output, swap_last(weights)


def attention_ignores_mask(q, k, v, mask=None):
    return _attention(q, k, v, None)


def attention_k_transposed(q, k, v, mask=None):
    scores = q @ k.T / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = stable_softmax(scores)
    return weights @ v, weights


def attention_sums_keys(q, k, v, mask=None):
    _, weights = _attention(q, k, v, mask)
    return weights @ k, weights


# ---------------------------------------------------------------------------------------------
# lesson 07: split and merge heads
# ---------------------------------------------------------------------------------------------


def split_numpy(x, num_heads):
    *batch, seq_len, d_model = x.shape
    x = x.reshape(*batch, seq_len, num_heads, d_model // num_heads)
    return np.swapaxes(x, -3, -2)


def split_by_slicing(x, num_heads):
    d_head = x.shape[-1] // num_heads
    heads = [x[..., h * d_head : (h + 1) * d_head] for h in range(num_heads)]
    return np.stack(heads, axis=-3)


def split_torch(x, num_heads):
    x = torch.as_tensor(x)
    return x.unflatten(-1, (num_heads, -1)).transpose(-3, -2)


def split_reshape_only(x, num_heads):
    *batch, seq_len, d_model = x.shape
    return x.reshape(*batch, num_heads, seq_len, d_model // num_heads)


def split_heads_last(x, num_heads):
    *batch, seq_len, d_model = x.shape
    return x.reshape(*batch, seq_len, num_heads, d_model // num_heads)


def split_interleaved(x, num_heads):
    *batch, seq_len, d_model = x.shape
    x = x.reshape(*batch, seq_len, d_model // num_heads, num_heads)  # head = feature % H
    return np.moveaxis(x, -1, -3)


def split_batch_only(x, num_heads):
    batch, seq_len, d_model = x.shape  # needs a batch axis
    x = x.reshape(batch, seq_len, num_heads, d_model // num_heads)
    return x.transpose(0, 2, 1, 3)


def merge_numpy(x):
    *batch, num_heads, seq_len, d_head = x.shape
    return np.swapaxes(x, -3, -2).reshape(*batch, seq_len, num_heads * d_head)


def merge_by_concatenating(x):
    return np.concatenate([x[..., h, :, :] for h in range(x.shape[-3])], axis=-1)


def merge_torch(x):
    x = torch.as_tensor(x)
    return x.transpose(-3, -2).flatten(-2)


def merge_reshape_only(x):
    *batch, num_heads, seq_len, d_head = x.shape
    return x.reshape(*batch, seq_len, num_heads * d_head)


def merge_summed(x):
    return x.sum(axis=-3)


def merge_averaged(x):
    return x.mean(axis=-3)


def merge_along_sequence(x):
    return np.concatenate([x[..., h, :, :] for h in range(x.shape[-3])], axis=-2)


# ---------------------------------------------------------------------------------------------
# lesson 08: multi-head attention with MHAParams
# ---------------------------------------------------------------------------------------------


def _linear(x, w, b):
    return x @ w if b is None else x @ w + b


def mha_numpy(query, key, value, params, num_heads, mask=None):
    q = split_numpy(_linear(query, params.w_q, params.b_q), num_heads)
    k = split_numpy(_linear(key, params.w_k, params.b_k), num_heads)
    v = split_numpy(_linear(value, params.w_v, params.b_v), num_heads)
    heads, weights = attention_numpy(q, k, v, mask)
    return _linear(merge_numpy(heads), params.w_o, params.b_o), weights


def mha_loop_over_heads(query, key, value, params, num_heads, mask=None):
    """One head at a time, each with its slice of the projection matrices."""
    d_head = params.d_model // num_heads
    outputs, all_weights = [], []
    for h in range(num_heads):
        cols = slice(h * d_head, (h + 1) * d_head)

        def project(x, w, b, cols=cols):
            return x @ w[:, cols] + (0 if b is None else b[cols])

        q = project(query, params.w_q, params.b_q)
        k = project(key, params.w_k, params.b_k)
        v = project(value, params.w_v, params.b_v)
        head_output, head_weights = attention_einsum(q, k, v, mask)
        outputs.append(head_output)
        all_weights.append(head_weights)
    merged = np.concatenate(outputs, axis=-1)
    return _linear(merged, params.w_o, params.b_o), np.stack(all_weights, axis=-3)


def mha_torch(query, key, value, params, num_heads, mask=None):
    def t(a):
        return None if a is None else torch.as_tensor(np.asarray(a))

    batch, seq_len_q, _ = query.shape
    q = nn.functional.linear(t(query), t(params.w_q).T, t(params.b_q))
    k = nn.functional.linear(t(key), t(params.w_k).T, t(params.b_k))
    v = nn.functional.linear(t(value), t(params.w_v).T, t(params.b_v))
    q, k, v = (x.view(x.shape[0], x.shape[1], num_heads, -1).transpose(1, 2) for x in (q, k, v))
    out, weights = attention_torch(q, k, v, None if mask is None else t(mask))
    merged = out.transpose(1, 2).reshape(batch, seq_len_q, -1)
    return nn.functional.linear(merged, t(params.w_o).T, t(params.b_o)), weights


def make_wrong_mha(
    *,
    divisor=None,
    axis=-1,
    invert=False,
    softmax=stable_softmax,
    split=split_numpy,
    merge=merge_numpy,
    combine=None,
    project_output=True,
    output_bias=True,
    input_biases=True,
    weights_mean=False,
):
    """A learner's multi-head attention with one mistake switched on."""

    def wrong_mha(query, key, value, params, num_heads, mask=None):
        b_q, b_k, b_v = (params.b_q, params.b_k, params.b_v) if input_biases else (None,) * 3
        q = split(_linear(query, params.w_q, b_q), num_heads)
        k = split(_linear(key, params.w_k, b_k), num_heads)
        v = split(_linear(value, params.w_v, b_v), num_heads)
        heads, weights = _attention(
            q,
            k,
            v,
            mask,
            divisor=np.sqrt(q.shape[-1]) if divisor is None else divisor(q.shape[-1]),
            axis=axis,
            invert=invert,
            softmax=softmax,
        )
        if weights_mean:
            weights = weights.mean(axis=-3)
        if combine is not None:
            return combine(heads, axis=-3), weights
        merged = merge(heads)
        if not project_output:
            return merged, weights
        return _linear(merged, params.w_o, params.b_o if output_bias else None), weights

    return wrong_mha


mha_missing_scale = make_wrong_mha(divisor=lambda d_head: 1.0)
mha_scale_by_d = make_wrong_mha(divisor=lambda d_head: d_head)
mha_softmax_over_queries = make_wrong_mha(axis=-2)
mha_mask_inverted = make_wrong_mha(invert=True)
mha_naive_softmax = make_wrong_mha(softmax=naive_softmax)
mha_split_reshape_only = make_wrong_mha(split=split_reshape_only)
mha_split_and_merge_reshape_only = make_wrong_mha(
    split=split_reshape_only, merge=merge_reshape_only
)
mha_merge_reshape_only = make_wrong_mha(merge=merge_reshape_only)
mha_heads_summed = make_wrong_mha(combine=np.sum)
mha_heads_averaged = make_wrong_mha(combine=np.mean)
mha_no_output_projection = make_wrong_mha(project_output=False)
mha_no_output_bias = make_wrong_mha(output_bias=False)
mha_no_input_biases = make_wrong_mha(input_biases=False)
mha_sqrt_d_model = make_wrong_mha(divisor=lambda d_head: np.sqrt(3 * d_head))  # 3 heads first
mha_weights_averaged = make_wrong_mha(weights_mean=True)


def mha_single_head(query, key, value, params, num_heads, mask=None):
    return mha_numpy(query, key, value, params, 1, mask)


def mha_weights_without_mask(query, key, value, params, num_heads, mask=None):
    output, _ = mha_numpy(query, key, value, params, num_heads, mask)
    return output, mha_numpy(query, key, value, params, num_heads)[1]


def mha_single_head_squeezed(query, key, value, params, num_heads, mask=None):
    output, weights = mha_numpy(query, key, value, params, 1, mask)
    return output, weights[:, 0]


def mha_weights_offset(query, key, value, params, num_heads, mask=None):
    output, weights = mha_numpy(query, key, value, params, num_heads, mask)
    return output, weights + 0.01


def mha_weights_transposed(query, key, value, params, num_heads, mask=None):
    output, weights = mha_numpy(query, key, value, params, num_heads, mask)
    return output, swap_last(weights)


def mha_first_head_only(query, key, value, params, num_heads, mask=None):
    q = split_numpy(_linear(query, params.w_q, params.b_q), num_heads)
    k = split_numpy(_linear(key, params.w_k, params.b_k), num_heads)
    v = split_numpy(_linear(value, params.w_v, params.b_v), num_heads)
    heads, weights = attention_numpy(q, k, v, mask)
    return heads[..., 0, :, :], weights  # (batch, T_q, d_head): one head, no merge


def mha_output_only(query, key, value, params, num_heads, mask=None):
    return mha_numpy(query, key, value, params, num_heads, mask)[0]


# ---------------------------------------------------------------------------------------------
# lesson 09: the torch module
# ---------------------------------------------------------------------------------------------


class LearnerMHA(nn.Module):
    """A learner's module; class attributes switch on one mistake in a subclass."""

    divide_by = "sqrt"  # "sqrt", "none", "d" or "sqrt_d_model"
    heads_used = None  # e.g. 1: attend with one head over the full d_model
    squeeze_one_head = False  # with heads_used=1, drop the head axis of the weights
    first_head_only = False  # return the first head's output instead of merging
    transpose_weights = False
    input_biases = True
    output_bias = True
    softmax_dim = -1
    torch_mask_polarity = False  # True: treats True as blocked, like nn.MultiheadAttention
    naive_softmax = False
    split_with_transpose = True
    merge_with_transpose = True
    sum_heads = False
    average_heads = False
    weights_ignore_mask = False  # the returned weights are computed without the mask
    use_output_projection = True
    return_weights_mean = False
    return_output_only = False

    def __init__(self, d_model, num_heads, bias=True, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.d_head = d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(kdim or d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(vdim or d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def split(self, x):
        batch, seq_len, d_model = x.shape
        heads = self.heads_used or self.num_heads
        if not self.split_with_transpose:
            return x.reshape(batch, heads, seq_len, d_model // heads)
        return x.view(batch, seq_len, heads, d_model // heads).transpose(1, 2)

    def project(self, layer, x, bias=True):
        return nn.functional.linear(x, layer.weight, layer.bias if bias else None)

    def forward(self, query, key=None, value=None, mask=None, need_weights=False):
        key = query if key is None else key
        value = key if value is None else value
        q, k, v = (
            self.split(self.project(self.q_proj, query, self.input_biases)),
            self.split(self.project(self.k_proj, key, self.input_biases)),
            self.split(self.project(self.v_proj, value, self.input_biases)),
        )
        scores = q @ k.transpose(-2, -1)
        if self.divide_by == "sqrt":
            scores = scores / math.sqrt(q.shape[-1])
        elif self.divide_by == "d":
            scores = scores / q.shape[-1]
        elif self.divide_by == "sqrt_d_model":
            scores = scores / math.sqrt(query.shape[-1])
        if mask is not None:
            blocked = mask if self.torch_mask_polarity else ~mask
            scores = scores.masked_fill(blocked, float("-inf"))
        if self.naive_softmax:
            exps = scores.exp()
            weights = exps / exps.sum(dim=self.softmax_dim, keepdim=True)
        else:
            weights = torch.softmax(scores, dim=self.softmax_dim)
        heads = weights @ v  # (batch, num_heads, T_q, d_head)
        batch, _, seq_len_q, _ = heads.shape
        if self.first_head_only:
            return heads[:, 0], (weights if need_weights else None)
        if self.sum_heads or self.average_heads:
            combined = heads.sum(dim=1) if self.sum_heads else heads.mean(dim=1)
            return combined, (weights if need_weights else None)
        if self.merge_with_transpose:
            merged = heads.transpose(1, 2).contiguous().view(batch, seq_len_q, -1)
        else:
            merged = heads.reshape(batch, seq_len_q, -1)
        output = merged
        if self.use_output_projection:
            output = self.project(self.out_proj, merged, self.output_bias)
        if self.return_output_only:
            return output
        if self.return_weights_mean:
            weights = weights.mean(dim=1)
        if self.weights_ignore_mask:
            weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.d_head), dim=-1)
        if self.squeeze_one_head:
            weights = weights[:, 0]
        if self.transpose_weights:
            weights = weights.transpose(-2, -1)
        return output, (weights if need_weights else None)


class EinsumMHA(nn.Module):
    """A correct module in another style: einsum and permute, a -1e9 mask fill."""

    def __init__(self, d_model, num_heads, bias=True, kdim=None, vdim=None):
        super().__init__()
        self.h = num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(kdim or d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(vdim or d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key=None, value=None, mask=None, need_weights=False):
        key = query if key is None else key
        value = key if value is None else value

        def heads(x):
            b, t, d = x.shape
            return x.reshape(b, t, self.h, d // self.h).permute(0, 2, 1, 3)

        q, k, v = heads(self.q_proj(query)), heads(self.k_proj(key)), heads(self.v_proj(value))
        scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / q.shape[-1] ** 0.5
        if mask is not None:
            scores = scores.masked_fill(~mask, -1e9)
        weights = scores.softmax(dim=-1)
        out = torch.einsum("bhqk,bhkd->bqhd", weights, v).flatten(2)
        return self.out_proj(out), (weights if need_weights else None)


def module_variant(name, **switches):
    return type(name, (LearnerMHA,), switches)


ModuleMissingScale = module_variant("ModuleMissingScale", divide_by="none")
ModuleScaleByD = module_variant("ModuleScaleByD", divide_by="d")
ModuleSoftmaxOverQueries = module_variant("ModuleSoftmaxOverQueries", softmax_dim=-2)
ModuleTorchMaskPolarity = module_variant("ModuleTorchMaskPolarity", torch_mask_polarity=True)
ModuleNaiveSoftmax = module_variant("ModuleNaiveSoftmax", naive_softmax=True)
ModuleSplitReshapeOnly = module_variant("ModuleSplitReshapeOnly", split_with_transpose=False)
ModuleMergeReshapeOnly = module_variant("ModuleMergeReshapeOnly", merge_with_transpose=False)
ModuleSumsHeads = module_variant("ModuleSumsHeads", sum_heads=True)
ModuleAveragesHeads = module_variant("ModuleAveragesHeads", average_heads=True)
ModuleWeightsWithoutMask = module_variant("ModuleWeightsWithoutMask", weights_ignore_mask=True)
ModuleSqrtDModel = module_variant("ModuleSqrtDModel", divide_by="sqrt_d_model")
ModuleNoInputBiases = module_variant("ModuleNoInputBiases", input_biases=False)
ModuleNoOutputBias = module_variant("ModuleNoOutputBias", output_bias=False)
ModuleSplitAndMergeReshapeOnly = module_variant(
    "ModuleSplitAndMergeReshapeOnly", split_with_transpose=False, merge_with_transpose=False
)
ModuleOneHead = module_variant("ModuleOneHead", heads_used=1)
ModuleFirstHeadOnly = module_variant("ModuleFirstHeadOnly", first_head_only=True)
ModuleWeightsTransposed = module_variant("ModuleWeightsTransposed", transpose_weights=True)
ModuleOneHeadSqueezed = module_variant("ModuleOneHeadSqueezed", heads_used=1, squeeze_one_head=True)
ModuleNoOutputProjection = module_variant("ModuleNoOutputProjection", use_output_projection=False)
ModuleAveragesWeights = module_variant("ModuleAveragesWeights", return_weights_mean=True)
ModuleReturnsOutputOnly = module_variant("ModuleReturnsOutputOnly", return_output_only=True)


class ModulePerHeadProjections(LearnerMHA):
    """Misconception: each head has its own small projection (only one is kept here)."""

    def __init__(self, d_model, num_heads, bias=True, kdim=None, vdim=None):
        super().__init__(d_model, num_heads, bias, kdim, vdim)
        self.q_proj = nn.Linear(d_model, d_model // num_heads, bias=bias)


class ModuleOtherNames(nn.Module):
    def __init__(self, d_model, num_heads, bias=True, kdim=None, vdim=None):
        super().__init__()
        self.w_q = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key=None, value=None, mask=None, need_weights=False):
        return self.w_q(query), None


class ModuleIgnoresBiasFlag(LearnerMHA):
    def __init__(self, d_model, num_heads, bias=True, kdim=None, vdim=None):
        super().__init__(d_model, num_heads, True, kdim, vdim)


class ModuleNeverBias(LearnerMHA):
    """Builds every layer without bias, even for bias=True."""

    def __init__(self, d_model, num_heads, bias=True, kdim=None, vdim=None):
        super().__init__(d_model, num_heads, False, kdim, vdim)


class ModuleNeedsKeyAndValue(LearnerMHA):
    """No defaults for key and value: forward(query) alone fails."""

    def forward(self, query, key, value, mask=None, need_weights=False):
        return super().forward(query, key, value, mask, need_weights)


class ModuleWithoutKdim(LearnerMHA):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__(d_model, num_heads, bias)


class ModuleForwardRaises(LearnerMHA):
    def forward(self, query, key=None, value=None, mask=None, need_weights=False):
        raise RuntimeError("forward is not written yet <b>todo</b>")


class ModuleForwardReturnsNone(LearnerMHA):
    def forward(self, query, key=None, value=None, mask=None, need_weights=False):
        return None


class ModuleWrongOutputShape(LearnerMHA):
    def forward(self, query, key=None, value=None, mask=None, need_weights=False):
        output, weights = super().forward(query, key, value, mask, need_weights)
        return output[:, :, :5], weights


def module_factory_returning_none(d_model, num_heads, bias=True, kdim=None, vdim=None):
    return None


# ---------------------------------------------------------------------------------------------
# lesson 11: the online-softmax update (check_online_softmax)
# ---------------------------------------------------------------------------------------------


def update_numpy(m, l, scores):
    m_new = np.maximum(m, scores.max(axis=-1))
    l_new = l * np.exp(m - m_new) + np.exp(scores - m_new[..., None]).sum(axis=-1)
    return m_new, l_new


def update_loop(m, l, scores):  # one query at a time, in plain Python floats
    m_new, l_new = np.empty_like(m), np.empty_like(l)
    for index in np.ndindex(m.shape):
        new_max = max(m[index], max(scores[index]))
        total = l[index] * np.exp(m[index] - new_max)
        for x in scores[index]:
            total += np.exp(x - new_max)
        m_new[index], l_new[index] = new_max, total
    return m_new, l_new


def update_logaddexp(m, l, scores):  # through log-sum-exp: log l + m is the running log-sum
    m_new = np.maximum(m, scores.max(axis=-1))
    with np.errstate(divide="ignore"):
        log_sum = np.logaddexp(np.log(l) + m, np.logaddexp.reduce(scores, axis=-1))
    return m_new, np.exp(log_sum - m_new)


def update_not_rescaled(m, l, scores):  # THE classic mistake
    m_new = np.maximum(m, scores.max(axis=-1))
    return m_new, l + np.exp(scores - m_new[..., None]).sum(axis=-1)


def update_rescaled_inverted(m, l, scores):
    m_new = np.maximum(m, scores.max(axis=-1))
    old = np.where(l > 0, l * np.exp(m_new - m), 0.0)
    return m_new, old + np.exp(scores - m_new[..., None]).sum(axis=-1)


def update_block_max(m, l, scores):
    m_new = scores.max(axis=-1)
    return m_new, l * np.exp(m - m_new) + np.exp(scores - m_new[..., None]).sum(axis=-1)


def update_no_shift(m, l, scores):
    return np.maximum(m, scores.max(axis=-1)), l + np.exp(scores).sum(axis=-1)


def update_no_shift_old_max(m, l, scores):  # forgets the max entirely
    return m, l + np.exp(scores).sum(axis=-1)


def update_no_axis(m, l, scores):  # reduces the whole block to one number
    m_new = np.maximum(m, scores.max())
    return m_new, l * np.exp(m - m_new) + np.exp(scores - scores.max()).sum()


def update_keeps_block_axis(m, l, scores):
    m_new = np.maximum(m[..., None], scores)
    return m_new, l[..., None] * np.exp(m[..., None] - m_new)


def update_returns_sum_only(m, l, scores):
    return update_numpy(m, l, scores)[1]


def update_raises(m, l, scores):
    return m + scores  # (2,) + (2, 3) does not broadcast


def update_half(m, l, scores):
    m_new, l_new = update_numpy(m, l, scores)
    return m_new, l_new / 2


ONLINE_SOFTMAX_RIGHT = [update_numpy, update_loop, update_logaddexp]
ONLINE_SOFTMAX_WRONG = [  # (function, key, row of the table or None for a fallback)
    (update_not_rescaled, "sum_not_rescaled", "sum_not_rescaled"),
    (update_rescaled_inverted, "wrong_values", "rescaled_the_wrong_way"),
    (update_block_max, "wrong_values", "block_max_only"),
    (update_no_shift, "unstable_softmax", "no_max_subtracted"),
    (update_no_shift_old_max, "unstable_softmax", "no_max_subtracted"),
    (update_no_axis, "wrong_values", None),
    (update_half, "wrong_values", None),
    (update_keeps_block_axis, "wrong_shape", None),
    (update_returns_sum_only, "wrong_type", None),
    (update_raises, "raised", None),
]


# ---------------------------------------------------------------------------------------------
# lesson 10: a BERT layer's weights loaded by hand (check_load_bert_attention)
# ---------------------------------------------------------------------------------------------


def _arrays(attention, transpose=True):
    layers = {
        "q": attention.self.query,
        "k": attention.self.key,
        "v": attention.self.value,
        "o": attention.output.dense,
    }
    out = {}
    for name, linear in layers.items():
        weight = linear.weight.detach().numpy()
        out[f"w_{name}"] = weight.T if transpose else weight
        out[f"b_{name}"] = linear.bias.detach().numpy()
    return out


def load_right(attention):
    return MHAParams(**_arrays(attention))


def load_right_with_torch(attention):
    arrays = {k: torch.tensor(v) for k, v in _arrays(attention).items()}
    return MHAParams(**{k: v.numpy() for k, v in arrays.items()})


def load_not_transposed(attention):
    return MHAParams(**_arrays(attention, transpose=False))


def load_output_not_transposed(attention):
    arrays = _arrays(attention)
    arrays["w_o"] = arrays["w_o"].T
    return MHAParams(**arrays)


def load_query_key_swapped(attention):
    arrays = _arrays(attention)
    arrays["w_q"], arrays["w_k"] = arrays["w_k"], arrays["w_q"]
    arrays["b_q"], arrays["b_k"] = arrays["b_k"], arrays["b_q"]
    return MHAParams(**arrays)


def load_without_biases(attention):
    arrays = _arrays(attention)
    return MHAParams(**{k: v for k, v in arrays.items() if k.startswith("w_")})


def load_layernorm_as_output(attention):
    arrays = _arrays(attention)
    arrays["b_o"] = attention.output.LayerNorm.bias.detach().numpy()
    return MHAParams(**arrays)


def load_fixed_size(attention):
    arrays = _arrays(attention)
    assert arrays["w_q"].shape == (8, 8), "written for d_model = 8"
    return MHAParams(**arrays)


def load_returns_dict(attention):
    return _arrays(attention)


def load_stub(attention):
    return None


BERT_LOAD_WRONG = [
    (load_not_transposed, "weight_not_transposed", "weight_not_transposed"),
    (load_output_not_transposed, "weight_not_transposed", "weight_not_transposed"),
    (load_query_key_swapped, "wrong_values", "query_key_swapped"),
    (load_without_biases, "wrong_values", "biases_left_out"),
    (load_layernorm_as_output, "wrong_values", None),
    (load_fixed_size, "raised", None),
    (load_returns_dict, "wrong_type", None),
    (load_stub, "wrong_type", None),
]
