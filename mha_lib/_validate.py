"""Argument checks for mha_lib, and every message they raise (private).

Each public function calls one checker from the last section at the top, then computes with
unchecked private helpers. A mistake ends in a ``ValueError`` or ``TypeError`` whose message
names the argument and shows its shape, never in a raw numpy/torch broadcasting error or a
silent NaN. The checks work on shapes, dtypes and numpy arrays; nothing here imports torch
(tensors are recognised by duck typing), so the numpy reference and the torch module share
the same messages.
"""

from __future__ import annotations

import numbers

import numpy as np


class ArgumentTypeError(TypeError, ValueError):
    """A wrong type that is also a wrong value (a float mask, a float ``num_heads``).

    It subclasses both ``TypeError`` and ``ValueError`` (like numpy's ``AxisError``, which is
    both a ``ValueError`` and an ``IndexError``), so callers may catch either.
    """


# ---------------------------------------------------------------------------------------------
# describing values in messages
# ---------------------------------------------------------------------------------------------


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


def _is_torch_tensor(x) -> bool:
    """True if ``x`` is a torch tensor (without importing torch)."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


# ---------------------------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------------------------


def check_type(value, cls, name: str, expected: str) -> None:
    """Raise ``TypeError`` unless ``value`` is a ``cls``; ``expected`` names it in the message."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")


def check_positive_int(value, name: str, meaning: str = "", context: str = "") -> int:
    """Return ``value`` as an ``int`` if it is a positive integer; raise otherwise. The
    message says what the number means (``meaning``, in parentheses) and ends with
    ``context`` (e.g. the shapes it applies to)."""
    what = f"{name} must be a positive int" + (f" ({meaning})" if meaning else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{what}, got {describe(value)}{context}")
    if value <= 0:
        raise ValueError(f"{what}, got {name}={value}{context}")
    return int(value)


def check_optional_positive_int(value, name: str) -> int | None:
    """Like :func:`check_positive_int`, but ``None`` is allowed and returned as is."""
    return None if value is None else check_positive_int(value, name)


def check_bool(value, name: str) -> bool:
    """Return ``value`` if it is True or False (numpy's bool too); raise ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return bool(value)


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


def check_float_dtype(dtype) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64; raise ``TypeError`` otherwise."""
    try:
        resolved = None if dtype is None else np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.float32, np.float64):
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dtype!r}")
    return resolved


