"""mha_lib: the one canonical implementation behind the course "Multi-Head Attention, step by step".

Every lesson in ``notebooks/`` writes one step inline, names its twin here, and checks that the
two agree. numpy functions are the reference; :class:`MultiHeadAttention` is the torch module.
"""

from .attention import scaled_dot_product_attention
from .heads import merge_heads, split_heads
from .modules import MultiHeadAttention
from .multi_head import multi_head_attention
from .params import MHAParams
from .softmax import softmax

__all__ = [
    "MHAParams",
    "MultiHeadAttention",
    "merge_heads",
    "multi_head_attention",
    "scaled_dot_product_attention",
    "softmax",
    "split_heads",
]
