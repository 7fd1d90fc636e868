"""Checker for lesson 12: repeating the key/value heads for grouped-query attention.

The learner's ``fn(x, n_rep)`` takes keys or values ``x (batch, num_kv_heads, seq_len,
d_head)`` as a torch tensor and returns ``(batch, num_kv_heads · n_rep, seq_len, d_head)``,
each head repeated ``n_rep`` times in place (``repeat_interleave``), as
``mha_lib.repeat_kv`` and ``F.scaled_dot_product_attention(..., enable_gqa=True)`` pair them.
The classic mistake, ``x.repeat(1, n_rep, 1, 1)``, tiles the heads instead: the right shape,
the wrong query heads for each key/value head.
"""

from __future__ import annotations

import numpy as np

from ._harness import Case, Checker, Mistake, call_learner, texts
from .result import CheckResult

AXES = {0: "batch", 2: "seq_len", 3: "d_head"}


def repeat_reference(case, *, tiled=False, axis=1, flatten=True):
    """``mha_lib.repeat_kv`` in numpy (``np.repeat`` repeats each head in place), with one
    switch per mistake: the heads tiled (``tiled=True``, torch's ``x.repeat``), repeated
    along another ``axis``, or repeated on a new axis that is never merged (``flatten=False``)."""
    x, n_rep = case.x, case.n_rep
    if tiled:
        return np.tile(x, (1, n_rep, 1, 1))  # heads 0, 1, ..., 0, 1, ...
    if not flatten:
        return np.repeat(x[:, :, None], n_rep, axis=2)  # (batch, kv, n_rep, seq_len, d_head)
    return np.repeat(x, n_rep, axis=axis)  # axis 1: heads 0, 0, ..., 1, 1, ...


def _x(batch, num_kv_heads, seq_len, d_head, seed):
    """Numbers rounded to 2 decimals, different in every head (a misplaced head shows)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, num_kv_heads, seq_len, d_head)).round(2)


def cases() -> list[Case]:
    """2 key/value heads for 4 query heads; a batch of 2 with 3 key/value heads for 12 (every
    axis a different length); multi-query (1 key/value head for 3); and n_rep = 1 (nothing
    to repeat: multi-head attention)."""
    hints = texts("check_repeat_kv")["hints"]
    return [
        Case({"x": _x(1, 2, 3, 5, seed=12), "n_rep": 2}),
        Case({"x": _x(2, 3, 5, 2, seed=13), "n_rep": 4},
             hint=hints["batch"]),
        Case({"x": _x(1, 1, 4, 3, seed=14), "n_rep": 3},
             hint=hints["multi_query"]),
        Case({"x": _x(2, 4, 3, 2, seed=15), "n_rep": 1},
             hint=hints["no_repeat"]),
    ]  # fmt: skip


def _call(fn, case, memo):
    """The learner's function on ``x`` as a float32 torch tensor (lesson 12 works in torch)."""
    import torch

    x = torch.tensor(case.x, dtype=torch.float32)
    cause = CHECKER._cause  # the harness names a raise through its own table
    return call_learner(
        fn,
        x,
        case.n_rep,
        inputs=case.inputs,
        hint=case.hint,
        on_raise=lambda error: cause(error, case=case, fn=fn),
    )


def _order(num_kv_heads, n_rep, tiled) -> str:
    heads = np.tile if tiled else np.repeat
    return ", ".join(str(g) for g in heads(np.arange(num_kv_heads), n_rep))


def _facts(got, case, switches) -> dict:
    kv = case.x.shape[1]
    return {
        "kv": kv,
        "tiled_order": lambda: _order(kv, case.n_rep, tiled=True),
        "right_order": lambda: _order(kv, case.n_rep, tiled=False),
        "axis_name": lambda: AXES.get(switches.get("axis"), "another"),
        "axis": switches.get("axis", 1),
    }


def _raised_repeat_with_dim(error, case, fn) -> bool:
    text = str(error)
    return isinstance(error, TypeError) and "repeat()" in text and "'dim'" in text


def _raised_view_of_expanded(error, case, fn) -> bool:
    return isinstance(error, RuntimeError) and "view size is not compatible" in str(error)


CHECKER = Checker(
    name="check_repeat_kv",
    cases=cases,
    reference=repeat_reference,
    outputs=(("Your result", "repeated", "(batch, num_kv_heads * n_rep, seq_len, d_head)"),),
    call=_call,
    facts=_facts,
    mistakes=(Mistake("kv_heads_tiled", {"tiled": True}),),
    shape_mistakes=(
        Mistake("wrong_shape", ({"axis": 0}, {"axis": 2}, {"axis": 3}), name="wrong_axis"),
        Mistake("wrong_shape", {"flatten": False}, name="heads_not_merged"),
    ),
    raise_mistakes=(
        Mistake("raised", test=_raised_repeat_with_dim, name="repeat_with_dim"),
        Mistake("raised", test=_raised_view_of_expanded, name="view_of_expanded"),
    ),
)


def check_repeat_kv(fn) -> CheckResult:
    """Check ``fn(x, n_rep)``: keys or values ``(batch, num_kv_heads, seq_len, d_head)`` to
    ``(batch, num_kv_heads * n_rep, seq_len, d_head)``, each head repeated in place.

    Used in notebooks/12_todays_models.ipynb.
    """
    return CHECKER(fn)
