"""Helpers shared by the mha_lib unit and parity tests: settings, strategies, masks, torch refs.

Array values come from ``np.random.default_rng(seed)`` with the seed drawn by hypothesis, so
hypothesis explores shapes and options while the numbers stay well-scaled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Max abs error allowed against torch, per dtype.
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}

MASK_KINDS = ("none", "causal", "padding", "causal+padding", "random")


def prop(max_examples: int) -> settings:
    """Reproducible hypothesis settings: derandomized, no example database, no deadline."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def rng_array(rng: np.random.Generator, shape, dtype=np.float64) -> np.ndarray:
    """Standard normal numbers of ``shape`` in ``dtype``."""
    return rng.standard_normal(shape).astype(dtype)


def max_abs_error(ours, reference) -> float:
    """Largest absolute difference between two arrays/tensors (as float64 numpy)."""
    if isinstance(reference, torch.Tensor):
        reference = reference.detach().cpu().numpy()
    if isinstance(ours, torch.Tensor):
        ours = ours.detach().cpu().numpy()
    assert np.shape(ours) == np.shape(reference), (np.shape(ours), np.shape(reference))
    return float(np.max(np.abs(np.asarray(ours, np.float64) - np.asarray(reference, np.float64))))


# ---------------------------------------------------------------------------------------------
# masks (True = may attend); every query row keeps at least one key unless said otherwise
# ---------------------------------------------------------------------------------------------


def causal_mask(seq_len_q: int, seq_len_k: int) -> np.ndarray:
    """``(T_q, T_k)``: query i may attend to keys 0..i (key 0 is always allowed)."""
    return np.tril(np.ones((seq_len_q, seq_len_k), dtype=bool))


def padding_keep(rng: np.random.Generator, batch: int, seq_len_k: int) -> np.ndarray:
    """``(batch, T_k)``: True for real tokens; each sequence has 1..T_k of them."""
    lengths = rng.integers(1, seq_len_k + 1, size=batch)
    return np.arange(seq_len_k)[None, :] < lengths[:, None]


def random_mask(rng: np.random.Generator, shape) -> np.ndarray:
    """A random bool mask of ``shape (..., T_q, T_k)`` with at least one True per row."""
    mask = rng.random(shape) < 0.6
    rows = mask.reshape(-1, shape[-1])
    keep = rng.integers(0, shape[-1], size=rows.shape[0])
    rows[np.arange(rows.shape[0]), keep] = True
    return rows.reshape(shape)


# ---------------------------------------------------------------------------------------------
# multi-head configurations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MHACase:
    """One multi-head attention configuration drawn by :func:`mha_cases`."""

    batch: int
    num_heads: int
    d_head: int
    seq_len_q: int
    seq_len_k: int
    bias: bool
    kdim: int | None  # None: packed in_proj_weight
    vdim: int | None
    mask_kind: str
    dtype: type
    seed: int

    @property
    def d_model(self) -> int:
        return self.num_heads * self.d_head

    @property
    def weights_shape(self) -> tuple:
        return (self.batch, self.num_heads, self.seq_len_q, self.seq_len_k)


@st.composite
def mha_cases(draw, dtypes=(np.float32, np.float64), self_attention=None) -> MHACase:
    """Batch sizes, heads, lengths (cross-attention T_q != T_k), bias, kdim/vdim, masks."""
    if self_attention is None:
        self_attention = draw(st.booleans())
    seq_len_q = draw(st.integers(1, 6))
    separate = False if self_attention else draw(st.booleans())
    return MHACase(
        batch=draw(st.integers(1, 3)),
        num_heads=draw(st.sampled_from([1, 2, 3, 4])),
        d_head=draw(st.integers(1, 4)),
        seq_len_q=seq_len_q,
        seq_len_k=seq_len_q if self_attention else draw(st.integers(1, 6)),
        bias=draw(st.booleans()),
        kdim=draw(st.integers(1, 7)) if separate else None,
        vdim=draw(st.integers(1, 7)) if separate else None,
        mask_kind=draw(st.sampled_from(MASK_KINDS)),
        dtype=draw(st.sampled_from(dtypes)),
        seed=draw(st.integers(0, 2**16)),
    )


