"""The checkers' texts are data, ``mha_lib/exercises/messages/<checker>.yml``: every row, fallback
and ``passed`` has its text, no file holds text that no checker uses, every field a template
quotes is a fact its checker supplies, and every planted mistake's message renders."""

from __future__ import annotations

import re
import string
from importlib import resources

import pytest
import yaml
from test_exercises import FALLBACKS, SPECS, WRONG

from mha_lib.exercises._harness import explain
from mha_lib.quiz.bank import _UniqueKeyLoader

CHECKERS = list(SPECS.values())
FOLDER = resources.files("mha_lib.exercises") / "messages"
TOP_KEYS = {
    "example",
    "passed",
    "shape_fallback",
    "values_fallback",
    "note",
    "parts",
    "hints",
    "borrow",
}
TOP_KEYS |= {"messages"}


def _raw(name: str) -> dict:
    """The file as written (duplicate keys refused, as in the question banks)."""
    return yaml.load((FOLDER / f"{name}.yml").read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)


def _fields(template: str) -> list[str]:
    """The fields a template quotes; each must be a plain name, e.g. {d_k}, not {d.k} or {x!r}."""
    fields = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is not None:
            assert name.isidentifier() and not spec and conversion is None, (template, name)
            fields.append(name)
    return fields


def _templates(spec) -> dict[str, str]:
    """Every string template the checker renders, by where it is used."""
    found = {f"messages.{row.label}": spec.messages[row.label] for row in spec.tables}
    found |= {f"parts.{name}": text for name, text in spec.parts.items()}
    for name in ("shape_fallback", "values_fallback", "note"):
        if isinstance(getattr(spec, name), str):
            found[name] = getattr(spec, name)
    return found


def test_every_checker_has_its_file_and_every_file_a_checker():
    files = sorted(path.name for path in FOLDER.iterdir() if path.name.endswith(".yml"))
    assert files == sorted(f"{spec.name}.yml" for spec in CHECKERS)


@pytest.mark.parametrize("spec", CHECKERS, ids=lambda spec: spec.name)
def test_every_row_fallback_and_passed_has_its_text(spec):
    raw = _raw(spec.name)
    assert set(raw) <= TOP_KEYS, f"{spec.name}.yml: unknown keys {set(raw) - TOP_KEYS}"
    assert isinstance(spec.passed, str) and spec.passed.strip(), f"{spec.name}: no passed"
    assert spec.example.startswith(f"{spec.name}("), f"{spec.name}: no example call"
    for name in ("shape_fallback", "values_fallback"):
        fallback = getattr(spec, name)
        assert callable(fallback) or fallback.strip(), f"{spec.name}: empty {name}"
        assert not (name in raw and callable(fallback)), f"{spec.name}: {name} in code and file"
    missing = [row.label for row in spec.tables if not spec.messages.get(row.label, "").strip()]
    assert not missing, f"{spec.name}: rows without a message: {missing}"


def _hint_pattern(template: str) -> re.Pattern:
    """A hint as a pattern: its fields (filled in by the code, e.g. {row}) match any text."""
    pieces = [re.escape(literal) + ("(.+)" if name else "")
              for literal, name, _, _ in string.Formatter().parse(template)]  # fmt: skip
    return re.compile("".join(pieces))


def test_no_file_holds_text_that_no_checker_uses():
    stale = []
    used_labels = {spec.name: {row.label for row in spec.tables} for spec in CHECKERS}
    borrowed = {name: set() for name in used_labels}
    for spec in CHECKERS:
        for other, labels in _raw(spec.name).get("borrow", {}).items():
            stale += [f"{spec.name}: borrows {label}" for label in labels
                      if label not in used_labels[spec.name]]  # fmt: skip
            borrowed[other] |= set(labels) & used_labels[spec.name]
    for spec in CHECKERS:
        raw = _raw(spec.name)
        for label in raw.get("messages", {}):
            if label not in used_labels[spec.name] | borrowed[spec.name]:
                stale.append(f"{spec.name}: messages.{label}")
        quoted = {field for text in _templates(spec).values() for field in _fields(text)}
        stale += [
            f"{spec.name}: parts.{name}" for name in raw.get("parts", {}) if name not in quoted
        ]
        hints = [case.hint for case in spec.cases() if case.hint]
        for name, template in raw.get("hints", {}).items():
            if not any(_hint_pattern(template).fullmatch(hint) for hint in hints):
                stale.append(f"{spec.name}: hints.{name}")
        patterns = [_hint_pattern(template) for template in raw.get("hints", {}).values()]
        stale += [f"{spec.name}: a hint written in code: {hint[:40]}…" for hint in hints
                  if not any(pattern.fullmatch(hint) for pattern in patterns)]  # fmt: skip
    assert not stale, f"text that no checker uses: {stale}"


def _supplied(spec, case, raised: bool) -> set[str]:
    """The fields a template can quote for ``case``: the checker's facts (called as the harness
    calls them), its parts, the case's arguments and extra, and, unless for an exception, the
    facts of each output."""
    expected = spec.reference(case)
    names = set(spec.parts) | set(case.args) | set(case.kwargs) | set(case.extra)
    if raised:
        return names | set(spec.facts(None, case, {}))
    return names | set(spec.facts(expected, case, {})) | set(spec._facts(expected, case))


@pytest.mark.parametrize("spec", CHECKERS, ids=lambda spec: spec.name)
def test_every_field_a_template_quotes_is_a_fact_of_its_checker(spec):
    raised = {f"messages.{row.label}" for row in spec.raise_mistakes}
    unknown = []
    for case in spec.cases():
        supplied = {False: _supplied(spec, case, False)}
        if raised:  # the facts of an exception's advice are asked for without a result
            supplied[True] = _supplied(spec, case, True)
        for where, template in _templates(spec).items():
            names = supplied[where in raised]
            unknown += [
                f"{where}: {{{field}}}" for field in _fields(template) if field not in names
            ]
    assert not unknown, f"{spec.name}: fields no fact supplies: {sorted(set(unknown))}"


def test_every_planted_mistake_renders_its_message():
    """Each planted variant's message is filled in (no field left, no checker failure), and every
    row of every table is rendered by one of them."""
    planted = [case[:2] for case in WRONG + FALLBACKS]
    rendered = set()
    for checker, fn in planted:
        result, row = explain(SPECS[checker].steps, fn)
        assert "could not finish" not in result.message, (checker.__name__, result.message)
        assert not re.search(r"\{[a-z_]+\}", result.message), (checker.__name__, result.message)
        rendered.add((SPECS[checker].name, row))
    rows = {(spec.name, row.label) for spec in CHECKERS for row in spec.tables}
    assert rows <= rendered, f"rows no planted mistake renders: {sorted(rows - rendered)}"
