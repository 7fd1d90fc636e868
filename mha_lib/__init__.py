"""mha_lib: the one canonical implementation behind the course "Multi-Head Attention, step by step".

Every lesson in ``notebooks/`` writes one step inline, names its twin here, and checks that the
two agree. numpy functions are the reference; :class:`MultiHeadAttention` is the torch module.
"""

from .attention import attention_scores, scaled_dot_product_attention
from .heads import merge_heads, split_heads
from .masks import causal_mask, padding_mask
from .modules import MultiHeadAttention
from .multi_head import multi_head_attention
from .params import MHAParams
from .projections import linear, project_qkv
from .softmax import softmax

__all__ = [
    "MHAParams",
    "MultiHeadAttention",
    "attention_scores",
    "causal_mask",
    "linear",
    "merge_heads",
    "multi_head_attention",
    "padding_mask",
    "project_qkv",
    "scaled_dot_product_attention",
    "softmax",
    "split_heads",
]
