"""The Japanese edition's foundation (issue 13): scripts/i18n.py and book/_ext/mha_i18n.py.

- The check of a translation: math, code, link and role targets kept; an unbalanced ``$``
  caught; translated, fuzzy and untranslated entries counted (on .po files written here).
- The generated configurations: ``language``, the title, gettext settings, local extension
  paths that resolve from the build folder.
- The language switcher's relative links.
- The repository's own ``locales/ja``: every translated message keeps its math, code and
  links, and the edition is complete (issue 13's 100 % rule): every page without a fuzzy or
  untranslated entry, every English question bank with its Japanese twin. An English change
  fails here until its translation is updated (AUTHORING.md, "Translations").
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from course import REPO

SCRIPT = REPO / "scripts" / "i18n.py"
MESSAGES = REPO / "locales" / "ja" / "LC_MESSAGES"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


i18n = _load("mha_i18n_script", SCRIPT)
ext = _load("mha_i18n_ext", REPO / "book" / "_ext" / "mha_i18n.py")


# ---- the message check -----------------------------------------------------------------------
def test_a_faithful_translation_has_no_problem():
    msgid = "every query is compared with every key, $Q K^\\top$, in `scores[i, j]`"
    msgstr = "各クエリを各キーと比べます（$Q K^\\top$、`scores[i, j]`）"
    assert i18n.message_problems(msgid, msgstr) == []


@pytest.mark.parametrize(
    "msgstr, kind",
    [
        ("各クエリを各キーと比べます（$QK^\\top$、`scores[i, j]`）", "math"),  # math edited
        ("各クエリを各キーと比べます（$Q K^\\top$、`scores`）", "code"),  # code edited
        ("各クエリを各キーと比べます（$Q K^\\top$）", "code"),  # code dropped
        ("各クエリを各キーと比べます（$Q K^\\top、`scores[i, j]`）", "unbalanced $"),
    ],
)
def test_a_broken_translation_is_named(msgstr, kind):
    msgid = "every query is compared with every key, $Q K^\\top$, in `scores[i, j]`"
    problems = i18n.message_problems(msgid, msgstr)
    assert any(problem.startswith(kind) for problem in problems), problems


def test_link_and_role_targets_are_kept_but_role_text_may_change():
    msgid = "on a one-page {doc}`shape sheet <shape_sheet>`; see [PyTorch](https://pytorch.org/)"
    good = "1 ページの{doc}`形状シート <shape_sheet>`に。[PyTorch](https://pytorch.org/) を参照"
    assert i18n.message_problems(msgid, good) == []
    wrong_doc = good.replace("<shape_sheet>", "<glossary>")
    assert any(p.startswith("roles") for p in i18n.message_problems(msgid, wrong_doc))
    wrong_link = good.replace("https://pytorch.org/", "https://pytorch.org/docs")
    assert any(p.startswith("links") for p in i18n.message_problems(msgid, wrong_link))


def test_a_role_written_inside_a_code_span_is_code_not_a_role():
    # setup.md shows the MyST syntax `:::{admonition}`: that is code, kept as code.
    msgid = "a `:::{admonition}` block shows as *text and the solution is printed*: `lab`"
    good = "`:::{admonition}` のブロックは*テキストのまま表示されます*：`lab`"
    assert i18n.message_problems(msgid, good) == []
    assert any(p.startswith("code") for p in i18n.message_problems(msgid, good.replace("`lab`", "lab")))


def test_a_display_math_block_is_copied_as_it_is():
    block = "\n\\mathrm{head}_i = \\mathrm{softmax}(Q K^\\top) V\n"
    assert i18n.message_problems(block, block) == []
    edited = block.replace("head", "ヘッド")
    assert i18n.message_problems(block, edited) == ["display math changed (copy the msgid as it is)"]


def test_template_placeholders_are_kept():
    msgid = "download the %(bundle)s, then follow the %(steps)s."
    assert i18n.message_problems(msgid, "%(bundle)s をダウンロードし、%(steps)sに従います。") == []
    problems = i18n.message_problems(msgid, "%(bundle)s をダウンロードします。")
    assert any(p.startswith("placeholders") for p in problems), problems


def test_display_math_counts_once():
    assert i18n.invariants("see $$a+b$$ and $c$")["math"] == {"$$a+b$$": 1, "$c$": 1}


def _write_po(path: Path, entries: list[tuple[str, str, bool]]) -> Path:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    catalog = Catalog(locale="ja")
    for msgid, msgstr, fuzzy in entries:
        catalog.add(msgid, msgstr, flags=["fuzzy"] if fuzzy else [])
    with path.open("wb") as handle:
        write_po(handle, catalog)
    return path


def test_check_po_counts_each_state(tmp_path):
    po = _write_po(tmp_path / "page.po", [
        ("Softmax", "ソフトマックス", False),
        ("The mask $M$", "マスク $M$", False),
        ("Heads", "ヘッド", True),
        ("Value", "", False),
        ("Key", "", False),
    ])
    report = i18n.check_po(po)
    assert (report.translated, report.fuzzy, report.untranslated) == (2, 1, 2)
    assert report.problems == []


def test_an_image_message_needs_no_translation_but_its_alt_text_does(tmp_path):
    po = _write_po(tmp_path / "page.po", [
        (".. image:: ../_build/jupyter_execute/0a1b2c.png", "", False),
        ("Two 10 by 10 heatmaps of the weights.", "", False),
    ])
    report = i18n.check_po(po)
    assert (report.translated, report.fuzzy, report.untranslated) == (0, 0, 1)


def test_check_fails_on_a_broken_message_and_complete_fails_on_missing(tmp_path, capsys):
    folder = tmp_path / "LC_MESSAGES"
    folder.mkdir()
    _write_po(folder / "ok.po", [("The mask $M$", "マスク $M$", False), ("Key", "", False)])
    assert i18n.check(folder) == 0
    assert i18n.check(folder, complete=True) == 1
    assert "1 untranslated" in capsys.readouterr().out
    _write_po(folder / "bad.po", [("The mask $M$", "マスク $M", False)])
    assert i18n.check(folder) == 1
    assert "bad.po:" in capsys.readouterr().out


# ---- configurations and links ----------------------------------------------------------------
def test_the_japanese_configuration(tmp_path):
    base = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    config = i18n.edition_config(base, "ja", tmp_path)
    options = config["sphinx"]["config"]
    assert options["language"] == "ja"
    assert config["title"] != base["title"]
    assert options["gettext_compact"] is False
    assert ["gettext", "text/html", 5] in options["nb_mime_priority_overrides"]
    assert options["gettext_additional_targets"] == ["image"]  # the figures' alt text
    # gettext picks what html shows: a figure's image (and so its alt text), not its text/plain.
    from myst_nb.core.render import get_mime_priority

    overrides = [tuple(item) for item in options["nb_mime_priority_overrides"]]
    for bundle in (["image/png", "text/plain"], ["text/html", "image/png", "text/plain"],
                   ["application/vnd.jupyter.widget-view+json", "text/html", "text/plain"]):
        pick = {
            builder: next(m for m in get_mime_priority(builder, overrides) if m in bundle)
            for builder in ("html", "gettext")
        }
        assert pick["gettext"] == pick["html"], (bundle, pick)
    assert config["author"] != base["author"]
    for name, path in config["sphinx"]["local_extensions"].items():
        assert (tmp_path / path / f"{name}.py").resolve().is_file(), name
    english = i18n.edition_config(base, "en", tmp_path)
    assert english["title"] == base["title"] and english["author"] == base["author"]
    assert base["sphinx"]["config"].get("language") is None  # the source file is untouched


@pytest.mark.parametrize(
    "pagename, uri, expected_ja",
    [
        ("book/intro", "book/intro.html", "../../ja/book/intro.html"),
        ("notebooks/04_softmax", "notebooks/04_softmax.html", "../../ja/notebooks/04_softmax.html"),
        ("search", "search.html", "../ja/search.html"),
    ],
)
def test_switcher_links_point_at_the_same_page(pagename, uri, expected_ja):
    links = ext.edition_links(pagename, uri, ["en", "ja"])
    assert links["ja"] == expected_ja
    assert links["en"] == expected_ja.replace("/ja/", "/en/")


_TABLE_IN_A_CONTAINER = """\
# Page

