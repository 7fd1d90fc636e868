"""Checker for lesson 09: multi-head attention as a torch ``nn.Module``.

How the learner's module is compared (design): the checker builds the module, then loads
known, seeded weights (with non-zero biases) into its four ``nn.Linear`` layers ``q_proj``,
``k_proj``, ``v_proj`` and ``out_proj``, and compares ``forward`` with
:func:`mha_lib.multi_head_attention` computed in float64 from the very same numbers (inputs
and weights rounded to float32 first, so a float32 module sees exactly them;
tests/test_exercises.py shows this equals ``torch.nn.MultiheadAttention`` with the same
weights). Loading known weights instead of reading the module's own random initialisation
keeps every message identical from run to run (notebooks store them for nbval), and non-zero
biases make a forgotten bias visible (``nn.MultiheadAttention`` initialises its biases to 0).
The cases, reference and mistake tables are those of the numpy checker of lesson 08.
"""

from __future__ import annotations

import dataclasses

import numpy as np

import mha_lib

from ._harness import (
    as_pair,
    describe_exception,
    describe_value,
    fail,
    fmt_shape,
    raised_message,
    to_array,
)
from .multi_head_check import CHECKER as MULTI_HEAD_CHECKER
from .multi_head_check import D_MODEL, MultiHeadCase, Wording
from .multi_head_check import cases as multi_head_cases
from .result import CheckResult

TORCH_WORDING = Wording(
    split="x.view(batch, seq_len, num_heads, d_head).transpose(1, 2)",
    merge=(
        "heads.transpose(1, 2).contiguous().view(batch, seq_len, d_model) (.contiguous() "
        "because the transpose only changed the strides)"
    ),
    mask="scores.masked_fill(~mask, float('-inf'))",
    output_projection="return self.out_proj(merged)",
    output_bias="out_proj's bias (nn.Linear(d_model, d_model, bias=bias))",
    input_biases="the biases of q_proj, k_proj and v_proj",
)
LAYERS = ("q_proj", "k_proj", "v_proj", "out_proj")
MODULE_LARGE_FACTOR = (
    16.0  # scores reach about ±1000: e^x overflows float32 (>88.7), float64 (>709)
)


@dataclasses.dataclass(frozen=True)
class ModuleCase(MultiHeadCase):
    """Build a module (or reuse the previous one), load ``params``, call forward."""

    constructor_kwargs: dict = dataclasses.field(default_factory=dict)
    self_attention: bool = False  # call forward(query) alone, so key and value default to query
    need_weights: bool = True
    new_module: bool = True  # False: reuse the module built for the previous case

    def constructor_text(self, factory) -> str:
        name = getattr(factory, "__name__", type(factory).__name__)
        arguments = [repr(self.params.d_model), repr(self.num_heads)]
        arguments += [f"{key}={value!r}" for key, value in self.constructor_kwargs.items()]
        return f"{name}({', '.join(arguments)})"

    @property
    def inputs(self) -> str:
        if self.self_attention:
            text = f"query of shape {fmt_shape(self.query.shape)}"
        else:
            text = (
                f"query of shape {fmt_shape(self.query.shape)}, key {fmt_shape(self.key.shape)}, "
                f"value {fmt_shape(self.value.shape)}"
            )
        if self.mask is not None:
            text += f", mask {fmt_shape(self.mask.shape)}"
        return text + f", need_weights={self.need_weights}"

    def forward_text(self) -> str:
        call = "forward(query)" if self.self_attention else "forward(query, key, value)"
        return f"{call} with {self.inputs}"


def _float32(case: ModuleCase) -> ModuleCase:
    """The case with inputs and weights rounded to float32 (what a float32 module sees), held
    in float64, so the reference sees exactly the numbers the module sees."""

    def rounded(array):
        return None if array is None else array.astype(np.float32).astype(np.float64)

    return dataclasses.replace(
        case,
        query=rounded(case.query),
        key=rounded(case.key),
        value=rounded(case.value),
        params=case.params.to_dtype(np.float32).to_dtype(np.float64),
        wording=TORCH_WORDING,
    )