def as_float_array(x, name: str) -> np.ndarray:
    """Convert ``x`` to a float32 or float64 numpy array.

    float32 and float64 arrays are kept as they are; python numbers, lists and integer arrays
    become float64; float16 becomes float32. bool, complex, object, string and other dtypes
    raise ``TypeError`` naming the argument, and so does a torch tensor.
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


def float_array(x, name: str, layout: str, min_ndim: int = 2) -> np.ndarray:
    """``x`` as a finite float array with at least ``min_ndim`` dims (``layout`` names them)."""
    array = as_float_array(x, name)
    check_ndim(array.shape, name, min_ndim, layout)
    check_finite(array, name)
    return array


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


def check_width(name: str, shape, expected: int, by: str, by_shape_name: str, by_shape) -> None:
    """Raise unless the last axis of ``shape`` is ``expected`` wide, as ``by`` needs."""
    if len(shape) < 1 or shape[-1] != expected:
        width = shape[-1] if len(shape) else None
        raise ValueError(
            f"{name} has width {width} ({name}.shape={shape_str(shape)}) but {by} expects "
            f"{expected} ({by_shape_name}.shape={shape_str(by_shape)})"
        )


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


def check_mask(mask, weights_shape, weights_layout: str, *, torch: bool = False):
    """Return ``mask`` if it is a bool array (a bool tensor if ``torch``) that broadcasts to
    ``weights_shape`` without enlarging it (True = may attend); raise naming it otherwise."""
    if torch and not _is_torch_tensor(mask):
        raise TypeError(f"mask must be a torch.Tensor, got {describe(mask)}")
    if not torch:
        if _is_torch_tensor(mask):
            raise TypeError(f"mask must be a numpy array, got {describe(mask)}; use mask.numpy()")
        mask = np.asarray(mask)
    if str(mask.dtype) not in ("bool", "torch.bool"):
        fix = "mask.bool()" if torch else "mask.astype(bool)"
        raise ArgumentTypeError(
            f"mask must be bool, True = may attend; got dtype {mask.dtype} — did you mean {fix}? "
            f"(mask.shape={shape_str(mask.shape)})"
        )
    try:
        fits = np.broadcast_shapes(tuple(mask.shape), weights_shape) == weights_shape
    except ValueError:
        fits = False
    if not fits:
        hint = ""
        if "num_heads" in weights_layout and mask.ndim == len(weights_shape) - 1 >= 3:
            hint = "; for a per-batch mask (batch, T_q, T_k) add the heads axis: mask[:, None]"
        raise ValueError(
            f"mask.shape={shape_str(mask.shape)} does not broadcast to the attention weights' "
            f"shape {shape_str(weights_shape)} {weights_layout}{hint}"
        )
    return mask


def sequences_and_mask(shapes: dict, mask, heads: tuple, layout: str, torch: bool = False):
    """Queries, keys and values (``shapes``: three ``name: shape`` in that order) that
    attention can use: one value per key, non-empty, batch dims that broadcast. Returns
    ``mask`` checked against the weights' shape ``(*batch, *heads, T_q, T_k)``."""
    (q_name, q_shape), (k_name, k_shape), (v_name, v_shape) = shapes.items()
    if k_shape[-2] != v_shape[-2]:
        raise ValueError(
            f"{k_name} and {v_name} must have the same length T_k (one value per key), got "
            f"{k_name}.shape={shape_str(k_shape)} and {v_name}.shape={shape_str(v_shape)}"
        )
    check_nonempty_sequence(q_shape, q_name, "T_q")
    check_nonempty_sequence(k_shape, k_name, "T_k")
    batch_shape = broadcast_batch_shapes(shapes)
    if mask is None:
        return None
    weights_shape = (*batch_shape, *heads, q_shape[-2], k_shape[-2])
    return check_mask(mask, weights_shape, layout, torch=torch)


def overflow_error(result: str, **shapes) -> ValueError:
    """The error for a result that overflowed to inf although every input was finite."""
    listing = ", ".join(f"{name}.shape={shape_str(shape)}" for name, shape in shapes.items())
    return ValueError(f"{result} overflowed to inf: the inputs are too large ({listing})")


# ---------------------------------------------------------------------------------------------
# one checker per public function: returns the arguments ready to compute with
# ---------------------------------------------------------------------------------------------


def check_tokens(tokens, vocab=None) -> None:
    """``build_vocab``, ``encode``: a list of str tokens, each in ``vocab`` if one is given."""
    if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
        raise TypeError("tokens must be a list of str (did you pass the sentence itself?)")
    missing = [t for t in tokens if vocab is not None and t not in vocab]
    if missing:
        raise KeyError(
            f"tokens {missing!r} are not in vocab (vocab has {len(vocab)} entries: "
            f"{sorted(vocab)[:12]}{' ...' if len(vocab) > 12 else ''})"
        )


def embed_args(token_ids, table) -> tuple[np.ndarray, np.ndarray]:
    """``embed``: int ids ``(seq_len,)`` that index the rows of table ``(vocab_size, d_model)``."""
    table = np.asarray(table)
    ids = np.asarray(token_ids)
    if table.ndim != 2:
        raise ValueError(
            f"table must be 2-D (vocab_size, d_model), got table.shape={shape_str(table.shape)}"
        )
    if ids.dtype.kind not in "iu":
        raise TypeError(
            f"token_ids must be integers, got dtype {ids.dtype} (shape {shape_str(ids.shape)})"
        )
    vocab_size = table.shape[0]
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"token_ids must lie in [0, {vocab_size}) for table.shape={shape_str(table.shape)}; "
            f"got values from {ids.min()} to {ids.max()}"
        )
    return ids, table


