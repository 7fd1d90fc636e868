"""The learned weights of one multi-head attention layer, as numpy arrays."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import _validate

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
        arrays = {name: getattr(self, name) for name in _WEIGHTS + _BIASES}
        for name, array in _validate.params_arrays(arrays, _WEIGHTS, _BIASES).items():
            object.__setattr__(self, name, array)

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
        dtype = _validate.check_float_dtype(dtype)
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
        d_model = _validate.check_positive_int(d_model, "d_model")
        widths_in = {
            "w_q": _validate.check_optional_positive_int(d_query_in, "d_query_in") or d_model,
            "w_k": _validate.check_optional_positive_int(d_key_in, "d_key_in") or d_model,
            "w_v": _validate.check_optional_positive_int(d_value_in, "d_value_in") or d_model,
            "w_o": d_model,
        }
        bias = _validate.check_bool(bias, "bias")
        dtype = _validate.check_float_dtype(dtype)

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

        The one place that reads torch's layout: torch computes ``x @ W.T + b``, so ``w_q =
        in_proj_weight[:d_model].T``; rows ``[0:d]``, ``[d:2d]``, ``[2d:3d]`` of the packed
        ``in_proj_weight`` (and ``in_proj_bias``) are q, k, v. When ``kdim``/``vdim`` differ
        from ``embed_dim``, torch keeps separate ``q_proj_weight``, ``k_proj_weight``,
        ``v_proj_weight`` instead. float32 and float64 are preserved (half types become
        float32). :meth:`mha_lib.MultiHeadAttention.from_torch` goes through here.

        Args:
            m: a ``torch.nn.MultiheadAttention`` (with or without bias; ``add_bias_kv`` and
                ``add_zero_attn`` are not supported), or an ``mha_lib.MultiHeadAttention``
                (whose :meth:`~mha_lib.MultiHeadAttention.to_params` is used).

        Returns:
            an :class:`MHAParams` with the same weights (``num_heads`` is not part of it: pass
            ``m.num_heads`` to :func:`multi_head_attention`).

        Introduced in notebooks/02_qkv_projections.ipynb.
        """
        to_params = getattr(m, "to_params", None)
        if callable(to_params):  # mha_lib.MultiHeadAttention (modules.py imports this file)
            return to_params()
        import torch  # only here: the numpy reference never needs torch

        _validate.torch_mha_args(m, torch.nn.MultiheadAttention)
        return _params_from_torch(m)


def _params_from_torch(m) -> MHAParams:
    """:meth:`MHAParams.from_torch` of a checked ``torch.nn.MultiheadAttention``."""
    d_model = m.embed_dim
    if m._qkv_same_embed_dim:  # one packed (3 * d_model, d_model) matrix: rows q, k, v
        w_q, w_k, w_v = m.in_proj_weight.split(d_model)  # (d_model, d_model) each
    else:
        w_q, w_k, w_v = m.q_proj_weight, m.k_proj_weight, m.v_proj_weight  # (d_model, d_in)
    if m.in_proj_bias is None:
        b_q = b_k = b_v = None
    else:
        b_q, b_k, b_v = m.in_proj_bias.split(d_model)  # (d_model,) each
    return MHAParams(
        w_q=_to_numpy(w_q).T,  # (d_query_in, d_model): torch computes x @ W.T + b
        w_k=_to_numpy(w_k).T,  # (d_key_in, d_model)
        w_v=_to_numpy(w_v).T,  # (d_value_in, d_model)
        w_o=_to_numpy(m.out_proj.weight).T,  # (d_model, d_model)
        b_q=_to_numpy(b_q),
        b_k=_to_numpy(b_k),
        b_v=_to_numpy(b_v),
        b_o=_to_numpy(m.out_proj.bias),
    )


def _to_numpy(tensor):
    """A torch parameter as a numpy array (float32 and float64 kept, half types → float32)."""
    if tensor is None:
        return None
    tensor = tensor.detach().cpu()
    if str(tensor.dtype) not in ("torch.float32", "torch.float64"):
        tensor = tensor.float()
    return tensor.numpy()
