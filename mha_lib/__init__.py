"""mha_lib: the one canonical implementation behind the course "Multi-Head Attention, step by step".

The package holds what a learner imports, nothing else. The math is numpy, one module per
lesson step (projections, attention, softmax, masks, heads, multi_head, with the weights in
params); every public function checks its arguments once, with messages from ``_validate``,
then computes with unchecked private helpers, so ``multi_head_attention`` reads like lesson 8:
project, split, attend, merge, project. ``modules.MultiHeadAttention`` is its torch twin,
loaded on first use: ``import mha_lib`` does not import torch. Weights move between the two
through ``MHAParams`` (``from_params``/``to_params``), and torch's packed ``in_proj_weight``
is read in one place, ``MHAParams.from_torch``. Lesson 12's ``gqa`` (``GroupedQueryAttention``,
``KVCache``, ``repeat_kv``) builds on the torch module and loads on first use too. Around the math sit the running example
(``data``), ``plotting``, the exercise checkers (``exercises/``) and the widgets the lessons
show (``quiz/`` with its question banks as package data, ``explorer/``, ``static_widget``).
Imports run one way, from ``_validate`` to the math to the torch module, checkers and widgets,
with no cycles; the website's build code (Sphinx extensions) lives in ``book/_ext/``, so
nothing here imports Sphinx or docutils.
"""

from .attention import attention_scores, scaled_dot_product_attention
from .flash import flash_attention
from .heads import merge_heads, split_heads
from .masks import causal_mask, padding_mask, sliding_window_mask
from .multi_head import multi_head_attention
from .params import MHAParams
from .projections import linear, project_qkv
from .softmax import softmax

__all__ = [
    "GroupedQueryAttention",
    "KVCache",
    "MHAParams",
    "MultiHeadAttention",
    "attention_scores",
    "causal_mask",
    "flash_attention",
    "linear",
    "merge_heads",
    "multi_head_attention",
    "padding_mask",
    "project_qkv",
    "repeat_kv",
    "scaled_dot_product_attention",
    "sliding_window_mask",
    "softmax",
    "split_heads",
]


def __getattr__(name: str):
    """``mha_lib.MultiHeadAttention``, lesson 12's ``GroupedQueryAttention``, ``KVCache`` and
    ``repeat_kv``, and the torch submodules ``mha_lib.specialise`` and ``mha_lib.pretrained``:
    imported on first use only."""
    if name in ("specialise", "pretrained"):  # (`from . import` would call __getattr__ again)
        import importlib

        return importlib.import_module(f"{__name__}.{name}")  # transformers loads with the model
    if name == "MultiHeadAttention":
        from .modules import MultiHeadAttention

        globals()[name] = MultiHeadAttention
        return MultiHeadAttention
    if name in ("GroupedQueryAttention", "KVCache", "repeat_kv"):
        from .gqa import GroupedQueryAttention, KVCache, repeat_kv

        globals().update(GroupedQueryAttention=GroupedQueryAttention, KVCache=KVCache)
        globals()["repeat_kv"] = repeat_kv
        return globals()[name]
    raise AttributeError(f"module 'mha_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
