"""Checkers for lesson 06: splitting d_model into heads and merging the heads back."""

from __future__ import annotations

import numpy as np

from ..heads import merge_heads, split_heads
from ._harness import (
    call_learner,
    close,
    fail,
    fmt_index,
    fmt_shape,
    require_callable,
    run_check,
    shape_problem,
    to_array,
)
from ._reference import (
    merge_heads_variant,
    split_heads_reshape_to_heads_last,
    split_heads_variant,
)
from .result import CheckResult


def _numbered(*shape) -> np.ndarray:
    """0, 1, 2, ... in the given shape: every entry is distinct, so a misplaced one can be
    traced back to where it came from."""
    return np.arange(np.prod(shape), dtype=np.float64).reshape(shape)


# (x, num_heads): batch=2, seq_len=5, d_model=12, 3 heads of d_head=4; then no batch axis
# with 4 heads of 3. seq_len, num_heads and d_head always differ, so a missing transpose
# cannot hide behind equal sizes.
SPLIT_EXAMPLES = [(_numbered(2, 5, 12), 3), (_numbered(5, 12), 4)]
# x (..., num_heads, seq_len, d_head): batch=2, 3 heads, seq_len=5, d_head=4; then no batch.
MERGE_EXAMPLES = [_numbered(2, 3, 5, 4), _numbered(4, 5, 3)]


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
    return run_check(_check_split_steps, fn)


def _check_split_steps(fn) -> str:
    require_callable(fn, "check_split_heads", "check_split_heads(split_heads)")
    first_x, first_heads = SPLIT_EXAMPLES[0]
    for example_number, (x, num_heads) in enumerate(SPLIT_EXAMPLES):
        after_success = (
            f"It worked for x of shape {fmt_shape(first_x.shape)} with {first_heads} heads; "
            "write the reshape with the leading axes left open so any batch shape works: "
            "x.reshape(*x.shape[:-1], num_heads, d_head), then np.swapaxes(..., -3, -2)."
            if example_number
            else ""
        )
        result = call_learner(
            fn,
            x,
            num_heads,
            inputs=f"x of shape {fmt_shape(x.shape)} and num_heads={num_heads}",
            after_success=after_success,
        )
        expected = split_heads(x, num_heads)  # (..., num_heads, seq_len, d_head)
        got = to_array(result, "Your result", expected.shape)
        if got.shape != expected.shape:
            mistake, message = _split_shape_diagnosis(got, x, num_heads)
            fail(mistake, message)
        if not close(got, expected):
            mistake, message = _split_values_diagnosis(got, x, num_heads)
            fail(mistake, message)
    return (
        f"your split gives {fmt_shape(split_heads(first_x, first_heads).shape)} = (batch, "
        f"num_heads, seq_len, d_head) for x {fmt_shape(first_x.shape)} with {first_heads} heads, "
        "with every head holding its own columns of every position; also without a batch axis."
    )


def _split_layout(x, num_heads) -> str:
    *batch, _, d_model = x.shape
    names = ("batch, " if batch else "") + "num_heads, seq_len, d_head"
    return f"({names}) with d_head = {d_model} / {num_heads} = {d_model // num_heads}"


def _split_fix(x) -> str:
    """The fix as a clause (no capital, no full stop)."""
    if x.ndim == 3:
        return (
            "reshape to (batch, seq_len, num_heads, d_head), then swap seq_len and num_heads: "
            ".transpose(0, 2, 1, 3)"
        )
    return "reshape to (..., seq_len, num_heads, d_head), then np.swapaxes(..., -3, -2)"


def _sentence(clause: str) -> str:
    return clause[0].upper() + clause[1:] + "."


def _split_shape_diagnosis(got, x, num_heads) -> tuple[str, str]:
    expected_shape = split_heads(x, num_heads).shape
    problem = shape_problem("Your result", got.shape, expected_shape, _split_layout(x, num_heads))
    if close(got, split_heads_reshape_to_heads_last(x, num_heads)):
        return "split_without_transpose", (
            f"{problem} You reshaped to (..., seq_len, num_heads, d_head) but did not swap "
            "seq_len and num_heads, so no head can attend over all positions: add "
            "np.swapaxes(x, -3, -2)."
        )
    return "wrong_shape", f"{problem} {_sentence(_split_fix(x))}"


def _split_values_diagnosis(got, x, num_heads) -> tuple[str, str]:
    expected = split_heads(x, num_heads)
    d_head = x.shape[-1] // num_heads
    if close(got, split_heads_variant(x, num_heads, transpose=False)):
        # Head 0, position 1 is where reshape-only first goes wrong: it holds features of token 0.
        index = (0,) * (x.ndim - 2) + (0, 1)
        got_features = _describe_features(got[index], x)
        return "split_without_transpose", (
            f"Your result has the right shape {fmt_shape(expected.shape)} but you only "
            f"reshaped: head 0 at position 1 holds {got_features} instead of features "
            f"0–{d_head - 1} of token 1. {_sentence(_split_fix(x))}"
        )
    index = _first_wrong_slice(got, expected)
    return "wrong_values", (
        f"Your result has the right shape {fmt_shape(expected.shape)} but "
        f"out{fmt_index(index)} holds {_describe_features(got[index], x)} instead of "
        f"{_describe_features(expected[index], x)}. Head h must hold columns h * d_head to "
        f"(h + 1) * d_head - 1 of every token: {_split_fix(x)}."
    )


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


