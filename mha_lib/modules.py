"""Multi-head attention as a torch ``nn.Module`` (a teaching twin of the numpy reference)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch import nn

from ._validate import (
    check_heads_divide,
    check_mask_dtype,
    check_mask_shape,
    check_optional_positive_int,
    check_positive_int,
    describe,
    shape_str,
    type_name,
)


class MultiHeadAttention(nn.Module):
    """Multi-head attention, batch first, written out step by step.

    Args:
        d_model: width of q, k, v and of the output.
        num_heads: number of heads; must divide ``d_model``. ``d_head = d_model // num_heads``.
        bias: whether the four projections have biases.
        kdim: width of the key input (default ``d_model``).
        vdim: width of the value input (default ``d_model``).
        device, dtype: passed on to the ``nn.Linear`` layers.

    Layers: ``q_proj (d_model -> d_model)``, ``k_proj (kdim -> d_model)``, ``v_proj (vdim ->
    d_model)`` and ``out_proj (d_model -> d_model)``, all ``nn.Linear``. Their parameter count
    does not depend on ``num_heads``.

    ``forward(query, key=None, value=None, mask=None, need_weights=False)`` takes query
    ``(batch, T_q, d_model)``, key ``(batch, T_k, kdim)``, value ``(batch, T_k, vdim)`` (or the
    same without the batch axis) and returns ``(output (batch, T_q, d_model), weights (batch,
    num_heads, T_q, T_k) or None)``. See :meth:`forward` for the mask.

    Introduced in notebooks/09_the_module.ipynb.
    """

    def __init__(
        self, d_model, num_heads, bias=True, kdim=None, vdim=None, device=None, dtype=None
    ):
        super().__init__()
        d_model = check_positive_int(d_model, "d_model")
        num_heads = check_positive_int(num_heads, "num_heads")
        self.d_head = check_heads_divide(d_model, num_heads)
        self.d_model = d_model
        self.num_heads = num_heads
        self.kdim = check_optional_positive_int(kdim, "kdim") or d_model
        self.vdim = check_optional_positive_int(vdim, "vdim") or d_model
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {type_name(bias)} {bias!r}")
        factory = {"device": device, "dtype": dtype}
        self.q_proj = nn.Linear(d_model, d_model, bias=bias, **factory)
        self.k_proj = nn.Linear(self.kdim, d_model, bias=bias, **factory)
        self.v_proj = nn.Linear(self.vdim, d_model, bias=bias, **factory)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias, **factory)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, num_heads={self.num_heads}, d_head={self.d_head}"

    def forward(self, query, key=None, value=None, mask=None, need_weights=False):
        """Attend from ``query`` to ``key``/``value`` with ``num_heads`` heads.

        Args:
            query: ``(batch, T_q, d_model)`` or unbatched ``(T_q, d_model)``.
            key: ``(batch, T_k, kdim)``; defaults to ``query`` (self-attention).
            value: ``(batch, T_k, vdim)``; defaults to ``key``'s source, i.e. ``query`` when
                key is None, else ``key``.
            mask: optional bool tensor broadcastable to the weights' shape ``(batch, num_heads,
                T_q, T_k)``; True = may attend (the polarity of
                ``F.scaled_dot_product_attention``, the opposite of
                ``nn.MultiheadAttention``). A causal mask ``(T_q, T_k)`` and a padding mask
                ``(batch, 1, 1, T_k)`` both work.
            need_weights: also return the attention weights.

        Returns:
            ``(output, weights)``: output ``(batch, T_q, d_model)``; weights ``(batch,
            num_heads, T_q, T_k)`` if ``need_weights`` else None (no batch axis for unbatched
            input). A query whose keys are all masked gets zero weights and its output is the
            output bias alone; forward and backward stay free of NaN.

        Introduced in notebooks/09_the_module.ipynb.
        """
        if key is None:
            key = query
        if value is None:
            value = key
        self._check_inputs(query, key, value)
        unbatched = query.dim() == 2
        if unbatched:  # add a batch axis of 1 and remove it again at the end
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        # np, not torch.broadcast_shapes: torch's first call imports sympy (about 1 s).
        batch = np.broadcast_shapes(query.shape[:1], key.shape[:1], value.shape[:1])[0]
        seq_len_q, seq_len_k = query.shape[1], key.shape[1]
        weights_shape = (batch, self.num_heads, seq_len_q, seq_len_k)
        if mask is not None:
            mask = self._check_mask(mask, weights_shape[1:] if unbatched else weights_shape)

        # 1. Project: one Linear each for q, k, v.
        q = self.q_proj(query)  # (batch, T_q, d_model)
        k = self.k_proj(key)  # (batch, T_k, d_model)
        v = self.v_proj(value)  # (batch, T_k, d_model)

        # 2. Split into heads: reshape, then move the heads axis before the sequence axis.
        num_heads, d_head = self.num_heads, self.d_head
        q = q.view(-1, seq_len_q, num_heads, d_head)  # (batch, T_q, num_heads, d_head)
        k = k.view(-1, seq_len_k, num_heads, d_head)  # (batch, T_k, num_heads, d_head)
        v = v.view(-1, seq_len_k, num_heads, d_head)  # (batch, T_k, num_heads, d_head)
        q = q.transpose(1, 2)  # (batch, num_heads, T_q, d_head)
        k = k.transpose(1, 2)  # (batch, num_heads, T_k, d_head)
        v = v.transpose(1, 2)  # (batch, num_heads, T_k, d_head)

        # 3. Scores, scaled by 1 / sqrt(d_head).
        k_t = k.transpose(-2, -1)  # (batch, num_heads, d_head, T_k)
        scores = q @ k_t / math.sqrt(d_head)  # (batch, num_heads, T_q, T_k)

        # 4. Mask and softmax over the keys.
        if mask is not None:
            mask = mask.to(scores.device)
            scores = scores.masked_fill(~mask, float("-inf"))  # blocked keys: exp(-inf) = 0
            # A query with every key blocked would be softmax([-inf, ..., -inf]) = NaN (also in
            # the backward pass). Give such rows finite scores, then zero their weights below.
            has_any_key = mask.any(dim=-1, keepdim=True)  # (..., T_q, 1)
            scores = scores.masked_fill(~has_any_key, 0.0)
        weights = torch.softmax(scores, dim=-1)  # (batch, num_heads, T_q, T_k)
        if mask is not None:
            weights = weights * mask  # fully blocked rows become all 0; other rows unchanged

        # 5. Weighted sum of the values in every head.
        heads = weights @ v  # (batch, num_heads, T_q, d_head)

        # 6. Concatenate the heads: transpose back, then .contiguous() so that .view can merge
        #    the last two axes (the transpose only changed strides, not the memory layout).
        heads = heads.transpose(1, 2).contiguous()  # (batch, T_q, num_heads, d_head)
        merged = heads.view(-1, seq_len_q, self.d_model)  # (batch, T_q, d_model)

        # 7. Output projection mixes the heads.
        output = self.out_proj(merged)  # (batch, T_q, d_model)

        if unbatched:
            output = output.squeeze(0)  # (T_q, d_model)
            weights = weights.squeeze(0)  # (num_heads, T_q, T_k)
        return output, (weights if need_weights else None)

    # -- checks --------------------------------------------------------------------------------

    def _check_inputs(self, query, key, value):
        """Raise a named ``TypeError``/``ValueError`` for anything forward cannot handle."""
        expected = {"query": self.d_model, "key": self.kdim, "value": self.vdim}
        weight_dtype = self.q_proj.weight.dtype
        for name, x in (("query", query), ("key", key), ("value", value)):
            if not isinstance(x, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {describe(x)}")
            if not x.is_floating_point():
                raise TypeError(
                    f"{name} must be a floating point tensor, got dtype {x.dtype} "
                    f"with shape {shape_str(x.shape)}"
                )
            if x.dtype != weight_dtype:
                raise TypeError(
                    f"{name} has dtype {x.dtype} but the module's weights are {weight_dtype} "
                    f"({name}.shape={shape_str(x.shape)}); convert one of them, e.g. "
                    f"{name}.to({weight_dtype}) or module.to({x.dtype})"
                )
            if x.dim() not in (2, 3):
                raise ValueError(
                    f"{name} must be (batch, seq_len, width) or unbatched (seq_len, width), "
                    f"got {name}.shape={shape_str(x.shape)}"
                )
            if x.shape[-1] != expected[name]:
                linear = {"query": "q_proj", "key": "k_proj", "value": "v_proj"}[name]
                weight = getattr(self, linear).weight
                raise ValueError(
                    f"{name} has width {x.shape[-1]} ({name}.shape={shape_str(x.shape)}) but "
                    f"{linear} expects {expected[name]} ({linear}.weight.shape="
                    f"{shape_str(weight.shape)})"
                )
        if not query.dim() == key.dim() == value.dim():
            raise ValueError(
                "query, key and value must all be batched (3-D) or all unbatched (2-D), got "
                f"query.shape={shape_str(query.shape)}, key.shape={shape_str(key.shape)}, "
                f"value.shape={shape_str(value.shape)}"
            )
        if key.shape[-2] != value.shape[-2]:
            raise ValueError(
                f"key and value must have the same length T_k (one value per key), got "
                f"key.shape={shape_str(key.shape)} and value.shape={shape_str(value.shape)}"
            )
        for name, x, length in (("query", query, "T_q"), ("key", key, "T_k")):
            if x.shape[-2] == 0:
                raise ValueError(
                    f"{name} is an empty sequence ({length}=0, {name}.shape={shape_str(x.shape)}); "
                    "attention needs at least one query and one key"
                )
        if query.dim() == 3:
            try:
                np.broadcast_shapes(query.shape[:1], key.shape[:1], value.shape[:1])
            except ValueError:
                raise ValueError(
                    "the batch sizes do not broadcast: "
                    f"query.shape={shape_str(query.shape)}, key.shape={shape_str(key.shape)}, "
                    f"value.shape={shape_str(value.shape)}; they must be equal or 1"
                ) from None

    @staticmethod
    def _check_mask(mask, weights_shape):
        """Return ``mask`` if it is a bool tensor broadcastable to ``weights_shape``."""
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"mask must be a torch.Tensor, got {describe(mask)}")
        check_mask_dtype(mask.dtype == torch.bool, mask.dtype, mask.shape, "mask.bool()")
        batched = len(weights_shape) == 4
        layout = "(batch, num_heads, T_q, T_k)" if batched else "(num_heads, T_q, T_k)"
        check_mask_shape(mask.shape, weights_shape, layout)
        return mask

    # -- constructors --------------------------------------------------------------------------

    @classmethod
    def from_torch(cls, m) -> MultiHeadAttention:
        """Build a module with the same weights as a ``torch.nn.MultiheadAttention``.

        Handles the packed ``in_proj_weight`` (rows q, k, v) and the separate
        ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` used when kdim/vdim differ; with
        or without bias; the dtype and device are kept. Dropout is not copied (this module has
        none), and ``add_bias_kv``/``add_zero_attn`` are unsupported (ValueError).

        Args:
            m: a ``torch.nn.MultiheadAttention`` with ``embed_dim = d_model``.

        Returns:
            a :class:`MultiHeadAttention` whose forward matches ``m`` (remember to invert the
            bool mask: torch's True = blocked, ours True = may attend).

        Introduced in notebooks/09_the_module.ipynb.
        """
        if not isinstance(m, nn.MultiheadAttention):
            raise TypeError(f"from_torch expects a torch.nn.MultiheadAttention, got {type_name(m)}")
        if m.bias_k is not None or m.bias_v is not None:
            raise ValueError("add_bias_kv=True is unsupported by MultiHeadAttention.from_torch")
        if m.add_zero_attn:
            raise ValueError("add_zero_attn=True is unsupported by MultiHeadAttention.from_torch")
        if m.dropout > 0:
            warnings.warn(
                f"dropout={m.dropout} is not copied: mha_lib.MultiHeadAttention has no dropout",
                stacklevel=2,
            )
        d_model = m.embed_dim
        reference = m.out_proj.weight
        module = cls(
            d_model,
            m.num_heads,
            bias=m.in_proj_bias is not None,
            kdim=m.kdim,
            vdim=m.vdim,
            device=reference.device,
            dtype=reference.dtype,
        )
        if m._qkv_same_embed_dim:  # packed (3 * d_model, d_model): rows are q, k, v
            weights = m.in_proj_weight.split(d_model, dim=0)
        else:
            weights = (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight)
        if m.in_proj_bias is not None:
            biases = m.in_proj_bias.split(d_model, dim=0)
        else:
            biases = (None, None, None)
        with torch.no_grad():
            for linear, weight, bias in zip(
                (module.q_proj, module.k_proj, module.v_proj), weights, biases, strict=True
            ):
                linear.weight.copy_(weight)  # torch Linear: x @ weight.T + bias
                if bias is not None:
                    linear.bias.copy_(bias)
            module.out_proj.weight.copy_(m.out_proj.weight)
            if m.out_proj.bias is not None:
                module.out_proj.bias.copy_(m.out_proj.bias)
        return module

    @classmethod
    def from_params(cls, params, num_heads) -> MultiHeadAttention:
        """Build a module whose weights are the numpy :class:`~mha_lib.params.MHAParams`.

        Args:
            params: an ``MHAParams`` with ``w_q (d_query_in, d_model)`` etc. ``d_query_in``
                must equal ``d_model`` (the module's query input width).
            num_heads: number of heads; must divide ``params.d_model``.

        Returns:
            a :class:`MultiHeadAttention` in the params' dtype, so that its forward equals
            ``multi_head_attention(..., params, num_heads)``. Biases must be all present or
            all None.

        Introduced in notebooks/09_the_module.ipynb.
        """
        from .params import MHAParams

        if not isinstance(params, MHAParams):
            raise TypeError(f"params must be an MHAParams, got {type_name(params)}")
        if params.d_query_in != params.d_model:
            raise ValueError(
                f"the module needs d_query_in == d_model, got params.w_q.shape="
                f"{shape_str(params.w_q.shape)}"
            )
        biases = (params.b_q, params.b_k, params.b_v, params.b_o)
        if len({b is None for b in biases}) != 1:
            raise ValueError("from_params needs all four biases present or all None")
        dtype = torch.float64 if params.dtype == "float64" else torch.float32
        module = cls(
            params.d_model,
            num_heads,
            bias=params.b_q is not None,
            kdim=params.d_key_in,
            vdim=params.d_value_in,
            dtype=dtype,
        )
        linears = (module.q_proj, module.k_proj, module.v_proj, module.out_proj)
        weights = (params.w_q, params.w_k, params.w_v, params.w_o)
        with torch.no_grad():
            for linear, weight, bias in zip(linears, weights, biases, strict=True):
                linear.weight.copy_(torch.from_numpy(weight.T.copy()))  # (d_model, d_in)
                if bias is not None:
                    linear.bias.copy_(torch.from_numpy(bias.copy()))
        return module
