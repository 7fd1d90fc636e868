"""Checker for lesson 09: multi-head attention as a torch ``nn.Module``.

It loads known weights (non-zero biases) into the module's ``q_proj``, ``k_proj``, ``v_proj``
and ``out_proj`` and compares ``forward`` with the numpy checker of lesson 08 (its cases,
reference and mistake tables) on the same numbers, rounded to float32.
"""

from __future__ import annotations

import dataclasses

import numpy as np

import mha_lib

from . import multi_head_check as multi_head
from ._harness import (
    as_pair,
    attempt,
    call_learner,
    describe_exception,
    describe_value,
    fail,
    fmt_shape,
    texts,
    to_array,
)
from .result import CheckResult

_ARGUMENTS = {True: "query", False: "query, key, value"}  # what forward is called with
MODULE_LARGE_FACTOR = 16.0  # scores reach about ±1000: e^x overflows float32 and float64


class ModuleCase(multi_head.MultiHeadCase):
    """A module built anew (``new_module``) or reused, the case's params, one call of forward."""

    @property
    def inputs(self) -> str:
        names = ("query",) if self.self_attention else ("query", "key", "value")
        words = [f"{name} {fmt_shape(self.args[name].shape)}" for name in names]
        words[0] = words[0].replace("query", "query of shape")
        if self.mask is not None:
            words.append(f"mask {fmt_shape(self.mask.shape)}")
        return ", ".join(words) + f", need_weights={self.extra['need_weights']}"

    def constructor_text(self, factory) -> str:
        name = getattr(factory, "__name__", type(factory).__name__)
        arguments = [repr(self.params.d_model), repr(self.num_heads)]
        arguments += [f"{key}={value!r}" for key, value in self.constructor.items()]
        return f"{name}({', '.join(arguments)})"


def cases() -> list[ModuleCase]:
    """The numpy checker's inputs and weights (rounded to float32, as the module sees them):
    without and with a mask; forward(query) alone; kdim=10, vdim=6; bias=False; huge scores."""
    plain, masked, narrow, _ = (case.args for case in multi_head.cases())
    self_attention = plain | {"key": plain["query"], "value": plain["query"]}
    large = MODULE_LARGE_FACTOR * plain["query"]
    no_bias = narrow | {"key": masked["key"], "value": masked["value"]}
    no_bias["params"] = mha_lib.MHAParams.init(multi_head.D_MODEL, bias=False, seed=9)
    huge = self_attention | {"query": large, "key": large, "value": large}
    calls = [  # args, constructor keywords, forward(query) alone, need_weights, new module
        (plain, {}, False, True, True),
        (masked, {}, False, True, False),
        (self_attention, {}, True, False, False),
        (narrow, {"kdim": 10, "vdim": 6}, False, True, True),
        (no_bias, {"bias": False}, False, True, True),
        (huge, {}, True, True, True),
    ]
    alone_hint = texts("check_multi_head_module")["hints"]["query_alone"]

    def float32(value):
        if isinstance(value, mha_lib.MHAParams):
            return value.to_dtype(np.float32).to_dtype(np.float64)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return value.astype(np.float32).astype(np.float64)
        return value

    return [
        ModuleCase(
            {name: float32(value) for name, value in args.items()},
            hint=alone_hint if alone else "",
            extra={
                "constructor": constructor,
                "self_attention": alone,
                "need_weights": need_weights,
            }
            | {"new_module": new, "large": args is huge},
        )
        for args, constructor, alone, need_weights, new in calls
    ]


def _build(factory, case: ModuleCase, torch):
    """Build the module and check that its four layers have the shapes and biases asked for."""
    constructor = case.constructor_text(factory)
    module, error = attempt(factory, case.params.d_model, case.num_heads, **case.constructor)
    if error is not None:
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
    for name, (weight, _) in _layers(case.params).items():
        _check_layer(module, name, weight.shape[::-1], case.params.has_bias, constructor, torch)
    return module


def _layers(params) -> dict:
    """Each layer's weight and bias as numpy uses them (x @ w + b; torch stores w.T)."""
    return {
        "q_proj": (params.w_q, params.b_q),
        "k_proj": (params.w_k, params.b_k),
        "v_proj": (params.w_v, params.b_v),
        "out_proj": (params.w_o, params.b_o),
    }


def _check_layer(module, name, weight_shape, bias, constructor, torch) -> None:
    """Fail unless ``module.<name>`` has a weight (d_out, d_in) and a bias exactly if ``bias``."""
    layer = getattr(module, name, None)
    weight, layer_bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
    in_module = f"In {constructor}, {name}"
    if layer is None or not isinstance(weight, torch.Tensor):
        fail(
            "wrong_type",
            f"The module built by {constructor} has no layer `{name}` with a weight; name the "
            "four projections q_proj, k_proj, v_proj and out_proj (each an nn.Linear), so that "
            "the checker can load known weights into them.",
        )
    (d_model, d_in), shape = weight_shape, tuple(weight.shape)
    if shape != weight_shape:
        hint = ""
        if shape[0] < d_model and d_model % shape[0] == 0:
            hint = (
                " One projection serves all heads: nn.Linear(d_in, d_model), split into heads "
                "afterwards (the parameter count does not depend on num_heads)."
            )
        fail(
            "wrong_shape",
            f"{in_module}.weight has shape {fmt_shape(shape)} but should have shape "
            f"{fmt_shape(weight_shape)} = (d_model, d_in), as nn.Linear(d_in={d_in}, "
            f"d_model={d_model}) makes.{hint}",
        )
    if (bias and not isinstance(layer_bias, torch.Tensor)) or (not bias and layer_bias is not None):
        found = "is None but should have shape" if bias else "should be None but has shape"
        shape = f"({d_model},)" if bias else fmt_shape(getattr(layer_bias, "shape", ()))
        fail("wrong_shape", f"{in_module}.bias {found} {shape}: pass bias=bias to each nn.Linear.")


def _load_weights(module, params: mha_lib.MHAParams, torch) -> None:
    """Copy ``params`` into the module's layers."""
    for name, (weight, bias) in _layers(params).items():
        arrays = {"weight": weight.T} | ({} if bias is None else {"bias": bias})  # torch: W.T
        for part, array in arrays.items():
            tensor = getattr(getattr(module, name), part)
            _, error = attempt(tensor.copy_, torch.from_numpy(array.copy()))
            if error is not None:  # e.g. a weight that is not a tensor
                fail(
                    "wrong_type",
                    f"Loading known weights into your {name} failed with "
                    f"{describe_exception(error)}; make {name} an nn.Linear.",
                )


def _call(factory, case: ModuleCase, memo):
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
        action = "Your forward raised"
        return call_learner(
            module, *args, kwargs=kwargs, inputs=case.inputs, hint=case.hint, action=action
        )


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
    multi_head.CHECKER,
    name="check_multi_head_module",
    cases=cases,
    call=_call,
    read=_read,
    facts=lambda got, case, switches: (
        multi_head.facts(got, case, switches)
        | {"called": lambda: f"forward({_ARGUMENTS[case.self_attention]}) with {case.inputs}"}
    ),
)


def check_multi_head_module(cls_or_factory) -> CheckResult:
    """Check ``cls_or_factory(d_model, num_heads, bias=True, kdim=None, vdim=None)``: an
    ``nn.Module`` with ``nn.Linear`` layers q_proj, k_proj, v_proj, out_proj and ``forward`` like
    :class:`mha_lib.MultiHeadAttention`'s. Used in notebooks/09_the_module.ipynb."""
    return CHECKER(cls_or_factory)
