"""Inputs for lesson 01's inline steps (tokenize, build_vocab, encode, embed)."""

from __future__ import annotations

import numpy as np


def _sentences():
    yield ("The quick brown fox jumps over the lazy dog.",)
    yield ("Attention is all you need!",)
    yield ("  Heads, heads; and MORE heads...  ",)
    yield ("",)


def _token_lists():
    for (sentence,) in _sentences():
        yield (sentence.lower().split() or ["only"],)


def _vocab_cases():
    for (tokens,) in _token_lists():
        yield tokens, {t: i for i, t in enumerate(sorted(set(tokens)))}


def _embedding_cases():
    for seed, (vocab_size, d_model, seq_len) in enumerate([(9, 8, 10), (3, 5, 1), (50, 4, 7)]):
        rng = np.random.default_rng(seed)
        table = rng.standard_normal((vocab_size, d_model))
        yield rng.integers(0, vocab_size, size=seq_len), table


CASES = {
    "mha_lib.data.tokenize": _sentences,
    "mha_lib.data.build_vocab": _token_lists,
    "mha_lib.data.encode": _vocab_cases,
    "mha_lib.data.embed": _embedding_cases,
}
