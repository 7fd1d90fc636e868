"""Checkers for lesson 07: splitting d_model into heads and merging the heads back."""

from __future__ import annotations

import dataclasses

import numpy as np

import mha_lib

from ._harness import Checker, Mistake, fmt_index, fmt_shape, read_array, shape_problem
from .result import CheckResult


def _numbered(*shape) -> np.ndarray:
    """0, 1, 2, ... in the given shape: every entry is distinct, so a misplaced one can be
    traced back to where it came from."""
    return np.arange(np.prod(shape), dtype=np.float64).reshape(shape)


@dataclasses.dataclass(frozen=True)
class HeadsCase:
    """``fn(x, num_heads)`` for a split, ``fn(x)`` for a merge (num_heads None)."""

    x: np.ndarray
    num_heads: int | None = None
    hint: str = ""

    @property
    def args(self) -> tuple:
        return (self.x,) if self.num_heads is None else (self.x, self.num_heads)

    @property
    def inputs(self) -> str:
        heads = "" if self.num_heads is None else f" and num_heads={self.num_heads}"
        return f"x of shape {fmt_shape(self.x.shape)}{heads}"


# Split: batch=2, seq_len=5, d_model=12, 3 heads of d_head=4; then no batch axis with 4 heads
# of 3. seq_len, num_heads and d_head always differ, so a missing transpose cannot hide.
SPLIT_CASES = [
    HeadsCase(_numbered(2, 5, 12), 3),
    HeadsCase(
        _numbered(5, 12),
        4,
        "It worked for x of shape (2, 5, 12) with 3 heads; write the reshape with the leading "
        "axes left open so any batch shape works: x.reshape(*x.shape[:-1], num_heads, d_head), "
        "then np.swapaxes(..., -3, -2).",
    ),
]
# Merge: x (..., num_heads, seq_len, d_head): batch=2, 3 heads, seq_len=5, d_head=4; then no batch.
MERGE_CASES = [
    HeadsCase(_numbered(2, 3, 5, 4)),
    HeadsCase(
        _numbered(4, 5, 3),
        hint=(
            "It worked for x of shape (2, 3, 5, 4); leave the leading axes open so any batch "
            "shape works: np.swapaxes(x, -3, -2).reshape(*x.shape[:-3], seq_len, num_heads * "
            "d_head)."
        ),
    ),
]


def split_variant(case, *, transpose=True, heads_last=False):
    """``mha_lib.split_heads(x, num_heads)``; ``transpose=False`` only reshapes to (..., num_heads,
    seq_len, d_head), ``heads_last`` only reshapes to (..., seq_len, num_heads, d_head)."""
    *batch, seq_len, d_model = case.x.shape
    d_head = d_model // case.num_heads
    if heads_last:
        return case.x.reshape(*batch, seq_len, case.num_heads, d_head)
    if not transpose:  # the mistake: positions leak between heads
        return case.x.reshape(*batch, case.num_heads, seq_len, d_head)
    return mha_lib.split_heads(case.x, case.num_heads)  # (..., num_heads, seq_len, d_head)


def merge_variant(case, *, transpose=True, combine=None):
    """``mha_lib.merge_heads(x)``; ``transpose=False`` only reshapes; ``combine`` "sum" or
    "mean" adds or averages the heads instead of putting them side by side."""
    if combine is not None:
        return getattr(case.x, combine)(axis=-3)  # (..., seq_len, d_head)
    if not transpose:
        *batch, num_heads, seq_len, d_head = case.x.shape
        return case.x.reshape(*batch, seq_len, num_heads * d_head)
    return mha_lib.merge_heads(case.x)  # (..., seq_len, num_heads * d_head)


def _sentence(clause: str) -> str:
    return clause[0].upper() + clause[1:] + "."


def _split_fix(x) -> str:
    """The fix as a clause (no capital, no full stop)."""
    if x.ndim == 3:
        return (
            "reshape to (batch, seq_len, num_heads, d_head), then swap seq_len and num_heads: "
            ".transpose(0, 2, 1, 3)"
        )
    return "reshape to (..., seq_len, num_heads, d_head), then np.swapaxes(..., -3, -2)"


