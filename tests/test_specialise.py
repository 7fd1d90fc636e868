"""Lesson 10, part 1: the tiny model whose two heads specialise (mha_lib.specialise).

The figures the lesson's prose quotes are recomputed here from the library, with the lesson's
seeds, and compared with what the prose says; the training is deterministic (one thread)."""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
import torch

from course import NOTEBOOKS, read_notebook
from mha_lib import specialise

LESSON = NOTEBOOKS / "10_what_heads_learn.ipynb"


@functools.cache
def trained():
    """The lesson's run: the test set, the 2-head model before/after, the 1-head model."""
    test_ids, test_targets = specialise.make_batch(1000, torch.Generator().manual_seed(1))
    two = specialise.TinyModel(8, 2, seed=0)
    with torch.no_grad():
        before = specialise.pattern_mass(two(test_ids)[1])
    before_jobs, _ = specialise.evaluate(two, test_ids, test_targets)
    losses = specialise.train(two, steps=300, seed=0, progress=False)
    one = specialise.TinyModel(8, 1, seed=0)
    specialise.train(one, steps=300, seed=0, progress=False)
    with torch.no_grad():
        after = specialise.pattern_mass(two(test_ids)[1])
        one_mass = specialise.pattern_mass(one(test_ids)[1])
    return {
        "before": before, "before_jobs": before_jobs, "losses": losses, "after": after,
        "two": specialise.evaluate(two, test_ids, test_targets),
        "one": specialise.evaluate(one, test_ids, test_targets), "one_mass": one_mass,
        "params": (sum(p.numel() for p in one.parameters()),
                   sum(p.numel() for p in two.parameters())),
    }


def _prose() -> str:
    return "\n".join(c.source for c in read_notebook(LESSON).cells if c.cell_type == "markdown")


def test_two_heads_specialise_and_one_head_cannot_do_both():
    run = trained()
    assert run["before"].max() < 0.2, "untrained heads are close to uniform (0.1)"
    (previous_head, first_head) = run["after"][:, 0].argmax(), run["after"][:, 1].argmax()
    assert previous_head != first_head, "each job has its own head"
    assert run["after"][previous_head, 0] > 0.9 and run["after"][first_head, 1] > 0.9
    per_job, both = run["two"]
    assert both == 1.0 and per_job.min() == 1.0
    one_jobs, one_both = run["one"]
    assert one_both < 0.5 < one_jobs.max(), "one head gets one job, not both"
    assert run["params"][0] == run["params"][1], "same width, same parameter count"


def test_the_prose_quotes_the_measured_figures():
    run, prose = trained(), _prose()
    after, one_mass = run["after"], run["one_mass"]
    _, both = run["two"]
    one_jobs, one_both = run["one"]
    quoted = {
        "untrained previous accuracy": f"{run['before_jobs'][0]:.1%}",
        "untrained first accuracy": f"{run['before_jobs'][1]:.1%}",
        "first loss": f"{run['losses'][0]:.2f}",
        "final loss": f"{run['losses'][-20:].mean():.3f}",
        "2-head accuracy": f"{both:.1%}",
        "first-token head": f"{after[:, 1].max():.2f} of its weight on the first token",
        "previous-token head": f"{after[:, 0].max():.2f} on the previous one",
        "1-head first accuracy": f"{one_jobs[1]:.1%}",
        "1-head previous accuracy": f"{one_jobs[0]:.1%}",
        "1-head both accuracy": f"{one_both:.1%}",
        "1-head mass on first": f"{one_mass[0, 1]:.2f} on the first token",
        "1-head mass on previous": f"{one_mass[0, 0]:.2f} on the previous one",
        "parameters": f"same {run['params'][0]} parameters",
    }
    missing = {name: text for name, text in quoted.items() if text not in prose}
    assert not missing, f"the prose does not quote the measured figures {missing}"
    low, high = run["before"].min(), run["before"].max()
    assert f"{low:.2f} to {high:.2f} on each pattern" in prose


def test_make_batch_answers_the_previous_and_the_first_token():
    ids, targets = specialise.make_batch(4, torch.Generator().manual_seed(3), seq_len=6)
    assert ids.shape == (4, 6) and targets.shape == (4, 5, 2)
    assert torch.equal(targets[..., 0], ids[:, :-1])
    assert torch.equal(targets[..., 1], ids[:, :1].expand(4, 5))
    again, _ = specialise.make_batch(4, torch.Generator().manual_seed(3), seq_len=6)
    assert torch.equal(ids, again)


def test_pattern_mass_on_known_patterns():
    eye = np.eye(6)
    previous = np.roll(eye, -1, axis=1)  # row t has its 1 at column t - 1 (row 0 wraps)
    first = np.zeros((6, 6))
    first[:, 0] = 1
    mass = specialise.pattern_mass(np.stack([previous, first, np.full((6, 6), 1 / 6)]))
    np.testing.assert_allclose(mass, [[1, 0], [0, 1], [1 / 6, 1 / 6]])


def test_training_is_deterministic_and_restores_the_thread_count():
    threads = torch.get_num_threads()
    runs = []
    for _ in range(2):
        model = specialise.TinyModel(8, 2, seed=5)
        runs.append(specialise.train(model, steps=20, seed=5, progress=False))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: specialise.make_batch(0, torch.Generator()), ValueError, "batch_size"),
        (lambda: specialise.make_batch(2, 7), TypeError, "generator"),
        (lambda: specialise.make_batch(2, torch.Generator(), seq_len=2), ValueError, "seq_len"),
        (lambda: specialise.TinyModel(8, 3), ValueError, "num_heads=3"),
        (lambda: specialise.train("model"), TypeError, "model"),
        (lambda: specialise.pattern_mass(np.ones((2, 4, 5))), ValueError, "weights.shape"),
        (lambda: specialise.pattern_mass(np.ones(4)), ValueError, "weights"),
    ],
)
def test_bad_input_names_the_argument(call, error, words):
    with pytest.raises(error, match=re.escape(words)):
        call()