def softmax_args(x, axis) -> tuple[np.ndarray, int]:
    """``softmax``: scores as a float array (``-inf`` allowed), ``axis`` an int in range."""
    x = as_float_array(x, "x")
    check_finite(x, "x", allow_neg_inf=True)
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {type(axis).__name__} {axis!r}")
    if x.ndim == 0:
        raise ValueError("x must have at least 1 dimension, got a scalar (x.shape=())")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(
            f"axis={axis} is out of range for x with x.shape={shape_str(x.shape)} "
            f"(valid: {-x.ndim} to {x.ndim - 1})"
        )
    return x, int(axis)


def padding_mask_args(lengths, max_len) -> tuple[np.ndarray, int]:
    """``padding_mask``: one int length in ``[1, max_len]`` per sequence."""
    max_len = check_positive_int(max_len, "max_len")
    array = np.asarray(lengths)
    if array.size == 0:
        raise ValueError("lengths is empty: give one length per sequence in the batch")
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise TypeError(
            f"lengths must be a 1-D sequence of ints (one per sequence), got "
            f"dtype {array.dtype} and shape {shape_str(array.shape)}"
        )
    if array.min() < 1 or array.max() > max_len:
        raise ValueError(
            f"every length must lie in [1, max_len={max_len}], got lengths from "
            f"{array.min()} to {array.max()} (lengths.shape={shape_str(array.shape)})"
        )
    return array, max_len


def scores_args(q, k) -> tuple[np.ndarray, np.ndarray]:
    """``attention_scores``: q ``(..., T_q, d_k)`` and k ``(..., T_k, d_k)``."""
    q, k = _queries_and_keys(q, k)
    broadcast_batch_shapes({"q": q.shape, "k": k.shape})
    return q, k


def attention_args(q, k, v, mask):
    """``scaled_dot_product_attention``: q, k, v arrays and a mask for the weights' shape."""
    q, k = _queries_and_keys(q, k)
    v = float_array(v, "v", "(..., T_k, d_v)")
    check_nonzero_width(v.shape, "v")
    shapes = {"q": q.shape, "k": k.shape, "v": v.shape}
    mask = sequences_and_mask(shapes, mask, (), "(..., T_q, T_k)")
    return q, k, v, mask


def _queries_and_keys(q, k) -> tuple[np.ndarray, np.ndarray]:
    """q and k as finite float arrays of the same width d_k > 0."""
    q = float_array(q, "q", "(..., T_q, d_k)")
    k = float_array(k, "k", "(..., T_k, d_k)")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must have the same width d_k, got q.shape={shape_str(q.shape)} "
            f"and k.shape={shape_str(k.shape)}"
        )
    check_nonempty_sequence(q.shape, "q", "T_q")
    check_nonempty_sequence(k.shape, "k", "T_k")
    check_nonzero_width(q.shape, "q")
    return q, k


def split_heads_args(x, num_heads) -> tuple[np.ndarray, int]:
    """``split_heads``: x ``(..., seq_len, d_model)`` and a num_heads that divides d_model."""
    x = float_array(x, "x", "(..., seq_len, d_model)")
    num_heads = check_positive_int(num_heads, "num_heads")
    check_heads_divide(x.shape[-1], num_heads)
    return x, num_heads


def merge_heads_args(x) -> np.ndarray:
    """``merge_heads``: x ``(..., num_heads, seq_len, d_head)``."""
    return float_array(x, "x", "(..., num_heads, seq_len, d_head)", min_ndim=3)