def _split_problem(got, case) -> str:
    *batch, _, d_model = case.x.shape
    names = ("batch, " if batch else "") + "num_heads, seq_len, d_head"
    layout = f"({names}) with d_head = {d_model} / {case.num_heads} = {d_model // case.num_heads}"
    return shape_problem("Your result", got.shape, split_variant(case).shape, layout)


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
    return f"x values from several tokens, e.g. x{fmt_index(coordinates[0])} and x{fmt_index(coordinates[-1])}"


def _split_values_message(got, case) -> tuple[str, str]:
    expected = split_variant(case)
    wrong = ~np.isclose(got, expected).all(axis=-1)  # slices along the last axis that differ
    index = tuple(int(i) for i in np.argwhere(wrong)[0])
    return "wrong_values", (
        f"Your result has the right shape {fmt_shape(expected.shape)} but "
        f"out{fmt_index(index)} holds {_describe_features(got[index], case.x)} instead of "
        f"{_describe_features(expected[index], case.x)}. Head h must hold columns h * d_head to "
        f"(h + 1) * d_head - 1 of every token: {_split_fix(case.x)}."
    )


def _split_reshape_only(got, case) -> str:
    # Head 0, position 1 is where reshape-only first goes wrong: it holds features of token 0.
    index = (0,) * (case.x.ndim - 2) + (0, 1)
    d_head = case.x.shape[-1] // case.num_heads
    return (
        f"Your result has the right shape {fmt_shape(got.shape)} but you only reshaped: head 0 "
        f"at position 1 holds {_describe_features(got[index], case.x)} instead of features "
        f"0–{d_head - 1} of token 1. {_sentence(_split_fix(case.x))}"
    )


SPLIT_CHECKER = Checker(
    name="check_split_heads",
    example="check_split_heads(split_heads)",
    cases=lambda: SPLIT_CASES,
    reference=split_variant,
    read=read_array("Your result"),
    shape_message=lambda got, case: f"{_split_problem(got, case)} {_sentence(_split_fix(case.x))}",
    values_message=_split_values_message,
    shape_mistakes=(
        Mistake(
            "split_without_transpose",
            lambda got, case: (
                f"{_split_problem(got, case)} You reshaped to (..., seq_len, num_heads, d_head) "
                "but did not swap seq_len and num_heads, so no head can attend over all "
                "positions: add np.swapaxes(x, -3, -2)."
            ),
            {"heads_last": True},
            name="heads_last",
        ),
    ),
    mistakes=(Mistake("split_without_transpose", _split_reshape_only, {"transpose": False}),),
    passed=(
        "your split gives (2, 3, 5, 4) = (batch, num_heads, seq_len, d_head) for x (2, 5, 12) "
        "with 3 heads, with every head holding its own columns of every position; also without "
        "a batch axis."
    ),
)


def check_split_heads(fn) -> CheckResult:
    """Check splitting the model dimension into heads: reshape, then swap seq_len and heads.

    The learner's function: ``fn(x, num_heads) -> (..., num_heads, seq_len, d_head)`` with x
    ``(..., seq_len, d_model)`` and ``d_head = d_model // num_heads``; head h holds columns
    ``h * d_head : (h + 1) * d_head`` of every position. Checked on x of shape (2, 5, 12) with
    3 heads and on x of shape (5, 12) (no batch axis) with 4 heads.

    Recognises: ``split_without_transpose`` (reshape only, whether to (..., num_heads,
    seq_len, d_head) or to (..., seq_len, num_heads, d_head)), ``wrong_shape``,
    ``wrong_values``, ``raised``, ``wrong_type``.

    Used in notebooks/07_multiple_heads.ipynb.
    """
    return SPLIT_CHECKER(fn)


