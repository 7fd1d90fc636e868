"""One vocabulary across the Japanese edition (issue 13).

The term table ``locales/ja/glossary_terms.md`` is the data: its Notes column names, after
*not*, the renderings that must not appear (「A」 / 「B」), and its section "Fixed messages"
gives the one translation of each message of the lesson template. Checked here, on every
``.po`` file of ``locales/ja`` except ``sphinx.po`` (Sphinx's own strings) and on the text of
every Japanese question bank:

- the same English message gets the same Japanese on every page (the glossary's term headings
  add the English in parentheses by design: 「出力射影（output projection）」 counts as 出力射影);
- no forbidden rendering appears, except inside a rendering of the table (ドット積 inside
  スケール化ドット積アテンション);
- every fixed message has its fixed translation.

The last tests plant violations in temporary files and check that each one is reported.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from course import QUIZZES, REPO

LOCALE = REPO / "locales" / "ja"
TABLE = LOCALE / "glossary_terms.md"
MESSAGES = LOCALE / "LC_MESSAGES"
BANKS = QUIZZES / "ja"
GLOSSARY_PAGE = "book/glossary.po"


@dataclass(frozen=True)
class Message:
    where: str  # "notebooks/05_masks.po" or "banks/05_masks.yml: <id>"
    english: str  # the msgid; "" for bank text
    japanese: str


@dataclass(frozen=True)
class Table:
    forbidden: dict[str, str]  # forbidden rendering -> the English term of its row
    renderings: tuple[str, ...]  # every rendering of the 日本語 column
    fixed: dict[str, str]  # English message -> its one translation


# ---- the table -------------------------------------------------------------------------------
_NOT = re.compile(r"\bnot ((?:「[^」]+」)(?:\s*/\s*「[^」]+」)*)")


def _rows(lines: list[str]) -> list[list[str]]:
    """The cells of a Markdown table's body rows (header and rule rows skipped)."""
    rows = []
    for line in lines:
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if set(line.replace("|", "").strip()) <= {"-"} or cells[0] == "English":
            continue
        rows.append(cells)
    return rows


def parse_table(text: str) -> Table:
    terms_part, _, fixed_part = text.partition("\n## Fixed messages")
    forbidden: dict[str, str] = {}
    renderings: list[str] = []
    for cells in _rows(terms_part.splitlines()):
        english, japanese, notes = (cells + ["", ""])[:3]
        renderings += [r.strip() for r in re.split(r"、| / ", japanese) if r.strip()]
        for match in _NOT.finditer(notes):
            for variant in re.findall(r"「([^」]+)」", match.group(1)):
                forbidden[variant] = english
    fixed = {cells[0]: cells[1] for cells in _rows(fixed_part.splitlines()) if len(cells) >= 2}
    return Table(forbidden, tuple(renderings), fixed)


# ---- the messages ----------------------------------------------------------------------------
def po_messages(root: Path) -> list[Message]:
    messages = []
    for path in sorted(root.rglob("*.po")):
        if path.name == "sphinx.po":
            continue
        where = path.relative_to(root).as_posix()
        with path.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if message.id and isinstance(message.id, str) and message.string:
                messages.append(Message(where, message.id, message.string))
    return messages


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def bank_messages(root: Path) -> list[Message]:
    messages = []
    for path in sorted(root.glob("*.yml")):
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for item in items:
            where = f"banks/{path.name}: {item.get('id', '?')}"
            messages += [Message(where, "", text) for text in _strings(item)]
    return messages


# ---- the checks (each returns a list of problems, empty when all is well) --------------------
def _without_heading_english(message: Message) -> str:
    """A glossary term heading 「出力射影（output projection）」 compared as 出力射影."""
    suffix = f"（{message.english}）"
    if message.where == GLOSSARY_PAGE and message.japanese.endswith(suffix):
        return message.japanese[: -len(suffix)]
    return message.japanese


def inconsistent(messages: list[Message]) -> list[str]:
    by_english: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for message in messages:
        if message.english:
            by_english[message.english][_without_heading_english(message)].append(message.where)
    return [
        f"{english!r} has {len(variants)} translations: "
        + "; ".join(f"{text!r} in {', '.join(wheres)}" for text, wheres in variants.items())
        for english, variants in by_english.items()
        if len(variants) > 1
    ]


def forbidden_hits(messages: list[Message], table: Table) -> list[str]:
    problems = []
    for variant, term in table.forbidden.items():
        allowed = [r for r in table.renderings if variant in r and r != variant]
        for message in messages:
            text = message.japanese
            for rendering in sorted(allowed, key=len, reverse=True):
                text = text.replace(rendering, "\0")
            if variant in text:
                at = text.index(variant)
                context = text[max(0, at - 20) : at + len(variant) + 20].replace("\0", "…")
                problems.append(f"{message.where}: 「{variant}」 (term {term!r}): …{context}…")
    return problems


