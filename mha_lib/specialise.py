"""Heads that specialise: a task that needs two jobs at once, a tiny model built on
:class:`~mha_lib.MultiHeadAttention`, its training loop, and a measure of what each head does.

The task (:func:`make_batch`): random sequences of the running example's 9 words, 10 long. At
every position after the first, the model must name two words at once: the word just **before**
it (a local job) and the sequence's **first** word (a global job). One softmax gives one weighted
average per position, so one head has to blend the two words; two heads can each look at one.
:func:`pattern_mass` measures how much of each head's attention lands on each job's word.

Importing this module imports torch (``import mha_lib`` does not). Everything is seeded:
:func:`train` runs on one CPU thread, so the same seed gives the same numbers on any machine
with the same torch build.

Introduced in notebooks/10_what_heads_learn.ipynb.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import _validate
from .modules import MultiHeadAttention

SEQ_LEN = 10
"""Tokens per training sequence (the running sentence's length)."""
VOCAB_SIZE = 9
"""Distinct words: the running example's vocabulary, ids as in ``data.running_example().vocab``."""
JOBS = ("previous", "first")
"""The two jobs, in the order of the model's two outputs and of :func:`pattern_mass`'s columns."""


def make_batch(batch_size, generator, seq_len=SEQ_LEN, vocab_size=VOCAB_SIZE):
    """A batch of random sequences and, for every position after the first, its two answers.

    Args:
        batch_size: number of sequences.
        generator: a seeded ``torch.Generator`` (the same seed gives the same batch).
        seq_len, vocab_size: sequence length (at least 3) and number of distinct token ids.

    Returns:
        ``(ids, targets)``: ids ``(batch, seq_len)`` (int64); targets ``(batch, seq_len - 1,
        2)``: for position ``t = 1 .. seq_len - 1``, ``[ids[t - 1], ids[0]]``, the previous and
        the first token.

    Introduced in notebooks/10_what_heads_learn.ipynb.
    """
    batch_size, seq_len, vocab_size = _validate.make_batch_args(
        batch_size, generator, seq_len, vocab_size, torch.Generator
    )
    # 1. Random token ids, uniform over the vocabulary.
    ids = torch.randint(0, vocab_size, (batch_size, seq_len), generator=generator)
    # 2. The answers at positions 1 .. seq_len - 1: the token before, and the first token.
    previous = ids[:, :-1]  # (batch, seq_len - 1)
    first = ids[:, :1].expand(-1, seq_len - 1)  # (batch, 1) -> (batch, seq_len - 1)
    return ids, torch.stack([previous, first], dim=-1)  # (batch, seq_len - 1, 2)


class TinyModel(nn.Module):
    """Token + position embeddings, one :class:`~mha_lib.MultiHeadAttention`, a linear readout.

    Args:
        d_model: width of the embeddings and of the attention (8 in the lesson).
        num_heads: heads of the attention layer; must divide ``d_model``.
        seq_len, vocab_size: as in :func:`make_batch`.
        seed: seed for the initial weights.

    ``forward(ids)`` takes ids ``(batch, seq_len)`` and returns ``(logits, weights)``: logits
    ``(batch, seq_len - 1, 2, vocab_size)``, one score per word for each job at positions 1 ..
    seq_len - 1, and the attention weights ``(batch, num_heads, seq_len, seq_len)``. There is no
    residual connection and no MLP: whatever the readout knows comes through the attention.

    Introduced in notebooks/10_what_heads_learn.ipynb.
    """

    def __init__(self, d_model, num_heads, seq_len=SEQ_LEN, vocab_size=VOCAB_SIZE, seed=0):
        super().__init__()
        d_model = _validate.check_positive_int(d_model, "d_model")
        num_heads = _validate.check_positive_int(num_heads, "num_heads")
        _validate.check_heads_divide(d_model, num_heads)
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)  # the same seed gives the same initial weights
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(seq_len, d_model)
        self.attention = MultiHeadAttention(d_model, num_heads)
        self.readout = nn.Linear(d_model, len(JOBS) * vocab_size)
        torch.random.set_rng_state(generator_state)  # leave the caller's random stream alone
        self.vocab_size = vocab_size

    def forward(self, ids):
        positions = torch.arange(ids.shape[-1])
        # 1. Each token's vector says which word it is and where it stands.
        x = self.token_embedding(ids) + self.position_embedding(positions)  # (batch, T, d_model)
        # 2. Attention: each position gathers what it needs from the others.
        y, weights = self.attention(x, need_weights=True)  # (batch, T, d_model)
        # 3. Read out both answers at positions 1 .. T - 1 (position 0 has no previous word).
        logits = self.readout(y[:, 1:])  # (batch, T - 1, 2 * vocab_size)
        return logits.unflatten(-1, (len(JOBS), self.vocab_size)), weights


