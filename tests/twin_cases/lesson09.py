"""Inputs for lesson 08's inline module (class MultiHeadAttention, twin of the library's).

Both modules are built with the same arguments, the library's gets seeded non-zero weights and
biases, and the lesson's receives them through ``load_state_dict`` (so the layer names and
shapes must match too). Then both run forward on the same inputs: self-attention, batches,
causal, padding and patterned masks, cross-attention with T_q ≠ T_k and kdim/vdim, no bias,
float32 and float64, with and without ``need_weights``.
"""

from __future__ import annotations

import torch

from mha_lib.masks import causal_mask, padding_mask
from twin_cases import Compare

TOLERANCE = {torch.float32: 1e-6, torch.float64: 1e-10}

# d_model, num_heads, constructor kwargs, batch, T_q, T_k, mask, dtype, call, seed
CONFIGS = [
    (8, 2, {}, 2, 10, 10, None, torch.float32, "self", 0),
    (8, 2, {}, 2, 10, 10, "causal", torch.float64, "self", 1),
    (12, 3, {"kdim": 5, "vdim": 7}, 3, 4, 6, "padding", torch.float64, "cross", 2),
    (12, 4, {"bias": False}, 1, 5, 3, "pattern", torch.float32, "key_only", 3),
    (6, 1, {}, 4, 3, 3, "causal", torch.float32, "self", 4),
    (16, 8, {"kdim": 16, "vdim": 4}, 2, 7, 9, "per_batch", torch.float64, "cross", 5),
]


def _mask(kind, batch, seq_len_q, seq_len_k, generator):
    if kind is None:
        return None
    if kind == "causal":
        return torch.from_numpy(causal_mask(seq_len_q))  # (T_q, T_k)
    if kind == "padding":
        lengths = torch.randint(1, seq_len_k + 1, (batch,), generator=generator)
        mask = padding_mask(lengths.numpy(), seq_len_k)  # (batch, T_k)
        return torch.from_numpy(mask)[:, None, None, :]  # (batch, 1, 1, T_k)
    shape = (seq_len_q, seq_len_k) if kind == "pattern" else (batch, 1, seq_len_q, seq_len_k)
    mask = torch.rand(shape, generator=generator) < 0.5
    mask[..., 0] = True  # every query keeps at least one key
    return mask


def _compare_modules(inline, library) -> int:
    count = 0
    for d_model, num_heads, kwargs, batch, t_q, t_k, kind, dtype, call, seed in CONFIGS:
        generator = torch.Generator().manual_seed(seed)
        reference = library(d_model, num_heads, **kwargs).to(dtype)
        with torch.no_grad():  # non-zero biases everywhere, so bias handling is visible
            for parameter in reference.parameters():
                parameter.uniform_(-0.5, 0.5, generator=generator)
        mine = inline(d_model, num_heads, **kwargs).to(dtype)
        mine.load_state_dict(reference.state_dict())  # same names and shapes, strictly

        kdim, vdim = kwargs.get("kdim", d_model), kwargs.get("vdim", d_model)
        query = torch.randn(batch, t_q, d_model, generator=generator, dtype=dtype)
        key = torch.randn(batch, t_k, kdim, generator=generator, dtype=dtype)
        value = torch.randn(batch, t_k, vdim, generator=generator, dtype=dtype)
        args = {"self": (query,), "key_only": (query, key), "cross": (query, key, value)}[call]
        mask = _mask(kind, batch, t_q, t_k, generator)
        tolerance = TOLERANCE[dtype]
        with torch.no_grad():
            for need_weights in (True, False):
                got = mine(*args, mask=mask, need_weights=need_weights)
                expected = reference(*args, mask=mask, need_weights=need_weights)
                torch.testing.assert_close(got[0], expected[0], rtol=tolerance, atol=tolerance)
                if need_weights:
                    torch.testing.assert_close(
                        got[1], expected[1], rtol=tolerance, atol=tolerance
                    )
                else:
                    assert got[1] is None and expected[1] is None
        count += 1
    return count


CASES = {
    "mha_lib.MultiHeadAttention": Compare(_compare_modules),
}
