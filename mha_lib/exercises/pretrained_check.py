"""Checker for lesson 10: a pretrained BERT layer's weights loaded by hand into ``MHAParams``.

The learner's function takes a BERT attention block (``attention.self.query``, ``.key``,
``.value`` and ``attention.output.dense``, each an ``nn.Linear`` storing ``weight (out, in)``)
and returns :class:`~mha_lib.MHAParams` (``x @ w + b``, so ``w = weight.T``). The checker builds
stand-ins with the same attribute names and seeded weights and biases (no model download, no
``transformers``), and compares with :func:`mha_lib.pretrained.attention_params`. The classic
mistake, a weight not transposed, runs without any error on BERT's square matrices: only the
numbers show it.
"""

from __future__ import annotations

import numpy as np

import mha_lib

from ._harness import Case, Checker, Mistake, close, describe_value, fail, fmt_shape, texts
from .result import CheckResult

FIELDS = ("w_q", "w_k", "w_v", "w_o", "b_q", "b_k", "b_v", "b_o")
_LINEARS = {  # MHAParams field -> where BERT keeps it
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "o": "attention.output.dense",
}
_WIDTHS = ((8, 0), (12, 1))  # d_model and seed of each case: BERT's square layers, made small


class BertCase(Case):
    @property
    def inputs(self) -> str:
        return f"a BERT attention block with d_model={self.d_model}"


def _bert_attention(d_model: int, seed: int):
    """A stand-in for ``BertAttention``: ``.self.{query,key,value}``, ``.output.dense``."""
    import torch
    from torch import nn

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.query, self.key, self.value = (nn.Linear(d_model, d_model) for _ in range(3))

    class Output(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Linear(d_model, d_model)
            self.LayerNorm = nn.LayerNorm(d_model)

    class BertAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.self = SelfAttention()
            self.output = Output()

    generator = torch.Generator().manual_seed(seed)
    attention = BertAttention()
    with torch.no_grad():  # distinct, non-zero weights and biases: nothing can hide
        for parameter in attention.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    return attention


def cases() -> list[BertCase]:
    hint = texts("check_load_bert_attention")["hints"]["wider"]
    return [
        BertCase(
            {"attention": _bert_attention(d_model, seed)},
            hint=hint if seed else "",
            extra={"d_model": d_model},
        )
        for d_model, seed in _WIDTHS
    ]


def reference(case, *, transpose=(), swap_qk=False, biases=True) -> tuple:
    """The eight arrays of ``mha_lib.pretrained.attention_params``; ``transpose``: roles whose
    weight is left as stored (not transposed); ``swap_qk``: query and key exchanged;
    ``biases=False``: every bias left out (zeros)."""
    from mha_lib.pretrained import attention_params

    params = attention_params(case.attention)
    weights = {role: getattr(params, f"w_{role}") for role in "qkvo"}
    for role in transpose:
        weights[role] = weights[role].T  # = the Linear's weight as stored, (out, in)
    if swap_qk:
        weights["q"], weights["k"] = weights["k"], weights["q"]
    bias = {role: getattr(params, f"b_{role}") for role in "qkvo"}
    if swap_qk:
        bias["q"], bias["k"] = bias["k"], bias["q"]
    if not biases:
        bias = {role: np.zeros_like(b) for role, b in bias.items()}
    return tuple(weights[r] for r in "qkvo") + tuple(bias[r] for r in "qkvo")


def _read(raw, case, expected) -> tuple:
    if not isinstance(raw, mha_lib.MHAParams):
        fail(
            "wrong_type",
            f"Your function returned {describe_value(raw)}, not an MHAParams. End it with "
            "`return MHAParams(w_q=..., w_k=..., w_v=..., w_o=..., b_q=..., b_k=..., b_v=..., "
            "b_o=...)`.",
        )
    got = []
    for name, right in zip(FIELDS, expected):
        value = getattr(raw, name)
        # A bias left out (None) reads as zeros, so that the table can name it.
        got.append(np.zeros_like(right) if value is None else np.asarray(value, np.float64))
    return tuple(got)


def _not_transposed(got, case) -> list[str]:
    """The weights the learner gave as stored in the Linear, ``(out, in)``, not transposed."""
    right = reference(case)
    return [
        f"w_{role}"
        for i, role in enumerate("qkvo")
        if close(got[i], right[i].T) and not close(got[i], right[i])
    ]


def _facts(got, case, switches) -> dict:
    names = _not_transposed(got, case)
    return {
        "names": lambda: ", ".join(names),
        "verb": lambda: "is the Linear's weight" if len(names) == 1 else "are the Linears' weights",
        "sources": lambda: ", ".join(f"{_LINEARS[name[-1]]}.weight" for name in names),
        "shape": lambda: fmt_shape((case.d_model, case.d_model)),
    }


MISTAKES = (
    Mistake("weight_not_transposed", test=lambda got, case, fn: bool(_not_transposed(got, case))),
    Mistake("wrong_values", {"swap_qk": True}, name="query_key_swapped"),
    Mistake("wrong_values", {"biases": False}, name="biases_left_out"),
)


def _values_fallback(got, case, facts) -> str:
    right = reference(case)
    wrong = [name for name, g, r in zip(FIELDS, got, right) if not close(g, r)]
    return (
        f"Your {', '.join(wrong)} differ from the layer's: {facts['difference']}. Take w_q, "
        "w_k, w_v from attention.self.query, .key, .value and w_o from "
        "attention.output.dense, each weight transposed (.T), with its bias."
    )


CHECKER = Checker(
    name="check_load_bert_attention",
    cases=cases,
    reference=reference,
    read=_read,
    outputs=tuple((f"Your {name}", name, "") for name in FIELDS),
    mistakes=MISTAKES,
    facts=_facts,
    values_fallback=_values_fallback,
)


def check_load_bert_attention(fn) -> CheckResult:
    """Check ``fn(attention) -> MHAParams``: ``attention`` is a BERT attention block with
    ``.self.query``, ``.self.key``, ``.self.value`` and ``.output.dense`` (``nn.Linear``,
    weight ``(d_model, d_model)``); the result holds ``w_q = query.weight.T`` ... ``w_o =
    dense.weight.T`` ``(d_model, d_model)`` and the biases ``(d_model,)``. A weight not
    transposed is named.

    Used in notebooks/10_what_heads_learn.ipynb.
    """
    return CHECKER(fn)
