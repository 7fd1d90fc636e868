"""`make bench`: how fast is multi-head attention here, against the machine's FLOP floor?

One run times, at B=8, T=1024, d_model=768, 12 heads, float32, without gradients:

- ``mha_lib.MultiHeadAttention`` (need_weights=False), the course's torch module;
- ``mha_lib.multi_head_attention``, the numpy reference;
- ``torch.nn.MultiheadAttention`` with need_weights=False and True;
- a loop over heads (torch, one head's projections and attention at a time);
- a 4096³ float32 matrix product, whose rate gives the FLOP floor of this MHA.

The FLOPs of self-attention with batch B, length T, width d (a multiply-add counts 2):

    projections q, k, v and out:   4 · 2·B·T·d²   = 8·B·T·d²
    scores q·kᵀ, every head:       2·B·T²·d        (H heads of d_head = d/H)
    weights @ v, every head:       2·B·T²·d
    total                          8·B·T·d² + 4·B·T²·d

The floor is that count at the matmul's rate: no implementation can beat it by much (softmax,
masking and copies add work, never remove any). Each implementation runs once to warm up, then
N rounds in which every implementation runs once, in a rotating order (interleaved, so a noisy
neighbour slows them all alike); the table shows each one's best round. Shared machines are
noisy: read the ratios, not the milliseconds, and expect ±20% between runs.

Usage: ``python benchmarks/bench_mha.py [--quick] [--rounds N]``. ``--quick`` uses a tiny size
(B=2, T=64, d_model=64, 4 heads, a 256³ product) so that a unit test keeps this script working.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import mha_lib

AGREEMENT_RTOL = 1e-4  # float32, relative to the largest output value


@dataclasses.dataclass(frozen=True)
class Size:
    batch: int
    seq_len: int
    d_model: int
    num_heads: int
    matmul: int  # n of the n × n × n product that measures the FLOP rate

    @property
    def flops(self) -> int:
        """``8·B·T·d² + 4·B·T²·d``: the four projections, the scores and the weighted sum."""
        b, t, d = self.batch, self.seq_len, self.d_model
        return 8 * b * t * d * d + 4 * b * t * t * d


FULL = Size(batch=8, seq_len=1024, d_model=768, num_heads=12, matmul=4096)
QUICK = Size(batch=2, seq_len=64, d_model=64, num_heads=4, matmul=256)


def loop_over_heads(x, module):
    """Attention one head at a time: head h's slices of the projections, its own softmax."""
    d_head = module.d_head
    heads = []
    for h in range(module.num_heads):
        rows = slice(h * d_head, (h + 1) * d_head)  # head h's rows of each (d_out, d_in) weight
        q = F.linear(x, module.q_proj.weight[rows], module.q_proj.bias[rows])  # (B, T, d_head)
        k = F.linear(x, module.k_proj.weight[rows], module.k_proj.bias[rows])  # (B, T, d_head)
        v = F.linear(x, module.v_proj.weight[rows], module.v_proj.bias[rows])  # (B, T, d_head)
        weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(d_head), dim=-1)  # (B, T, T)
        heads.append(weights @ v)  # (B, T, d_head)
    return module.out_proj(torch.cat(heads, dim=-1))  # (B, T, d_model)


def implementations(size: Size, seed: int = 0) -> tuple[dict[str, Callable], Callable]:
    """The callables to time (each returns the output as a numpy array) and the product."""
    torch.manual_seed(seed)
    shape = (size.batch, size.seq_len, size.d_model)
    x = torch.randn(shape)
    ours = mha_lib.MultiHeadAttention(size.d_model, size.num_heads).eval()
    with torch.no_grad():  # non-zero biases, so that every implementation must add them
        for layer in (ours.q_proj, ours.k_proj, ours.v_proj, ours.out_proj):
            layer.bias.uniform_(-0.1, 0.1)
    torch_mha = nn.MultiheadAttention(size.d_model, size.num_heads, batch_first=True).eval()
    with torch.no_grad():  # the same weights: torch packs q, k, v into in_proj_weight
        torch_mha.in_proj_weight.copy_(
            torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight])
        )
        torch_mha.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias,
                                                ours.v_proj.bias]))  # fmt: skip
        torch_mha.out_proj.weight.copy_(ours.out_proj.weight)
        torch_mha.out_proj.bias.copy_(ours.out_proj.bias)
    params = ours.to_params()  # float32 numpy weights
    x_numpy = x.numpy()
    a = torch.randn(size.matmul, size.matmul)
    b = torch.randn(size.matmul, size.matmul)

    def torch_output(fn):
        def run():
            with torch.inference_mode():
                return fn()[0].numpy()

        return run

    runs = {
        "mha_lib.MultiHeadAttention": torch_output(lambda: ours(x)),
        "nn.MultiheadAttention need_weights=False": torch_output(
            lambda: torch_mha(x, x, x, need_weights=False)
        ),
        "nn.MultiheadAttention need_weights=True": torch_output(
            lambda: torch_mha(x, x, x, need_weights=True)
        ),
        "loop over heads (torch)": torch_output(lambda: (loop_over_heads(x, ours),)),
        "numpy reference (mha_lib.multi_head_attention)": lambda: mha_lib.multi_head_attention(
            x_numpy, x_numpy, x_numpy, params, size.num_heads
        )[0],
    }

    def matmul():
        with torch.inference_mode():
            return torch.mm(a, b)

    return runs, matmul


