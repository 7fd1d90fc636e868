"""Multi-head attention as a torch ``nn.Module`` (a teaching twin of the numpy reference).

Importing this module imports torch; ``import mha_lib`` does not (``mha_lib.MultiHeadAttention``
loads it on first use).
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from . import _validate
from .params import MHAParams, _params_from_torch, _to_numpy


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
    num_heads, T_q, T_k) or None)``. See :meth:`forward` for the mask. With
    ``need_weights=True`` it runs the steps as lesson 9 writes them (:meth:`_forward_steps`);
    without, a fast path that gives the same output (:meth:`_forward_fast`: one fused q/k/v
    product and ``F.scaled_dot_product_attention``; its docstring says why).

    Weights convert to and from numpy :class:`~mha_lib.MHAParams` with :meth:`from_params`
    and :meth:`to_params`; :meth:`from_torch` copies a ``torch.nn.MultiheadAttention``.

    Introduced in notebooks/09_the_module.ipynb.
    """

    def __init__(
        self, d_model, num_heads, bias=True, kdim=None, vdim=None, device=None, dtype=None
    ):
        super().__init__()
        d_model = _validate.check_positive_int(d_model, "d_model")
        num_heads = _validate.check_positive_int(num_heads, "num_heads")
        self.d_head = _validate.check_heads_divide(d_model, num_heads)
        self.d_model = d_model
        self.num_heads = num_heads
        self.kdim = _validate.check_optional_positive_int(kdim, "kdim") or d_model
        self.vdim = _validate.check_optional_positive_int(vdim, "vdim") or d_model
        bias = _validate.check_bool(bias, "bias")

        # One Linear per role for all heads together; weight shapes are (d_out, d_in).
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
        key = query if key is None else key  # forward(x) is self-attention
        value = key if value is None else value
        mask = _validate.module_args(self, query, key, value, mask)
        shared = (query is key, key is value)  # one input tensor: its projections can be fused
        unbatched = query.dim() == 2
        if unbatched:  # (T, width) -> (1, T, width); the batch axis goes again at the end
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)

        if need_weights:
            output, weights = self._forward_steps(query, key, value, mask)
        else:
            output, weights = self._forward_fast(query, key, value, mask, *shared), None

        if unbatched:  # output (T_q, d_model); weights (num_heads, T_q, T_k)
            output = output.squeeze(0)
            weights = None if weights is None else weights.squeeze(0)
        return output, weights

    def _forward_steps(self, query, key, value, mask):
        """The forward pass written out step by step, returning the weights too (batched,
        checked inputs). Introduced in notebooks/09_the_module.ipynb."""
        # 1. Project: one Linear each for q, k, v (not one per head).
        q = self.q_proj(query)  # (batch, T_q, d_model)
        k = self.k_proj(key)  # (batch, T_k, kdim) -> (batch, T_k, d_model)
        v = self.v_proj(value)  # (batch, T_k, vdim) -> (batch, T_k, d_model)

        # 2. Split d_model into num_heads slices of width d_head.
        q = _split_heads(q, self.num_heads)  # (batch, num_heads, T_q, d_head)
        k = _split_heads(k, self.num_heads)  # (batch, num_heads, T_k, d_head)
        v = _split_heads(v, self.num_heads)  # (batch, num_heads, T_k, d_head)

        # 3. Attention in every head at once: the heads axis is just another batch axis.
        heads, weights = _attention(q, k, v, mask)
        # heads (batch, num_heads, T_q, d_head); weights (batch, num_heads, T_q, T_k)

        # 4. Concatenate the heads side by side (not summed), then mix them with out_proj.
        merged = _merge_heads(heads)  # (batch, T_q, d_model)
        output = self.out_proj(merged)  # (batch, T_q, d_model)
        return output, weights

    def _forward_fast(self, query, key, value, mask, query_is_key, key_is_value):
        """The same steps as :meth:`_forward_steps`, shaped for speed; output only.

        Why it is shaped so (measured with ``make bench``, B=8, T=1024, d_model=768):

        - **One matrix product for q, k and v** when they come from one tensor
          (self-attention; for cross-attention with ``key is value``, one for k and v): the
          three weights are concatenated on every call, ``(3·d_model, d_model)``, and one
          ``F.linear`` projects. Concatenating per call costs a copy of the weights (a few MB,
          well under 1% of the product's time) and cannot go stale: it always reads the
          current parameters, so in-place optimiser updates, ``load_state_dict`` and autograd
          (``torch.cat`` is differentiable) all just work. A cache would save that copy but
          must be invalidated on every weight change, which is easy to get wrong.
        - **No copies when splitting heads.** ``view`` + ``transpose`` give q, k, v as strided
          views of the projection's output; ``F.scaled_dot_product_attention`` reads strided
          inputs directly, so no ``.contiguous()`` is needed.
        - **A fused attention kernel**, ``F.scaled_dot_product_attention``: scores, mask,
          softmax and the weighted sum in tiles (lesson 11's online softmax), so the
          ``(batch, num_heads, T_q, T_k)`` weights are never stored; it is also why this path
          cannot return them (``need_weights=True`` takes the step-by-step path).
        - **A query whose keys are all masked** would give NaN in the fused kernel; if the
          mask has such a query, steps 3–5 fall back to the step-by-step attention, which
          gives it zero weights (the same output as that path, always).
        """
        batch, seq_len_q, seq_len_k = query.shape[0], query.shape[1], key.shape[1]
        num_heads, d_head, d_model = self.num_heads, self.d_head, self.d_model
        q_proj, k_proj, v_proj = self.q_proj, self.k_proj, self.v_proj

        # 1. Project, with one product for the projections that share their input.
        if query_is_key and key_is_value:
            q, k, v = _fused_linear(query, (q_proj, k_proj, v_proj))  # (batch, T, d_model) each
        elif key_is_value:
            q = q_proj(query)  # (batch, T_q, d_model)
            k, v = _fused_linear(key, (k_proj, v_proj))  # (batch, T_k, d_model) each
        else:
            q, k, v = q_proj(query), k_proj(key), v_proj(value)

        # 2. Split into heads as views: (batch, T, d_model) -> (batch, num_heads, T, d_head).
        q = q.view(batch, seq_len_q, num_heads, d_head).transpose(1, 2)
        k = k.view(batch, seq_len_k, num_heads, d_head).transpose(1, 2)
        v = v.view(batch, seq_len_k, num_heads, d_head).transpose(1, 2)

        # 3. Attention in every head at once, fused (no weights stored).
        if mask is None:
            heads = F.scaled_dot_product_attention(q, k, v)  # (batch, num_heads, T_q, d_head)
        else:
            mask = mask.to(q.device)
            if bool(mask.any(dim=-1).all()):  # every query may attend to some key
                heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            else:
                heads, _ = _attention(q, k, v, mask)

        # 4. Merge the heads (a copy only if the kernel's layout needs one), then out_proj.
        merged = heads.transpose(1, 2).reshape(batch, seq_len_q, d_model)  # (batch, T_q, d_model)
        return self.out_proj(merged)  # (batch, T_q, d_model)

    # -- weights to and from numpy MHAParams and torch.nn.MultiheadAttention -------------------

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
        _validate.module_params_args(params, MHAParams)
        module = cls(
            params.d_model,
            num_heads,
            bias=params.has_bias,
            kdim=params.d_key_in,
            vdim=params.d_value_in,
            dtype=torch.float64 if params.dtype == "float64" else torch.float32,
        )
        layers = (module.q_proj, module.k_proj, module.v_proj, module.out_proj)
        weights = (params.w_q, params.w_k, params.w_v, params.w_o)  # (d_in, d_model) each
        biases = (params.b_q, params.b_k, params.b_v, params.b_o)
        with torch.no_grad():
            for layer, weight, bias in zip(layers, weights, biases, strict=True):
                layer.weight.copy_(torch.tensor(weight.T))  # Linear: x @ weight.T + bias
                if bias is not None:
                    layer.bias.copy_(torch.tensor(bias))
        return module

    def to_params(self) -> MHAParams:
        """The module's weights as numpy :class:`~mha_lib.params.MHAParams` (``w = weight.T``).

        ``multi_head_attention(query, key, value, module.to_params(), module.num_heads)``
        equals the module's forward. Introduced in notebooks/09_the_module.ipynb.
        """
        layers = {"q": self.q_proj, "k": self.k_proj, "v": self.v_proj, "o": self.out_proj}
        return MHAParams(
            **{f"w_{n}": _to_numpy(layer.weight).T for n, layer in layers.items()},
            **{f"b_{n}": _to_numpy(layer.bias) for n, layer in layers.items()},
        )

    @classmethod
    def from_torch(cls, m) -> MultiHeadAttention:
        """Build a module with the same weights as a ``torch.nn.MultiheadAttention``.

        The weights go through :meth:`MHAParams.from_torch` (packed ``in_proj_weight`` or
        separate ``q_proj_weight``/``k_proj_weight``/``v_proj_weight``; with or without bias)
        and :meth:`from_params`; the dtype and device are kept. Dropout is not copied (this
        module has none), and ``add_bias_kv``/``add_zero_attn`` are unsupported (ValueError).

        Args:
            m: a ``torch.nn.MultiheadAttention`` with ``embed_dim = d_model``.

        Returns:
            a :class:`MultiHeadAttention` whose forward matches ``m`` (remember to invert the
            bool mask: torch's True = blocked, ours True = may attend).

        Introduced in notebooks/09_the_module.ipynb.
        """
        _validate.torch_mha_args(m, nn.MultiheadAttention)
        if m.dropout > 0:
            warnings.warn(
                f"dropout={m.dropout} is not copied: mha_lib.MultiHeadAttention has no dropout",
                stacklevel=2,
            )
        module = cls.from_params(_params_from_torch(m), m.num_heads)
        reference = m.out_proj.weight
        return module.to(device=reference.device, dtype=reference.dtype)