def cases() -> list[ModuleCase]:
    """Cross-attention (T_q=5 ≠ T_k=7) with 3 heads, without and with a mask; self-attention
    through forward(query) alone; 4 heads with kdim=10 and vdim=6; 4 heads without bias; huge
    scores (e^x overflows). Inputs are those of the numpy checker, so both lessons see the same
    numbers."""
    plain, masked, narrow, _ = (vars(c) | {"hint": ""} for c in multi_head_cases())
    self_attention = plain | {"key": plain["query"], "value": plain["query"]}
    large_input = MODULE_LARGE_FACTOR * plain["query"]
    no_bias_params = mha_lib.MHAParams.init(D_MODEL, bias=False, seed=9)
    return [
        _float32(ModuleCase(**case))
        for case in (
            plain,
            masked | {"new_module": False},
            self_attention | {"self_attention": True, "need_weights": False, "new_module": False},
            narrow | {"constructor_kwargs": {"kdim": 10, "vdim": 6}},
            narrow
            | {"key": masked["key"], "value": masked["value"], "params": no_bias_params}
            | {"constructor_kwargs": {"bias": False}},
            self_attention
            | {"query": large_input, "key": large_input, "value": large_input, "large": True}
            | {"self_attention": True},
        )
    ]


def _build(factory, case: ModuleCase, torch):
    constructor = case.constructor_text(factory)
    try:
        module = factory(case.params.d_model, case.num_heads, **case.constructor_kwargs)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # noqa: BLE001 - the learner's error is the diagnosis
        fail(
            "raised",
            f"Building your module with {constructor} raised {describe_exception(error)}. The "
            "constructor must accept (d_model, num_heads, bias=True, kdim=None, vdim=None).",
        )
    if not isinstance(module, torch.nn.Module):
        fail(
            "wrong_type",
            f"{constructor} returned {describe_value(module)}, not a torch nn.Module. Pass the "
            "class itself (or a function that builds the module).",
        )
    module.eval()  # no dropout while checking
    params = case.params
    for name, weight in zip(LAYERS, (params.w_q, params.w_k, params.w_v, params.w_o)):
        _check_layer(module, name, weight.shape[::-1], params.has_bias, constructor, torch)
    return module


def _check_layer(module, name, weight_shape, bias, constructor, torch) -> None:
    layer = getattr(module, name, None)
    weight = getattr(layer, "weight", None)
    if layer is None or not isinstance(weight, torch.Tensor):
        fail(
            "wrong_type",
            f"The module built by {constructor} has no layer `{name}` with a weight; name the "
            "four projections q_proj, k_proj, v_proj and out_proj (each an nn.Linear), so that "
            "the checker can load known weights into them.",
        )
    if tuple(weight.shape) != weight_shape:
        d_model = weight_shape[0]
        hint = ""
        if weight.shape[0] < d_model and d_model % weight.shape[0] == 0:
            hint = (
                " One projection serves all heads: nn.Linear(d_in, d_model), split into heads "
                "afterwards (the parameter count does not depend on num_heads)."
            )
        fail(
            "wrong_shape",
            f"In {constructor}, {name}.weight has shape {fmt_shape(weight.shape)} but should have "
            f"shape {fmt_shape(weight_shape)} = (d_model, d_in), as nn.Linear(d_in={weight_shape[1]}, "
            f"d_model={d_model}) makes.{hint}",
        )
    layer_bias = getattr(layer, "bias", None)
    if bias and not isinstance(layer_bias, torch.Tensor):
        fail(
            "wrong_shape",
            f"In {constructor}, {name}.bias is None but should have shape ({weight_shape[0]},): "
            "pass bias=bias to each nn.Linear.",
        )
    if not bias and layer_bias is not None:
        fail(
            "wrong_shape",
            f"In {constructor}, {name}.bias should be None but has shape "
            f"{fmt_shape(getattr(layer_bias, 'shape', ()))}: pass bias=bias to each nn.Linear.",
        )


def _load_weights(module, params: mha_lib.MHAParams, torch) -> None:
    """Copy ``params`` into the module's layers (torch stores x @ W.T + b)."""
    weights = (params.w_q, params.w_k, params.w_v, params.w_o)
    biases = (params.b_q, params.b_k, params.b_v, params.b_o)
    for name, weight, bias in zip(LAYERS, weights, biases):
        layer = getattr(module, name)
        try:
            layer.weight.copy_(torch.from_numpy(weight.T.copy()))  # (d_model, d_in)
            if bias is not None:
                layer.bias.copy_(torch.from_numpy(bias.copy()))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # noqa: BLE001 - e.g. a weight that is not a tensor
            fail(
                "wrong_type",
                f"Loading known weights into your {name} failed with "
                f"{describe_exception(error)}; make {name} an nn.Linear.",
            )