def fixed_message_errors(messages: list[Message], table: Table) -> list[str]:
    return [
        f"{m.where}: {m.english!r} is {m.japanese!r}, the table says {table.fixed[m.english]!r}"
        for m in messages
        if m.english in table.fixed and m.japanese != table.fixed[m.english]
    ]


# ---- the edition -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def table() -> Table:
    return parse_table(TABLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def edition() -> list[Message]:
    return po_messages(MESSAGES) + bank_messages(BANKS)


def test_the_table_is_parsed(table):
    # rows of the table as written: a note with several variants, one with one variant
    assert {"アテンションを向け", "参照してよい"} <= set(table.forbidden)
    assert table.forbidden["ドット積"] == "dot product"
    assert "スケール化ドット積アテンション" in table.renderings
    assert table.fixed["Solution"] == "解答例"
    # notes without brackets after "not" are guidance, not checks
    assert "値" not in table.forbidden


def test_the_edition_is_read(edition):
    pages = {m.where for m in edition if m.english}
    banks = {m.where.split(":")[0] for m in edition if not m.english}
    assert len(pages) == len([p for p in MESSAGES.rglob("*.po") if p.name != "sphinx.po"])
    assert len(banks) == len(list(BANKS.glob("*.yml")))


def test_one_translation_per_english_message(edition):
    problems = inconsistent(edition)
    assert not problems, "\n".join(problems)


def test_no_forbidden_rendering(edition, table):
    problems = forbidden_hits(edition, table)
    assert not problems, "\n".join(problems)


def test_fixed_messages(edition, table):
    problems = fixed_message_errors(edition, table)
    assert not problems, "\n".join(problems)


def test_every_fixed_message_is_used(edition, table):
    used = {m.english for m in edition}
    assert set(table.fixed) <= used, set(table.fixed) - used


# ---- planted violations ----------------------------------------------------------------------
def _write_po(path: Path, entries: dict[str, str]) -> None:
    catalog = Catalog(locale="ja")
    for english, japanese in entries.items():
        catalog.add(english, japanese)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog)


def test_planted_violations_are_reported(tmp_path, table):
    root = tmp_path / "LC_MESSAGES"
    _write_po(root / "book" / "glossary.po", {
        "output projection": "出力射影（output projection）",  # a heading: fine
        "dot product": "内積（dot product）",
    })
    _write_po(root / "notebooks" / "01_a.po", {
        "output projection": "出力射影",
        "Solution": "解答",  # fixed message, wrong
        "A": "2 つのベクトルのドット積です。",  # forbidden
        "B": "スケール化ドット積アテンションとデコーダーです。",  # allowed inside renderings
        "C": "**Check** を押してください。",  # forbidden
        "D": "エンコーダ",  # forbidden alone
    })
    _write_po(root / "notebooks" / "02_b.po", {
        "output projection": "出力の射影",  # a second translation
        "Solution": "解答例",
    })
    _write_po(root / "sphinx.po", {"A": "ドット積"})  # not prose: skipped
    banks = tmp_path / "banks"
    banks.mkdir()
    (banks / "01_a.yml").write_text(
        "- id: planted\n  type: single\n  prompt: >-\n    クエリがキーにアテンションを向けてよいのは？\n"
        "  options:\n    - text: 遮断されたキー\n      correct: true\n",
        encoding="utf-8",
    )
    messages = po_messages(root) + bank_messages(banks)

    mixed = sorted(inconsistent(messages))
    assert len(mixed) == 2
    assert mixed[0].startswith("'Solution' has 2 translations")
    assert mixed[1].startswith("'output projection' has 2 translations")
    assert "'出力射影' in book/glossary.po, notebooks/01_a.po" in mixed[1]
    assert "'出力の射影' in notebooks/02_b.po" in mixed[1]

    hits = forbidden_hits(messages, table)
    assert sorted(h.split(":")[0] for h in hits) == [
        "banks/01_a.yml", "notebooks/01_a.po", "notebooks/01_a.po", "notebooks/01_a.po",
    ]
    joined = "\n".join(hits)
    for variant in ("「ドット積」", "「**Check**」", "「エンコーダ」", "「アテンションを向け」"):
        assert variant in joined
    assert "スケール化" not in joined and "デコーダ" not in joined and "sphinx" not in joined

    wrong = fixed_message_errors(messages, table)
    assert wrong == [
        "notebooks/01_a.po: 'Solution' is '解答', the table says '解答例'",
    ]


def test_a_new_note_is_checked_at_once(table):
    text = TABLE.read_text(encoding="utf-8").replace(
        "| temperature | 温度 | |", "| temperature | 温度 | not 「温度パラメータ」 / 「テンプ」 |"
    )
    planted = parse_table(text)
    assert planted.forbidden["テンプ"] == "temperature"
    hits = forbidden_hits([Message("x.po", "T", "ソフトマックスのテンプ")], planted)
    assert len(hits) == 1 and "「テンプ」" in hits[0]