def _fused_linear(x: torch.Tensor, layers) -> tuple[torch.Tensor, ...]:
    """``tuple(layer(x) for layer in layers)`` with one matrix product: the layers' weights
    ``(d_out, d_in)`` stacked to ``(n·d_out, d_in)``, re-read from the layers on every call."""
    weight = torch.cat([layer.weight for layer in layers])  # (n * d_out, d_in)
    biases = [layer.bias for layer in layers]
    bias = None if biases[0] is None else torch.cat(biases)  # (n * d_out,)
    return F.linear(x, weight, bias).chunk(len(layers), dim=-1)  # n views (..., d_out)


def _split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """``(batch, seq_len, d_model) -> (batch, num_heads, seq_len, d_head)``, unchecked."""
    batch, seq_len, d_model = x.shape
    x = x.view(batch, seq_len, num_heads, d_model // num_heads)  # (batch, seq_len, heads, d_head)
    return x.transpose(1, 2)  # (batch, num_heads, seq_len, d_head)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``(batch, num_heads, seq_len, d_head) -> (batch, seq_len, d_model)``, unchecked."""
    batch, num_heads, seq_len, d_head = x.shape
    # .contiguous() so that .view can merge the last two axes: the transpose changed only the
    # strides, not the order of the numbers in memory.
    x = x.transpose(1, 2).contiguous()  # (batch, seq_len, num_heads, d_head)
    return x.view(batch, seq_len, num_heads * d_head)  # (batch, seq_len, d_model)


def _attention(q, k, v, mask):
    """Scaled dot-product attention in every head, unchecked; never NaN, also backwards."""
    # 1. Scores, scaled by 1 / sqrt(d_head).
    d_head = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_head)  # (batch, num_heads, T_q, T_k)
    if mask is not None:
        mask = mask.to(scores.device)
        scores = scores.masked_fill(~mask, float("-inf"))  # blocked keys: exp(-inf) = 0
        # A query with every key blocked would be softmax([-inf, ..., -inf]) = NaN (also in
        # the backward pass). Give such rows finite scores, then zero their weights below.
        has_any_key = mask.any(dim=-1, keepdim=True)  # (..., T_q, 1)
        scores = scores.masked_fill(~has_any_key, 0.0)

    # 2. Softmax over the keys.
    weights = torch.softmax(scores, dim=-1)  # (batch, num_heads, T_q, T_k)
    if mask is not None:
        weights = weights * mask  # fully blocked rows become all 0; other rows unchanged

    # 3. Weighted sum of the values.
    return weights @ v, weights  # (batch, num_heads, T_q, d_head), weights
