"""The learned weights of one multi-head attention layer, as numpy arrays."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ._validate import (
    as_float_array,
    check_finite,
    check_optional_positive_int,
    check_positive_int,
    shape_str,
    type_name,
)

_WEIGHTS = ("w_q", "w_k", "w_v", "w_o")
_BIASES = ("b_q", "b_k", "b_v", "b_o")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class MHAParams:
    """The weights of a multi-head attention layer, used as ``x @ w + b``.

    Fields (``d_model`` is the width of q, k, v and the output):
        w_q: ``(d_query_in, d_model)``, projects the query input to q.
        w_k: ``(d_key_in, d_model)``, projects the key input to k.
        w_v: ``(d_value_in, d_model)``, projects the value input to v.
        w_o: ``(d_model, d_model)``, the output projection applied after the heads are merged.
        b_q, b_k, b_v, b_o: ``(d_model,)`` each, or None for no bias.

    There is no ``num_heads`` here: the heads are slices of the same projections, so the
    number of parameters does not depend on how many heads there are. The arrays are copied
    and made read-only on construction, and all share one dtype (float32 or float64).

    Build one with :meth:`init` (seeded, for lessons) or :meth:`from_torch`.

    Introduced in notebooks/02_qkv_projections.ipynb.
    """

    w_q: np.ndarray
    w_k: np.ndarray
    w_v: np.ndarray
    w_o: np.ndarray
    b_q: np.ndarray | None = None
    b_k: np.ndarray | None = None
    b_v: np.ndarray | None = None
    b_o: np.ndarray | None = None

    def __post_init__(self):
        arrays = {}
        for name in _WEIGHTS + _BIASES:
            value = getattr(self, name)
            if value is None and name in _BIASES:
                continue
            if value is None:
                raise TypeError(f"{name} must be an array, got None")
            arrays[name] = as_float_array(value, name)
        dtype = np.result_type(*arrays.values())
        for name, array in arrays.items():
            array = np.array(array, dtype=dtype, copy=True)
            check_finite(array, name)
            array.setflags(write=False)
            object.__setattr__(self, name, array)
        self._check_shapes()

    def _check_shapes(self):
        for name in _WEIGHTS:
            weight = getattr(self, name)
            if weight.ndim != 2:
                raise ValueError(
                    f"{name} must be 2-D (d_in, d_model), "
                    f"got {name}.shape={shape_str(weight.shape)}"
                )
        d_model = self.w_q.shape[1]
        if d_model == 0:
            raise ValueError(f"d_model must be positive, got w_q.shape={shape_str(self.w_q.shape)}")
        for name in ("w_k", "w_v"):
            weight = getattr(self, name)
            if weight.shape[1] != d_model:
                raise ValueError(
                    f"{name} must have d_model={d_model} columns like w_q, got "
                    f"{name}.shape={shape_str(weight.shape)} "
                    f"(w_q.shape={shape_str(self.w_q.shape)})"
                )
        if self.w_o.shape != (d_model, d_model):
            raise ValueError(
                f"w_o must have shape (d_model, d_model)={shape_str((d_model, d_model))}, got "
                f"w_o.shape={shape_str(self.w_o.shape)}"
            )
        for name in _BIASES:
            bias = getattr(self, name)
            if bias is not None and bias.shape != (d_model,):
                raise ValueError(
                    f"{name} must have shape (d_model,)=({d_model},) or be None, got "
                    f"{name}.shape={shape_str(bias.shape)}"
                )

    # -- sizes ---------------------------------------------------------------------------------

    @property
    def d_model(self) -> int:
        """Width of q, k, v and of the output."""
        return self.w_q.shape[1]

    @property
    def d_query_in(self) -> int:
        """Width of the query input."""
        return self.w_q.shape[0]

    @property
    def d_key_in(self) -> int:
        """Width of the key input."""
        return self.w_k.shape[0]

    @property
    def d_value_in(self) -> int:
        """Width of the value input."""
        return self.w_v.shape[0]

    @property
    def dtype(self) -> np.dtype:
        """The dtype shared by all arrays (float32 or float64)."""
        return self.w_q.dtype

    @property
    def has_bias(self) -> bool:
        """True if any of the four biases is present."""
        return any(getattr(self, name) is not None for name in _BIASES)

    @property
    def num_parameters(self) -> int:
        """Number of learned numbers: weights plus biases. Independent of ``num_heads``."""
        arrays = (getattr(self, name) for name in _WEIGHTS + _BIASES)
        return sum(array.size for array in arrays if array is not None)

    def __repr__(self) -> str:
        return (
            f"MHAParams(d_model={self.d_model}, d_query_in={self.d_query_in}, "
            f"d_key_in={self.d_key_in}, d_value_in={self.d_value_in}, "
            f"bias={self.has_bias}, dtype={self.dtype}, num_parameters={self.num_parameters})"
        )

    # -- constructors --------------------------------------------------------------------------

    def to_dtype(self, dtype) -> MHAParams:
        """Return a copy with every array cast to ``dtype`` (float32 or float64).

        Shapes are unchanged: ``w_q (d_query_in, d_model)`` ... ``b_o (d_model,)``.

        Introduced in notebooks/02_qkv_projections.ipynb.
        """
        dtype = _check_float_dtype(dtype)
        cast = {
            name: None if getattr(self, name) is None else getattr(self, name).astype(dtype)
            for name in _WEIGHTS + _BIASES
        }
        return MHAParams(**cast)

    @classmethod
    def init(
        cls,
        d_model,
        *,
        d_query_in=None,
        d_key_in=None,
        d_value_in=None,
        bias=True,
        seed=0,
        dtype=np.float64,
    ) -> MHAParams:
        """Seeded random weights for lessons.

        Weights are Xavier-uniform like torch's (uniform in ``±sqrt(6 / (d_in + d_out))``);
        biases are small but non-zero (uniform in ``±0.1``) so that a forgotten bias shows up.
        The same seed gives the same numbers in float32 and float64, and with or without bias.

        Args:
            d_model: width of q, k, v and the output.
            d_query_in, d_key_in, d_value_in: input widths; each defaults to ``d_model``.
            bias: whether to include ``b_q, b_k, b_v, b_o``.
            seed: seed for ``np.random.default_rng``.
            dtype: float32 or float64.

        Returns:
            an :class:`MHAParams` with ``w_q (d_query_in, d_model)``, ``w_k (d_key_in,
            d_model)``, ``w_v (d_value_in, d_model)``, ``w_o (d_model, d_model)`` and biases
            ``(d_model,)``.

        Introduced in notebooks/02_qkv_projections.ipynb.
        """
        d_model = check_positive_int(d_model, "d_model")
        widths_in = {
            "w_q": check_optional_positive_int(d_query_in, "d_query_in") or d_model,
            "w_k": check_optional_positive_int(d_key_in, "d_key_in") or d_model,
            "w_v": check_optional_positive_int(d_value_in, "d_value_in") or d_model,
            "w_o": d_model,
        }
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False, got {type_name(bias)} {bias!r}")
        dtype = _check_float_dtype(dtype)
        rng = np.random.default_rng(seed)
        arrays = {}
        for name, d_in in widths_in.items():
            bound = math.sqrt(6.0 / (d_in + d_model))
            arrays[name] = rng.uniform(-bound, bound, size=(d_in, d_model))
        for name in _BIASES:  # drawn after the weights, so bias=False keeps the same weights
            b = rng.uniform(-0.1, 0.1, size=d_model)
            arrays[name] = b if bias else None
        return cls(**{n: None if a is None else a.astype(dtype) for n, a in arrays.items()})

    @classmethod
    def from_torch(cls, m) -> MHAParams:
        """Copy the weights of a ``torch.nn.MultiheadAttention`` (or mha_lib's module).

        torch computes ``x @ W.T + b``, so ``w_q = in_proj_weight[:d_model].T``; rows
        ``[0:d]``, ``[d:2d]``, ``[2d:3d]`` of the packed ``in_proj_weight`` are q, k, v. When
        ``kdim``/``vdim`` differ from ``embed_dim``, torch keeps separate ``q_proj_weight``,
        ``k_proj_weight``, ``v_proj_weight`` instead. float32 and float64 are preserved.

        Args:
            m: a ``torch.nn.MultiheadAttention`` (with or without bias; ``add_bias_kv`` and
                ``add_zero_attn`` are not supported) or an ``mha_lib.MultiHeadAttention``.

        Returns:
            an :class:`MHAParams` with the same weights (``num_heads`` is not part of it: pass
            ``m.num_heads`` to :func:`multi_head_attention`).

        Introduced in notebooks/02_qkv_projections.ipynb.
        """
        import torch

        from .modules import MultiHeadAttention

        if isinstance(m, MultiHeadAttention):
            linears = {"w_q": m.q_proj, "w_k": m.k_proj, "w_v": m.v_proj, "w_o": m.out_proj}
            arrays = {}
            for (w_name, linear), b_name in zip(linears.items(), _BIASES, strict=True):
                arrays[w_name] = _to_numpy(linear.weight).T  # (d_in, d_model)
                arrays[b_name] = _to_numpy(linear.bias)
            return cls(**arrays)

        if not isinstance(m, torch.nn.MultiheadAttention):
            raise TypeError(f"from_torch expects a torch.nn.MultiheadAttention, got {type_name(m)}")
        if m.bias_k is not None or m.bias_v is not None:
            raise ValueError("add_bias_kv=True is unsupported by MHAParams.from_torch")
        if m.add_zero_attn:
            raise ValueError("add_zero_attn=True is unsupported by MHAParams.from_torch")
        d_model = m.embed_dim
        if m._qkv_same_embed_dim:  # one packed (3 * d_model, d_model) matrix
            packed = m.in_proj_weight
            w_q, w_k, w_v = packed[:d_model], packed[d_model : 2 * d_model], packed[2 * d_model :]
        else:
            w_q, w_k, w_v = m.q_proj_weight, m.k_proj_weight, m.v_proj_weight
        if m.in_proj_bias is None:
            b_q = b_k = b_v = None
        else:
            packed_bias = m.in_proj_bias
            b_q = packed_bias[:d_model]
            b_k = packed_bias[d_model : 2 * d_model]
            b_v = packed_bias[2 * d_model :]
        return cls(
            w_q=_to_numpy(w_q).T,  # (d_query_in, d_model)
            w_k=_to_numpy(w_k).T,  # (d_key_in, d_model)
            w_v=_to_numpy(w_v).T,  # (d_value_in, d_model)
            w_o=_to_numpy(m.out_proj.weight).T,  # (d_model, d_model)
            b_q=_to_numpy(b_q),
            b_k=_to_numpy(b_k),
            b_v=_to_numpy(b_v),
            b_o=_to_numpy(m.out_proj.bias),
        )


def _check_float_dtype(dtype) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64; raise ``TypeError`` otherwise."""
    try:
        resolved = None if dtype is None else np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.float32, np.float64):
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dtype!r}")
    return resolved


def _to_numpy(tensor):
    """A torch parameter as a numpy array (float32 and float64 kept, half types → float32)."""
    if tensor is None:
        return None
    import torch

    tensor = tensor.detach().cpu()
    if tensor.dtype not in (torch.float32, torch.float64):
        tensor = tensor.to(torch.float32)
    return tensor.numpy()
