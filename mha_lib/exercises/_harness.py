"""What every checker shares (private): one driver that runs a checker's cases, mistake tables,
running the learner's code safely, reading what it returned, and phrasing numbers for messages.

A checker is data (:class:`Checker`): its cases, a reference built on the library with one
switch per mistake, and tables of :class:`Mistake` rows (key, switches, message). The driver
calls the learner on each case, compares with the reference, and at the first difference names
the first row whose variant the learner's result equals, or falls back to a message that
quotes the largest difference. Nothing the learner's code does (raise, warn, return garbage)
escapes as an exception.
"""

from __future__ import annotations

import dataclasses
import linecache
import math
import numbers
import re
import traceback
import warnings
from collections.abc import Callable
from typing import NoReturn

import numpy as np

from .result import CheckResult

RTOL = 1e-4  # loose enough for float32 and torch learners, far below any real mistake
ATOL = 1e-5
MAX_QUOTED_TEXT = 160  # longest piece of the learner's own text (error message, code line) quoted
LARGEST_RESULT = 10_000_000  # elements; anything bigger is reported by shape without converting


class Verdict(Exception):
    """Stops a checker at the first problem; carries the result and the table row, if any."""

    def __init__(self, result: CheckResult, row: str | None = None):
        super().__init__(result.message)
        self.result = result
        self.row = row


def fail(mistake: str | None, message: str, row: str | None = None) -> NoReturn:
    """End the check as not passed, with a catalogue key (or None) and a message."""
    raise Verdict(CheckResult(passed=False, mistake=mistake, message=message), row)


def run_check(steps, *args) -> CheckResult:
    """Run ``steps(*args)``, which returns the success message or calls :func:`fail`."""
    return explain(steps, *args)[0]


def explain(steps, *args) -> tuple[CheckResult, str | None]:
    """:func:`run_check`, plus the label of the table row that named the mistake (for tests).

    numpy floating-point warnings and Python warnings are silenced (a learner's overflow is
    diagnosed, not printed). Anything unexpected becomes a not-passed result, never an
    exception — except KeyboardInterrupt and SystemExit, which the learner asked for.
    """
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return CheckResult(passed=True, mistake=None, message=steps(*args)), None
        except Verdict as verdict:
            return verdict.result, verdict.row
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # noqa: BLE001 - never raise at the learner
            message = (
                f"The checker could not finish: it hit {describe_exception(error)} while "
                "reading your result. Make sure your function returns plain numpy arrays "
                "(or torch tensors); if it does, please tell the course authors."
            )
            return CheckResult(passed=False, mistake=None, message=message), None


# ---------------------------------------------------------------------------------------------
# a checker as data, and its mistake tables
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mistake:
    """One row of a mistake table: what the mistake produces, and how to explain it.

    Attributes:
        key: the catalogue key reported in ``CheckResult.mistake``.
        message: ``message(got, case) -> str``, the explanation with the learner's numbers.
        variant: switches of the checker's reference that reproduce the mistake; the row
            matches when the learner's result equals ``reference(case, **variant)``.
        test: instead of a variant, ``test(got, case, fn) -> bool`` (e.g. "NaN where the
            reference is finite", or a probe that calls the learner's function again).
        name: a unique name for the row (default: the key); tests plant every row by name.
        evident_in: for a result with several outputs, the index of one that shows this
            mistake on its own; a second pass matches on that output alone, so the mistake is
            still named when another mistake also changes the other outputs.
    """

    key: str
    message: Callable
    variant: dict | None = None
    test: Callable | None = None
    name: str = ""
    evident_in: int | None = None

    @property
    def label(self) -> str:
        return self.name or self.key


def outputs(value) -> tuple:
    """A result as a tuple of its outputs (a single array becomes a 1-tuple)."""
    return value if isinstance(value, tuple) else (value,)


def same_shapes(got, expected) -> bool:
    """Every output the learner returned (None = not returned) has the expected shape."""
    return all(g is None or g.shape == e.shape for g, e in zip(outputs(got), outputs(expected)))


def all_close(got, expected) -> bool:
    """Every output the learner returned equals the expected one (see :func:`close`)."""
    return all(g is None or close(g, e) for g, e in zip(outputs(got), outputs(expected)))


