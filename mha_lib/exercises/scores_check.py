"""Checker for lesson 03: attention scores q @ kᵀ / √d_k."""

from __future__ import annotations

import math

import numpy as np

from ._harness import (
    call_learner,
    close,
    difference_clause,
    fail,
    fmt_index,
    fmt_number,
    fmt_shape,
    require_callable,
    run_check,
    scale_factor,
    shape_problem,
    swapped_last_axes,
    to_array,
)
from .result import CheckResult

D_K = 16  # √16 = 4, so a missing or wrong scale is easy to see in the numbers


def _score_examples():
    """(q, k) pairs: first plain (T_q=5, T_k=7, d_k=16), then with batch and head axes."""
    rng = np.random.default_rng(303)
    return [
        (rng.standard_normal((5, D_K)), rng.standard_normal((7, D_K))),
        (rng.standard_normal((2, 3, 5, D_K)), rng.standard_normal((2, 3, 7, D_K))),
    ]


def reference_scores(q, k, divisor=None):
    """``q @ kᵀ / divisor`` with the default divisor √d_k: ``(..., T_q, T_k)``."""
    divisor = math.sqrt(q.shape[-1]) if divisor is None else divisor
    return q @ np.swapaxes(k, -1, -2) / divisor  # (..., T_q, T_k)


def check_scores(fn) -> CheckResult:
    """Check scaled attention scores: every query compared with every key, divided by √d_k.

    The learner's function: ``fn(q, k) -> scores`` with q ``(..., T_q, d_k)`` and k
    ``(..., T_k, d_k)``; returns ``(..., T_q, T_k)`` = ``q @ kᵀ / sqrt(d_k)``. Checked without
    and with leading (batch, head) axes.

    Recognises: ``missing_scale``, ``scale_by_d``, ``wrong_shape`` (e.g. k @ qᵀ),
    ``wrong_values`` (other scalings, softmax already applied), ``raised``, ``wrong_type``.

    Used in notebooks/03_attention_scores.ipynb.
    """
    return run_check(_check_scores_steps, fn)


def _check_scores_steps(fn) -> str:
    require_callable(fn, "check_scores", "check_scores(attention_scores)")
    examples = _score_examples()
    for example_number, (q, k) in enumerate(examples):
        inputs = f"q of shape {fmt_shape(q.shape)} and k of shape {fmt_shape(k.shape)}"
        after_success = (
            f"It worked for q {fmt_shape(examples[0][0].shape)} and k "
            f"{fmt_shape(examples[0][1].shape)}, so the leading (batch, head) axes are the "
            "problem: if you wrote k.T, it reverses every axis; swap only the last two with "
            "np.swapaxes(k, -1, -2)."
            if example_number
            else ""
        )
        result = call_learner(fn, q, k, inputs=inputs, after_success=after_success)
        expected = reference_scores(q, k)  # (..., T_q, T_k)
        got = to_array(result, "Your scores", expected.shape)
        if got.shape != expected.shape:
            fail("wrong_shape", _shape_message(got, expected, q, k))
        if not close(got, expected):
            mistake, message = _diagnose_scores(got, q, k)
            fail(mistake, message)
    q, k = examples[-1]
    return (
        f"your scores equal q @ kᵀ / √d_k = q @ kᵀ / {math.isqrt(D_K)}, also with batch and head "
        f"axes: q {fmt_shape(q.shape)} and k {fmt_shape(k.shape)} give "
        f"{fmt_shape(reference_scores(q, k).shape)}."
    )


def _shape_message(got, expected, q, k) -> str:
    problem = shape_problem("Your scores", got.shape, expected.shape, "(..., T_q, T_k)")
    if got.shape == swapped_last_axes(expected.shape) and close(got, np.swapaxes(expected, -1, -2)):
        return (
            f"{problem} You computed k @ qᵀ: rows must be the {q.shape[-2]} queries and columns "
            f"the {k.shape[-2]} keys, so use q @ kᵀ."
        )
    return f"{problem} Compare each of the {q.shape[-2]} queries with each of the {k.shape[-2]} keys: q @ kᵀ."


def _diagnose_scores(got, q, k) -> tuple[str, str]:
    d_k = q.shape[-1]
    raw = reference_scores(q, k, divisor=1.0)  # q @ kᵀ
    expected = raw / math.sqrt(d_k)
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(raw))), raw.shape))
    at = f"scores{fmt_index(index)}"
    fix = f"Divide by np.sqrt(d_k), where d_k = q.shape[-1] = {d_k}."
    factor = scale_factor(got, raw)
    if factor is not None and factor != 0:
        divisor = 1 / factor
        if math.isclose(divisor, 1, rel_tol=1e-3):
            return "missing_scale", (
                f"Your scores are q @ kᵀ without the scaling: {at} is {fmt_number(got[index])} "
                f"but should be {fmt_number(raw[index])} / √{d_k} = {fmt_number(expected[index])}. "
                f"{fix}"
            )
        if math.isclose(divisor, d_k, rel_tol=1e-3):
            return "scale_by_d", (
                f"Your scores are divided by d_k = {d_k} instead of √d_k = "
                f"{fmt_number(math.sqrt(d_k))}: {at} is {fmt_number(got[index])} but should be "
                f"{fmt_number(expected[index])}. Use np.sqrt(d_k)."
            )
        return "wrong_values", _scaled_wrongly_message(divisor, got, expected, index, q, k)
    if np.all(got >= 0) and np.allclose(got.sum(axis=-1), 1, atol=1e-4):
        return "wrong_values", (
            "Every row of your result sums to 1, so you already applied the softmax. Return "
            "the scaled scores q @ kᵀ / √d_k; the softmax comes in the next step."
        )
    return "wrong_values", (
        f"Your scores have the right shape {fmt_shape(expected.shape)} but "
        f"{difference_clause('scores', got, expected)}. Compute q @ kᵀ / np.sqrt(d_k) with "
        f"d_k = q.shape[-1] = {d_k}."
    )


def _scaled_wrongly_message(divisor, got, expected, index, q, k) -> str:
    d_k = q.shape[-1]
    evidence = f"scores{fmt_index(index)} is {fmt_number(got[index])} instead of {fmt_number(expected[index])}"
    if math.isclose(divisor, 1 / math.sqrt(d_k), rel_tol=1e-3):
        return (
            f"You multiplied q @ kᵀ by √d_k = {fmt_number(math.sqrt(d_k))} instead of dividing by "
            f"it: {evidence}. Use q @ kᵀ / np.sqrt(d_k)."
        )
    sizes = {"T_q": q.shape[-2], "T_k": k.shape[-2]}
    for name, size in sizes.items():
        if math.isclose(divisor, math.sqrt(size), rel_tol=1e-3):
            return (
                f"You divided by √{size}, but {size} is {name}, not d_k: {evidence}. d_k is the "
                f"width of each query and key, q.shape[-1] = {d_k}; divide by np.sqrt({d_k})."
            )
    return (
        f"Your scores are q @ kᵀ divided by {fmt_number(divisor)} instead of √d_k = "
        f"{fmt_number(math.sqrt(d_k))} (d_k = q.shape[-1] = {d_k}): {evidence}."
    )