def _call(factory, case: ModuleCase, memo):
    """Build the module (or reuse it), load the case's weights, and call forward."""
    import torch

    with torch.no_grad():
        if case.new_module or "module" not in memo:
            memo["module"] = _build(factory, case, torch)
        module = memo["module"]
        _load_weights(module, case.params, torch)
        dtype = module.q_proj.weight.dtype
        tensors = [torch.from_numpy(a.copy()).to(dtype) for a in (case.query, case.key, case.value)]
        args = tensors[:1] if case.self_attention else tensors
        kwargs = {} if case.mask is None else {"mask": torch.from_numpy(case.mask.copy())}
        if case.need_weights:
            kwargs["need_weights"] = True
        try:
            return module(*args, **kwargs)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # noqa: BLE001 - the learner's error is the diagnosis
            fail("raised", raised_message(error, module, case.inputs, action="Your forward raised"))


def _read(raw, case: ModuleCase, expected) -> tuple:
    output, weights = as_pair(
        raw,
        "Your forward",
        ("output", "weights"),
        "Return (output, weights), with weights None when need_weights=False, like "
        "mha_lib.MultiHeadAttention.",
    )
    output = to_array(output, "The output of your forward", expected[0].shape)
    if not case.need_weights:
        return output, None
    if weights is None:
        fail(
            "wrong_type",
            f"Called with need_weights=True, your forward returned None as the weights; "
            f"return each head's weights, shape {fmt_shape(expected[1].shape)} = "
            "(batch, num_heads, T_q, T_k).",
        )
    return output, to_array(weights, "The weights of your forward", expected[1].shape)


CHECKER = dataclasses.replace(
    MULTI_HEAD_CHECKER,
    name="check_multi_head_module",
    example="check_multi_head_module(MyMultiHeadAttention)",
    cases=cases,
    call=_call,
    read=_read,
    note=lambda case: f"(Called: {case.forward_text()}.)",
    passed=(
        "with known weights loaded into q_proj, k_proj, v_proj and out_proj, your module "
        "matches mha_lib.multi_head_attention: cross-attention without and with a mask, "
        "self-attention, 4 heads with kdim=10 and vdim=6, bias=False, and huge scores."
    ),
)


def check_multi_head_module(cls_or_factory) -> CheckResult:
    """Check a torch multi-head attention module against the library's numbers.

    The learner's class (or a factory function): ``cls_or_factory(d_model, num_heads,
    bias=True, kdim=None, vdim=None)`` returns an ``nn.Module`` with ``nn.Linear`` layers
    ``q_proj (d_model -> d_model)``, ``k_proj (kdim -> d_model)``, ``v_proj (vdim -> d_model)``
    and ``out_proj (d_model -> d_model)``, like :class:`mha_lib.MultiHeadAttention`.
    Its ``forward(query, key=None, value=None, mask=None, need_weights=False)`` takes query
    ``(batch, T_q, d_model)``, key ``(batch, T_k, kdim)``, value ``(batch, T_k, vdim)`` and a
    bool mask (True = may attend) and returns ``(output (batch, T_q, d_model), weights (batch,
    num_heads, T_q, T_k) or None)``. The checker loads known weights into the four layers and
    compares the output and the weights with :func:`mha_lib.multi_head_attention`.

    Recognises: ``missing_scale``, ``scale_by_d``, ``softmax_wrong_axis``, ``mask_inverted``,
    ``unstable_softmax``, ``split_without_transpose``, ``merge_without_transpose``,
    ``heads_summed``, ``missing_output_projection``, ``wrong_shape`` (also of a layer, e.g.
    one projection per head, or a bias that bias=True/False does not switch), ``wrong_values``
    (also right output with wrong weights), ``raised``, ``wrong_type`` (also a missing layer).

    Used in notebooks/09_the_module.ipynb.
    """
    return CHECKER(cls_or_factory)
