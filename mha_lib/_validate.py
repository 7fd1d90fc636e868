"""Shared argument checks for mha_lib (private).

Every public function validates its arguments with these helpers, so that a mistake ends in a
``ValueError`` or ``TypeError`` whose message names the argument and shows its shape, never in
a raw numpy/torch broadcasting error or a silent NaN.

The helpers work on shapes, dtypes and numpy arrays only; nothing here imports torch.
"""

from __future__ import annotations

import numbers

import numpy as np


class ArgumentTypeError(TypeError, ValueError):
    """A wrong type that is also a wrong value (a float mask, a float ``num_heads``).

    It subclasses both ``TypeError`` and ``ValueError`` (like numpy's ``AxisError``, which is
    both a ``ValueError`` and an ``IndexError``), so callers may catch either.
    """


def shape_str(shape) -> str:
    """Format a shape as a plain tuple, e.g. ``(2, 5, 7)`` (also for ``torch.Size``)."""
    return str(tuple(int(n) for n in shape))


def type_name(value) -> str:
    """Name a value's type with its module, e.g. ``numpy.ndarray`` or ``torch.nn.Linear``."""
    cls = type(value)
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    if module.startswith("torch.nn.modules."):
        module = "torch.nn"
    return f"{module}.{cls.__qualname__}"


def describe(value) -> str:
    """Describe a value for an error message: its type, and its shape when it has one."""
    shape = getattr(value, "shape", None)
    if shape is None:
        return f"{type_name(value)} {value!r}" if np.isscalar(value) else type_name(value)
    return f"{type_name(value)} of shape {shape_str(shape)}"


# ---------------------------------------------------------------------------------------------
# sizes
# ---------------------------------------------------------------------------------------------


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer; raise otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be a positive int, got {describe(value)}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {name}={value}")
    return int(value)


def check_optional_positive_int(value, name: str) -> int | None:
    """Like :func:`check_positive_int`, but ``None`` is allowed and returned as is."""
    return None if value is None else check_positive_int(value, name)


def divisors(n: int) -> list[int]:
    """All positive divisors of ``n`` in order, e.g. ``divisors(10) == [1, 2, 5, 10]``."""
    return [d for d in range(1, n + 1) if n % d == 0]


def check_heads_divide(d_model: int, num_heads: int) -> int:
    """Return ``d_head = d_model // num_heads``; raise unless ``num_heads`` divides ``d_model``."""
    if d_model % num_heads != 0:
        raise ValueError(
            f"d_model={d_model} is not divisible by num_heads={num_heads}; "
            f"choose num_heads from {divisors(d_model)}"
        )
    return d_model // num_heads


# ---------------------------------------------------------------------------------------------
# numpy arrays
# ---------------------------------------------------------------------------------------------


def as_float_array(x, name: str) -> np.ndarray:
    """Convert ``x`` to a float32 or float64 numpy array.

    float32 and float64 arrays are kept as they are; python numbers, lists and integer arrays
    become float64; float16 becomes float32. bool, complex, object, string and other dtypes
    raise ``TypeError`` naming the argument.
    """
    if _is_torch_tensor(x):
        raise TypeError(
            f"{name} must be a numpy array, got {describe(x)}; "
            f"use {name}.detach().numpy(), or the torch module mha_lib.MultiHeadAttention"
        )
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:  # e.g. ragged nested lists
        raise TypeError(
            f"{name} must be an array of real numbers, got {describe(x)}: {error}"
        ) from error
    kind = array.dtype.kind
    if kind == "f":
        if array.dtype in (np.float32, np.float64):
            return array
        return array.astype(np.float32 if array.dtype.itemsize < 4 else np.float64)
    if kind in "iu":
        return array.astype(np.float64)
    raise TypeError(
        f"{name} must be an array of real numbers (float32 or float64), "
        f"got dtype {array.dtype} with shape {shape_str(array.shape)}"
    )


def check_ndim(shape, name: str, min_ndim: int, layout: str) -> None:
    """Raise unless ``shape`` has at least ``min_ndim`` dims; ``layout`` shows the expected ones."""
    if len(shape) < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions {layout}, "
            f"got {name}.shape={shape_str(shape)}"
        )