def same_as_variant(got, wrong, only: int | None = None) -> bool:
    """Like :func:`all_close`, but NaN matches where the variant has NaN (a mistake may make
    NaN); ``only``: compare that output alone."""
    pairs = list(zip(outputs(got), outputs(wrong)))
    if only is not None:
        pairs = [pairs[only]]
    return all(
        g is None
        or (g.shape == w.shape and bool(np.allclose(g, w, rtol=RTOL, atol=ATOL, equal_nan=True)))
        for g, w in pairs
    )


def recognise(table, got, reference, case, fn) -> Mistake | None:
    """The first row of ``table`` that the learner's result ``got`` matches, else None."""

    def variant(row):
        try:
            return reference(case, **row.variant)
        except (IndexError, ValueError):  # the mistake cannot happen with these shapes
            return None

    for row in table:
        if row.test is not None:
            if row.test(got, case, fn):
                return row
            continue
        wrong = variant(row)
        if wrong is not None and same_as_variant(got, wrong):
            return row
    expected = reference(case)
    for row in table:  # a mistake that shows in one output, whatever the others hold
        index = row.evident_in
        if index is None or got[index] is None:
            continue
        wrong = variant(row)
        if (
            wrong is not None
            and same_as_variant(got, wrong, only=index)
            and not same_as_variant(expected, wrong, only=index)  # it shows in this case
        ):
            return row
    return None


def call_case(fn, case, memo):
    """The default way to run a case: ``fn(*case.args, **case.kwargs)``."""
    return call_learner(
        fn,
        *case.args,
        kwargs=getattr(case, "kwargs", None),
        inputs=case.inputs,
        after_success=case.hint,
    )


@dataclasses.dataclass(frozen=True)
class Checker:
    """A checker as data; calling it checks a learner's function and returns a CheckResult.

    Attributes:
        name, example: the public function's name and a call of it, for a wrong_type message.
        cases: ``cases() -> list``; each case has ``inputs`` (words), ``hint`` (what to say
            when it raises after earlier cases passed) and, for the default ``call``, ``args``.
        reference: ``reference(case, **switches)`` -> the expected array (or tuple of arrays);
            with no switches it is the library's answer.
        read: ``read(raw, case, expected)`` -> the learner's result in the same structure.
        shape_message: ``(got, case) -> str`` for a wrong shape that no row recognises.
        values_message: ``(got, case) -> (key, str)`` for wrong values no row recognises.
        passed: the success message.
        mistakes, shape_mistakes: tables of :class:`Mistake`, tried in order.
        call: ``call(fn, case, memo) -> raw`` (``memo`` lives for one check).
        note: ``note(case) -> str`` appended to a wrong-values message.
    """

    name: str
    example: str
    cases: Callable
    reference: Callable
    read: Callable
    shape_message: Callable
    values_message: Callable
    passed: str
    mistakes: tuple = ()
    shape_mistakes: tuple = ()
    call: Callable = call_case
    note: Callable | None = None

    def __call__(self, fn) -> CheckResult:
        return run_check(self.steps, fn)

    def steps(self, fn) -> str:
        require_callable(fn, self.name, self.example)
        memo = {}
        for case in self.cases():
            raw = self.call(fn, case, memo)
            expected = self.reference(case)
            got = self.read(raw, case, expected)
            if not same_shapes(got, expected):
                self._diagnose(self.shape_mistakes, got, case, fn, self.shape_message, "")
            if not all_close(got, expected):
                note = f" {self.note(case)}" if self.note else ""
                self._diagnose(self.mistakes, got, case, fn, self.values_message, note)
        return self.passed

    def _diagnose(self, table, got, case, fn, fallback, note) -> NoReturn:
        row = recognise(table, got, self.reference, case, fn)
        if row is not None:
            fail(row.key, row.message(got, case) + note, row.label)
        answer = fallback(got, case)
        key, message = answer if isinstance(answer, tuple) else ("wrong_shape", answer)
        fail(key, message + note)


# ---------------------------------------------------------------------------------------------
# calling the learner's code
# ---------------------------------------------------------------------------------------------


def require_callable(fn, checker_name: str, example: str) -> None:
    """Fail with ``wrong_type`` unless ``fn`` can be called."""
    if not callable(fn):
        fail(
            "wrong_type",
            f"{checker_name} needs your function itself, e.g. {example}; you passed "
            f"{describe_value(fn)}.",
        )


