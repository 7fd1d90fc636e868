"""Checkers for lesson 07: splitting d_model into heads and merging the heads back."""

from __future__ import annotations

import numpy as np

import mha_lib

from ._harness import Case, Checker, Mistake, fmt_index, texts
from .masked_softmax_check import first_index
from .result import CheckResult


def _numbered(*shape) -> np.ndarray:
    """0, 1, 2, ... in the given shape: every entry is distinct, so a misplaced one can be
    traced back to where it came from."""
    return np.arange(np.prod(shape), dtype=np.float64).reshape(shape)


SPLIT_FIX = "reshape to (..., seq_len, num_heads, d_head), then np.swapaxes(..., -3, -2)"
BATCH_SPLIT_FIX = (
    "reshape to (batch, seq_len, num_heads, d_head), then swap seq_len and num_heads: "
    ".transpose(0, 2, 1, 3)"
)
MERGE_FIX = (
    "Swap num_heads and seq_len back first, np.swapaxes(x, -3, -2), then reshape the last two "
    "axes into one of num_heads * d_head."
)
BATCH_MERGE_FIX = (
    "Swap num_heads and seq_len back first, .transpose(0, 2, 1, 3) → (batch, seq_len, "
    "num_heads, d_head), then reshape to (batch, seq_len, num_heads * d_head)."
)
SPLIT_HINTS = texts("check_split_heads")["hints"]
MERGE_HINTS = texts("check_merge_heads")["hints"]
# Split: batch=2, seq_len=5, d_model=12, 3 heads of d_head=4; then no batch axis with 4 heads
# of 3. seq_len, num_heads and d_head always differ, so a missing transpose cannot hide.
SPLIT_CASES = [
    Case(
        {"x": _numbered(2, 5, 12), "num_heads": 3},
        extra={
            "layout": "(batch, num_heads, seq_len, d_head) with d_head = 12 / 3 = 4",
            "fix": BATCH_SPLIT_FIX,
        },
    ),
    Case(
        {"x": _numbered(5, 12), "num_heads": 4},
        hint=SPLIT_HINTS["no_batch"],
        extra={"layout": "(num_heads, seq_len, d_head) with d_head = 12 / 4 = 3", "fix": SPLIT_FIX},
    ),
]
# Merge: x (..., num_heads, seq_len, d_head): batch=2, 3 heads, seq_len=5, d_head=4; then no batch.
MERGE_CASES = [
    Case(
        {"x": _numbered(2, 3, 5, 4)},
        extra={
            "layout": "(batch, seq_len, num_heads * d_head) with num_heads * d_head = 3 * 4 = 12",
            "fix": BATCH_MERGE_FIX,
        },
    ),
    Case(
        {"x": _numbered(4, 5, 3)},
        hint=MERGE_HINTS["no_batch"],
        extra={
            "layout": "(seq_len, num_heads * d_head) with num_heads * d_head = 4 * 3 = 12",
            "fix": MERGE_FIX,
        },
    ),
]