def linear_args(x, w, b):
    """``linear``: x ``(..., d_in)``, w ``(d_in, d_out)``, b ``(d_out,)`` or None."""
    x = float_array(x, "x", "(..., d_in)", min_ndim=1)
    w = as_float_array(w, "w")
    if w.ndim != 2:
        raise ValueError(f"w must be 2-D (d_in, d_out), got w.shape={shape_str(w.shape)}")
    check_width("x", x.shape, w.shape[0], "w", "w", w.shape)
    if b is not None:
        b = as_float_array(b, "b")
        if b.shape != (w.shape[1],):
            raise ValueError(
                f"b must have shape ({w.shape[1]},) to match w.shape={shape_str(w.shape)}, "
                f"got b.shape={shape_str(b.shape)}"
            )
    return x, w, b


def project_qkv_args(query, key, value, params, params_type):
    """``project_qkv``: an MHAParams, and query, key, value as wide as its w_q, w_k, w_v."""
    check_type(params, params_type, "params", "an MHAParams")
    return _qkv_arrays(query, key, value, params, min_ndim=1)


def mha_args(query, key, value, params, params_type, num_heads, mask):
    """``multi_head_attention``: the inputs :func:`project_qkv_args` checks, as sequences
    attention can use; ``num_heads`` dividing ``d_model``; a mask for the weights' shape."""
    check_type(params, params_type, "params", "an MHAParams")
    num_heads = check_positive_int(num_heads, "num_heads")
    check_heads_divide(params.d_model, num_heads)
    query, key, value = _qkv_arrays(query, key, value, params, min_ndim=2)
    shapes = {"query": query.shape, "key": key.shape, "value": value.shape}
    mask = sequences_and_mask(shapes, mask, (num_heads,), "(..., num_heads, T_q, T_k)")
    return query, key, value, num_heads, mask


def _qkv_arrays(query, key, value, params, min_ndim: int) -> list[np.ndarray]:
    """query, key, value as finite float arrays as wide as params.w_q, w_k, w_v expect."""
    inputs = {
        "query": (query, "w_q", "(..., T_q, d_query_in)"),
        "key": (key, "w_k", "(..., T_k, d_key_in)"),
        "value": (value, "w_v", "(..., T_k, d_value_in)"),
    }
    arrays = []
    for name, (x, w_name, layout) in inputs.items():
        x = float_array(x, name, layout, min_ndim)
        w_shape = getattr(params, w_name).shape  # (d_in, d_model)
        check_width(name, x.shape, w_shape[0], f"params.{w_name}", w_name, w_shape)
        arrays.append(x)
    return arrays


def module_args(module, query, key, value, mask):
    """``MultiHeadAttention.forward``: float tensors in the module's dtype, all batched
    ``(batch, seq_len, width)`` or all unbatched ``(seq_len, width)``, as wide as the module's
    ``q_proj``, ``k_proj``, ``v_proj`` expect; a bool mask for the weights' shape."""
    weight_dtype = module.q_proj.weight.dtype
    for name, x in (("query", query), ("key", key), ("value", value)):
        if not _is_torch_tensor(x):
            raise TypeError(f"{name} must be a torch.Tensor, got {describe(x)}")
        if not x.is_floating_point():
            raise TypeError(
                f"{name} must be a floating point tensor, got dtype {x.dtype} "
                f"with shape {shape_str(x.shape)}"
            )
        if x.dtype != weight_dtype:
            raise TypeError(
                f"{name} has dtype {x.dtype} but the module's weights are {weight_dtype} "
                f"({name}.shape={shape_str(x.shape)}); convert one of them, e.g. "
                f"{name}.to({weight_dtype}) or module.to({x.dtype})"
            )
        if x.dim() not in (2, 3):
            raise ValueError(
                f"{name} must be (batch, seq_len, width) or unbatched (seq_len, width), "
                f"got {name}.shape={shape_str(x.shape)}"
            )
        layer = f"{name[0]}_proj"
        w_shape = getattr(module, layer).weight.shape  # (d_model, d_in)
        check_width(name, x.shape, w_shape[1], layer, f"{layer}.weight", w_shape)
    shapes = {"query": query.shape, "key": key.shape, "value": value.shape}
    if not query.dim() == key.dim() == value.dim():
        listing = ", ".join(f"{name}.shape={shape_str(s)}" for name, s in shapes.items())
        raise ValueError(
            f"query, key and value must all be batched (3-D) or all unbatched (2-D), got {listing}"
        )
    layout = "(batch, num_heads, T_q, T_k)" if query.dim() == 3 else "(num_heads, T_q, T_k)"
    return sequences_and_mask(shapes, mask, (module.num_heads,), layout, torch=True)


