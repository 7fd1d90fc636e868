"""Checker for lesson 08: multi-head attention as a torch ``nn.Module``.

How the learner's module is compared (design): the checker builds the module, then loads
known, seeded weights (with non-zero biases) into its four ``nn.Linear`` layers ``q_proj``,
``k_proj``, ``v_proj`` and ``out_proj``, and compares ``forward`` with
:func:`mha_lib.multi_head.multi_head_attention` computed in float64 from the very same numbers
(which tests/test_exercises.py shows equals ``torch.nn.MultiheadAttention`` with the same
weights). Loading known weights instead of reading the module's own random initialisation
keeps every message identical from run to run (notebooks store them for nbval), and non-zero
biases make a forgotten bias visible (``nn.MultiheadAttention`` initialises its biases to 0).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..params import MHAParams
from ._harness import (
    as_pair,
    close,
    describe_exception,
    describe_value,
    fail,
    fmt_shape,
    raised_message,
    require_callable,
    run_check,
    to_array,
)
from .multi_head_check import (
    D_MODEL,
    MultiHeadExample,
    Wording,
    diagnose_multi_head,
    multi_head_examples,
    require_multi_head_shapes,
)
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
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")
MODULE_LARGE_FACTOR = (
    16.0  # scores reach about ±1000: e^x overflows float32 (>88.7), float64 (>709)
)


@dataclasses.dataclass(frozen=True)
class ModuleExample:
    """Build a module with ``constructor_args``, load ``example.params``, call forward."""

    constructor_args: tuple
    constructor_kwargs: dict
    example: MultiHeadExample
    self_attention: bool  # call forward(query) alone, so key and value default to query
    need_weights: bool
    new_module: bool  # False: reuse the module built for the previous example

    def constructor_text(self, factory) -> str:
        name = getattr(factory, "__name__", type(factory).__name__)
        arguments = [repr(a) for a in self.constructor_args]
        arguments += [f"{key}={value!r}" for key, value in self.constructor_kwargs.items()]
        return f"{name}({', '.join(arguments)})"

    def forward_text(self) -> str:
        example = self.example
        if self.self_attention:
            text = f"forward(query) with query of shape {fmt_shape(example.query.shape)}"
        else:
            text = (
                f"forward(query, key, value) with query of shape {fmt_shape(example.query.shape)}, "
                f"key {fmt_shape(example.key.shape)}, value {fmt_shape(example.value.shape)}"
            )
        if example.mask is not None:
            text += f", mask {fmt_shape(example.mask.shape)}"
        return text + f", need_weights={self.need_weights}"


def _module_examples() -> list[ModuleExample]:
    """Cross-attention (T_q=5 ≠ T_k=7) with 3 heads, without and with a mask; self-attention
    through forward(query) alone; 4 heads with kdim=10 and vdim=6; 4 heads without bias; huge
    scores (e^x overflows). Inputs are those of the numpy checker, so both lessons see the same
    numbers."""
    plain, masked, narrow, _ = multi_head_examples()
    self_attention = dataclasses.replace(plain, key=plain.query, value=plain.query)
    no_bias = dataclasses.replace(
        narrow,
        key=masked.key,
        value=masked.value,
        params=MHAParams.init(D_MODEL, bias=False, seed=9),
    )
    large = dataclasses.replace(
        self_attention,
        query=MODULE_LARGE_FACTOR * plain.query,
        key=MODULE_LARGE_FACTOR * plain.query,
        value=MODULE_LARGE_FACTOR * plain.query,
        large=True,
    )
    three_heads, four_heads = (D_MODEL, 3), (D_MODEL, 4)
    return [
        ModuleExample(three_heads, {}, plain, False, True, True),
        ModuleExample(three_heads, {}, masked, False, True, False),
        ModuleExample(three_heads, {}, self_attention, True, False, False),
        ModuleExample(four_heads, {"kdim": 10, "vdim": 6}, narrow, False, True, True),
        ModuleExample(four_heads, {"bias": False}, no_bias, False, True, True),
        ModuleExample(three_heads, {}, large, True, True, True),
    ]


def check_multi_head_module(cls_or_factory) -> CheckResult:
    """Check a torch multi-head attention module against the library's numbers.

    The learner's class (or a factory function): ``cls_or_factory(d_model, num_heads,
    bias=True, kdim=None, vdim=None)`` returns an ``nn.Module`` with ``nn.Linear`` layers
    ``q_proj (d_model -> d_model)``, ``k_proj (kdim -> d_model)``, ``v_proj (vdim -> d_model)``
    and ``out_proj (d_model -> d_model)``, like :class:`mha_lib.modules.MultiHeadAttention`.
    Its ``forward(query, key=None, value=None, mask=None, need_weights=False)`` takes query
    ``(batch, T_q, d_model)``, key ``(batch, T_k, kdim)``, value ``(batch, T_k, vdim)`` and a
    bool mask (True = may attend) and returns ``(output (batch, T_q, d_model), weights (batch,
    num_heads, T_q, T_k) or None)``. The checker loads known weights into the four layers and
    compares with :func:`mha_lib.multi_head.multi_head_attention`.

    Recognises: ``missing_scale``, ``scale_by_d``, ``softmax_wrong_axis``, ``mask_inverted``,
    ``unstable_softmax``, ``split_without_transpose``, ``merge_without_transpose``,
    ``heads_summed``, ``missing_output_projection``, ``wrong_shape`` (also of a layer, e.g.
    one projection per head), ``wrong_values``, ``raised``, ``wrong_type`` (also a missing
    layer).

    Used in notebooks/09_the_module.ipynb.
    """
    return run_check(_check_module_steps, cls_or_factory)


def _check_module_steps(factory) -> str:
    require_callable(
        factory, "check_multi_head_module", "check_multi_head_module(MyMultiHeadAttention)"
    )
    import torch

    module = None
    with torch.no_grad():
        for case in _module_examples():
            if case.new_module or module is None:
                module = _build(factory, case, torch)
            dtype = _load_weights(module, case.example.params, torch)
            example = _rounded(case.example, dtype)
            result = _call_forward(module, case, example, dtype, torch)
            output, weights = as_pair(
                result,
                "Your forward",
                ("output", "weights"),
                "Return (output, weights), with weights None when need_weights=False, like "
                "mha_lib.MultiHeadAttention.",
            )
            expected_output, expected_weights = example.expected()
            output = to_array(output, "The output of your forward", expected_output.shape)
            if case.need_weights and weights is None:
                fail(
                    "wrong_type",
                    f"Called with need_weights=True, your forward returned None as the weights; "
                    f"return each head's weights, shape {fmt_shape(expected_weights.shape)} = "
                    "(batch, num_heads, T_q, T_k).",
                )
            if case.need_weights:
                weights = to_array(weights, "The weights of your forward", expected_weights.shape)
            else:
                weights = None
            require_multi_head_shapes(output, weights, example, TORCH_WORDING)
            right = close(output, expected_output) and (
                weights is None or close(weights, expected_weights)
            )
            if not right:
                mistake, message = diagnose_multi_head(output, weights, example, TORCH_WORDING)
                fail(mistake, f"{message} (Called: {case.forward_text()}.)")
    return (
        "with known weights loaded into q_proj, k_proj, v_proj and out_proj, your module "
        "matches mha_lib.multi_head_attention: cross-attention without and with a mask, "
        "self-attention, 4 heads with kdim=10 and vdim=6, bias=False, and huge scores."
    )


def _build(factory, case: ModuleExample, torch):
    constructor = case.constructor_text(factory)
    try:
        module = factory(*case.constructor_args, **case.constructor_kwargs)
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
    d_model = case.constructor_args[0]
    bias = case.constructor_kwargs.get("bias", True)
    widths_in = {
        "q_proj": d_model,
        "k_proj": case.constructor_kwargs.get("kdim") or d_model,
        "v_proj": case.constructor_kwargs.get("vdim") or d_model,
        "out_proj": d_model,
    }
    for name, width_in in widths_in.items():
        _check_layer(module, name, (d_model, width_in), bias, constructor, torch)
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


def _load_weights(module, params: MHAParams, torch):
    """Copy ``params`` into the module's layers (torch stores x @ W.T + b); return the dtype."""
    weights = {
        "q_proj": params.w_q,
        "k_proj": params.w_k,
        "v_proj": params.w_v,
        "out_proj": params.w_o,
    }
    biases = {
        "q_proj": params.b_q,
        "k_proj": params.b_k,
        "v_proj": params.b_v,
        "out_proj": params.b_o,
    }
    dtype = module.q_proj.weight.dtype
    for name, weight in weights.items():
        layer = getattr(module, name)
        try:
            layer.weight.copy_(torch.from_numpy(weight.T.copy()))  # (d_model, d_in)
            if biases[name] is not None:
                layer.bias.copy_(torch.from_numpy(biases[name].copy()))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # noqa: BLE001 - e.g. a weight that is not a tensor
            fail(
                "wrong_type",
                f"Loading known weights into your {name} failed with "
                f"{describe_exception(error)}; make {name} an nn.Linear.",
            )
    return dtype