def split_variant(x, num_heads, *, transpose=True, heads_last=False):
    """``mha_lib.split_heads(x, num_heads)``; ``transpose=False`` only reshapes to (..., num_heads,
    seq_len, d_head), ``heads_last`` only reshapes to (..., seq_len, num_heads, d_head)."""
    *batch, seq_len, d_model = x.shape
    if heads_last:
        return x.reshape(*batch, seq_len, num_heads, d_model // num_heads)
    if not transpose:  # the mistake: positions leak between heads
        return x.reshape(*batch, num_heads, seq_len, d_model // num_heads)
    return mha_lib.split_heads(x, num_heads)  # (..., num_heads, seq_len, d_head)


def merge_variant(x, *, transpose=True, combine=None):
    """``mha_lib.merge_heads(x)``; ``transpose=False`` only reshapes; ``combine`` "sum" or
    "mean" adds or averages the heads instead of putting them side by side."""
    if combine is not None:
        return getattr(x, combine)(axis=-3)  # (..., seq_len, d_head)
    if not transpose:
        *batch, num_heads, seq_len, d_head = x.shape
        return x.reshape(*batch, seq_len, num_heads * d_head)
    return mha_lib.merge_heads(x)  # (..., seq_len, num_heads * d_head)


def _describe_features(values, x) -> str:
    """Say where a run of values came from in x, e.g. "features 4–7 of token 0"."""
    positions = [np.argwhere(x == value) for value in np.asarray(values).ravel()]
    if any(len(p) != 1 for p in positions):
        return "values that are not a slice of x"
    coordinates = [tuple(int(i) for i in p[0]) for p in positions]
    tokens = {c[:-1] for c in coordinates}
    features = [c[-1] for c in coordinates]
    if len(tokens) == 1 and features == list(range(features[0], features[0] + len(features))):
        (token,) = tokens
        name = f"token {token[-1]}" + (
            f" of batch {token[0]}" if len(token) > 1 and token[0] else ""
        )
        return f"features {features[0]}–{features[-1]} of {name}"
    first, last = fmt_index(coordinates[0]), fmt_index(coordinates[-1])
    return f"x values from several tokens, e.g. x{first} and x{last}"


def _split_facts(got, case, switches) -> dict:
    # Head 0, position 1 is where reshape-only first goes wrong: it holds features of token 0.
    index = (0,) * (case.x.ndim - 2) + (0, 1)
    right = split_variant(case.x, case.num_heads)

    def wrong():  # the first (head, position) whose features differ
        return first_index(~np.isclose(got, right).all(axis=-1))

    return {
        "head_0_position_1": lambda: _describe_features(got[index], case.x),
        "at": lambda: fmt_index(wrong()),
        "holds": lambda: _describe_features(got[wrong()], case.x),
        "wanted": lambda: _describe_features(right[wrong()], case.x),
        "fix_clause": case.fix,
        "last_feature": case.x.shape[-1] // case.num_heads - 1,
        "fix": case.fix[0].upper() + case.fix[1:] + ".",
    }


SPLIT_CHECKER = Checker(
    name="check_split_heads",
    cases=lambda: SPLIT_CASES,
    reference=lambda case, **switches: split_variant(case.x, case.num_heads, **switches),
    outputs=(("Your result", "out", "(..., num_heads, seq_len, d_head)"),),
    facts=_split_facts,
    shape_mistakes=(Mistake("split_without_transpose", {"heads_last": True}, name="heads_last"),),
    mistakes=(Mistake("split_without_transpose", {"transpose": False}),),
)


def check_split_heads(fn) -> CheckResult:
    """Check ``fn(x, num_heads) -> (..., num_heads, seq_len, d_head)``: head h holds columns
    ``h * d_head : (h + 1) * d_head`` of every position. Used in notebooks/07_multiple_heads.ipynb.
    """
    return SPLIT_CHECKER(fn)


def _merge_facts(got, case, switches) -> dict:
    num_heads, d_head = case.x.shape[-3], case.x.shape[-1]
    columns = "out[" + ", ".join(["0"] * (case.x.ndim - 2) + [f"{d_head}:{2 * d_head}"]) + "]"

    def source():  # where out[..., 0, d_head:2*d_head] came from, e.g. "head 0 at position 1"
        values = got[(0,) * (case.x.ndim - 3) + (0, slice(d_head, 2 * d_head))]
        coordinates = np.argwhere(case.x == values[0])
        if len(coordinates) != 1:
            return "other values"
        *_, head, position, _ = (int(i) for i in coordinates[0])
        return f"head {head} at position {position}"

    return {
        "num_heads": num_heads,
        "d_head": d_head,
        "d_model": num_heads * d_head,
        "last_head": num_heads - 1,
        "columns": columns,
        "source": source,
    }


MERGE_CHECKER = Checker(
    name="check_merge_heads",
    cases=lambda: MERGE_CASES,
    reference=lambda case, **switches: merge_variant(case.x, **switches),
    outputs=(("Your result", "out", "(..., seq_len, num_heads * d_head)"),),
    facts=_merge_facts,
    shape_mistakes=(
        Mistake("heads_summed", {"combine": "sum"}, name="sum"),
        Mistake("heads_summed", {"combine": "mean"}, name="mean"),
    ),
    mistakes=(Mistake("merge_without_transpose", {"transpose": False}),),
)


def check_merge_heads(fn) -> CheckResult:
    """Check ``fn(x) -> (..., seq_len, num_heads * d_head)``: the heads side by side in each
    position. Lesson 07 teaches merge_heads; no exercise uses this checker yet (spare)."""
    return MERGE_CHECKER(fn)