def _merge_fix(x) -> str:
    if x.ndim == 4:
        return (
            "Swap num_heads and seq_len back first, .transpose(0, 2, 1, 3) → (batch, seq_len, "
            "num_heads, d_head), then reshape to (batch, seq_len, num_heads * d_head)."
        )
    return (
        "Swap num_heads and seq_len back first, np.swapaxes(x, -3, -2), then reshape the last "
        "two axes into one of num_heads * d_head."
    )


def _merge_problem(got, case) -> str:
    *batch, num_heads, _, d_head = case.x.shape
    names = ("batch, " if batch else "") + "seq_len, num_heads * d_head"
    layout = f"({names}) with num_heads * d_head = {num_heads} * {d_head} = {num_heads * d_head}"
    return shape_problem("Your result", got.shape, merge_variant(case).shape, layout)


def _heads_summed(verb):
    def message(got, case) -> str:
        num_heads, d_head = case.x.shape[-3], case.x.shape[-1]
        return (
            f"{_merge_problem(got, case)} You {verb} the {num_heads} heads, which keeps only "
            f"d_head = {d_head} numbers per position: merging keeps every head, side by side "
            f"(concatenate), {num_heads} * {d_head} = {num_heads * d_head}."
        )

    return message


def _merge_reshape_only(got, case) -> str:
    d_head = case.x.shape[-1]
    columns = "out[" + ", ".join(["0"] * (case.x.ndim - 2) + [f"{d_head}:{2 * d_head}"]) + "]"
    values = got[(0,) * (case.x.ndim - 3) + (0, slice(d_head, 2 * d_head))]
    coordinates = np.argwhere(case.x == values[0])
    source = "other values"
    if len(coordinates) == 1:
        *_, head, position, _ = (int(i) for i in coordinates[0])
        source = f"head {head} at position {position}"
    return (
        f"Your result has the right shape {fmt_shape(got.shape)} but you only reshaped: "
        f"{columns} holds {source} instead of head 1 at position 0. {_merge_fix(case.x)}"
    )


MERGE_CHECKER = Checker(
    name="check_merge_heads",
    example="check_merge_heads(merge_heads)",
    cases=lambda: MERGE_CASES,
    reference=merge_variant,
    read=read_array("Your result"),
    shape_message=lambda got, case: f"{_merge_problem(got, case)} {_merge_fix(case.x)}",
    values_message=lambda got, case: (
        "wrong_values",
        (
            f"Your result has the right shape {fmt_shape(got.shape)} but different values: "
            f"position t must hold head 0, head 1, …, head {case.x.shape[-3] - 1} of position "
            f"t side by side. {_merge_fix(case.x)}"
        ),
    ),
    shape_mistakes=(
        Mistake("heads_summed", _heads_summed("added"), {"combine": "sum"}, name="sum"),
        Mistake("heads_summed", _heads_summed("averaged"), {"combine": "mean"}, name="mean"),
    ),
    mistakes=(Mistake("merge_without_transpose", _merge_reshape_only, {"transpose": False}),),
    passed=(
        "your merge gives (2, 5, 12) = (batch, seq_len, num_heads * d_head) for x (2, 3, 5, 4), "
        "with the heads side by side in order; also without a batch axis."
    ),
)


def check_merge_heads(fn) -> CheckResult:
    """Check merging heads: swap heads and seq_len back, then put the heads side by side.

    The learner's function: ``fn(x) -> (..., seq_len, num_heads * d_head)`` with x ``(...,
    num_heads, seq_len, d_head)``; columns ``h * d_head : (h + 1) * d_head`` of each position
    hold head h (concatenation, not a sum). Checked on x of shape (2, 3, 5, 4) and on x of
    shape (4, 5, 3) (no batch axis).

    Recognises: ``merge_without_transpose`` (reshape only), ``heads_summed`` (heads added or
    averaged instead of concatenated), ``wrong_shape``, ``wrong_values``, ``raised``,
    ``wrong_type``.

    Lesson 07 teaches merge_heads; no lesson exercise uses this checker yet (spare).
    """
    return MERGE_CHECKER(fn)