def params_arrays(arrays: dict, weights: tuple[str, ...], biases: tuple[str, ...]) -> dict:
    """``MHAParams(...)``: the weights ``(d_in, d_model)``, ``w_o (d_model, d_model)`` and
    biases ``(d_model,)`` or None, as finite read-only copies sharing one float dtype."""
    checked = {}
    for name in weights + biases:
        value = arrays[name]
        if value is None and name in biases:
            continue
        if value is None:
            raise TypeError(f"{name} must be an array, got None")
        checked[name] = as_float_array(value, name)
    dtype = np.result_type(*checked.values())
    for name, array in checked.items():
        array = np.array(array, dtype=dtype, copy=True)
        check_finite(array, name)
        array.setflags(write=False)
        checked[name] = array
    for name in weights:
        if checked[name].ndim != 2:
            raise ValueError(
                f"{name} must be 2-D (d_in, d_model), "
                f"got {name}.shape={shape_str(checked[name].shape)}"
            )
    w_q = checked["w_q"]
    d_model = w_q.shape[1]
    if d_model == 0:
        raise ValueError(f"d_model must be positive, got w_q.shape={shape_str(w_q.shape)}")
    for name in ("w_k", "w_v"):
        if checked[name].shape[1] != d_model:
            raise ValueError(
                f"{name} must have d_model={d_model} columns like w_q, got "
                f"{name}.shape={shape_str(checked[name].shape)} (w_q.shape={shape_str(w_q.shape)})"
            )
    if checked["w_o"].shape != (d_model, d_model):
        raise ValueError(
            f"w_o must have shape (d_model, d_model)={shape_str((d_model, d_model))}, got "
            f"w_o.shape={shape_str(checked['w_o'].shape)}"
        )
    for name in biases:
        if name in checked and checked[name].shape != (d_model,):
            raise ValueError(
                f"{name} must have shape (d_model,)=({d_model},) or be None, got "
                f"{name}.shape={shape_str(checked[name].shape)}"
            )
    return {name: checked.get(name) for name in weights + biases}


def torch_mha_args(m, torch_mha_type) -> None:
    """``MHAParams.from_torch``: a ``torch.nn.MultiheadAttention`` without the extras that
    MHAParams cannot hold."""
    check_type(m, torch_mha_type, "m", "a torch.nn.MultiheadAttention")
    if m.bias_k is not None or m.bias_v is not None:
        raise ValueError("add_bias_kv=True is unsupported: MHAParams has no bias_k, bias_v")
    if m.add_zero_attn:
        raise ValueError("add_zero_attn=True is unsupported: MHAParams has no zero attention")


def module_params_args(params, params_type) -> None:
    """``MultiHeadAttention.from_params``: an MHAParams the module can hold."""
    check_type(params, params_type, "params", "an MHAParams")
    if params.d_query_in != params.d_model:
        raise ValueError(
            f"the module needs d_query_in == d_model, got params.w_q.shape="
            f"{shape_str(params.w_q.shape)}"
        )
    biases = (params.b_q, params.b_k, params.b_v, params.b_o)
    if len({b is None for b in biases}) != 1:
        raise ValueError("from_params needs all four biases present or all None")


# ---------------------------------------------------------------------------------------------
# lesson 10: heads that specialise (mha_lib.specialise) and a pretrained model (mha_lib.pretrained)
# ---------------------------------------------------------------------------------------------