def check_finite(array: np.ndarray, name: str, *, allow_neg_inf: bool = False) -> None:
    """Raise ``ValueError`` if ``array`` holds NaN or infinity (``-inf`` allowed on request)."""
    if allow_neg_inf:
        bad = np.isnan(array) | np.isposinf(array)
        what = "NaN or +inf"
    else:
        bad = ~np.isfinite(array)
        what = "NaN or inf"
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains {what} (first at index {first}: {array[first]}); "
            f"{name}.shape={shape_str(array.shape)}"
        )


def check_nonempty_sequence(shape, name: str, length_name: str) -> None:
    """Raise ``ValueError`` if the sequence axis (second to last) of ``shape`` has length 0."""
    if shape[-2] == 0:
        raise ValueError(
            f"{name} is an empty sequence ({length_name}=0, {name}.shape={shape_str(shape)}); "
            "attention needs at least one query and one key"
        )


def check_nonzero_width(shape, name: str) -> None:
    """Raise ``ValueError`` if the feature axis (last) of ``shape`` has width 0."""
    if shape[-1] == 0:
        raise ValueError(f"{name} has width 0 ({name}.shape={shape_str(shape)})")


def broadcast_batch_shapes(named_shapes: dict[str, tuple]) -> tuple:
    """Broadcast the leading (batch) dims of several shapes; raise naming them all if impossible.

    ``named_shapes`` maps an argument name to its full shape; the last two axes (sequence and
    features) are excluded from broadcasting.
    """
    batch_shapes = [tuple(shape[:-2]) for shape in named_shapes.values()]
    try:
        return np.broadcast_shapes(*batch_shapes)
    except ValueError:
        listing = ", ".join(f"{name}.shape={shape_str(s)}" for name, s in named_shapes.items())
        raise ValueError(
            f"the leading (batch) dimensions do not broadcast: {listing}; "
            "all dimensions before (seq_len, width) must be equal or 1"
        ) from None


# ---------------------------------------------------------------------------------------------
# masks (shape and dtype only, so numpy and torch share them)
# ---------------------------------------------------------------------------------------------


def check_mask_dtype(is_bool: bool, dtype, shape, fix: str) -> None:
    """Raise unless the mask is bool; ``fix`` suggests a conversion, e.g. ``mask.astype(bool)``."""
    if not is_bool:
        raise ArgumentTypeError(
            f"mask must be bool, True = may attend; got dtype {dtype} — did you mean {fix}? "
            f"(mask.shape={shape_str(shape)})"
        )


def check_mask_shape(mask_shape, weights_shape, weights_layout: str) -> None:
    """Raise unless ``mask_shape`` broadcasts to ``weights_shape`` without enlarging it."""
    try:
        ok = np.broadcast_shapes(tuple(mask_shape), tuple(weights_shape)) == tuple(weights_shape)
    except ValueError:
        ok = False
    if not ok:
        hint = ""
        if "num_heads" in weights_layout and len(mask_shape) == len(weights_shape) - 1 >= 3:
            hint = "; for a per-batch mask (batch, T_q, T_k) add the heads axis: mask[:, None]"
        raise ValueError(
            f"mask.shape={shape_str(mask_shape)} does not broadcast to the attention weights' "
            f"shape {shape_str(weights_shape)} {weights_layout}{hint}"
        )


def _is_torch_tensor(x) -> bool:
    """True if ``x`` is a torch tensor (without importing torch)."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def as_bool_mask(mask, weights_shape, weights_layout: str) -> np.ndarray:
    """Check a numpy mask (bool, True = may attend) against the weights' shape and return it."""
    if _is_torch_tensor(mask):
        raise TypeError(f"mask must be a numpy array, got {describe(mask)}; use mask.numpy()")
    array = np.asarray(mask)
    check_mask_dtype(array.dtype == np.bool_, array.dtype, array.shape, "mask.astype(bool)")
    check_mask_shape(array.shape, weights_shape, weights_layout)
    return array
