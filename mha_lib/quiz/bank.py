"""Load and validate the course's quiz question banks.

A bank is a YAML list of questions stored in ``mha_lib/quiz/banks/<lesson-stem>.yml``. It is
checked in two layers: the JSON Schema in ``schema.json`` (structure, types, allowed fields)
and the semantic rules below (exactly one correct option for ``single``, unique ids, finite
answers and tolerances, targeted ``feedback`` only for answers that are really wrong, ...).
Every problem is reported at once, each with the bank and the question id, in one
:class:`BankError`.

Introduced in notebooks/01_input_vectors.ipynb (the first lesson with a quiz).
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..ui_text import DEFAULT_LANGUAGE, resolve_language

__all__ = [
    "MISCONCEPTIONS",
    "SCHEMA",
    "BankError",
    "default_tolerance",
    "load_all_banks",
    "load_bank",
    "quiz_dir",
    "validate_bank",
]

_HERE = Path(__file__).resolve().parent
SCHEMA_PATH = _HERE / "schema.json"
MISCONCEPTIONS_PATH = _HERE / "misconceptions.yml"
CHOICE_TYPES = ("single", "multiple")

SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@functools.cache
def _validator() -> Any:
    # Imported on first use, so `import mha_lib` does not pay for it. jsonschema's import
    # also imports the optional `rfc3987_syntax` (only for the "iri" format, which our schema
    # does not use and jsonschema does not check by default); building its grammar takes ~3 s,
    # which every lesson's quiz cell would pay. Hide it during the import, then un-hide it.
    hidden = "rfc3987_syntax" not in sys.modules
    if hidden:
        sys.modules["rfc3987_syntax"] = None  # makes `import rfc3987_syntax` raise ImportError
    try:
        from jsonschema import Draft202012Validator
    finally:
        if hidden and sys.modules.get("rfc3987_syntax", "") is None:
            del sys.modules["rfc3987_syntax"]

    Draft202012Validator.check_schema(SCHEMA)
    return Draft202012Validator(SCHEMA)


class BankError(ValueError):
    """A question bank is malformed; ``problems`` lists every problem found (one per line)."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in quiz bank(s):"
        super().__init__("\n".join([header, *(f"  - {p}" for p in self.problems)]))


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate mapping keys (plain PyYAML keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, yaml.Mark] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BankError([f"{path}: not valid UTF-8 ({exc})"]) from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise BankError([f"{path}: invalid YAML: {exc}"]) from exc


def _load_misconceptions() -> dict[int, dict[str, str]]:
    raw = yaml.safe_load(MISCONCEPTIONS_PATH.read_text(encoding="utf-8"))
    table = {int(k): {"title": str(v["title"]), "text": str(v["text"])} for k, v in raw.items()}
    if sorted(table) != list(range(1, 11)):
        raise RuntimeError(f"{MISCONCEPTIONS_PATH} must number its entries 1 to 10")
    return table


MISCONCEPTIONS: dict[int, dict[str, str]] = _load_misconceptions()
"""The ten numbered misconceptions of the design notes: number -> {"title", "text"}."""


def quiz_dir(lang: str | None = None) -> Path:
    """The folder holding one language's banks.

    English: ``$MHA_QUIZ_DIR``, else the package's ``mha_lib/quiz/banks``; another language:
    its subfolder, e.g. ``mha_lib/quiz/banks/ja`` (same stems, ids and answers, texts in
    Japanese). ``lang=None`` means ``$MHA_LANG`` if set, else ``"en"``.

    The banks are package data, so a lesson run from an installed wheel finds them too.
    """
    lang = resolve_language(lang)
    override = os.environ.get("MHA_QUIZ_DIR")
    if override:
        folder = Path(override).expanduser().resolve()
    else:
        folder = Path(str(resources.files("mha_lib.quiz") / "banks"))
    return folder if lang == DEFAULT_LANGUAGE else folder / lang


def _bank_path(stem_or_path: str | os.PathLike[str], lang: str = DEFAULT_LANGUAGE) -> Path:
    text = os.fspath(stem_or_path)
    looks_like_path = (
        isinstance(stem_or_path, os.PathLike)
        or os.sep in text
        or "/" in text
        or text.endswith((".yml", ".yaml"))
    )
    path = Path(text) if looks_like_path else quiz_dir(lang) / f"{text}.yml"
    if not path.is_file() and not looks_like_path and lang != DEFAULT_LANGUAGE:
        folder = path.parent
        known = sorted(p.stem for p in folder.glob("*.yml")) if folder.is_dir() else []
        raise FileNotFoundError(
            f"no {lang!r} quiz bank for {text!r}: {path} does not exist"
            + (f" (translated banks in {folder}: {', '.join(known)})" if known else
               f" ({folder} holds no translated bank yet)")
            + f"; the English bank is {quiz_dir(DEFAULT_LANGUAGE) / f'{text}.yml'}"
        )
    if not path.is_file():
        where = path.parent
        known = sorted(p.stem for p in where.glob("*.yml")) if where.is_dir() else []
        raise FileNotFoundError(
            f"no quiz bank {path}" + (f"; banks there: {', '.join(known)}" if known else "")
        )
    return path