@dataclass
class MHAInputs:
    """Arrays for one case: inputs, our mask and torch's (inverted) masks."""

    query: np.ndarray  # (batch, T_q, d_model)
    key: np.ndarray  # (batch, T_k, kdim)
    value: np.ndarray  # (batch, T_k, vdim)
    mask: np.ndarray | None  # ours: True = may attend, broadcastable to the weights
    torch_attn_mask: torch.Tensor | None  # torch: True = blocked, (T_q, T_k) or (B*H, T_q, T_k)
    torch_key_padding_mask: torch.Tensor | None  # torch: True = blocked, (B, T_k)


def make_inputs(case: MHACase) -> MHAInputs:
    """Seeded inputs and masks for ``case`` (self-attention uses one tensor for q, k and v)."""
    rng = np.random.default_rng(case.seed)
    query = rng_array(rng, (case.batch, case.seq_len_q, case.d_model), case.dtype)
    if case.kdim is None and case.seq_len_k == case.seq_len_q and rng.random() < 0.5:
        key = value = query
    else:
        key = rng_array(rng, (case.batch, case.seq_len_k, case.kdim or case.d_model), case.dtype)
        value = rng_array(rng, (case.batch, case.seq_len_k, case.vdim or case.d_model), case.dtype)

    mask = attn_mask = padding_mask = None
    if case.mask_kind in ("causal", "causal+padding"):
        causal = causal_mask(case.seq_len_q, case.seq_len_k)  # (T_q, T_k)
        mask = causal
        attn_mask = torch.from_numpy(~causal)
    if case.mask_kind in ("padding", "causal+padding"):
        # Key 0 is always kept by both masks, so no query row is fully masked (torch: NaN).
        keep = padding_keep(rng, case.batch, case.seq_len_k)  # (batch, T_k)
        padding = keep[:, None, None, :]  # (batch, 1, 1, T_k)
        mask = padding if mask is None else mask & padding  # (batch, 1, T_q, T_k)
        padding_mask = torch.from_numpy(~keep)
    if case.mask_kind == "random":
        mask = random_mask(rng, case.weights_shape)  # (batch, num_heads, T_q, T_k)
        flat = mask.reshape(case.batch * case.num_heads, case.seq_len_q, case.seq_len_k)
        attn_mask = torch.from_numpy(~flat)
    return MHAInputs(query, key, value, mask, attn_mask, padding_mask)


def make_torch_mha(case: MHACase) -> torch.nn.MultiheadAttention:
    """A seeded ``torch.nn.MultiheadAttention`` with every parameter (biases too) non-zero."""
    generator = torch.Generator().manual_seed(case.seed)
    m = torch.nn.MultiheadAttention(
        case.d_model,
        case.num_heads,
        bias=case.bias,
        kdim=case.kdim,
        vdim=case.vdim,
        batch_first=True,
        dtype=TORCH_DTYPE[case.dtype],
    )
    with torch.no_grad():  # torch initialises biases to 0, which would hide bias bugs
        for parameter in m.parameters():
            parameter.uniform_(-0.6, 0.6, generator=generator)
    return m.eval()


def torch_reference(m: torch.nn.MultiheadAttention, inputs: MHAInputs):
    """torch's ``(output, weights per head)`` for ``inputs``, as numpy arrays."""
    with torch.no_grad():
        output, weights = m(
            torch.from_numpy(inputs.query),
            torch.from_numpy(inputs.key),
            torch.from_numpy(inputs.value),
            attn_mask=inputs.torch_attn_mask,
            key_padding_mask=inputs.torch_key_padding_mask,
            need_weights=True,
            average_attn_weights=False,
        )
    return output.numpy(), weights.numpy()
