"""Exercise checkers: each takes the learner's function (or class) and returns a CheckResult.

A checker runs the learner's code on inputs chosen so that classic mistakes cannot hide
(T_q ≠ T_k, d_k ≠ d_v, several heads and batch axes, a patterned mask, logits of ±1000) and
compares the result with the library. When they differ, it names the mistake
(``result.mistake``) from a table of rows, each the library's answer under one switch
(``_harness.Checker``, ``_harness.Mistake``), and says how to fix it (``result.message``).
What it says is data: ``messages/<checker>.yml`` holds its templates (``passed``, the
fallbacks, a message per row, hints). A checker never raises at the learner, and its messages
are deterministic.

=============================  ===========================================  =================
checker                        the learner's function                       lesson
=============================  ===========================================  =================
check_embedding                fn(token_ids, table) -> (seq_len, d_model)   01_input_vectors
check_qkv_projection           fn(x, w_q, w_k, w_v) -> (q, k, v)            02_qkv_projections
check_scores                   fn(q, k) -> (..., T_q, T_k)                  03_attention_scores
check_softmax                  fn(x, axis=-1) -> x.shape                    04_softmax
check_masked_softmax           fn(scores, mask) -> scores.shape             05_masks
check_attention                fn(q, k, v, mask=None) -> (output, weights)  06_weighted_sum
check_split_heads              fn(x, num_heads) -> (..., H, T, d_head)      07_multiple_heads
check_merge_heads              fn(x) -> (..., T, H * d_head)                (spare: topic of 07)
check_multi_head_attention     fn(query, key, value, params, num_heads,     08_concat_and_
                               mask=None) -> (output, weights)              output_projection
check_multi_head_module        cls(d_model, num_heads, bias=True,           09_the_module
                               kdim=None, vdim=None) -> nn.Module
check_repeat_kv                fn(x, n_rep) -> (B, kv * n_rep, T, d_head)   12_todays_models
=============================  ===========================================  =================
"""

from __future__ import annotations

from .attention_check import check_attention
from .embedding_check import check_embedding
from .gqa_check import check_repeat_kv
from .heads_check import check_merge_heads, check_split_heads
from .masked_softmax_check import check_masked_softmax
from .module_check import check_multi_head_module
from .multi_head_check import check_multi_head_attention
from .online_softmax_check import check_online_softmax
from .pretrained_check import check_load_bert_attention
from .projection_check import check_qkv_projection
from .result import CheckResult
from .scores_check import check_scores
from .softmax_check import check_softmax

# fmt: off
MISTAKE_KEYS = (
    "missing_scale", "scale_by_d",  # the scaling of the scores
    "softmax_wrong_axis", "unstable_softmax", "forgot_keepdims",  # the softmax
    "mask_inverted", "mask_after_softmax", "masked_with_zero", "fully_masked_nan",  # the mask
    "split_without_transpose", "merge_without_transpose", "heads_summed",  # the heads
    "missing_output_projection",  # the output projection
    "weight_not_transposed",  # loading a pretrained layer (lesson 10)
    "sum_not_rescaled",  # the online softmax (lesson 11)
    "kv_heads_tiled",  # grouped-query attention: repeat instead of repeat_interleave (lesson 12)
    "wrong_shape", "wrong_values", "raised", "wrong_type",  # any other mistake
)
# fmt: on
"""Every key a checker can put in ``CheckResult.mistake``."""

__all__ = [
    "MISTAKE_KEYS",
    "CheckResult",
    "check_attention",
    "check_embedding",
    "check_load_bert_attention",
    "check_masked_softmax",
    "check_merge_heads",
    "check_multi_head_attention",
    "check_multi_head_module",
    "check_online_softmax",
    "check_qkv_projection",
    "check_repeat_kv",
    "check_scores",
    "check_softmax",
    "check_split_heads",
]