def train(model, steps=300, batch_size=64, lr=1e-2, seed=0, progress=True):
    """Train ``model`` on fresh batches of :func:`make_batch` with Adam; return the losses.

    Args:
        model: a :class:`TinyModel`.
        steps: number of gradient steps, each on a new batch of ``batch_size`` sequences.
        lr: Adam's learning rate.
        seed: seed of the batches.
        progress: show a tqdm progress bar on standard output.

    Returns:
        a numpy array ``(steps,)`` of the training losses (sum of the two jobs' cross-entropy).

    Runs on one CPU thread (restored afterwards): these tensors are tiny, and one thread gives
    the same numbers whatever the machine's core count. Introduced in
    notebooks/10_what_heads_learn.ipynb.
    """
    _validate.check_type(model, TinyModel, "model", "a mha_lib.specialise.TinyModel")
    steps = _validate.check_positive_int(steps, "steps")
    batch_size = _validate.check_positive_int(batch_size, "batch_size")
    from tqdm import tqdm  # the bar writes to stdout: a notebook cell must not write to stderr

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = torch.Generator().manual_seed(seed)
        optimiser = torch.optim.Adam(model.parameters(), lr=lr)
        model.train()
        losses = []
        bar = tqdm(range(steps), desc=f"training {model.attention.num_heads} head(s)",
                   file=sys.stdout, disable=not progress, ncols=80)
        for _ in bar:
            # 1. A fresh batch and the model's scores for both jobs.
            ids, targets = make_batch(batch_size, generator, _seq_len(model), model.vocab_size)
            logits, _ = model(ids)  # (batch, T - 1, 2, vocab_size)
            # 2. One cross-entropy per job, summed: (batch * (T - 1) * 2, vocab) vs targets.
            loss = F.cross_entropy(logits.reshape(-1, model.vocab_size), targets.reshape(-1))
            loss = loss * len(JOBS)
            # 3. Backward, one Adam step.
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        model.eval()
    finally:
        torch.set_num_threads(threads)
    return np.array(losses)


def _seq_len(model) -> int:
    """The sequence length a :class:`TinyModel` was built for."""
    return model.position_embedding.num_embeddings


@torch.no_grad()
def evaluate(model, ids, targets):
    """Accuracy of ``model`` on ``ids (batch, T)`` with ``targets (batch, T - 1, 2)``.

    Returns:
        ``(per_job, both)``: per_job, a numpy array ``(2,)``: the fraction of positions whose
        previous word (column 0) and first word (column 1) the model names right; both, the
        fraction where it names both right.

    Introduced in notebooks/10_what_heads_learn.ipynb.
    """
    logits, _ = model(ids)
    right = logits.argmax(-1) == targets  # (batch, T - 1, 2)
    per_job = right.double().mean(dim=(0, 1)).numpy()
    return per_job, right.all(dim=-1).double().mean().item()


def pattern_mass(weights):
    """How much attention each head puts on the previous token and on the first token.

    Args:
        weights: attention weights ``(num_heads, T, T)`` or ``(batch, num_heads, T, T)`` (numpy
            or torch), ``T >= 3``.

    Returns:
        a numpy array ``(num_heads, 2)``: column 0, the mean weight a query at position ``t``
        puts on key ``t - 1``; column 1, the mean weight on key 0; both averaged over the
        queries ``t = 2 .. T - 1`` (at ``t = 1`` the previous token *is* the first) and the
        batch. 1.0 means a head does only that job; ``1 / T`` is what uniform attention gives.

    Introduced in notebooks/10_what_heads_learn.ipynb.
    """
    weights = _validate.pattern_weights(weights)
    seq_len = weights.shape[-1]
    queries = np.arange(2, seq_len)  # t = 2 .. T - 1
    previous = weights[..., queries, queries - 1]  # (..., num_heads, T - 2)
    first = weights[..., queries, 0]  # (..., num_heads, T - 2)
    per_head = np.stack([previous, first], axis=-1)  # (..., num_heads, T - 2, 2)
    batch_axes = tuple(range(per_head.ndim - 3))
    return per_head.mean(axis=batch_axes + (per_head.ndim - 2,))  # (num_heads, 2)