def _label(questions: Any, index: int) -> str:
    question = questions[index] if isinstance(questions, list) else None
    qid = question.get("id") if isinstance(question, dict) else None
    if isinstance(qid, str) and qid:
        return f"question {qid!r}"
    return f"question #{index + 1} (no valid id)"


def _schema_message(error: Any, question: Any) -> str:
    field_path = list(error.absolute_path)[1:]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in field_path).lstrip(".")
    if error.validator == "not" and error.validator_value == {}:
        # The schema's "forbidden" definition: a field this question type must not have.
        qtype = question.get("type") if isinstance(question, dict) else None
        return f"field {where!r} is not allowed in a {qtype!s} question"
    return f"{where}: {error.message}" if where else error.message


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def default_tolerance(answer: float) -> float:
    """The tolerance of a numeric question that gives none: 1e-9 relative, never below 1e-9."""
    return 1e-9 * max(1.0, abs(float(answer)))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _tolerance_problem(tolerance: Any, name: str = "tolerance") -> str | None:
    """A tolerance must be a finite number >= 0: .inf would accept every answer, .nan none."""
    if not _is_number(tolerance):
        return f"{name} must be a number >= 0, got {tolerance!r}"
    if math.isnan(tolerance):
        return f"{name} must be a finite number >= 0, got .nan (no answer could ever match it)"
    if math.isinf(tolerance):
        return (
            f"{name} must be a finite number >= 0, got {tolerance!r} (an infinite tolerance"
            " would accept every answer)"
        )
    if tolerance < 0:
        return f"{name} must be a finite number >= 0, got {tolerance!r}"
    return None


def _feedback_problems(question: dict[str, Any]) -> list[str]:
    """Targeted feedback: valid wrong answers of the question's own form, each listed once."""
    problems: list[str] = []
    entries = question.get("feedback") or []
    qtype, answer = question["type"], question["answer"]
    seen: dict[Any, int] = {}
    for i, entry in enumerate(entries, start=1):
        given = entry["answer"]
        if qtype == "numeric":
            if not _is_number(given) or not math.isfinite(given):
                problems.append(f"feedback {i}: answer must be a finite number, got {given!r}")
                continue
            if "tolerance" in entry:
                bad = _tolerance_problem(entry["tolerance"], f"feedback {i}: tolerance")
                if bad:
                    problems.append(bad)
            tolerance = question.get("tolerance")
            if tolerance is None:
                tolerance = default_tolerance(answer) if _is_number(answer) else 0.0
            usable = _is_number(answer) and _tolerance_problem(tolerance) is None
            if usable and abs(given - answer) <= tolerance:
                problems.append(
                    f"feedback {i}: answer {given!r} is accepted as correct (within the tolerance"
                    f" {tolerance!r} of {answer!r}); feedback is for wrong answers"
                )
            key: Any = float(given)
        else:
            dims = given if isinstance(given, list) else []
            if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
                problems.append(
                    f"feedback {i}: answer must be a list of positive integers, got {given!r}"
                )
                continue
            if dims == answer:
                problems.append(
                    f"feedback {i}: answer {given!r} is the correct answer; feedback is for"
                    " wrong answers"
                )
            key = tuple(dims)
        if key in seen:
            problems.append(f"feedback {seen[key]} and {i} have the same answer {given!r}")
        else:
            seen[key] = i
    return problems