def make_batch_args(batch_size, generator, seq_len, vocab_size, generator_type):
    """``make_batch``: positive ints (``seq_len >= 3``, ``vocab_size >= 2``), a torch.Generator."""
    batch_size = check_positive_int(batch_size, "batch_size")
    check_type(generator, generator_type, "generator", "a seeded torch.Generator")
    seq_len = check_positive_int(seq_len, "seq_len")
    vocab_size = check_positive_int(vocab_size, "vocab_size")
    if seq_len < 3:
        raise ValueError(
            f"seq_len must be at least 3 (a previous token that is not the first), got {seq_len}"
        )
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be at least 2, got {vocab_size}")
    return batch_size, seq_len, vocab_size


def pattern_weights(weights) -> np.ndarray:
    """``pattern_mass``: attention weights ``(..., num_heads, T, T)`` with ``T >= 3``, as numpy."""
    if _is_torch_tensor(weights):
        weights = weights.detach().cpu().numpy()
    weights = float_array(weights, "weights", "(..., num_heads, T, T)", min_ndim=3)
    if weights.shape[-1] != weights.shape[-2] or weights.shape[-1] < 3:
        raise ValueError(
            "weights must be self-attention weights (..., num_heads, T, T) with T >= 3, "
            f"got weights.shape={shape_str(weights.shape)}"
        )
    return weights


def pretrained_layer(layer, num_layers: int) -> int:
    """``load_attention_layer``, ``layer_inputs``: a layer index in ``0 .. num_layers - 1``."""
    if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, numbers.Integral):
        raise ArgumentTypeError(
            f"layer must be an int from 0 to {num_layers - 1}, got {describe(layer)}"
        )
    if not 0 <= layer < num_layers:
        raise ValueError(
            f"layer must be from 0 to {num_layers - 1} (the model has {num_layers} layers), "
            f"got layer={layer}"
        )
    return int(layer)


