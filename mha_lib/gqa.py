"""Attention as today's language models run it: grouped-query attention and a KV cache.

``GroupedQueryAttention`` gives the queries ``num_heads`` heads but the keys and values only
``num_kv_heads``; each key/value head serves ``num_heads // num_kv_heads`` query heads
(``repeat_kv``). ``num_kv_heads == num_heads`` is the course's ``MultiHeadAttention`` and
``num_kv_heads == 1`` is multi-query attention. ``KVCache`` keeps the keys and values of the
positions already seen, so that a model generating one token at a time projects each position
once. Importing this module imports torch; ``import mha_lib`` does not (``mha_lib.
GroupedQueryAttention``, ``mha_lib.KVCache`` and ``mha_lib.repeat_kv`` load it on first use).

Introduced in notebooks/12_todays_models.ipynb.
"""

from __future__ import annotations

import torch
from torch import nn

from . import _validate
from .modules import _attention, _merge_heads


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """Repeat each key/value head ``n_rep`` times in place, for the query heads it serves.

    Args:
        x: keys or values, shape ``(batch, num_kv_heads, seq_len, d_head)``.
        n_rep: query heads per key/value head, ``num_heads // num_kv_heads``.

    Returns:
        ``(batch, num_kv_heads · n_rep, seq_len, d_head)``: heads in the order 0, 0, …, 1, 1, …
        (``repeat_interleave``), so key/value head ``g`` meets query heads ``g·n_rep`` to
        ``g·n_rep + n_rep - 1``, as in ``F.scaled_dot_product_attention(..., enable_gqa=True)``.
        ``x.repeat(1, n_rep, 1, 1)`` would give 0, 1, …, 0, 1, …: the wrong pairs.

    Introduced in notebooks/12_todays_models.ipynb.
    """
    n_rep = _validate.repeat_kv_args(x, n_rep)
    return _repeat_kv(x, n_rep)


def _repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """:func:`repeat_kv`, unchecked; ``n_rep == 1`` returns ``x`` itself (no copy)."""
    return x if n_rep == 1 else x.repeat_interleave(n_rep, dim=1)  # (B, kv · n_rep, T, d_head)


class KVCache:
    """The keys and values of the positions a :class:`GroupedQueryAttention` has seen.

    Pass the same cache to every call of ``forward(x, cache=cache)`` while generating: each
    call appends the keys and values of its new positions, and its queries attend to every
    cached position and causally among themselves. Use one cache per module (per layer) and
    per batch of sequences.

    Args:
        window: None (keep every position) or a positive int: sliding-window attention. Each
            query then sees only the last ``window`` positions, itself included (like
            :func:`mha_lib.sliding_window_mask`), and the cache keeps only the last
            ``window`` positions, the only ones a later query can read: its memory stops
            growing after ``window`` tokens.

    Attributes:
        keys, values: ``(batch, num_kv_heads, len(cache), d_head)`` tensors (None before the
            first call).
        seen: how many positions have been appended in all (``len(cache)`` until the window
            drops the oldest); the next position's index.
        nbytes: the memory of ``keys`` and ``values`` together, in bytes.

    Introduced in notebooks/12_todays_models.ipynb.
    """

    def __init__(self, window=None):
        self.window = _validate.kv_cache_args(window)
        self.keys: torch.Tensor | None = None
        self.values: torch.Tensor | None = None
        self.seen = 0

    def __len__(self) -> int:
        return 0 if self.keys is None else self.keys.shape[2]

    def __repr__(self) -> str:
        shape = None if self.keys is None else _validate.shape_str(self.keys.shape)
        return f"KVCache(len={len(self)}, window={self.window}, keys.shape={shape})"

    @property
    def nbytes(self) -> int:
        """Bytes held by ``keys`` and ``values`` (0 when empty)."""
        if self.keys is None:
            return 0
        return 2 * self.keys.numel() * self.keys.element_size()  # keys and values alike

    def _extend(self, k: torch.Tensor, v: torch.Tensor):
        """Append ``k, v (batch, num_kv_heads, T_new, d_head)``; return every key and value the
        new queries may need ``(batch, num_kv_heads, len_before + T_new, d_head)`` and the
        ``(T_new, len_before + T_new)`` bool mask of which key each new query may attend."""
        device = k.device
        before = len(self)
        if before:
            k = torch.cat([self.keys, k], dim=2)  # (batch, kv, before + T_new, d_head)
            v = torch.cat([self.values, v], dim=2)
        first_key = self.seen - before  # the position of the first cached key
        query_pos = torch.arange(self.seen, self.seen + k.shape[2] - before, device=device)
        key_pos = torch.arange(first_key, self.seen + k.shape[2] - before, device=device)
        allowed = key_pos[None, :] <= query_pos[:, None]  # (T_new, T_k): causal
        if self.window is not None:
            allowed &= key_pos[None, :] > query_pos[:, None] - self.window
        self.seen += k.shape[2] - before
        keep = k.shape[2] if self.window is None else min(self.window, k.shape[2])
        self.keys, self.values = k[:, :, -keep:], v[:, :, -keep:]  # views, no copy
        return k, v, allowed


