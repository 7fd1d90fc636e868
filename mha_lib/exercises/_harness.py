"""What every checker shares (private): the driver (:class:`Checker`) and its mistake tables,
running the learner's code safely, reading what it returned, and formatting for messages.
Nothing the learner's code does escapes as an exception; every message is deterministic.
"""

from __future__ import annotations

import dataclasses
import functools
import linecache
import math
import numbers
import re
import traceback
import warnings
from collections.abc import Callable
from importlib import resources
from typing import NoReturn

import numpy as np
import yaml

from .result import CheckResult

RTOL, ATOL = 1e-4, 1e-5  # loose enough for float32 and torch learners, far below any mistake
MAX_QUOTED_TEXT = 160  # longest piece of the learner's own text (error message, code line) quoted
LARGEST_RESULT = 10_000_000  # elements; anything bigger is reported by shape without converting


class Verdict(Exception):
    """Stops a checker at the first problem; carries the result and the table row, if any."""

    def __init__(self, result: CheckResult, row: str | None = None):
        super().__init__(result.message)
        self.result, self.row = result, row


def fail(mistake: str | None, message: str, row: str | None = None) -> NoReturn:
    """End the check as not passed, with a catalogue key (or None) and a message."""
    raise Verdict(CheckResult(passed=False, mistake=mistake, message=message), row)


def explain(steps, *args) -> tuple[CheckResult, str | None]:
    """Run ``steps(*args)`` (the success message, or :func:`fail`) silently: the result and the
    label of the row that named the mistake. Nothing but KeyboardInterrupt/SystemExit escapes."""
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


