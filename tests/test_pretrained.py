"""Lesson 10, part 2: all-MiniLM-L6-v2 reproduced by mha_lib.MultiHeadAttention, offline.

Parity of the public API (``load_attention_layer``, ``layer_inputs``) with the model's own
attention, on sentences other than the running one and in every layer; bad input; loading with
every non-loopback socket made to fail; and the exercise checker, every row of its mistake
table named (the rows are planted in tests/test_exercises.py, with every other checker's)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import _exercise_variants as learner
from mha_lib import pretrained
from mha_lib.exercises import check_load_bert_attention, pretrained_check
from mha_lib.exercises._harness import explain

SENTENCES = [
    "Attention lets every token look at every other token.",
    "A cat sat on the mat, and the cat slept.",
    "Unbelievably, tokenizers split rare words into pieces!",
]
TOLERANCE = 1e-5


@pytest.mark.parametrize("layer", range(pretrained.NUM_LAYERS))
def test_the_module_reproduces_the_model_in_every_layer(layer):
    module = pretrained.load_attention_layer(layer)
    assert isinstance(module, torch.nn.Module) and not module.training
    assert (module.d_model, module.num_heads) == (384, 12)
    bert = pretrained.bert_attention(layer)
    pairs = [
        (module.q_proj, bert.self.query),
        (module.k_proj, bert.self.key),
        (module.v_proj, bert.self.value),
        (module.out_proj, bert.output.dense),
    ]
    for ours, theirs in pairs:
        assert (ours.weight - theirs.weight).abs().max() <= TOLERANCE
        assert (ours.bias - theirs.bias).abs().max() <= TOLERANCE
    for sentence in SENTENCES:
        tokens, x = pretrained.layer_inputs(sentence, layer)
        assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and x.shape == (1, len(tokens), 384)
        with torch.no_grad():
            output, weights = module(x, need_weights=True)
        model_weights, model_output = pretrained.reference(sentence, layer)
        assert weights.shape == (1, 12, len(tokens), len(tokens))
        assert (weights - model_weights).abs().max().item() <= TOLERANCE
        assert (output - model_output).abs().max().item() <= TOLERANCE


def test_the_reference_output_is_before_the_residual_and_layernorm():
    """The hook reads the dense layer's output: adding x and applying the LayerNorm must give
    the layer's attention block output, which the model's next step uses."""
    _, x = pretrained.layer_inputs(SENTENCES[0], 2)
    _, output = pretrained.reference(SENTENCES[0], 2)
    bert = pretrained.bert_attention(2)
    with torch.no_grad():
        block = bert(x)[0]
        np.testing.assert_allclose(
            bert.output.LayerNorm(output + x).numpy(), block.numpy(), atol=1e-5
        )
    assert (output - block).abs().max() > 0.1, "the output is not the normalised one"


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: pretrained.load_attention_layer(6), ValueError, "layer"),
        (lambda: pretrained.load_attention_layer(-1), ValueError, "layer"),
        (lambda: pretrained.load_attention_layer(1.0), ValueError, "layer"),
        (lambda: pretrained.layer_inputs("", 0), ValueError, "text"),
        (lambda: pretrained.layer_inputs("   ", 0), ValueError, "text"),
        (lambda: pretrained.layer_inputs("A fox.", 7), ValueError, "layer"),
        (lambda: pretrained.layer_inputs(["A fox."], 0), TypeError, "text"),
    ],
)
def test_bad_input_names_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


NO_NETWORK = r"""
import socket

real_connect = socket.socket.connect
attempts = []

def guarded(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and (host.startswith("127.") or host in ("::1", "localhost")):
        return real_connect(self, address)
    attempts.append(host)
    raise OSError(f"network blocked in this test: {address!r}")

socket.socket.connect = guarded
socket.create_connection = lambda address, *a, **k: guarded(None, address)
socket.getaddrinfo = lambda *a, **k: (_ for _ in ()).throw(OSError("no DNS in this test"))

import torch
from mha_lib import pretrained

module = pretrained.load_attention_layer(1)
tokens, x = pretrained.layer_inputs("Offline, the model still loads.", 1)
with torch.no_grad():
    _, weights = module(x, need_weights=True)
reference, _ = pretrained.reference("Offline, the model still loads.", 1)
assert (weights - reference).abs().max() < 1e-5
print("loaded offline;", len(tokens), "pieces; connection attempts:", attempts)
"""


def test_loading_works_with_every_non_loopback_socket_failing():
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}  # no hub token, no cache settings
    result = subprocess.run(
        [sys.executable, "-c", NO_NETWORK], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded offline; 10 pieces; connection attempts: []"
    assert "Loading weights" not in result.stderr, "no progress bar on stderr"


def test_head_patterns_finds_a_previous_token_head_in_layer_0():
    module = pretrained.load_attention_layer(0)
    tokens, x = pretrained.layer_inputs(SENTENCES[1], 0)
    with torch.no_grad():
        _, weights = module(x, need_weights=True)
    mass = pretrained.head_patterns(tokens, weights)
    assert mass.shape == (12, len(pretrained.PATTERNS))
    assert mass[2, pretrained.PATTERNS.index("previous")] > 0.9
    assert not np.isnan(mass).any(), "'the' and 'cat' repeat: same word is measured"


# --- the exercise checker ----------------------------------------------------------------


@pytest.mark.parametrize("fn", [learner.load_right, learner.load_right_with_torch])
def test_a_right_answer_passes(fn):
    result = check_load_bert_attention(fn)
    assert result.passed, result.message


@pytest.mark.parametrize(
    ("fn", "key", "row"),
    learner.BERT_LOAD_WRONG,
    ids=[w[0].__name__ for w in learner.BERT_LOAD_WRONG],
)
def test_a_mistake_is_named(fn, key, row):
    result = check_load_bert_attention(fn)
    assert not result.passed and result.mistake == key, result.message
    assert explain(pretrained_check.CHECKER.steps, fn)[1] == row
    assert str(result).startswith("✗ Not yet: ")


def test_the_untransposed_weight_message_names_the_weights_and_the_fix():
    message = check_load_bert_attention(learner.load_output_not_transposed).message
    assert message.startswith("w_o is the Linear's weight as stored, not transposed:")
    assert "attention.output.dense.weight with .T" in message
    message = check_load_bert_attention(learner.load_not_transposed).message
    assert message.startswith("w_q, w_k, w_v, w_o are the Linears' weights as stored")
