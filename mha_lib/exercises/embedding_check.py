"""Checker for lesson 01: turning token ids into vectors with an embedding table."""

from __future__ import annotations

import numpy as np

from ._harness import (
    call_learner,
    close,
    fail,
    fmt_shape,
    fmt_vector,
    require_callable,
    run_check,
    shape_problem,
    to_array,
)
from .result import CheckResult

# "the quick brown fox jumps over the lazy dog ." in lesson 01's vocabulary (tokens sorted:
# "." = 0, brown = 1, dog = 2, fox = 3, jumps = 4, lazy = 5, over = 6, quick = 7, the = 8).
RUNNING_TOKEN_IDS = np.array([8, 7, 1, 3, 4, 6, 8, 5, 2, 0])


def _embedding_examples():
    """(token_ids, table) pairs. seq_len, vocab_size and d_model all differ, so a transposed
    or one-hot result cannot have the right shape; d_model > vocab_size, so indexing the
    transposed table does not crash and can be recognised."""
    rng = np.random.default_rng(101)
    running_table = rng.standard_normal((9, 12)).round(2)  # (vocab_size=9, d_model=12)
    small_table = rng.standard_normal((5, 6)).round(2)  # (vocab_size=5, d_model=6)
    return [
        (RUNNING_TOKEN_IDS.copy(), running_table),
        (np.array([3, 0, 4, 3]), small_table),
    ]


def check_embedding(fn) -> CheckResult:
    """Check an embedding lookup: one table row per token id.

    The learner's function: ``fn(token_ids, table) -> (seq_len, d_model)`` with ``token_ids``
    ``(seq_len,)`` integers and ``table`` ``(vocab_size, d_model)``; row i of the result must
    be ``table[token_ids[i]]`` (any method: indexing, one-hot @ table, a loop, torch).

    Recognises: ``wrong_shape`` (transposed, one-hot not multiplied, transposed table),
    ``wrong_values`` (rows off by one or from the wrong ids), ``raised``, ``wrong_type``.

    Used in notebooks/01_input_vectors.ipynb.
    """
    return run_check(_check_embedding_steps, fn)


def _check_embedding_steps(fn) -> str:
    require_callable(fn, "check_embedding", "check_embedding(embed_one_hot)")
    examples = _embedding_examples()
    for token_ids, table in examples:
        inputs = (
            f"token_ids of shape {fmt_shape(token_ids.shape)} and table of shape "
            f"{fmt_shape(table.shape)}"
        )
        result = call_learner(fn, token_ids, table, inputs=inputs)
        expected = table[token_ids]  # (seq_len, d_model)
        got = to_array(result, f"Called with {inputs}, your function's result", expected.shape)
        if got.shape != expected.shape:
            fail("wrong_shape", _shape_message(got, token_ids, table))
        if not close(got, expected):
            fail("wrong_values", _values_message(got, token_ids, table))
    token_ids, table = examples[0]
    return (
        f"your lookup returns table[token_ids]: for {len(token_ids)} token ids and a "
        f"{fmt_shape(table.shape)} table you return the {fmt_shape((len(token_ids), table.shape[1]))} "
        "rows, and a second example agrees too."
    )


def _shape_message(got, token_ids, table) -> str:
    seq_len, (vocab_size, d_model) = len(token_ids), table.shape
    expected = table[token_ids]
    problem = shape_problem(
        "Your result", got.shape, expected.shape, f"(seq_len, d_model) for {seq_len} token ids"
    )
    if close(got, expected.T):
        return (
            f"{problem} It is the transpose, with each token's vector as a column: return "
            "table[token_ids], one row per token."
        )
    if close(got, table[:, token_ids]):
        return (
            f"{problem} You took columns of the table (table[:, token_ids]); each token's vector "
            "is a row of the (vocab_size, d_model) table: table[token_ids]."
        )
    if got.shape == (seq_len, vocab_size):
        one_hot = np.eye(vocab_size)[token_ids]  # (seq_len, vocab_size)
        if close(got, one_hot):
            return (
                f"{problem} It is the one-hot matrix (seq_len, vocab_size) = "
                f"{fmt_shape(one_hot.shape)}: multiply it by the table, one_hot @ table, to "
                f"get {fmt_shape(expected.shape)}."
            )
        if close(got, table.T[token_ids]):
            return (
                f"{problem} Each row holds {vocab_size} numbers (vocab_size), a column of the "
                "table, so you indexed the transposed table: take rows of the (vocab_size, "
                "d_model) table, table[token_ids]."
            )
    return (
        f"{problem} Row i must be the table row of token_ids[i], with d_model = {d_model} numbers."
    )


def _values_message(got, token_ids, table) -> str:
    vocab_size = table.shape[0]
    source_rows = [_matching_row(row, table) for row in got]
    first_wrong = next(
        i for i, (row, token) in enumerate(zip(got, token_ids)) if not close(row, table[token])
    )
    token = int(token_ids[first_wrong])
    found = source_rows[first_wrong]
    if found is not None and all(row is not None for row in source_rows):
        shifts = {_signed_shift(row - int(t), vocab_size) for row, t in zip(source_rows, token_ids)}
        if len(shifts) == 1:
            (shift,) = shifts
            return (
                f"Every row comes from the wrong table row, shifted by {shift:+d}: row "
                f"{first_wrong} is table[{found}] but token_ids[{first_wrong}] is {token}. "
                "Ids count from 0 and index the table as they are: table[token_ids]."
            )
        return (
            f"Row {first_wrong} of your result is table[{found}] but token_ids[{first_wrong}] "
            f"is {token}, so it should be table[{token}]. Row i must be the table row of "
            "token_ids[i], in the same order."
        )
    return (
        f"Row {first_wrong} of your result is {fmt_vector(got[first_wrong])} but should be "
        f"table[{token}] = {fmt_vector(table[token])}. Row i must be the whole table row of "
        "token_ids[i]: table[token_ids]."
    )


def _matching_row(row, table) -> int | None:
    for index, table_row in enumerate(table):
        if close(row, table_row):
            return index
    return None


def _signed_shift(shift: int, vocab_size: int) -> int:
    """A shift modulo vocab_size in (-vocab_size/2, vocab_size/2], so -1 stays -1 after wrap."""
    shift %= vocab_size
    return shift - vocab_size if shift > vocab_size // 2 else shift