def pretrained_text(text) -> str:
    """``layer_inputs``: a non-empty str (one sentence or a few)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {describe(text)}")
    if not text.strip():
        raise ValueError(f"text must contain at least one word, got text={text!r}")
    return text


def flash_args(q, k, v, mask, block_size):
    """``flash_attention``: what :func:`attention_args` checks, and a tile size
    ``block_size`` that is a positive int (it may exceed T_q and T_k: one tile then)."""
    q, k, v, mask = attention_args(q, k, v, mask)
    shapes = f" (q.shape={shape_str(q.shape)}, k.shape={shape_str(k.shape)})"
    block_size = check_positive_int(block_size, "block_size", "rows and columns per tile", shapes)
    return q, k, v, mask, block_size


# ---------------------------------------------------------------------------------------------
# lesson 12: sliding windows, grouped-query attention and the KV cache (mha_lib.gqa)
# ---------------------------------------------------------------------------------------------


def sliding_window_args(seq_len, window) -> tuple[int, int]:
    """``sliding_window_mask``: a positive int length and a positive int window (it may
    exceed the length: the mask is then the causal mask)."""
    seq_len = check_positive_int(seq_len, "seq_len")
    meaning = "how many positions a query sees, itself included"
    return seq_len, check_positive_int(window, "window", meaning, f" (seq_len={seq_len})")


def check_kv_heads_divide(num_heads: int, num_kv_heads: int) -> int:
    """Return ``num_heads // num_kv_heads`` (query heads per key/value head); raise unless
    ``num_kv_heads`` divides ``num_heads``."""
    if num_heads % num_kv_heads != 0:
        raise ValueError(
            f"num_heads={num_heads} is not divisible by num_kv_heads={num_kv_heads}: every "
            f"key/value head serves the same number of query heads; choose num_kv_heads from "
            f"{divisors(num_heads)}"
        )
    return num_heads // num_kv_heads


def gqa_module_args(d_model, num_heads, num_kv_heads, bias) -> tuple[int, int, int, int, bool]:
    """``GroupedQueryAttention(...)``: positive ints with ``num_heads | d_model`` and
    ``num_kv_heads | num_heads``. Returns d_model, num_heads, num_kv_heads, d_head, bias."""
    d_model = check_positive_int(d_model, "d_model")
    num_heads = check_positive_int(num_heads, "num_heads")
    num_kv_heads = check_positive_int(num_kv_heads, "num_kv_heads")
    d_head = check_heads_divide(d_model, num_heads)
    check_kv_heads_divide(num_heads, num_kv_heads)
    return d_model, num_heads, num_kv_heads, d_head, check_bool(bias, "bias")


def kv_cache_args(window) -> int | None:
    """``KVCache(window=None)``: None (keep every position) or a positive int."""
    if window is None:
        return None
    return check_positive_int(window, "window", "the positions kept, or None for all")


def gqa_forward_args(module, x, mask, cache, cache_type):
    """``GroupedQueryAttention.forward``: x a float tensor ``(batch, seq_len, d_model)`` in the
    module's dtype; a cache of this module's shapes (or None); a bool mask for the weights'
    shape ``(batch, num_heads, seq_len, T_k)``, where ``T_k`` counts the cached positions too."""
    weight_dtype = module.q_proj.weight.dtype
    if not _is_torch_tensor(x):
        raise TypeError(f"x must be a torch.Tensor, got {describe(x)}")
    if not x.is_floating_point():
        raise TypeError(
            f"x must be a floating point tensor, got dtype {x.dtype} with shape {shape_str(x.shape)}"
        )
    if x.dtype != weight_dtype:
        raise TypeError(
            f"x has dtype {x.dtype} but the module's weights are {weight_dtype} "
            f"(x.shape={shape_str(x.shape)}); convert one of them, e.g. x.to({weight_dtype}) "
            f"or module.to({x.dtype})"
        )
    if x.dim() != 3:
        raise ValueError(
            f"x must be (batch, seq_len, d_model) (batch first), got x.shape={shape_str(x.shape)}"
        )
    w_shape = module.q_proj.weight.shape  # (d_model, d_model)
    check_width("x", x.shape, w_shape[1], "q_proj", "q_proj.weight", w_shape)
    check_nonempty_sequence(x.shape[1:], "x", "seq_len")
    cached = 0
    if cache is not None:
        check_type(cache, cache_type, "cache", "an mha_lib.KVCache (or None)")
        cached = len(cache)
        if cached:
            want = (x.shape[0], module.num_kv_heads, module.d_head)
            have = cache.keys.shape  # (batch, num_kv_heads, len(cache), d_head)
            if (have[0], have[1], have[3]) != want:
                raise ValueError(
                    f"cache holds keys of shape {shape_str(have)} = (batch, num_kv_heads, "
                    f"len(cache), d_head), which do not fit x.shape={shape_str(x.shape)} and "
                    f"this module (num_kv_heads={module.num_kv_heads}, d_head={module.d_head}); "
                    "use one KVCache per module and per batch"
                )
            if cache.keys.dtype != x.dtype:
                raise TypeError(
                    f"cache holds {cache.keys.dtype} keys but x has dtype {x.dtype} "
                    f"(x.shape={shape_str(x.shape)}); start a new KVCache"
                )
    if mask is None:
        return None
    weights_shape = (x.shape[0], module.num_heads, x.shape[1], cached + x.shape[1])
    return check_mask(mask, weights_shape, "(batch, num_heads, T_q, T_k)", torch=True)


def repeat_kv_args(x, n_rep) -> int:
    """``repeat_kv``: x a tensor ``(batch, num_kv_heads, seq_len, d_head)``, n_rep a positive int."""
    if not _is_torch_tensor(x):
        raise TypeError(f"x must be a torch.Tensor, got {describe(x)}")
    if x.dim() != 4:
        raise ValueError(
            f"x must be 4-D (batch, num_kv_heads, seq_len, d_head), got x.shape={shape_str(x.shape)}"
        )
    meaning = "query heads per key/value head"
    return check_positive_int(n_rep, "n_rep", meaning, f" (x.shape={shape_str(x.shape)})")