@dataclasses.dataclass(frozen=True)
class Case:
    """One call: ``args`` (name -> value) by position, trailing None values left out, and
    ``kwargs``; ``extra`` holds facts that are not passed (e.g. ``large=True``). Every name reads
    as an attribute (``case.q``). ``hint`` is said if it raises after earlier cases passed."""

    args: dict
    kwargs: dict = dataclasses.field(default_factory=dict)
    hint: str = ""
    extra: dict = dataclasses.field(default_factory=dict)

    def __getattr__(self, name):
        for part in ("args", "kwargs", "extra"):
            if name in self.__dict__.get(part, ()):
                return self.__dict__[part][name]
        raise AttributeError(name)

    @property
    def positional(self) -> tuple:
        values = list(self.args.values())
        while values and values[-1] is None:
            values.pop()
        return tuple(values)

    @property
    def inputs(self) -> str:
        """E.g. "q of shape (5, 16), k (7, 16), v (7, 6) and no mask"."""
        named = self.args | self.kwargs
        arrays = sum(isinstance(value, np.ndarray) for value in named.values())
        words = []
        for name, value in named.items():
            if isinstance(value, np.ndarray):  # "of shape" each time in a short list
                words.append(f"{name}{' of shape' if not words or arrays <= 2 else ''} ")
                words[-1] += fmt_shape(value.shape)
            elif value is None or isinstance(value, (int, float)):
                words.append(f"no {name}" if value is None else f"{name}={value}")
        return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A row of a mistake table: it matches when the result equals ``reference(case, **s)`` for
    one of the switches ``s`` in ``variants``, or when ``test(got, case, fn)``; ``evident_in``:
    an output that shows the mistake even when another mistake changes the others."""

    key: str
    variants: dict | tuple = ()
    test: Callable | None = None
    name: str = ""
    evident_in: int | None = None

    @property
    def label(self) -> str:
        return self.name or self.key

    @property
    def switches(self) -> tuple[dict, ...]:
        return (self.variants,) if isinstance(self.variants, dict) else self.variants


@functools.cache
def texts(name: str) -> dict:
    """What the checker ``name`` tells a learner, from ``messages/<name>.yml``: ``passed``, the
    fallbacks, ``note``, ``parts`` (templates quoted as ``{part}``), ``hints`` (a case's, by
    name) and ``messages`` (by row label; ``borrow`` names messages of another checker's file)."""
    path = resources.files(__package__).joinpath("messages", f"{name}.yml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    borrowed = {}
    for other, labels in data.pop("borrow", {}).items():
        borrowed |= {label: texts(other)["messages"][label] for label in labels}
    return data | {"messages": borrowed | data.get("messages", {})}


class Facts(dict):
    """The fields of message templates: a value, or a function computed on first use (for a
    fact that exists only for some mistakes); a part (a template of ``parts``, e.g. how a fix
    is worded) rendered with these facts; else a field of the case (its arguments and
    ``extra``)."""

    def __init__(self, makers: dict, case=None, parts=None):
        super().__init__()
        self.makers, self.case, self.parts = makers, case, parts or {}

    def __missing__(self, name):
        if name in self.parts:
            self[name] = self.parts[name].format_map(self)
        elif name in self.makers:
            maker = self.makers[name]
            self[name] = maker() if callable(maker) else maker
        else:
            return getattr(self.case, name)
        return self[name]


def outputs(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def same(got, want, only=None, nan=False) -> bool:
    """Every output the learner gave (None: not asked for) equals ``want``'s (``only``: that
    output; ``nan``: NaN matches NaN, as when a mistake makes NaN)."""
    pairs = list(zip(outputs(got), outputs(want)))
    return all(
        g is None or g.shape == w.shape and np.allclose(g, w, RTOL, ATOL, equal_nan=nan)
        for g, w in (pairs if only is None else pairs[only : only + 1])
    )


def recognise(table, got, reference, case, fn) -> tuple[Mistake, dict] | None:
    """The first row of ``table`` (and its matching switches) that ``got`` matches, else None."""

    def variant(switches):
        try:
            return reference(case, **switches)
        except (IndexError, ValueError):  # the mistake cannot happen with these shapes
            return None

    for row in table:
        if row.test is not None and row.test(got, case, fn):
            return row, {}
        for switches in row.switches:
            if (wrong := variant(switches)) is not None and same(got, wrong, nan=True):
                return row, switches
    right = reference(case)
    for row in table:  # a mistake that shows in one output, whatever the others hold
        index = row.evident_in
        for switches in row.switches if index is not None and got[index] is not None else ():
            wrong = variant(switches)
            if (
                wrong is not None
                and same(got, wrong, index, True)
                and not same(right, wrong, index)
            ):
                return row, switches
    return None


def call_case(fn, case, memo=None, on_raise=None):
    """Call ``fn`` with the case's arguments (the default ``Checker.call``)."""
    inputs, hint = case.inputs, case.hint
    return call_learner(
        fn, *case.positional, kwargs=case.kwargs, inputs=inputs, hint=hint, on_raise=on_raise
    )


@dataclasses.dataclass(frozen=True)
class Checker:
    """A checker as data; calling it checks a learner's function and returns a CheckResult.

    ``reference(case, **switches)``: the library's answer, or what a mistake produces.
    ``outputs``: (subject, name, layout) of each returned array (``case.extra["layout"]``
    wins). The tables: ``mistakes`` (wrong values), ``shape_mistakes`` and ``raise_mistakes``
    (``test(error, case, fn)``: the cause of an exception, told as advice after it).
    ``messages[row.label]`` and the fallbacks (a template, or ``(got, case, facts) -> message
    or (key, message)``) quote ``facts(got, case, switches)`` and, per output name n,
    ``{n_problem}``, ``{n_shape}``, ``{n_right_shape}``, ``{n_difference}`` (unprefixed: the
    first wrong output's). The texts are data: :func:`texts` of ``name`` fills ``passed``,
    ``example``, the fallbacks, ``note``, ``parts`` and ``messages``; what the file holds wins
    over the fields (so a checker made by ``dataclasses.replace`` keeps the texts its file
    does not give)."""

    name: str
    cases: Callable
    reference: Callable
    outputs: tuple
    passed: str = ""
    example: str = ""  # how a learner calls it, e.g. "check_scores(attention_scores)"
    mistakes: tuple = ()
    shape_mistakes: tuple = ()
    raise_mistakes: tuple = ()
    shape_fallback: str | Callable = "{problem}"
    values_fallback: str | Callable = "{subject} has the right shape {shape} but {difference}."
    messages: dict = dataclasses.field(default_factory=dict)
    facts: Callable = lambda got, case, switches: {}
    read: Callable | None = None
    call: Callable = call_case
    note: str = ""
    parts: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        data = texts(self.name)
        for field in ("passed", "example", "shape_fallback", "values_fallback", "note"):
            object.__setattr__(self, field, data.get(field, getattr(self, field)))
        for field in ("parts", "messages"):
            object.__setattr__(self, field, getattr(self, field) | data.get(field, {}))

    @property
    def tables(self) -> tuple[Mistake, ...]:
        return self.mistakes + self.shape_mistakes + self.raise_mistakes

    def __call__(self, fn) -> CheckResult:
        return explain(self.steps, fn)[0]

    def steps(self, fn) -> str:
        if not callable(fn):
            message = f"{self.name} needs your function itself, e.g. {self.example}; you passed"
            fail("wrong_type", f"{message} {describe_value(fn)}.")
        memo = {}
        for case in self.cases():
            if self.call is call_case:
                raw = call_case(fn, case, on_raise=functools.partial(self._cause, case=case, fn=fn))
            else:
                raw = self.call(fn, case, memo)
            expected = self.reference(case)
            got = (self.read or self._read)(raw, case, expected)
            pairs = zip(outputs(got), outputs(expected))
            if any(g is not None and g.shape != e.shape for g, e in pairs):
                self._diagnose(
                    self.shape_mistakes, got, case, fn, self.shape_fallback, "wrong_shape"
                )
            if not same(got, expected):
                self._diagnose(self.mistakes, got, case, fn, self.values_fallback, "wrong_values")
        return self.passed

    def _cause(self, error, case, fn) -> tuple | None:
        """The row of ``raise_mistakes`` that explains ``error``: its key, message and label."""
        for row in self.raise_mistakes:
            if row.test(error, case, fn):
                facts = Facts(self.facts(None, case, {}), case, self.parts)
                advice = self.messages[row.label].format_map(facts)
                return row.key, raised_message(error, fn, case.inputs, advice), row.label
        return None

    def _read(self, raw, case, expected):
        if len(self.outputs) == 1:
            return to_array(raw, self.outputs[0][0], expected.shape)
        names = tuple(name for _, name, _ in self.outputs)
        pair = as_pair(raw, "Your function", names, f"End it with `return {', '.join(names)}`.")
        return tuple(
            to_array(value, f"The {name} you returned", right.shape)
            for value, name, right in zip(pair, names, expected)
        )

    def _diagnose(self, table, got, case, fn, fallback, key) -> NoReturn:
        row, switches = recognise(table, got, self.reference, case, fn) or (None, {})
        facts = Facts(self._facts(got, case) | self.facts(got, case, switches), case, self.parts)
        note = f" {self.note.format_map(facts)}" if self.note and key == "wrong_values" else ""
        if row is not None:
            fail(row.key, self.messages[row.label].format_map(facts) + note, row.label)
        answer = (
            fallback.format_map(facts) if isinstance(fallback, str) else fallback(got, case, facts)
        )
        key, message = answer if isinstance(answer, tuple) else (key, answer)
        fail(key, message + note)

    def _facts(self, got, case) -> dict:
        facts, wrong = {}, []
        expected = outputs(self.reference(case))
        for (subject, name, layout), g, r in zip(self.outputs, outputs(got), expected):
            if g is not None:
                wrong += [] if close(g, r) else [(g.shape == r.shape, subject, name)]
                facts |= _output_facts(subject, name, case.extra.get("layout", layout), g, r)
        _, subject, name = min(wrong or [(0, *self.outputs[0][:2])], key=lambda w: w[0])
        generic = {field: facts[f"{name}_{field}"] for field in ("problem", "shape", "difference")}
        return facts | generic | {"subject": subject}


def _output_facts(subject, name, layout, got, right) -> dict:
    return {
        f"{name}_problem": lambda: shape_problem(subject, got.shape, right.shape, layout),
        f"{name}_shape": lambda: fmt_shape(got.shape),
        f"{name}_right_shape": lambda: fmt_shape(right.shape),
        f"{name}_difference": lambda: difference_clause(name, got, right),
    }


def call_learner(fn, *args, inputs: str, kwargs=None, hint="", action=None, on_raise=None):
    """Call ``fn`` on copies of the arguments; a raise becomes ``raised`` (``hint``: the advice),
    unless ``on_raise(error)`` names a mistake as ``(key, message)``."""
    kwargs = {name: _fresh(value) for name, value in (kwargs or {}).items()}
    result, error = attempt(fn, *map(_fresh, args), **kwargs)
    if error is None:
        return result
    named = on_raise(error) if on_raise is not None else None
    fail(*(named or ("raised", raised_message(error, fn, inputs, hint, action))))


def attempt(call, *args, **kwargs) -> tuple:
    """``(call(*args, **kwargs), None)``, or ``(None, error)`` (KeyboardInterrupt passes)."""
    try:
        return call(*args, **kwargs), None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # noqa: BLE001 - the learner's code must never escape
        return None, error


def _fresh(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def raised_message(error, fn, inputs: str, hint: str = "", action=None) -> str:
    """The ``raised`` message: the exception, the learner's line when known, the inputs."""
    where = learner_line(error, fn)
    where = f" at `{where}`" if where else ""
    advice = hint or "Fix that error, then run the check again."
    action = action or "Your function raised"
    return f"{action} {describe_exception(error)}{where} when called with {inputs}. {advice}"


def describe_exception(error: BaseException) -> str:
    """``"ValueError: the first line of its message"``, shortened, without memory addresses."""
    text = re.sub(r"0x[0-9a-fA-F]+", "0x…", " ".join(_safe_str(error).split()))  # nbval
    return f"{type(error).__name__}: {shorten(text)}" if text else type(error).__name__


def learner_line(error: BaseException, fn) -> str:
    """The last line of the learner's own code in the traceback, or "" if unknown."""
    candidates = [fn, getattr(fn, "__func__", None), getattr(fn, "forward", None)]
    if isinstance(fn, type):
        candidates += [vars(fn).get("__init__"), vars(fn).get("forward")]
    codes = (getattr(getattr(c, "__func__", c), "__code__", None) for c in candidates)
    files = {getattr(code, "co_filename", None) for code in codes} - {None}
    try:
        frames = traceback.extract_tb(error.__traceback__) if files else []
    except Exception:  # noqa: BLE001 - a broken traceback just means no line
        return ""
    for frame in reversed(frames):
        if frame.filename in files:
            line = frame.line or linecache.getline(frame.filename, frame.lineno or 0)
            return shorten(" ".join(str(line).split()))
    return ""


def _safe_str(value) -> str:
    return attempt(str, value)[0] or ""  # an object whose __str__ fails says nothing


def shorten(text: str, limit: int = MAX_QUOTED_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def probe_matches(fn, expected, *args, **kwargs) -> bool:
    """Whether ``fn(*args, **kwargs)`` runs and returns ``expected`` (for a diagnosis)."""
    got, error = attempt(lambda: to_array(fn(*map(_fresh, args), **kwargs), "", expected.shape))
    return error is None and close(got, expected)  # a probe that fails just answers "no"


def is_torch_tensor(value) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def describe_value(value) -> str:
    """Name what a value is, e.g. "None", "a tuple of 2 items", "a numpy array of shape (3,)"."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray) or is_torch_tensor(value):
        kind = "a torch tensor" if is_torch_tensor(value) else "a numpy array"
        return f"{kind} of shape {fmt_shape(getattr(value, 'shape', ()))}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, (numbers.Number, np.generic)):
        real = isinstance(value, (numbers.Real, np.floating, np.integer, np.bool_))
        return f"the single number {fmt_number(value) if real else _safe_str(value)}"
    return f"an object of type {type(value).__name__}"


def to_array(value, what: str, expected_shape) -> np.ndarray:
    """``value`` (numpy array, torch tensor, nested list, number) as a float64 numpy array, or
    fail with ``wrong_type``; a result far too large to be right is reported as ``wrong_shape``
    by its shape alone. ``what`` names the value in a message, e.g. "Your scores"."""
    wanted = f"an array of shape {fmt_shape(expected_shape)}"

    def wrong_type(text: str) -> NoReturn:
        fail("wrong_type", f"{what} {text}")

    if value is None:
        verb = "are" if _is_plural(what) else "is"
        wrong_type(
            f"{verb} None instead of {wanted}. Finish the code and end it with `return ...` (a "
            "function without a return statement returns None)."
        )
    torch = is_torch_tensor(value)
    if isinstance(value, np.ndarray) or torch:
        shape = attempt(lambda: tuple(int(n) for n in value.shape))[0] or ()
        if math.prod(shape) > LARGEST_RESULT:
            fail("wrong_shape", shape_problem(what, shape, expected_shape))
    kinds = (np.ndarray, list, tuple, numbers.Number, np.generic)
    if not (torch or isinstance(value, kinds) or hasattr(value, "__array__")):
        wrong_type(f"is {describe_value(value)}, not {wanted}.")
    array, error = attempt(lambda: np.asarray(_from_torch(value) if torch else value))
    if error is not None:  # e.g. a ragged list or a meta tensor
        if torch:
            reason = f"a torch tensor that cannot be read as numbers ({describe_exception(error)})"
        else:
            ragged = " (rows of different lengths?)" if isinstance(value, (list, tuple)) else ""
            reason = f"{describe_value(value)} that numpy cannot turn into an array{ragged}"
        wrong_type(f"is {reason}; return {wanted}.")
    if array.dtype.kind in "biufO":  # an object array converts if it holds numbers
        converted, error = attempt(np.array, array, dtype=np.float64)
        if error is None:
            return converted
    words = {"c": "complex numbers", "U": "strings", "S": "bytes", "O": "Python objects"}
    wrong_type(
        f"is an array of {words.get(array.dtype.kind, 'non-numbers')} (dtype {array.dtype}), not "
        f"of real numbers; return {wanted} of floats."
    )


def _from_torch(tensor):
    tensor = tensor.detach().cpu()
    if tensor.dtype.is_floating_point and tensor.element_size() < 4:  # float16, bfloat16
        tensor = tensor.float()
    return tensor.resolve_conj().resolve_neg().numpy()


def as_pair(value, what: str, names: tuple[str, str], hint: str) -> tuple:
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return value[0], value[1]
    pair = f"a pair ({names[0]}, {names[1]})"
    fail("wrong_type", f"{what} returned {describe_value(value)} instead of {pair}. {hint}")


def close(got: np.ndarray, expected: np.ndarray) -> bool:
    """Same shape and equal within float32-friendly tolerances (NaN never equals anything)."""
    return got.shape == expected.shape and bool(np.allclose(got, expected, RTOL, ATOL))


def difference_clause(name: str, got: np.ndarray, expected: np.ndarray) -> str:
    """E.g. "weights[0, 2] is 0.61 instead of 0.43" at the largest difference (or a NaN)."""
    gap = np.abs(got - expected)
    gap[~np.isfinite(gap)] = np.inf
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(gap)), got.shape))
    right = fmt_number(expected[index])
    return f"{name}{fmt_index(index)} is {fmt_number(got[index])} instead of {right}"


def nonfinite_where_finite(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return ~np.isfinite(got) & np.isfinite(expected)


def scale_factor(got: np.ndarray, reference: np.ndarray) -> float | None:
    """The c with ``got ≈ c * reference``, if there is one, else None."""
    if got.shape != reference.shape or not np.isfinite(got).all() or not reference.any():
        return None
    factor = float(np.sum(got * reference)) / float(np.sum(reference * reference))
    return factor if close(got, factor * reference) else None


def fmt_number(value) -> str:
    """A number as a learner would write it: 3 significant digits (0.583, -2.5, 0.0012), but
    whole numbers from 100 on keep every digit and one decimal (1001, -1000.5); nan, inf."""
    value = float(value)
    if not math.isfinite(value) or value == 0:
        return str(value) if value else "0"
    if abs(value) >= 100:
        return np.format_float_positional(value, precision=1, unique=True, trim="-")
    return np.format_float_positional(value, precision=3, unique=True, fractional=False, trim="-")


def fmt_vector(values, limit: int = 6) -> str:
    """E.g. "[0.583, -1.2, 0.1]"; longer vectors end in ", …"."""
    values = np.asarray(values, dtype=np.float64).ravel()
    shown = ", ".join(fmt_number(v) for v in values[:limit])
    return f"[{shown}{', …' if values.size > limit else ''}]"


def fmt_shape(shape) -> str:
    return str(tuple(int(n) for n in shape))


def fmt_index(index) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def shape_problem(what: str, got_shape, expected_shape, layout: str = "") -> str:
    """E.g. "Your result has shape (12, 10) but should have shape (10, 12) = (seq_len, d_model)."."""
    verb = "have" if _is_plural(what) else "has"
    got, right = fmt_shape(got_shape), fmt_shape(expected_shape)
    return f"{what} {verb} shape {got} but should have shape {right}{layout and ' = '}{layout}."


def _is_plural(what: str) -> bool:
    return any(word in ("scores", "weights") for word in what.split()[:3])