def check_agreement(outputs: dict[str, np.ndarray], reference: str) -> float:
    """The largest difference from ``outputs[reference]``, relative to its largest value;
    raises ``AssertionError`` naming the implementation that disagrees."""
    expected = outputs[reference]
    scale = float(np.abs(expected).max())
    worst = 0.0
    for name, got in outputs.items():
        if got.shape != expected.shape or got.dtype != expected.dtype:
            raise AssertionError(
                f"{name}: output {got.shape} {got.dtype}, {reference}: {expected.shape} "
                f"{expected.dtype}"
            )
        error = float(np.abs(got - expected).max()) / scale
        if not error <= AGREEMENT_RTOL:
            raise AssertionError(
                f"{name} disagrees with {reference}: max |difference| / max |output| = "
                f"{error:.2e} > {AGREEMENT_RTOL:.0e}"
            )
        worst = max(worst, error)
    return worst


def time_interleaved(calls: dict[str, Callable], rounds: int) -> dict[str, float]:
    """Best wall time (s) of each call over ``rounds`` rounds; in round r the calls run in
    order rotated by r, after one warm-up call each."""
    for call in calls.values():
        call()
    names = list(calls)
    best = dict.fromkeys(names, math.inf)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            calls[name]()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def table(best: dict[str, float], floor: float, baseline: str) -> str:
    """The result table: ms, × floor and × the baseline ("× torch"), one row per
    implementation."""
    width = max(len(name) for name in best)
    lines = [f"{'implementation':<{width}}  {'best ms':>9}  {'× floor':>8}  {'× torch':>8}"]
    lines.append("-" * len(lines[0]))
    for name, seconds in best.items():
        lines.append(
            f"{name:<{width}}  {seconds * 1e3:>9.1f}  {seconds / floor:>8.2f}  "
            f"{seconds / best[baseline]:>8.2f}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny size (for the unit test)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 5)")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    rounds = args.rounds or (3 if args.quick else 5)

    runs, matmul = implementations(size)
    outputs = {name: run() for name, run in runs.items()}
    worst = check_agreement(outputs, "mha_lib.MultiHeadAttention")

    best = time_interleaved({**runs, "matmul": matmul}, rounds)
    rate = 2 * size.matmul**3 / best.pop("matmul")  # FLOP/s of one n³ product
    floor = size.flops / rate
    b, t, d = size.batch, size.seq_len, size.d_model

    print(
        f"multi-head self-attention, B={b}, T={t}, d_model={d}, {size.num_heads} heads, "
        f"float32, no grad; torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"outputs agree: max |difference| / max |output| = {worst:.1e} (≤ {AGREEMENT_RTOL:.0e})")
    print(
        f"FLOPs = 8·B·T·d² + 4·B·T²·d = {8 * b * t * d * d / 1e9:.4g} G + "
        f"{4 * b * t * t * d / 1e9:.4g} G = {size.flops / 1e9:.4g} GFLOP"
    )
    print(
        f"matmul {size.matmul}³: {rate / 1e9:.1f} GFLOP/s  ->  floor = {floor * 1e3:.1f} ms "
        f"(best of {rounds} interleaved rounds; shared machines are noisy: compare ratios)"
    )
    print()
    baseline = "nn.MultiheadAttention need_weights=False"
    print(table(best, floor, baseline))
    print(f"× floor: time / floor;  × torch: time / time of {baseline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