def _rounded(example: MultiHeadExample, dtype) -> MultiHeadExample:
    """The example with inputs and weights rounded to the module's dtype (e.g. float32),
    computed in float64, so the reference sees exactly the numbers the module sees."""
    numpy_dtype = np.float32 if str(dtype) == "torch.float32" else np.float64

    def rounded(array):
        return None if array is None else array.astype(numpy_dtype).astype(np.float64)

    params = example.params.to_dtype(numpy_dtype).to_dtype(np.float64)
    return dataclasses.replace(
        example,
        query=rounded(example.query),
        key=rounded(example.key),
        value=rounded(example.value),
        params=params,
    )


def _call_forward(module, case: ModuleExample, example: MultiHeadExample, dtype, torch):
    def tensor(array):
        return torch.from_numpy(array.copy()).to(dtype)

    if case.self_attention:
        args = (tensor(example.query),)
    else:
        args = (tensor(example.query), tensor(example.key), tensor(example.value))
    kwargs = {}
    if example.mask is not None:
        kwargs["mask"] = torch.from_numpy(example.mask.copy())
    if case.need_weights:
        kwargs["need_weights"] = True
    try:
        return module(*args, **kwargs)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # noqa: BLE001 - the learner's error is the diagnosis
        inputs = case.forward_text().removeprefix("forward(query) with ")
        inputs = inputs.removeprefix("forward(query, key, value) with ")
        fail("raised", raised_message(error, module, inputs, action="Your forward raised"))