def _semantic_problems(question: dict[str, Any]) -> list[str]:
    """Rules the schema cannot express, for one schema-valid question."""
    problems: list[str] = []
    qtype = question["type"]
    if qtype in CHOICE_TYPES:
        options = question["options"]
        n_correct = sum(1 for o in options if o["correct"] is True)
        if len(options) < 2:
            problems.append(f"a {qtype} question needs at least 2 options, got {len(options)}")
        if qtype == "single" and n_correct != 1:
            problems.append(
                f"a single-choice question needs exactly 1 correct option, got {n_correct}"
            )
        if qtype == "multiple":
            if n_correct < 1:
                problems.append("a multiple-choice question needs at least 1 correct option, got 0")
            if n_correct == len(options):
                problems.append(
                    "a multiple-choice question needs at least 1 incorrect option; all are correct"
                )
        seen: dict[str, int] = {}
        for i, option in enumerate(options):
            if not option["explain"].strip():
                problems.append(f"option {i + 1} has an empty 'explain'")
            key = _norm(option["text"])
            if key in seen:
                problems.append(f"options {seen[key] + 1} and {i + 1} have the same text")
            else:
                seen[key] = i
    elif qtype == "numeric":
        answer = question["answer"]
        if isinstance(answer, bool) or not isinstance(answer, (int, float)):
            problems.append(f"numeric answer must be a number, got {answer!r}")
        elif not math.isfinite(answer):
            problems.append(f"numeric answer must be finite, got {answer!r}")
        if "tolerance" in question:
            bad = _tolerance_problem(question["tolerance"])
            if bad:
                problems.append(bad)
        problems.extend(_feedback_problems(question))
    elif qtype == "shape":
        answer = question["answer"]
        bad = [d for d in answer if isinstance(d, bool) or not isinstance(d, int) or d < 1]
        if bad or not answer:
            problems.append(f"shape answer must be a list of positive integers, got {answer!r}")
        else:
            problems.extend(_feedback_problems(question))
    for field in ("prompt", "explain"):
        value = question.get(field)
        if isinstance(value, str) and not value.strip():
            problems.append(f"'{field}' is empty")
    return problems


def _problems(questions: Any, source: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(questions, list):
        return [
            f"{source}: a bank must be a YAML list of questions, got {type(questions).__name__}"
        ]
    invalid: set[int] = set()
    errors = sorted(
        _validator().iter_errors(questions),
        key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in e.path],
    )
    for error in errors:
        path = list(error.absolute_path)
        if not path:
            problems.append(f"{source}: {error.message}")
            continue
        index = path[0]
        invalid.add(index)
        message = _schema_message(error, questions[index])
        problems.append(f"{source}: {_label(questions, index)}: {message}")
    first_seen: dict[str, int] = {}
    for index, question in enumerate(questions):
        if not isinstance(question, dict):
            continue
        qid = question.get("id")
        if isinstance(qid, str):
            if qid in first_seen:
                problems.append(
                    f"{source}: question {qid!r}: duplicate id (questions #{first_seen[qid] + 1}"
                    f" and #{index + 1})"
                )
            else:
                first_seen[qid] = index
        if index not in invalid:
            problems.extend(
                f"{source}: {_label(questions, index)}: {p}" for p in _semantic_problems(question)
            )
    return problems


def validate_bank(questions: Any, source: str = "<bank>") -> list[dict[str, Any]]:
    """Check one bank against the schema and the semantic rules; return it unchanged.

    Raises :class:`BankError` listing every problem, each naming ``source`` and the question id.
    """
    problems = _problems(questions, source)
    if problems:
        raise BankError(problems)
    return questions


def load_bank(
    stem_or_path: str | os.PathLike[str], lang: str | None = None
) -> list[dict[str, Any]]:
    """Load and validate one bank, by lesson stem (``"01_input_vectors"``) or by file path.

    A stem is looked up in :func:`quiz_dir` of ``lang`` (``None``: ``$MHA_LANG`` if set, else
    ``"en"``); a missing translated bank raises ``FileNotFoundError`` naming the stem and the
    folder. A path is loaded as it is, whatever ``lang``.
    """
    path = _bank_path(stem_or_path, resolve_language(lang))
    return validate_bank(_load_yaml(path), source=str(path))


def load_all_banks(
    directory: str | os.PathLike[str] | None = None, lang: str | None = None
) -> dict[str, list[dict]]:
    """Load every ``*.yml`` bank in ``directory`` (default :func:`quiz_dir` of ``lang``),
    stem -> questions.

    Also checks that question ids are unique across the whole course. All problems in all
    banks are reported together in one :class:`BankError`.
    """
    folder = Path(directory) if directory is not None else quiz_dir(lang)
    if not folder.is_dir():
        raise FileNotFoundError(f"no quiz folder {folder}")
    banks: dict[str, list[dict]] = {}
    problems: list[str] = []
    owner: dict[str, Path] = {}
    problems.extend(
        f"{path}: quiz banks must use the .yml suffix (this file would be ignored)"
        for path in sorted(folder.glob("*.yaml"))
    )
    for path in sorted(folder.glob("*.yml")):
        try:
            data = _load_yaml(path)
        except BankError as exc:
            problems.extend(exc.problems)
            continue
        bank_problems = _problems(data, str(path))
        problems.extend(bank_problems)
        if isinstance(data, list):
            for question in data:
                qid = question.get("id") if isinstance(question, Mapping) else None
                if not isinstance(qid, str):
                    continue
                if qid in owner and owner[qid] != path:
                    problems.append(
                        f"{path}: question {qid!r}: id already used in {owner[qid]}"
                        " (ids must be unique across the course)"
                    )
                owner.setdefault(qid, path)
        if not bank_problems:
            banks[path.stem] = data
    if problems:
        raise BankError(problems)
    return banks