| step | shape |
|---|---|
| outside | `(3, 10)` |

::::{container} mha-shape-sheet

| step | shape |
|---|---|
| token ids | same |

::::
"""


def _cells(markdown: str, tmp_path) -> tuple[object, dict[str, object]]:
    from docutils import nodes
    from docutils.core import publish_doctree
    from myst_parser.parsers.docutils_ import Parser

    source = tmp_path / "page.md"
    source.write_text(markdown, encoding="utf-8")
    doctree = publish_doctree(
        markdown, source_path=str(source), parser=Parser(),
        settings_overrides={"myst_enable_extensions": ["colon_fence"], "report_level": 5},
    )
    paragraphs = {
        node.astext(): node for node in doctree.findall(nodes.paragraph)
        if isinstance(node.parent, nodes.entry)
    }
    return doctree, paragraphs


def test_table_cells_inside_a_directive_become_translatable(tmp_path):
    from sphinx.util.nodes import is_translatable

    doctree, cells = _cells(_TABLE_IN_A_CONTAINER, tmp_path)
    # The cause: MyST gives a cell's paragraph no source inside a directive (outside, docutils
    # fills it in), and Sphinx's i18n skips a text without a source as a built-in message.
    assert cells["outside"].source and is_translatable(cells["outside"])
    assert cells["token ids"].source is None and not is_translatable(cells["token ids"])
    assert ext.fill_sources(doctree) == 4  # the container's header and body cells
    for text in ("token ids", "same"):
        assert cells[text].source == str(tmp_path / "page.md")
        assert cells[text].line is not None
        assert is_translatable(cells[text])
    assert ext.fill_sources(doctree) == 0


def test_the_shape_sheet_table_reaches_its_catalog():
    from babel.messages.pofile import read_po

    with (MESSAGES / "book" / "shape_sheet.po").open("rb") as handle:
        ids = {message.id for message in read_po(handle) if message.id}
    assert {"step", "here: GQA", "token ids", "same", "none", "2b repeat K, V"} <= ids


def _page(lang: str, links: list[str]) -> str:
    tags = "".join(f'<link rel="alternate" hreflang="x" href="{href}" />' for href in links)
    switch = f'<a class="mha-language-switch" href="{links[0]}">x</a>' if links else ""
    return f'<html lang="{lang}"><head>{tags}</head><body>{switch}</body></html>'


def test_site_check_finds_a_dead_switcher_link_and_a_wrong_language(tmp_path):
    for lang in ("en", "ja"):
        (tmp_path / lang / "book").mkdir(parents=True)
        (tmp_path / lang / "book" / "intro.html").write_text(
            _page(lang, ["../../en/book/intro.html", "../../ja/book/intro.html"]), encoding="utf-8"
        )
    assert i18n.site_problems(tmp_path) == []
    (tmp_path / "ja" / "book" / "setup.html").write_text(
        _page("en", ["../../en/book/setup.html"]), encoding="utf-8"
    )
    problems = i18n.site_problems(tmp_path)
    assert problems == [
        'ja/book/setup.html: not <html lang="ja">',
        "ja/book/setup.html: ../../en/book/setup.html does not exist",
    ]


def test_root_page_offers_both_editions_without_javascript():
    page = (REPO / "book" / "_ext" / "i18n" / "index.html").read_text(encoding="utf-8")
    assert 'href="en/index.html"' in page and 'href="ja/index.html"' in page
    assert (REPO / "book" / "_ext" / "i18n" / "mha_lang_pick.js").is_file()


# ---- the repository's translations -----------------------------------------------------------
def _po_files() -> list[Path]:
    return sorted(MESSAGES.rglob("*.po"))


def test_every_translated_message_keeps_math_code_and_links():
    files = _po_files()
    assert files, "no .po files: run `python scripts/i18n.py extract`"
    problems = [p for path in files for p in i18n.check_po(path).problems]
    assert problems == []


def test_the_japanese_edition_is_complete():
    pages = {str(p.relative_to(MESSAGES).with_suffix("")): i18n.check_po(p) for p in _po_files()}
    assert {"book/intro", "sphinx", "notebooks/01_input_vectors"} <= set(pages), sorted(pages)
    unfinished = {page: (r.fuzzy, r.untranslated) for page, r in pages.items()
                  if r.total == 0 or r.fuzzy or r.untranslated}
    assert unfinished == {}, "(fuzzy, untranslated) per page; see scripts/i18n.py check"
    done, total, problems = i18n.check_banks("ja", complete=True)
    assert (done, problems) == (total, []), problems

def _mutations():
    """Ways a translated bank can drift from its English one, each planted in a copy."""

    def swap_questions(b):
        b[0], b[1] = b[1], b[0]

    def flip_flag(b):
        q = next(q for q in b if "options" in q)
        q["options"][0]["correct"] = not q["options"][0]["correct"]

    def change_answer(b):
        next(q for q in b if q["type"] == "numeric")["answer"] += 1

    def change_tolerance(b):
        q = next(q for q in b if q["type"] == "numeric")
        q["tolerance"] = q.get("tolerance", 0) * 10 + 1

    def drop_feedback(b):
        next(q for q in b if q.get("feedback"))["feedback"].pop()

    def change_misconceptions(b):
        b[0]["misconceptions"] = [9]

    def left_in_english(b, english):
        b[0]["prompt"] = english[0]["prompt"]

    def lose_code(b):
        q = next(q for q in b if "`" in q["prompt"])
        q["prompt"] = q["prompt"].replace("`", "")

    return {f.__name__: f for f in (swap_questions, flip_flag, change_answer, change_tolerance,
                                     drop_feedback, change_misconceptions, left_in_english,
                                     lose_code)}


@pytest.mark.parametrize("mutation", sorted(_mutations()))
def test_a_translated_bank_that_drifts_from_the_english_is_reported(mutation):
    english = yaml.safe_load((i18n.BANKS / "04_softmax.yml").read_text(encoding="utf-8"))
    japanese = yaml.safe_load((i18n.BANKS / "ja" / "04_softmax.yml").read_text(encoding="utf-8"))
    assert i18n.bank_problems(english, japanese, "ja/04_softmax.yml") == []
    plant = _mutations()[mutation]
    plant(japanese, english) if mutation == "left_in_english" else plant(japanese)
    assert i18n.bank_problems(english, japanese, "ja/04_softmax.yml"), mutation
