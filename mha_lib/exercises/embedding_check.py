"""Checker for lesson 01: turning token ids into vectors with an embedding table."""

from __future__ import annotations

import numpy as np

import mha_lib.data

from ._harness import Case, Checker, Mistake, close, fmt_vector, to_array
from .result import CheckResult

# "the quick brown fox jumps over the lazy dog ." in lesson 01's vocabulary (tokens sorted:
# "." = 0, brown = 1, dog = 2, fox = 3, jumps = 4, lazy = 5, over = 6, quick = 7, the = 8).
RUNNING_TOKEN_IDS = np.array([8, 7, 1, 3, 4, 6, 8, 5, 2, 0])
_LAYOUT = "(seq_len, d_model) for %d token ids"


def cases() -> list[Case]:
    """seq_len, vocab_size and d_model all differ, so a transposed or one-hot result cannot
    have the right shape; d_model > vocab_size, so indexing the transposed table does not crash
    and can be recognised."""
    rng = np.random.default_rng(101)
    running_table = rng.standard_normal((9, 12)).round(2)  # (vocab_size=9, d_model=12)
    small_table = rng.standard_normal((5, 6)).round(2)  # (vocab_size=5, d_model=6)
    calls = [(RUNNING_TOKEN_IDS.copy(), running_table), (np.array([3, 0, 4, 3]), small_table)]
    return [
        Case({"token_ids": ids, "table": table}, extra={"layout": _LAYOUT % len(ids)})
        for ids, table in calls
    ]


def embedding_variant(
    case, *, transpose=False, columns=False, one_hot_only=False, transposed_table=False
):
    """``mha_lib.data.embed(token_ids, table)``, with one switch per mistake: the result
    transposed, ``table[:, token_ids]``, the one-hot matrix alone, ``table.T[token_ids]``."""
    ids, table = case.token_ids, case.table
    if one_hot_only:
        return np.eye(table.shape[0])[ids]  # (seq_len, vocab_size)
    if columns:
        return table[:, ids]  # (vocab_size, seq_len)
    if transposed_table:
        return table.T[ids]  # (seq_len, vocab_size)
    looked_up = mha_lib.data.embed(ids, table)  # (seq_len, d_model)
    return looked_up.T if transpose else looked_up


def _facts(got, case, switches) -> dict:
    return {"vocab_size": case.table.shape[0], "d_model": case.table.shape[1]}


SHAPE_MISTAKES = (
    Mistake("wrong_shape", {"transpose": True}, name="transposed"),
    Mistake("wrong_shape", {"columns": True}, name="columns"),
    Mistake("wrong_shape", {"one_hot_only": True}, name="one_hot_not_multiplied"),
    Mistake("wrong_shape", {"transposed_table": True}, name="transposed_table"),
)


def _values_fallback(got, case, facts) -> str:
    """Name the table row each of the learner's rows is, and a common shift if there is one."""
    ids, table = case.token_ids, case.table
    found = [next((j for j, row in enumerate(table) if close(g, row)), None) for g in got]
    i = next(i for i, (g, token) in enumerate(zip(got, ids)) if not close(g, table[token]))
    token = int(ids[i])
    if None in found:
        return (
            f"Row {i} of your result is {fmt_vector(got[i])} but should be table[{token}] = "
            f"{fmt_vector(table[token])}. Row i must be the whole table row of token_ids[i]: "
            "table[token_ids]."
        )
    shifts = {(row - int(t)) % len(table) for row, t in zip(found, ids)}
    if len(shifts) == 1:  # as a signed shift, so -1 stays -1 after the wrap
        shift = shifts.pop()
        shift -= len(table) if shift > len(table) // 2 else 0
        return (
            f"Every row comes from the wrong table row, shifted by {shift:+d}: row {i} is "
            f"table[{found[i]}] but token_ids[{i}] is {token}. Ids count from 0 and index the "
            "table as they are: table[token_ids]."
        )
    return (
        f"Row {i} of your result is table[{found[i]}] but token_ids[{i}] is {token}, so it "
        f"should be table[{token}]. Row i must be the table row of token_ids[i], in the same "
        "order."
    )


CHECKER = Checker(
    name="check_embedding",
    cases=cases,
    reference=embedding_variant,
    read=lambda raw, case, expected: to_array(
        raw, f"Called with {case.inputs}, your function's result", expected.shape
    ),
    outputs=(("Your result", "result", "(seq_len, d_model)"),),
    facts=_facts,
    values_fallback=_values_fallback,
    shape_mistakes=SHAPE_MISTAKES,
)


def check_embedding(fn) -> CheckResult:
    """Check ``fn(token_ids, table) -> (seq_len, d_model)``: row i is ``table[token_ids[i]]``
    (by indexing, one-hot @ table, a loop or torch). Used in notebooks/01_input_vectors.ipynb."""
    return CHECKER(fn)