class GroupedQueryAttention(nn.Module):
    """Grouped-query attention, batch first: ``num_heads`` query heads share
    ``num_kv_heads`` key/value heads.

    Args:
        d_model: width of the input and of the output.
        num_heads: number of query heads; must divide ``d_model``. ``d_head = d_model //
            num_heads``.
        num_kv_heads: number of key/value heads; must divide ``num_heads``. Equal to
            ``num_heads``: multi-head attention; 1: multi-query attention.
        bias: whether the four projections have biases.

    Layers (``nn.Linear``): ``q_proj (d_model -> d_model)``, ``k_proj`` and ``v_proj
    (d_model -> num_kv_heads · d_head)``, ``out_proj (d_model -> d_model)``. With
    ``num_kv_heads == num_heads`` they have the shapes of :class:`mha_lib.MultiHeadAttention`'s,
    and the same weights give the same output.

    Introduced in notebooks/12_todays_models.ipynb.
    """

    def __init__(self, d_model, num_heads, num_kv_heads, bias=False):
        super().__init__()
        checked = _validate.gqa_module_args(d_model, num_heads, num_kv_heads, bias)
        d_model, num_heads, num_kv_heads, self.d_head, bias = checked
        self.d_model, self.num_heads, self.num_kv_heads = d_model, num_heads, num_kv_heads
        self.n_rep = num_heads // num_kv_heads  # query heads per key/value head
        kv_width = num_kv_heads * self.d_head
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, kv_width, bias=bias)  # fewer heads: a narrower layer
        self.v_proj = nn.Linear(d_model, kv_width, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def extra_repr(self) -> str:
        return (
            f"d_model={self.d_model}, num_heads={self.num_heads}, "
            f"num_kv_heads={self.num_kv_heads}, d_head={self.d_head}"
        )

    def forward(self, x, mask=None, cache=None, need_weights=False):
        """Self-attention over ``x``, optionally continuing from a :class:`KVCache`.

        Args:
            x: ``(batch, T, d_model)``: the whole sequence, or with a cache the new positions.
            mask: optional bool tensor, True = may attend, broadcastable to the weights'
                shape ``(batch, num_heads, T, T_k)``. Without a cache ``T_k = T`` and the mask
                is the whole story (None: every position sees every position; pass
                ``torch.tensor(mha_lib.causal_mask(T))`` for a decoder). With a cache,
                ``T_k = len(cache) + T`` (the cached keys first, then the new ones), the
                causal rule (and the cache's window) is applied for you, and ``mask`` can only
                block more keys, e.g. padding.
            cache: None, or a :class:`KVCache` that this call reads and then extends with the
                new positions' keys and values.
            need_weights: also return the attention weights.

        Returns:
            ``(output, weights)``: output ``(batch, T, d_model)``; weights ``(batch,
            num_heads, T, T_k)`` if ``need_weights`` else None. A query whose keys are all
            blocked gets zero weights (its output is the output bias alone), never NaN.

        Introduced in notebooks/12_todays_models.ipynb.
        """
        mask = _validate.gqa_forward_args(self, x, mask, cache, KVCache)
        batch, seq_len, _ = x.shape
        h, kv, d_head = self.num_heads, self.num_kv_heads, self.d_head

        # 1. Project: num_heads query heads, only num_kv_heads key and value heads.
        q = self.q_proj(x).view(batch, seq_len, h, d_head).transpose(1, 2)  # (B, h, T, d_head)
        k = self.k_proj(x).view(batch, seq_len, kv, d_head).transpose(1, 2)  # (B, kv, T, d_head)
        v = self.v_proj(x).view(batch, seq_len, kv, d_head).transpose(1, 2)  # (B, kv, T, d_head)

        # 2. With a cache: put the cached keys and values first, store the new ones, and let
        #    each new query see the cached positions and the new ones up to itself.
        if cache is not None:
            k, v, allowed = cache._extend(k, v)  # (B, kv, T_k, d_head); allowed (T, T_k)
            mask = allowed if mask is None else allowed & mask.to(allowed.device)

        # 3. Each key/value head serves n_rep query heads: repeat it in place (0, 0, 1, 1, ...).
        k = _repeat_kv(k, self.n_rep)  # (B, h, T_k, d_head)
        v = _repeat_kv(v, self.n_rep)  # (B, h, T_k, d_head)

        # 4. Attention in every head at once, then concatenate the heads and mix them.
        heads, weights = _attention(q, k, v, mask)  # (B, h, T, d_head), (B, h, T, T_k)
        output = self.out_proj(_merge_heads(heads))  # (B, T, d_model)
        return output, (weights if need_weights else None)