def _first_wrong_slice(got, expected) -> tuple:
    """Index (without the last axis) of the first slice along the last axis that differs."""
    wrong = ~np.isclose(got, expected).all(axis=-1)
    return tuple(int(i) for i in np.argwhere(wrong)[0])


def check_merge_heads(fn) -> CheckResult:
    """Check merging heads: swap heads and seq_len back, then put the heads side by side.

    The learner's function: ``fn(x) -> (..., seq_len, num_heads * d_head)`` with x ``(...,
    num_heads, seq_len, d_head)``; columns ``h * d_head : (h + 1) * d_head`` of each position
    hold head h (concatenation, not a sum). Checked on x of shape (2, 3, 5, 4) and on x of
    shape (4, 5, 3) (no batch axis).

    Recognises: ``merge_without_transpose`` (reshape only), ``heads_summed`` (heads added or
    averaged instead of concatenated), ``wrong_shape``, ``wrong_values``, ``raised``,
    ``wrong_type``.

    Lesson 06 teaches merge_heads; no lesson exercise uses this checker yet (spare).
    """
    return run_check(_check_merge_steps, fn)


def _check_merge_steps(fn) -> str:
    require_callable(fn, "check_merge_heads", "check_merge_heads(merge_heads)")
    first_x = MERGE_EXAMPLES[0]
    for example_number, x in enumerate(MERGE_EXAMPLES):
        after_success = (
            f"It worked for x of shape {fmt_shape(first_x.shape)}; leave the leading axes "
            "open so any batch shape works: np.swapaxes(x, -3, -2).reshape(*x.shape[:-3], "
            "seq_len, num_heads * d_head)."
            if example_number
            else ""
        )
        result = call_learner(
            fn, x, inputs=f"x of shape {fmt_shape(x.shape)}", after_success=after_success
        )
        expected = merge_heads(x)  # (..., seq_len, num_heads * d_head)
        got = to_array(result, "Your result", expected.shape)
        if got.shape != expected.shape:
            mistake, message = _merge_shape_diagnosis(got, x)
            fail(mistake, message)
        if not close(got, expected):
            mistake, message = _merge_values_diagnosis(got, x)
            fail(mistake, message)
    return (
        f"your merge gives {fmt_shape(merge_heads(first_x).shape)} = (batch, seq_len, "
        f"num_heads * d_head) for x {fmt_shape(first_x.shape)}, with the heads side by side in "
        "order; also without a batch axis."
    )


def _merge_layout(x) -> str:
    *batch, num_heads, _, d_head = x.shape
    names = ("batch, " if batch else "") + "seq_len, num_heads * d_head"
    return f"({names}) with num_heads * d_head = {num_heads} * {d_head} = {num_heads * d_head}"


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


def _merge_shape_diagnosis(got, x) -> tuple[str, str]:
    expected_shape = merge_heads(x).shape
    problem = shape_problem("Your result", got.shape, expected_shape, _merge_layout(x))
    num_heads, d_head = x.shape[-3], x.shape[-1]
    for combined, verb in ((x.sum(axis=-3), "added"), (x.mean(axis=-3), "averaged")):
        if close(got, combined):
            return "heads_summed", (
                f"{problem} You {verb} the {num_heads} heads, which keeps only d_head = {d_head} "
                "numbers per position: merging keeps every head, side by side (concatenate), "
                f"{num_heads} * {d_head} = {num_heads * d_head}."
            )
    return "wrong_shape", f"{problem} {_merge_fix(x)}"


def _merge_values_diagnosis(got, x) -> tuple[str, str]:
    expected = merge_heads(x)
    num_heads, d_head = x.shape[-3], x.shape[-1]
    if close(got, merge_heads_variant(x, transpose=False)):
        columns = "out[" + ", ".join(["0"] * (x.ndim - 2) + [f"{d_head}:{2 * d_head}"]) + "]"
        return "merge_without_transpose", (
            f"Your result has the right shape {fmt_shape(expected.shape)} but you only "
            f"reshaped: {columns} holds {_describe_head_slice(got, x, d_head)} instead of head 1 "
            f"at position 0. {_merge_fix(x)}"
        )
    return "wrong_values", (
        f"Your result has the right shape {fmt_shape(expected.shape)} but different values: "
        f"position t must hold head 0, head 1, …, head {num_heads - 1} of position t side by "
        f"side. {_merge_fix(x)}"
    )


def _describe_head_slice(got, x, d_head) -> str:
    """Where out[..., 0, d_head:2*d_head] came from in x, e.g. "head 0 at position 1"."""
    values = got[(0,) * (x.ndim - 3) + (0, slice(d_head, 2 * d_head))]
    coordinates = np.argwhere(x == values[0])
    if len(coordinates) != 1:
        return "other values"
    *_, head, position, _ = (int(i) for i in coordinates[0])
    return f"head {head} at position {position}"