def call_learner(
    fn, *args, inputs: str, kwargs=None, after_success: str = "", action=None, on_raise=None
):
    """Call ``fn(*args, **kwargs)`` on copies of the arguments; a raise becomes ``raised``.

    Args:
        inputs: the inputs in words, e.g. "q of shape (5, 16) and k of shape (7, 16)".
        after_success: what to add when an earlier, simpler input worked (a hint at what the
            new input adds), else the generic "fix that error" advice is given.
        action: how to name the call in the message (default "Your function raised").
        on_raise: ``on_raise(error) -> (key, message) or None``, to name a mistake that shows
            as an exception (e.g. a broadcasting error from a forgotten keepdims).
    """
    args = tuple(_fresh_copy(a) for a in args)
    kwargs = {name: _fresh_copy(value) for name, value in (kwargs or {}).items()}
    try:
        return fn(*args, **kwargs)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # noqa: BLE001 - the learner's error is the diagnosis
        named = on_raise(error) if on_raise is not None else None
        if named is not None:
            fail(*named)
        fail("raised", raised_message(error, fn, inputs, after_success, action))


def quietly(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` on copies of the arguments, or None if it raises (for probes)."""
    try:
        return fn(*(_fresh_copy(a) for a in args), **kwargs)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - a probe that fails just answers "no"
        return None


def raised_message(error, fn, inputs: str, after_success: str = "", action=None) -> str:
    """The ``raised`` message: the exception, the learner's line when known, the inputs."""
    where = learner_line(error, fn)
    where = f" at `{where}`" if where else ""
    action = action or "Your function raised"
    advice = after_success or "Fix that error, then run the check again."
    return f"{action} {describe_exception(error)}{where} when called with {inputs}. {advice}"


def _fresh_copy(value):
    """A copy of an array argument, so a learner's in-place edit cannot change the checker's."""
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


def describe_exception(error: BaseException) -> str:
    """``"ValueError: the first line of its message"``, shortened, without memory addresses."""
    name = type(error).__name__
    text = " ".join(_safe_str(error).split())
    text = re.sub(r"0x[0-9a-fA-F]+", "0x…", text)  # addresses differ run to run (nbval)
    text = shorten(text)
    return f"{name}: {text}" if text else name


def learner_line(error: BaseException, fn) -> str:
    """The last line of the learner's own code in the traceback, or "" if unknown."""
    filenames = _learner_filenames(fn)
    if not filenames:
        return ""
    try:
        frames = traceback.extract_tb(error.__traceback__)
    except Exception:  # noqa: BLE001 - a broken traceback just means no line
        return ""
    for frame in reversed(frames):
        if frame.filename in filenames:
            line = frame.line or linecache.getline(frame.filename, frame.lineno or 0)
            return shorten(" ".join(str(line).split()))
    return ""


def _learner_filenames(fn) -> set[str]:
    """Files that hold the learner's code: the function's own, or a class's methods'."""
    candidates = [fn, getattr(fn, "__func__", None), getattr(fn, "forward", None)]
    if isinstance(fn, type):
        candidates += [vars(fn).get("__init__"), vars(fn).get("forward")]
    names = set()
    for candidate in candidates:
        code = getattr(getattr(candidate, "__func__", candidate), "__code__", None)
        filename = getattr(code, "co_filename", None)
        if isinstance(filename, str):
            names.add(filename)
    return names


def _safe_str(value) -> str:
    try:
        return str(value)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - an object whose __str__ fails says nothing
        return ""


def shorten(text: str, limit: int = MAX_QUOTED_TEXT) -> str:
    """Cut ``text`` to ``limit`` characters, ending with "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------------------------------
# reading what the learner returned
# ---------------------------------------------------------------------------------------------


def is_torch_tensor(value) -> bool:
    """True for a torch tensor, without importing torch."""
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def describe_value(value) -> str:
    """Name what a value is, e.g. "None", "a tuple of 2 items", "a numpy array of shape (3,)"."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray) or is_torch_tensor(value):
        kind = "a torch tensor" if is_torch_tensor(value) else "a numpy array"
        return f"{kind} of shape {fmt_shape(getattr(value, 'shape', ()))}"
    if isinstance(value, (tuple, list)):
        count = len(value)
        return f"a {type(value).__name__} of {count} item{'s' if count != 1 else ''}"
    if isinstance(value, (numbers.Number, np.generic)):
        return f"the single number {fmt_number(value) if _is_real(value) else _safe_str(value)}"
    return f"an object of type {type(value).__name__}"


def _is_real(value) -> bool:
    return isinstance(value, (numbers.Real, np.floating, np.integer, np.bool_))


def to_array(value, what: str, expected_shape) -> np.ndarray:
    """Return ``value`` as a float64 numpy array; fail with ``wrong_type`` if it is not one.

    Accepts numpy arrays, torch tensors (detached and copied to the CPU), nested lists and
    numbers. A result far too large to be right is reported as ``wrong_shape`` by its shape
    alone, without converting it.

    Args:
        what: how to name the value in a message, e.g. "Your function's result".
        expected_shape: shown in the message, e.g. ``(10, 12)``.
    """
    wanted = f"an array of shape {fmt_shape(expected_shape)}"
    if value is None:
        fail(
            "wrong_type",
            f"{what} {_be(what)} None instead of {wanted}. Finish the code and end it with "
            "`return ...` (a function without a return statement returns None).",
        )
    shape = _shape_of(value)
    if shape is not None and math.prod(shape) > LARGEST_RESULT:
        fail(
            "wrong_shape",
            f"{what} has shape {fmt_shape(shape)} but should have shape "
            f"{fmt_shape(expected_shape)}.",
        )
    if is_torch_tensor(value):
        array = _torch_to_numpy(value, what, wanted)
    elif isinstance(value, (np.ndarray, list, tuple, numbers.Number, np.generic)) or hasattr(
        value, "__array__"
    ):
        try:
            array = np.asarray(value)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # noqa: BLE001 - e.g. a ragged nested list
            ragged = " (rows of different lengths?)" if isinstance(value, (list, tuple)) else ""
            fail(
                "wrong_type",
                f"{what} is {describe_value(value)} that numpy cannot turn into an array"
                f"{ragged}; return {wanted}.",
            )
    else:
        fail("wrong_type", f"{what} is {describe_value(value)}, not {wanted}.")
    return _as_float64(array, what, wanted)


def _shape_of(value):
    shape = getattr(value, "shape", None)
    if isinstance(value, np.ndarray) or is_torch_tensor(value):
        try:
            return tuple(int(n) for n in shape)
        except Exception:  # noqa: BLE001
            return None
    return None


def _torch_to_numpy(tensor, what: str, wanted: str) -> np.ndarray:
    try:
        tensor = tensor.detach().cpu()
        if tensor.dtype.is_floating_point and tensor.element_size() < 4:  # float16, bfloat16
            tensor = tensor.float()
        return tensor.resolve_conj().resolve_neg().numpy()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # noqa: BLE001 - e.g. a meta or sparse tensor
        fail(
            "wrong_type",
            f"{what} is a torch tensor that cannot be read as numbers ({describe_exception(error)}"
            f"); return {wanted}.",
        )


def _as_float64(array: np.ndarray, what: str, wanted: str) -> np.ndarray:
    kind = array.dtype.kind
    if kind in "biuf":
        return np.array(array, dtype=np.float64)
    if kind == "O":
        converted = _object_array_as_float64(array)
        if converted is not None:
            return converted
    fail(
        "wrong_type",
        f"{what} is an array of {_dtype_words(array)} (dtype {array.dtype}), not of real "
        f"numbers; return {wanted} of floats.",
    )


def _object_array_as_float64(array: np.ndarray) -> np.ndarray | None:
    """An object array of numbers as float64, or None (e.g. an array of None)."""
    try:
        return np.array(array, dtype=np.float64)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - not numbers: the caller reports wrong_type
        return None


def _dtype_words(array: np.ndarray) -> str:
    return {"c": "complex numbers", "U": "strings", "S": "bytes", "O": "Python objects"}.get(
        array.dtype.kind, "non-numbers"
    )


def as_pair(value, what: str, names: tuple[str, str], hint: str) -> tuple:
    """Return the two items of a returned tuple/list, or fail with ``wrong_type``."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return value[0], value[1]
    fail(
        "wrong_type",
        f"{what} returned {describe_value(value)} instead of a pair ({names[0]}, {names[1]}). "
        f"{hint}",
    )


def read_array(what: str):
    """A :class:`Checker` ``read`` for one returned array, named ``what`` in messages."""
    return lambda raw, case, expected: to_array(raw, what, expected.shape)


def read_pair(what: str = "Your function", names=("output", "weights"), hint=None, subjects=None):
    """A :class:`Checker` ``read`` for a returned pair, e.g. ``(output, weights)``."""
    hint = hint or f"End it with `return {names[0]}, {names[1]}`."
    subjects = subjects or tuple(f"The {name} you returned" for name in names)

    def read(raw, case, expected):
        pair = as_pair(raw, what, names, hint)
        return tuple(to_array(v, s, e.shape) for v, s, e in zip(pair, subjects, expected))

    return read


def probe_matches(fn, expected, *args, **kwargs) -> bool:
    """Whether ``fn(*args, **kwargs)`` runs and returns ``expected`` (for a diagnosis)."""
    result = quietly(fn, *args, **kwargs)
    try:
        return result is not None and close(to_array(result, "", expected.shape), expected)
    except Verdict:
        return False


# ---------------------------------------------------------------------------------------------
# comparing
# ---------------------------------------------------------------------------------------------


def close(got: np.ndarray, expected: np.ndarray) -> bool:
    """Same shape and equal within float32-friendly tolerances (NaN never equals anything)."""
    return got.shape == expected.shape and bool(
        np.allclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=False)
    )


def largest_difference(
    got: np.ndarray, expected: np.ndarray
) -> tuple[tuple[int, ...], float, float]:
    """The index where ``got`` is furthest from ``expected`` (NaN counts as furthest)."""
    gap = np.abs(got - expected)
    gap[~np.isfinite(gap)] = np.inf
    index = np.unravel_index(int(np.argmax(gap)), got.shape)
    index = tuple(int(i) for i in index)
    return index, float(got[index]), float(expected[index])


def difference_clause(name: str, got: np.ndarray, expected: np.ndarray) -> str:
    """E.g. "weights[0, 2] is 0.61 instead of 0.43" at the largest difference."""
    index, got_value, expected_value = largest_difference(got, expected)
    return f"{name}{fmt_index(index)} is {fmt_number(got_value)} instead of {fmt_number(expected_value)}"


def nonfinite_where_finite(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """A bool array: True where the learner has NaN/inf but the reference is finite."""
    return ~np.isfinite(got) & np.isfinite(expected)


def scale_factor(got: np.ndarray, reference: np.ndarray) -> float | None:
    """The c with ``got ≈ c * reference``, if there is one, else None."""
    if got.shape != reference.shape or not np.isfinite(got).all():
        return None
    denominator = float(np.sum(reference * reference))
    if denominator == 0:
        return None
    factor = float(np.sum(got * reference)) / denominator
    return factor if close(got, factor * reference) else None


# ---------------------------------------------------------------------------------------------
# formatting for messages (deterministic: no addresses, fixed precision)
# ---------------------------------------------------------------------------------------------


def fmt_number(value) -> str:
    """A number as a learner would write it: 3 significant digits (0.583, -2.5, 0.0012), but
    whole numbers from 100 on keep every digit and one decimal (1001, -1000.5); nan, inf."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return np.format_float_positional(value, precision=1, unique=True, trim="-")
    return np.format_float_positional(value, precision=3, unique=True, fractional=False, trim="-")


def fmt_vector(values, limit: int = 6) -> str:
    """E.g. "[0.583, -1.2, 0.1]"; longer vectors end in ", …"."""
    values = np.asarray(values, dtype=np.float64).ravel()
    shown = ", ".join(fmt_number(v) for v in values[:limit])
    return f"[{shown}{', …' if values.size > limit else ''}]"


def fmt_shape(shape) -> str:
    """A shape as a tuple, e.g. "(2, 5, 7)" and "(7,)"."""
    return str(tuple(int(n) for n in shape))


def fmt_index(index) -> str:
    """An index as written in code, e.g. "[0, 2, 3]"."""
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def shape_problem(what: str, got_shape, expected_shape, layout: str) -> str:
    """E.g. "Your result has shape (12, 10) but should have shape (10, 12) = (seq_len, d_model)."."""
    verb = "have" if _is_plural(what) else "has"
    return (
        f"{what} {verb} shape {fmt_shape(got_shape)} but should have shape "
        f"{fmt_shape(expected_shape)} = {layout}."
    )


def _is_plural(what: str) -> bool:
    """Whether a subject like "Your scores" or "The weights you returned" is plural."""
    return any(word in ("scores", "weights") for word in what.split()[:3])


def _be(what: str) -> str:
    return "are" if _is_plural(what) else "is"


def swapped_last_axes(shape) -> tuple:
    """``shape`` with its last two axes swapped."""
    shape = tuple(shape)
    return shape[:-2] + (shape[-1], shape[-2]) if len(shape) >= 2 else shape
