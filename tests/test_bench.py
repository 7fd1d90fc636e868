"""benchmarks/bench_mha.py --quick: the table's structure and the agreement check (never a
timing: these machines are shared, and a test must not depend on how busy they are)."""

from __future__ import annotations

import importlib.util
import re
import sys

import numpy as np
import pytest

from course import REPO


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_mha", REPO / "benchmarks" / "bench_mha.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it is created
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


NAMES = [
    "mha_lib.MultiHeadAttention",
    "nn.MultiheadAttention need_weights=False",
    "nn.MultiheadAttention need_weights=True",
    "loop over heads (torch)",
    "numpy reference (mha_lib.multi_head_attention)",
]


def test_quick_run_prints_the_table(bench, capsys):
    assert bench.main(["--quick", "--rounds", "2"]) == 0
    out = capsys.readouterr().out
    assert "B=2, T=64, d_model=64, 4 heads, float32" in out
    agree = re.search(
        r"outputs agree: max \|difference\| / max \|output\| = (\S+) \(≤ 1e-04\)", out
    )
    assert agree and float(agree.group(1)) <= 1e-4
    assert "FLOPs = 8·B·T·d² + 4·B·T²·d" in out
    assert re.search(r"matmul 256³: [\d.]+ GFLOP/s  ->  floor = [\d.]+ ms", out)
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("implementation"))
    assert (
        lines[header].split()[-5:] == ["best", "ms", "×", "floor", "×"]
        or "× torch" in lines[header]
    )
    assert set(lines[header + 1]) == {"-"}
    rows = lines[header + 2 : header + 2 + len(NAMES)]
    for name, row in zip(NAMES, rows, strict=True):
        assert row.startswith(name)
        numbers = row[len(name) :].split()
        assert len(numbers) == 3 and all(float(n) > 0 for n in numbers), row
    baseline = rows[1][len(NAMES[1]) :].split()
    assert baseline[2] == "1.00"  # the baseline against itself


def test_the_flop_count_is_the_formula(bench):
    size = bench.Size(batch=8, seq_len=1024, d_model=768, num_heads=12, matmul=4096)
    assert size == bench.FULL
    assert size.flops == 8 * 8 * 1024 * 768**2 + 4 * 8 * 1024**2 * 768 == 64_424_509_440


def test_every_implementation_agrees_and_a_wrong_one_is_named(bench):
    runs, _ = bench.implementations(bench.QUICK)
    outputs = {name: run() for name, run in runs.items()}
    assert list(outputs) == NAMES
    assert bench.check_agreement(outputs, NAMES[0]) <= 1e-4
    wrong = dict(outputs)
    wrong[NAMES[3]] = outputs[NAMES[3]] * 1.01  # 1% off: far outside float32 rounding
    with pytest.raises(AssertionError, match="loop over heads"):
        bench.check_agreement(wrong, NAMES[0])
    wrong[NAMES[3]] = outputs[NAMES[3]].astype(np.float64)
    with pytest.raises(AssertionError, match="float64"):
        bench.check_agreement(wrong, NAMES[0])


def test_time_interleaved_keeps_each_best_round(bench):
    order = []
    calls = {name: (lambda name=name: order.append(name)) for name in "abc"}
    best = bench.time_interleaved(calls, rounds=3)
    assert set(best) == set("abc") and all(t >= 0 for t in best.values())
    assert order == list("abc") + list("abc") + list("bca") + list("cab")  # warm-up, rotated
