"""Checker for lesson 01: turning token ids into vectors with an embedding table."""

from __future__ import annotations

import dataclasses

import numpy as np

import mha_lib.data

from ._harness import Checker, Mistake, close, fmt_shape, fmt_vector, shape_problem, to_array
from .result import CheckResult

# "the quick brown fox jumps over the lazy dog ." in lesson 01's vocabulary (tokens sorted:
# "." = 0, brown = 1, dog = 2, fox = 3, jumps = 4, lazy = 5, over = 6, quick = 7, the = 8).
RUNNING_TOKEN_IDS = np.array([8, 7, 1, 3, 4, 6, 8, 5, 2, 0])


@dataclasses.dataclass(frozen=True)
class EmbeddingCase:
    token_ids: np.ndarray
    table: np.ndarray
    hint: str = ""

    @property
    def args(self) -> tuple:
        return (self.token_ids, self.table)

    @property
    def inputs(self) -> str:
        return (
            f"token_ids of shape {fmt_shape(self.token_ids.shape)} and table of shape "
            f"{fmt_shape(self.table.shape)}"
        )


def cases() -> list[EmbeddingCase]:
    """seq_len, vocab_size and d_model all differ, so a transposed or one-hot result cannot
    have the right shape; d_model > vocab_size, so indexing the transposed table does not crash
    and can be recognised."""
    rng = np.random.default_rng(101)
    running_table = rng.standard_normal((9, 12)).round(2)  # (vocab_size=9, d_model=12)
    small_table = rng.standard_normal((5, 6)).round(2)  # (vocab_size=5, d_model=6)
    return [
        EmbeddingCase(RUNNING_TOKEN_IDS.copy(), running_table),
        EmbeddingCase(np.array([3, 0, 4, 3]), small_table),
    ]


def embedding_variant(
    case, *, transpose=False, columns=False, one_hot_only=False, transposed_table=False
):
    """``mha_lib.data.embed(token_ids, table)``, with one switch per mistake.

    Args:
        transpose: the result transposed, one column per token.
        columns: columns of the table, ``table[:, token_ids]``.
        one_hot_only: the one-hot matrix, not multiplied by the table.
        transposed_table: rows of the transposed table, ``table.T[token_ids]``.
    """
    ids, table = case.token_ids, case.table
    if one_hot_only:
        return np.eye(table.shape[0])[ids]  # (seq_len, vocab_size)
    if columns:
        return table[:, ids]  # (vocab_size, seq_len)
    if transposed_table:
        return table.T[ids]  # (seq_len, vocab_size)
    looked_up = mha_lib.data.embed(ids, table)  # (seq_len, d_model)
    return looked_up.T if transpose else looked_up


def _problem(got, case) -> str:
    seq_len = len(case.token_ids)
    layout = f"(seq_len, d_model) for {seq_len} token ids"
    return shape_problem("Your result", got.shape, embedding_variant(case).shape, layout)


SHAPE_MISTAKES = (
    Mistake(
        "wrong_shape",
        lambda got, case: (
            f"{_problem(got, case)} It is the transpose, with each token's vector as a column: "
            "return table[token_ids], one row per token."
        ),
        {"transpose": True},
        name="transposed",
    ),
    Mistake(
        "wrong_shape",
        lambda got, case: (
            f"{_problem(got, case)} You took columns of the table (table[:, token_ids]); each "
            "token's vector is a row of the (vocab_size, d_model) table: table[token_ids]."
        ),
        {"columns": True},
        name="columns",
    ),
    Mistake(
        "wrong_shape",
        lambda got, case: (
            f"{_problem(got, case)} It is the one-hot matrix (seq_len, vocab_size) = "
            f"{fmt_shape(got.shape)}: multiply it by the table, one_hot @ table, to get "
            f"{fmt_shape(embedding_variant(case).shape)}."
        ),
        {"one_hot_only": True},
        name="one_hot_not_multiplied",
    ),
    Mistake(
        "wrong_shape",
        lambda got, case: (
            f"{_problem(got, case)} Each row holds {case.table.shape[0]} numbers (vocab_size), "
            "a column of the table, so you indexed the transposed table: take rows of the "
            "(vocab_size, d_model) table, table[token_ids]."
        ),
        {"transposed_table": True},
        name="transposed_table",
    ),
)


def _values_message(got, case) -> tuple[str, str]:
    token_ids, table = case.token_ids, case.table
    source_rows = [_matching_row(row, table) for row in got]
    first_wrong = next(
        i for i, (row, token) in enumerate(zip(got, token_ids)) if not close(row, table[token])
    )
    token, found = int(token_ids[first_wrong]), source_rows[first_wrong]
    if found is not None and all(row is not None for row in source_rows):
        shifts = {_signed_shift(row - int(t), len(table)) for row, t in zip(source_rows, token_ids)}
        if len(shifts) == 1:
            return "wrong_values", (
                f"Every row comes from the wrong table row, shifted by {shifts.pop():+d}: row "
                f"{first_wrong} is table[{found}] but token_ids[{first_wrong}] is {token}. "
                "Ids count from 0 and index the table as they are: table[token_ids]."
            )
        return "wrong_values", (
            f"Row {first_wrong} of your result is table[{found}] but token_ids[{first_wrong}] "
            f"is {token}, so it should be table[{token}]. Row i must be the table row of "
            "token_ids[i], in the same order."
        )
    return "wrong_values", (
        f"Row {first_wrong} of your result is {fmt_vector(got[first_wrong])} but should be "
        f"table[{token}] = {fmt_vector(table[token])}. Row i must be the whole table row of "
        "token_ids[i]: table[token_ids]."
    )


def _matching_row(row, table) -> int | None:
    return next((index for index, table_row in enumerate(table) if close(row, table_row)), None)


def _signed_shift(shift: int, vocab_size: int) -> int:
    """A shift modulo vocab_size in (-vocab_size/2, vocab_size/2], so -1 stays -1 after wrap."""
    shift %= vocab_size
    return shift - vocab_size if shift > vocab_size // 2 else shift


CHECKER = Checker(
    name="check_embedding",
    example="check_embedding(embed_one_hot)",
    cases=cases,
    reference=embedding_variant,
    read=lambda raw, case, expected: to_array(
        raw, f"Called with {case.inputs}, your function's result", expected.shape
    ),
    shape_message=lambda got, case: (
        f"{_problem(got, case)} Row i must be the table row of token_ids[i], with d_model = "
        f"{case.table.shape[1]} numbers."
    ),
    values_message=_values_message,
    shape_mistakes=SHAPE_MISTAKES,
    passed=(
        "your lookup returns table[token_ids]: for 10 token ids and a (9, 12) table you return "
        "the (10, 12) rows, and a second example agrees too."
    ),
)


def check_embedding(fn) -> CheckResult:
    """Check an embedding lookup: one table row per token id.

    The learner's function: ``fn(token_ids, table) -> (seq_len, d_model)`` with ``token_ids``
    ``(seq_len,)`` integers and ``table`` ``(vocab_size, d_model)``; row i of the result must
    be ``table[token_ids[i]]`` (any method: indexing, one-hot @ table, a loop, torch).

    Recognises: ``wrong_shape`` (transposed, one-hot not multiplied, transposed table),
    ``wrong_values`` (rows off by one or from the wrong ids), ``raised``, ``wrong_type``.

    Used in notebooks/01_input_vectors.ipynb.
    """
    return CHECKER(fn)
