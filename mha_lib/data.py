"""The course's running example: "The quick brown fox jumps over the lazy dog." as vectors.

Introduced in notebooks/01_input_vectors.ipynb. Every lesson starts from the same sentence, the
same vocabulary and the same seeded embedding table, so numbers can be compared across lessons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from . import _validate

RUNNING_SENTENCE = "The quick brown fox jumps over the lazy dog."
"""The sentence every lesson uses."""

DEFAULT_D_MODEL = 8
"""Embedding width used in the lessons: small enough to print, large enough to be interesting."""

DEFAULT_SEED = 0

_TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Split text into lowercase word and punctuation tokens.

    ``"The quick brown fox jumps over the lazy dog."`` gives 10 tokens: nine words and ``"."``.
    Real models use sub-word tokenizers; a word tokenizer keeps the lessons readable.
    Introduced in notebooks/01_input_vectors.ipynb.
    """
    _validate.check_type(text, str, "text", "a str")
    return _TOKEN_PATTERN.findall(text.lower())


def build_vocab(tokens: list[str]) -> dict[str, int]:
    """Map each distinct token to an id: the tokens sorted alphabetically, numbered from 0.

    Returns a dict of ``vocab_size`` entries. Introduced in notebooks/01_input_vectors.ipynb.
    """
    _validate.check_tokens(tokens)
    return {token: index for index, token in enumerate(sorted(set(tokens)))}


def encode(tokens: list[str], vocab: dict[str, int]) -> np.ndarray:
    """Turn tokens into ids, shape ``(seq_len,)``, dtype int64.

    Raises ``KeyError`` naming a token that is not in ``vocab``.
    Introduced in notebooks/01_input_vectors.ipynb.
    """
    _validate.check_tokens(tokens, vocab)
    return np.array([vocab[t] for t in tokens], dtype=np.int64)


def embedding_table(
    vocab_size: int, d_model: int = DEFAULT_D_MODEL, seed: int = DEFAULT_SEED, dtype=np.float64
) -> np.ndarray:
    """A seeded embedding table of shape ``(vocab_size, d_model)``, entries from N(0, 1).

    Like ``torch.nn.Embedding``'s initialisation; in a trained model these rows are learned.
    Introduced in notebooks/01_input_vectors.ipynb.
    """
    vocab_size = _validate.check_positive_int(vocab_size, "vocab_size")
    d_model = _validate.check_positive_int(d_model, "d_model")
    rng = np.random.default_rng(seed)
    return rng.standard_normal((vocab_size, d_model)).astype(dtype)


def embed(token_ids, table) -> np.ndarray:
    """Look up one row of ``table`` per token id: ``(seq_len,)`` ids → ``(seq_len, d_model)``.

    ``table`` has shape ``(vocab_size, d_model)``. Same as multiplying one-hot rows by the
    table, without building the one-hot matrix. Introduced in notebooks/01_input_vectors.ipynb.
    """
    ids, table = _validate.embed_args(token_ids, table)
    return table[ids]  # (seq_len,) -> (seq_len, d_model)


@dataclass(frozen=True)
class RunningExample:
    """The running sentence at every stage of lesson 01.

    ``tokens`` (seq_len,), ``vocab`` (vocab_size entries), ``ids`` (seq_len,),
    ``table`` (vocab_size, d_model), ``x`` (seq_len, d_model).
    """

    sentence: str
    tokens: list[str]
    vocab: dict[str, int]
    ids: np.ndarray
    table: np.ndarray
    x: np.ndarray

    @property
    def seq_len(self) -> int:
        return len(self.tokens)

    @property
    def d_model(self) -> int:
        return self.table.shape[1]


def running_example(
    d_model: int = DEFAULT_D_MODEL, seed: int = DEFAULT_SEED, dtype=np.float64
) -> RunningExample:
    """The running sentence as tokens, ids and the input matrix ``x`` of shape (10, d_model).

    Later lessons start here: ``x = mha_lib.data.running_example().x``.
    Introduced in notebooks/01_input_vectors.ipynb.
    """
    tokens = tokenize(RUNNING_SENTENCE)
    vocab = build_vocab(tokens)
    ids = encode(tokens, vocab)
    table = embedding_table(len(vocab), d_model, seed=seed, dtype=dtype)
    return RunningExample(RUNNING_SENTENCE, tokens, vocab, ids, table, embed(ids, table))
