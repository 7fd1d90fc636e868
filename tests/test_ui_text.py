"""Interface strings per language (issue 13): the tables, the renderers' ``lang``, the banks per
language, the Japanese edition's build-time swap of the lessons' English outputs.

- ``mha_lib/ui_text/en.json`` and ``ja.json`` have the same keys and placeholders, and the
  Japanese strings are Japanese; the browser scripts hold none of the English strings and
  use only keys the tables have (and every ``js.`` key is used).
- ``lang="ja"`` renders the quiz, the explorer and the progress table with Japanese strings,
  ``lang`` and the browser's strings on the wrapper; ``lang="en"`` (the default) gives the
  bytes the lessons store today, for every stored quiz and explorer.
- ``quiz_dir``/``load_bank``/``show_quiz``/``show_heads``: ``None`` means ``$MHA_LANG``, else
  English; a missing translated bank is a clear error (tested with banks written here, in
  tmp_path: the translators' banks are not needed).
- ``localize_outputs`` (book/_ext/mha_i18n.py) on a doctree: a quiz from a translated bank,
  an explorer re-rendered, a warning (and English kept) for a missing bank; English untouched.
- ``translator`` (mha_quiz.js, run by node): plural forms and placeholders from the table.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from course import REPO, lesson_paths, read_notebook
from html_tree import parse
from mha_lib import ui_text
from mha_lib.explorer import render_explorer_html
from mha_lib.explorer.render import (
    explorer_from_html,
    prepare_explorer,
    render_data_html,
    translate_explorer,
)
from mha_lib.quiz import load_all_banks, load_bank, quiz_dir, render_quiz_html
from mha_lib.quiz.progress import lesson_quizzes, render_progress_html

TABLES = REPO / "mha_lib" / "ui_text"
QUIZ_JS = REPO / "mha_lib" / "quiz" / "static" / "mha_quiz.js"
EXPLORER_JS = REPO / "mha_lib" / "explorer" / "static" / "mha_explorer.js"
EXT = REPO / "book" / "_ext"
# Kana, kanji and full-width punctuation (a template such as "{head}：{token}" is Japanese too).
JAPANESE = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _table(name: str) -> dict[str, str]:
    return json.loads((TABLES / name).read_text(encoding="utf-8"))


def _stored_outputs(marker: str) -> list[str]:
    found = []
    for path in lesson_paths():
        for cell in read_notebook(path).cells:
            for output in cell.get("outputs", []):
                markup = output.get("data", {}).get("text/html", "")
                markup = "".join(markup) if isinstance(markup, list) else markup
                if marker in markup:
                    found.append(markup)
    return found


# --- the tables ---------------------------------------------------------------------------------


def test_tables_have_the_same_keys_and_placeholders():
    en, ja = _table("en.json"), _table("ja.json")
    assert sorted(en) == sorted(ja), set(en) ^ set(ja)
    for key in en:
        assert set(PLACEHOLDER.findall(en[key])) == set(PLACEHOLDER.findall(ja[key])), key
        assert en[key].strip() and ja[key].strip(), key
    # Plural forms come in families with an _other form.
    for key in en:
        match = re.fullmatch(r"(.+)_(one|two|few)", key)
        if match:
            assert f"{match[1]}_other" in en, key


def test_japanese_strings_are_japanese():
    en, ja = _table("en.json"), _table("ja.json")
    # Only pure layout strings (placeholders and punctuation) may be the same.
    same = {k for k in en if en[k] == ja[k]}
    assert same == {"js.explorer.list_item"}, same
    for key, value in ja.items():
        if key not in same and key != "js.explorer.list_joiner":
            assert JAPANESE.search(value), (key, value)
    assert ja["js.explorer.list_joiner"] == "、"


def test_captions_of_every_stored_explorer_are_translated():
    captions = _table("ja.captions.json")
    stored = _stored_outputs('data-mha-explorer="')
    assert len(stored) >= 3
    for markup in stored:
        data, translated = translate_explorer(explorer_from_html(markup), "ja")
        assert translated, data.caption
        assert JAPANESE.search(data.caption)
    for english, japanese in captions.items():
        assert JAPANESE.search(japanese) and english != japanese


INVALID_KINDS = ("single", "multiple", "numeric", "decimalComma", "shape", "broken")


def _js_keys(script: str) -> set[str]:
    """The keys a script looks up: t("a.b"), t(cond ? "a" : "b"), t(`quiz.invalid.${kind}`)."""
    keys = set(re.findall(r'\bt\(\s*"([\w.]+)"', script))
    for first, second in re.findall(r'\bt\([^()"]*\?\s*"([\w.]+)"\s*:\s*"([\w.]+)"', script):
        keys |= {first, second}
    if "t(`quiz.invalid.${kind}`)" in script:
        keys |= {f"quiz.invalid.{kind}" for kind in INVALID_KINDS}
    return keys


@pytest.mark.parametrize("script", [QUIZ_JS, EXPLORER_JS], ids=lambda p: p.name)
def test_scripts_hold_no_interface_string(script):
    js = script.read_text(encoding="utf-8")
    en = _table("en.json")
    for key, value in en.items():
        # Every literal piece between placeholders that is a few words long.
        for piece in re.split(r"\{\w+\}", value):
            words = piece.strip(" .,:;")
            if len(words.split()) >= 3:
                assert words not in js, (key, words)


def test_every_string_the_scripts_use_is_in_the_tables_and_every_js_string_is_used():
    en = _table("en.json")
    families = {re.sub(r"_(one|two|few|other)$", "", key[3:]) for key in en if key.startswith("js.")}
    used = _js_keys(QUIZ_JS.read_text(encoding="utf-8"))
    used |= _js_keys(EXPLORER_JS.read_text(encoding="utf-8"))
    assert "quiz.correct" in used and "explorer.hint" in used and "progress.reset_done" in used
    assert used <= families, used - families
    assert families <= used, families - used


# --- language resolution and banks --------------------------------------------------------------


def test_language_from_argument_environment_or_english(monkeypatch):
    monkeypatch.delenv("MHA_LANG", raising=False)
    assert ui_text.resolve_language(None) == "en"
    monkeypatch.setenv("MHA_LANG", "ja")
    assert ui_text.resolve_language(None) == "ja"
    assert ui_text.resolve_language("en") == "en"
    monkeypatch.setenv("MHA_LANG", "fr")
    with pytest.raises(ValueError, match=r"lang must be one of en, ja, got lang='fr' \(from \$MHA_LANG\)"):
        ui_text.resolve_language(None)
    with pytest.raises(ValueError, match="got lang='de'"):
        render_quiz_html(load_bank("04_softmax", "en"), "04_softmax", lang="de")


def _japanese_bank(stem: str) -> list[dict]:
    """A throwaway 'translation' of an English bank: same ids and answers, marked texts."""
    bank = yaml.safe_load((REPO / "mha_lib" / "quiz" / "banks" / f"{stem}.yml").read_text("utf-8"))
    for question in bank:
        question["prompt"] = "（訳）" + question["prompt"]
        for option in question.get("options", []):
            option["text"] = "（訳）" + option["text"]
    return bank


@pytest.fixture
def banks(tmp_path, monkeypatch):
    """MHA_QUIZ_DIR with two English banks and one Japanese bank (04_softmax)."""
    monkeypatch.delenv("MHA_LANG", raising=False)
    for stem in ("04_softmax", "05_masks"):
        shutil.copy(REPO / "mha_lib" / "quiz" / "banks" / f"{stem}.yml", tmp_path / f"{stem}.yml")
    (tmp_path / "ja").mkdir()
    (tmp_path / "ja" / "04_softmax.yml").write_text(
        yaml.safe_dump(_japanese_bank("04_softmax"), allow_unicode=True), encoding="utf-8"
    )
    monkeypatch.setenv("MHA_QUIZ_DIR", str(tmp_path))
    return tmp_path


def test_banks_per_language(banks, monkeypatch):
    assert quiz_dir() == quiz_dir("en") == banks.resolve()
    assert quiz_dir("ja") == banks.resolve() / "ja"
    english, japanese = load_bank("04_softmax"), load_bank("04_softmax", "ja")
    assert [q["id"] for q in english] == [q["id"] for q in japanese]
    assert japanese[0]["prompt"].startswith("（訳）")
    assert sorted(load_all_banks(lang="ja")) == ["04_softmax"]
    monkeypatch.setenv("MHA_LANG", "ja")
    assert load_bank("04_softmax")[0]["prompt"].startswith("（訳）")


def test_a_missing_translated_bank_names_the_stem_and_the_folder(banks):
    with pytest.raises(FileNotFoundError) as info:
        load_bank("05_masks", "ja")
    message = str(info.value)
    assert "'ja' quiz bank for '05_masks'" in message
    assert str(banks.resolve() / "ja") in message and "04_softmax" in message
    assert str(banks.resolve() / "05_masks.yml") in message  # where the English one is


# --- the quiz -----------------------------------------------------------------------------------


def test_english_quiz_markup_is_what_the_lessons_store():
    stored = _stored_outputs('data-mha-quiz="')
    assert len(stored) == len(lesson_paths())
    for markup in stored:
        stem = re.search(r'data-mha-quiz="([^"]+)"', markup)[1]
        assert render_quiz_html(load_bank(stem, "en"), stem) == markup, stem
        assert render_quiz_html(load_bank(stem, "en"), stem, lang="en") == markup, stem
        assert " lang=" not in markup.split(">", 1)[0]


def test_a_japanese_quiz(banks):
    questions = load_bank("04_softmax", "ja")
    markup = render_quiz_html(questions, "04_softmax", lang="ja")
    root = parse(markup)
    wrapper = root.find(**{"data-mha-quiz": "04_softmax"})
    assert wrapper.attrs["lang"] == "ja"
    strings = json.loads(wrapper.attrs["data-mha-text"])
    assert strings == ui_text.js_strings("ja", "quiz")
    assert strings["quiz.correct"] == "✓ 正解です。"
    assert not any(key.startswith(("explorer.", "progress.")) for key in strings)
    ja = _table("ja.json")
    total = len(questions)
    assert f"<strong>{ja['quiz.title']}</strong>（全{total}問）" in markup
    assert f"第1問（全{total}問）" in markup
    assert markup.count(f">{ja['quiz.check']}</button>") == total
    assert ja["quiz.hint.single"] in markup
    for word in ("Check your understanding", "Question 1", ">Check<", "Choose one answer"):
        assert word not in markup, word
    # The answer key is the same as the English quiz's: grading does not depend on language.
    key = re.search(r'class="mha-quiz-key">(.*?)</script>', markup, re.DOTALL)[1]
    english = render_quiz_html(load_bank("04_softmax", "en"), "04_softmax")
    english_key = json.loads(re.search(r'class="mha-quiz-key">(.*?)</script>', english, re.DOTALL)[1])
    assert {q: e["type"] for q, e in json.loads(key)["questions"].items()} == {
        q: e["type"] for q, e in english_key["questions"].items()
    }


def test_numeric_and_shape_labels_in_japanese():
    questions = load_bank("01_input_vectors", "en")
    kinds = {q["type"] for q in questions}
    markup = render_quiz_html(questions, "01_input_vectors", lang="ja")
    ja = _table("ja.json")
    for kind in kinds & {"numeric", "shape"}:
        assert ja[f"quiz.answer_label.{kind}"] in markup and ja[f"quiz.hint.{kind}"] in markup
    assert kinds & {"numeric", "shape"}


def test_show_quiz_in_japanese(banks, monkeypatch):
    from mha_lib.quiz import show_quiz

    widget = show_quiz("04_softmax", lang="ja")
    try:
        assert widget.lang == "ja" and widget.ui_text == ui_text.js_strings("ja", "quiz")
        assert widget.html == render_quiz_html(load_bank("04_softmax", "ja"), "04_softmax", "ja")
        plain = widget._repr_mimebundle_()[0]["text/plain"]
        assert plain.startswith("クイズ 04_softmax：全4問。") and "Jupyter" in plain
        widget.lang = "en"
        assert widget.ui_text["quiz.correct"] == "✓ Correct." and ' lang="ja"' not in widget.html
    finally:
        widget.close()
    monkeypatch.setenv("MHA_LANG", "ja")
    default = show_quiz("04_softmax")
    try:
        assert default.lang == "ja" and "（訳）" in default.html
    finally:
        default.close()
    with pytest.raises(FileNotFoundError, match="05_masks"):
        show_quiz("05_masks")


# --- the explorer -------------------------------------------------------------------------------


def test_english_explorer_markup_round_trips_from_what_the_lessons_store():
    stored = _stored_outputs('data-mha-explorer="')
    for markup in stored:
        assert render_data_html(explorer_from_html(markup)) == markup
        assert render_data_html(explorer_from_html(markup), "en") == markup
    with pytest.raises(ValueError, match="not a head explorer"):
        explorer_from_html("<div>no explorer</div>")


def test_a_japanese_explorer():
    weights = [[[0.5, 0.5], [0.25, 0.75]], [[1.0, 0.0], [0.0, 1.0]]]
    markup = render_explorer_html(["a", "b"], weights, explorer_id="x", lang="ja")
    root = parse(markup)
    wrapper = root.find(**{"data-mha-explorer": "x"})
    assert wrapper.attrs["lang"] == "ja"
    assert json.loads(wrapper.attrs["data-mha-text"]) == ui_text.js_strings("ja", "explorer")
    assert "トークン a b に対する2個のヘッドのアテンションの重み" in markup
    assert "<caption>ヘッド 0：アテンションの重み" in markup and "クエリ ↓ キー →" in markup
    assert 'aria-label="ヘッド 1：アテンションの重みの表"' in markup
    for word in ("Head 0", "attention weights", "query"):
        assert word not in markup, word
    data = prepare_explorer(["a", "b"], weights, explorer_id="x", lang="ja")
    assert data.summary("ja") == (
        "ヘッドエクスプローラー x：2個のヘッド × 2トークン。"
        "Jupyter またはコースのウェブサイトで開くと操作できます。"
    )
    # The English default, translated from the stored markup, gives the same page.
    english = render_explorer_html(["a", "b"], weights, explorer_id="x")
    translated, ok = translate_explorer(explorer_from_html(english), "ja")
    assert ok and render_data_html(translated, "ja") == markup


def test_an_unknown_caption_stays_english():
    english = render_explorer_html(["a"], [[[1.0]]], explorer_id="y", caption="A caption.")
    data, ok = translate_explorer(explorer_from_html(english), "ja")
    assert not ok and data.caption == "A caption." and data.head_names == ("ヘッド 0",)


def test_show_heads_in_japanese(monkeypatch):
    from mha_lib.explorer import show_heads

    monkeypatch.setenv("MHA_LANG", "ja")
    widget = show_heads(["a", "b"], [[[0.5, 0.5], [0.5, 0.5]]], explorer_id="z")
    try:
        assert widget.lang == "ja" and widget.ui_text == ui_text.js_strings("ja", "explorer")
        assert "ヘッド 0" in widget.html
        assert widget._repr_mimebundle_()[0]["text/plain"].startswith("ヘッドエクスプローラー z")
    finally:
        widget.close()


# --- the progress table -------------------------------------------------------------------------


def test_progress_table_in_japanese_with_translated_titles():
    banks = load_all_banks(REPO / "mha_lib" / "quiz" / "banks")
    titles = {"Lesson 4: Softmax": "レッスン 4：ソフトマックス"}
    lessons = lesson_quizzes(
        banks, REPO / "notebooks", translate=lambda stem, heading: titles.get(heading, heading)
    )
    english = render_progress_html(lesson_quizzes(banks, REPO / "notebooks"))
    markup = render_progress_html(lessons, "ja")
    wrapper = parse(markup).find(**{"data-mha-progress": "mha-course-progress-v1"})
    assert wrapper.attrs["lang"] == "ja"
    assert json.loads(wrapper.attrs["data-mha-text"]) == ui_text.js_strings("ja", "progress")
    assert '<th scope="row">レッスン 4：ソフトマックス</th>' in markup
    assert "Lesson 5: Masks" in markup  # not translated yet: stays English
    ja = _table("ja.json")
    for key in ("progress.caption", "progress.reset", "progress.yes", "progress.cancel",
                "progress.all_lessons", "progress.privacy"):
        assert ja[key] in markup, key
    assert "Reset progress" in english and "Reset progress" not in markup
    assert " lang=" not in english.split(">", 1)[0]
    # The same rows (question ids): progress is shared by both editions.
    ids = re.compile(r'data-question-ids="([^"]*)"')
    assert ids.findall(markup) == ids.findall(english)


def test_progress_titles_come_from_the_lessons_catalogs(tmp_path, monkeypatch):
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    folder = tmp_path / "ja" / "LC_MESSAGES" / "notebooks"
    folder.mkdir(parents=True)
    catalog = Catalog(locale="ja")
    catalog.add("Lesson 4: Softmax", "レッスン 4：ソフトマックス")
    with (folder / "04_softmax.mo").open("wb") as handle:
        write_mo(handle, catalog)
    monkeypatch.syspath_prepend(str(EXT))  # mha_progress imports mha_i18n, beside it
    spec = importlib.util.spec_from_file_location("mha_progress_under_test", EXT / "mha_progress.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    translate = module.heading_translator([tmp_path], "ja", False)
    assert translate("04_softmax", "Lesson 4: Softmax") == "レッスン 4：ソフトマックス"
    assert translate("05_masks", "Lesson 5: Masks") == "Lesson 5: Masks"  # no catalog yet
    assert module.heading_translator([tmp_path], "en", False) is None
    banks = load_all_banks(REPO / "mha_lib" / "quiz" / "banks")
    rows = lesson_quizzes(banks, REPO / "notebooks", translate=translate)
    assert [r.title for r in rows if r.quiz == "04_softmax"] == ["レッスン 4：ソフトマックス"]


# --- the Japanese edition's swap (book/_ext/mha_i18n.py) ----------------------------------------


def _mha_i18n():
    spec = importlib.util.spec_from_file_location("mha_i18n_under_test", EXT / "mha_i18n.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _page(*outputs: str):
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    document = new_document("<page>", get_default_settings(Parser))
    for markup in outputs:
        container = nodes.container(classes=["cell_output"])
        container += nodes.raw("", markup, format="html", classes=["output", "text_html"])
        document += container
    return document


def test_the_japanese_edition_swaps_quizzes_and_explorers(banks):
    from docutils import nodes

    module = _mha_i18n()
    quiz_en = render_quiz_html(load_bank("04_softmax", "en"), "04_softmax")
    masks_en = render_quiz_html(load_bank("05_masks", "en"), "05_masks")
    explorer_en = _stored_outputs('data-mha-explorer="heads-running"')[0]
    other = "<p>a plain output</p>"
    warnings = []
    page = _page(quiz_en, masks_en, explorer_en, other)
    used = module.localize_outputs(page, "ja", lambda message, node: warnings.append(message))
    raws = [n for n in page.findall(nodes.raw)]
    assert [r.astext() for r in raws] == [
        render_quiz_html(load_bank("04_softmax", "ja"), "04_softmax", "ja"),
        masks_en,  # no Japanese bank: stays English, with a warning
        render_data_html(translate_explorer(explorer_from_html(explorer_en), "ja")[0], "ja"),
        other,
    ]
    assert all(r["classes"] == ["output", "text_html"] and r["format"] == "html" for r in raws)
    assert used == [banks.resolve() / "ja" / "04_softmax.yml"]
    assert len(warnings) == 1 and "'05_masks'" in warnings[0]
    assert str(banks.resolve() / "ja" / "05_masks.yml") in warnings[0]
    # An explorer caption missing from the table: a warning, the caption stays English.
    unknown = render_explorer_html(["a"], [[[1.0]]], explorer_id="new", caption="New caption.")
    page = _page(unknown)
    module.localize_outputs(page, "ja", lambda message, node: warnings.append(message))
    assert "New caption." in next(page.findall(nodes.raw)).astext()
    assert "'new'" in warnings[-1] and "ja.captions.json" in warnings[-1]


def test_the_english_edition_is_untouched(banks):
    from docutils import nodes

    module = _mha_i18n()
    outputs = [render_quiz_html(load_bank("04_softmax", "en"), "04_softmax"),
               *_stored_outputs('data-mha-explorer="')]
    page = _page(*outputs)
    assert module.localize_outputs(page, "en", lambda *a: pytest.fail("warned")) == []
    assert [r.astext() for r in page.findall(nodes.raw)] == outputs


# --- the browser's translator (node) ------------------------------------------------------------

NODE_SCRIPT = """
import { translator } from %(url)s;
const tables = %(tables)s;
const out = {};
for (const lang of ["en", "ja"]) {
  const holder = {
    getAttribute: (name) => (name === "data-mha-text" ? JSON.stringify(tables[lang]) : lang),
  };
  const node = { closest: () => holder, ownerDocument: null };
  const t = translator(node);
  out[lang] = [
    t("quiz.wrong_choices", { count: 1 }),
    t("quiz.wrong_choices", { count: 2 }),
    t("progress.answered", { count: 13, total: 13, answered: 2, correct: 1 }),
    t("quiz.invalid", { message: t("quiz.invalid.single") }),
    t("no.such.key"),
  ];
}
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_quiz_script_translates_from_the_markup(tmp_path):
    tables = {lang: ui_text.js_strings(lang) for lang in ("en", "ja")}
    script = tmp_path / "probe.mjs"
    script.write_text(
        NODE_SCRIPT % {"url": json.dumps(QUIZ_JS.as_uri()), "tables": json.dumps(tables)},
        encoding="utf-8",
    )
    result = subprocess.run(
        ["node", str(script)], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["en"] == [
        "1 of your choices is not true",
        "2 of your choices are not true",
        "You have answered 2 of the 13 questions, 1 of them correctly.",
        "<strong>Invalid answer:</strong> choose one of the options, then press Check.",
        "no.such.key",
    ]
    assert out["ja"] == [
        "選んだもののうち1つは正しくありません",
        "選んだもののうち2つは正しくありません",
        "全13問のうち2問に答え、そのうち1問が正解です。",
        "<strong>答えを読み取れません：</strong>選択肢を1つ選んでから「答え合わせ」を押してください。",
        "no.such.key",
    ]
