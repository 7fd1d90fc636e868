"""Learner answers to lesson 12's exercise (check_repeat_kv): right ones in several styles and
one planted per row of the checker's mistake table (and fallbacks). Kept apart from
tests/_exercise_variants.py; tests/test_exercises.py appends them to its tables."""

from __future__ import annotations

import numpy as np
import torch


def repeat_interleave(x, n_rep):
    return x.repeat_interleave(n_rep, dim=1)


def expand_reshape(x, n_rep):  # as Hugging Face writes it
    batch, num_kv_heads, seq_len, d_head = x.shape
    x = x[:, :, None].expand(batch, num_kv_heads, n_rep, seq_len, d_head)
    return x.reshape(batch, num_kv_heads * n_rep, seq_len, d_head)


def loop_over_heads(x, n_rep):
    return torch.cat([x[:, g : g + 1] for g in range(x.shape[1]) for _ in range(n_rep)], dim=1)


def numpy_repeat(x, n_rep):  # np.repeat repeats each element in place, like repeat_interleave
    return np.repeat(x.numpy(), n_rep, axis=1)


def tiled(x, n_rep):  # THE classic mistake: the right shape, the wrong pairs
    return x.repeat(1, n_rep, 1, 1)


def tiled_with_cat(x, n_rep):
    return torch.cat([x] * n_rep, dim=1)


def repeated_sequence(x, n_rep):
    return x.repeat_interleave(n_rep, dim=2)


def repeated_last_axis(x, n_rep):
    return x.repeat_interleave(n_rep, dim=-1)


def repeated_batch(x, n_rep):
    return x.repeat_interleave(n_rep, dim=0)


def expanded_not_merged(x, n_rep):
    batch, num_kv_heads, seq_len, d_head = x.shape
    return x[:, :, None].expand(batch, num_kv_heads, n_rep, seq_len, d_head)


def repeat_with_dim(x, n_rep):
    return x.repeat(n_rep, dim=1)


def expand_then_view(x, n_rep):
    batch, num_kv_heads, seq_len, d_head = x.shape
    x = x[:, :, None].expand(batch, num_kv_heads, n_rep, seq_len, d_head)
    return x.view(batch, num_kv_heads * n_rep, seq_len, d_head)


def hard_coded_two(x, n_rep):  # a shape no row explains: the shape fallback
    return x.repeat_interleave(2, dim=1)


def scaled(x, n_rep):  # the right shape and wrong numbers no row explains: the values fallback
    return 2 * x.repeat_interleave(n_rep, dim=1)


def returns_none(x, n_rep):
    return None


REPEAT_KV_RIGHT = [repeat_interleave, expand_reshape, loop_over_heads, numpy_repeat]
REPEAT_KV_WRONG = [  # (function, key, row of the table or None for a fallback)
    (tiled, "kv_heads_tiled", "kv_heads_tiled"),
    (tiled_with_cat, "kv_heads_tiled", "kv_heads_tiled"),
    (repeated_sequence, "wrong_shape", "wrong_axis"),
    (repeated_last_axis, "wrong_shape", "wrong_axis"),
    (repeated_batch, "wrong_shape", "wrong_axis"),
    (expanded_not_merged, "wrong_shape", "heads_not_merged"),
    (repeat_with_dim, "raised", "repeat_with_dim"),
    (expand_then_view, "raised", "view_of_expanded"),
    (hard_coded_two, "wrong_shape", None),
    (scaled, "wrong_values", None),
    (returns_none, "wrong_type", None),
]
