"""The "Your progress" table: the HTML builder and the Sphinx directive (tiny build)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
import yaml

from course import REPO, python_output
from html_tree import parse
from mha_lib.quiz import load_all_banks, load_bank, quiz_dir
from mha_lib.quiz.bank import CHOICE_TYPES
from mha_lib.quiz.progress import (
    STORAGE_KEY,
    LessonQuiz,
    lesson_quizzes,
    lesson_title,
    render_progress_html,
)

JS = REPO / "mha_lib" / "quiz" / "static" / "mha_quiz.js"
CSS = REPO / "mha_lib" / "quiz" / "static" / "mha_quiz.css"
DASH = "\u2013"


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def banks():
    return load_all_banks()


@pytest.fixture(scope="module")
def course_lessons(banks):
    return lesson_quizzes(
        banks, notebooks_dir=REPO / "notebooks", href=lambda stem: f"../notebooks/{stem}.html"
    )


@pytest.fixture(scope="module")
def course_html(course_lessons):
    return render_progress_html(course_lessons)


HOSTILE = LessonQuiz(
    quiz='99_evil"><script>alert(1)</script>',
    title="Lesson 99: <img src=x onerror=alert(2)> & `<b>code</b>` \"q\" 'q'",
    href='javascript:alert(3)" onclick="alert(4)',
    question_ids=("evil-one", "evil-two"),
)


# --- the builder ----------------------------------------------------------------------------


def test_builder_is_deterministic(banks, course_html):
    again = lesson_quizzes(
        load_all_banks(),
        notebooks_dir=REPO / "notebooks",
        href=lambda stem: f"../notebooks/{stem}.html",
    )
    assert render_progress_html(again) == course_html
    assert "0x" not in course_html and "uuid" not in course_html.lower()
    assert not re.search(r"\d{4}-\d\d-\d\dT", course_html), "no time stamps"


def test_builder_is_identical_across_processes(course_html):
    # mha_lib as a bare namespace package: the builder needs neither torch nor ipywidgets.
    code = (
        "import sys, types; from pathlib import Path;"
        "pkg = types.ModuleType('mha_lib'); pkg.__path__ = ['mha_lib'];"
        "sys.modules['mha_lib'] = pkg;"
        "from mha_lib.quiz import load_all_banks;"
        "from mha_lib.quiz.progress import lesson_quizzes, render_progress_html;"
        "rows = lesson_quizzes(load_all_banks(), notebooks_dir=Path('notebooks'),"
        " href=lambda s: f'../notebooks/{s}.html');"
        "assert 'torch' not in sys.modules and 'ipywidgets' not in sys.modules;"
        "sys.stdout.write(render_progress_html(rows))"
    )
    assert python_output(code, seeds=("0", "4242")) == course_html


def test_one_row_per_lesson_with_right_counts(banks, course_html):
    dom = parse(course_html)
    rows = dom.find_all("tbody")[0].find_all("tr")
    assert [r.attrs["data-quiz"] for r in rows] == sorted(banks)
    for row in rows:
        bank = banks[row.attrs["data-quiz"]]
        assert row.attrs["data-question-ids"].split(" ") == [q["id"] for q in bank]
        assert row.by_class("mha-progress-total")[0].text == str(len(bank))
        # Before the script has looked at the browser's storage, nothing is claimed.
        assert row.by_class("mha-progress-answered")[0].text == DASH
        assert row.by_class("mha-progress-correct")[0].text == DASH
    total = dom.find_all("tfoot")[0]
    assert total.by_class("mha-progress-total")[0].text == str(sum(map(len, banks.values())))
    assert total.by_class("mha-progress-answered")[0].text == DASH


def test_columns_and_accessible_structure(course_html):
    dom = parse(course_html)
    wrapper = dom.by_class("mha-progress")[0]
    assert wrapper.attrs["data-mha-progress"] == STORAGE_KEY
    heads = [th.text for th in dom.find_all("thead")[0].find_all("th")]
    assert heads == ["Lesson", "Answered", "Correct", "Questions"]
    assert all(th.attrs.get("scope") == "col" for th in dom.find_all("thead")[0].find_all("th"))
    assert all(
        row.find_all("th")[0].attrs.get("scope") == "row"
        for row in dom.find_all("tr")
        if row.parent.tag in ("tbody", "tfoot")
    )
    assert dom.find_all("caption")[0].text.strip()
    status = dom.by_class("mha-progress-status")[0]
    assert status.attrs["aria-live"] == "polite" and status.attrs["role"] == "status"
    # Without the script the buttons could do nothing: hidden until it runs.
    assert "hidden" in dom.by_class("mha-progress-actions")[0].attrs
    assert "hidden" in dom.by_class("mha-progress-confirm")[0].attrs
    buttons = {b.text: b.attrs for b in dom.find_all("button")}
    assert set(buttons) == {"Reset progress", "Yes, reset", "Cancel"}
    assert all(attrs["type"] == "button" for attrs in buttons.values())
    assert "only in this browser" in dom.by_class("mha-progress-privacy")[0].text


def test_links_and_titles(course_lessons, course_html):
    dom = parse(course_html)
    links = [a.attrs["href"] for a in dom.find_all("a")]
    assert links == [f"../notebooks/{lesson.quiz}.html" for lesson in course_lessons]
    for lesson in course_lessons:
        number = int(lesson.quiz[:2])
        assert lesson.title.startswith(f"Lesson {number}: "), lesson.title
    first = dom.find_all("tbody")[0].find_all("a")[0]
    assert first.text == "Lesson 1: Input vectors"


def test_no_link_without_href(banks):
    rows = lesson_quizzes(banks)
    markup = render_progress_html(rows)
    assert "<a " not in markup
    assert rows[0].title == rows[0].quiz.replace("_", " ")  # no notebook folder: from the stem


def test_hostile_text_is_escaped():
    markup = render_progress_html([HOSTILE])
    dom = parse(markup)
    assert [e.tag for e in dom.iter() if e.tag in ("script", "img", "b", "iframe")] == []
    row = dom.find_all("tbody")[0].find_all("tr")[0]
    assert row.attrs["data-quiz"] == HOSTILE.quiz
    link = row.find_all("a")[0]
    assert link.attrs["href"] == HOSTILE.href
    assert set(link.attrs) == {"href"}, "no attribute injected"
    assert link.text == "Lesson 99: <img src=x onerror=alert(2)> & <b>code</b> \"q\" 'q'"
    assert [c.tag for c in link.iter()] == ["code"]  # the backtick span, its text escaped
    assert "<script" not in markup and "<img" not in markup


def test_empty_course_and_duplicate_ids():
    dom = parse(render_progress_html([]))
    assert dom.find_all("tbody")[0].find_all("tr") == []
    assert dom.find_all("tfoot")[0].by_class("mha-progress-total")[0].text == "0"
    twice = LessonQuiz("02_b", "B", None, ("evil-one",))
    with pytest.raises(ValueError, match="unique"):
        render_progress_html([HOSTILE, twice])


def test_storage_key_matches_the_script():
    script = JS.read_text(encoding="utf-8")
    assert f'const STORAGE_KEY = "{STORAGE_KEY}";' in script
    assert 'const PROGRESS_SELECTOR = "[data-mha-progress]";' in script
    for name in (
        "mha-progress-answered",
        "mha-progress-correct",
        "mha-progress-reset",
        "mha-progress-yes",
        "mha-progress-cancel",
        "mha-progress-status",
    ):
        assert name in script, name
    assert ".mha-progress [hidden]" in CSS.read_text(encoding="utf-8")
    # One place reads the browser's storage (inside try/catch); nothing else is kept.
    assert script.count("localStorage") == 1
    assert "view.localStorage" in script.split("function storageArea(node)")[1].split("\n}")[0]
    for other in ("sessionStorage", "indexedDB", "cookie", "caches.", "globalThis", "window."):
        assert other not in script, other


# --- lesson titles ----------------------------------------------------------------------------


def _notebook(tmp_path, *sources, name="nb.ipynb"):
    cells = [
        {"cell_type": kind, "metadata": {}, "source": text}
        | ({"outputs": [], "execution_count": None} if kind == "code" else {})
        for kind, text in sources
    ]
    path = tmp_path / name
    path.write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
        encoding="utf-8",
    )
    return path


def test_lesson_title_reads_the_first_heading(tmp_path):
    assert lesson_title(REPO / "notebooks" / "01_input_vectors.ipynb") == (
        "Lesson 1: Input vectors"
    )
    path = _notebook(
        tmp_path,
        ("code", "# a comment, not a heading"),
        (
            "markdown",
            [
                "Some text\n",
                "```python\n",
                "# inside a fence\n",
                "```\n",
                "## Lesson 7: **Masks** and [`mask`](https://example.com) ##\n",
            ],
        ),
        ("markdown", "# A later heading"),
    )
    assert lesson_title(path) == "Lesson 7: Masks and `mask`"
    assert lesson_title(_notebook(tmp_path, ("markdown", "no heading"), name="b.ipynb")) is None
    assert lesson_title(tmp_path / "missing.ipynb") is None
    (tmp_path / "bad.ipynb").write_text("{not json", encoding="utf-8")
    assert lesson_title(tmp_path / "bad.ipynb") is None


# --- the directive in a tiny Sphinx build -----------------------------------------------------


def test_directive_in_a_tiny_sphinx_build(tmp_path):
    src = tmp_path / "src"
    quizzes = src / "notebooks" / "quizzes"
    quizzes.mkdir(parents=True)
    (src / "book").mkdir()
    bank = load_bank("01_input_vectors")
    (quizzes / "01_first.yml").write_text(yaml.safe_dump(bank), encoding="utf-8")
    second = [dict(bank[0], id="second-only-question")]
    (quizzes / "02_second.yml").write_text(yaml.safe_dump(second), encoding="utf-8")
    # Lesson 1 is a page of the build (rst here: no myst-nb needed) with a notebook beside it
    # for its title; lesson 2 has no page, so it is listed without a link.
    (src / "notebooks" / "01_first.rst").write_text("First\n=====\n\nText.\n", encoding="utf-8")
    _notebook(src / "notebooks", ("markdown", "# Lesson 1: The `first` one"), name="01_first.ipynb")
    (src / "conf.py").write_text(
        textwrap.dedent(
            """
            project = "tiny"
            extensions = ["myst_parser", "mha_progress"]  # a local extension: book/_ext
            exclude_patterns = ["_build"]
            """
        ),
        encoding="utf-8",
    )
    (src / "index.rst").write_text(
        "Tiny\n====\n\n.. toctree::\n\n   notebooks/01_first\n   book/progress\n",
        encoding="utf-8",
    )
    (src / "book" / "progress.md").write_text(
        "# Your progress\n\n```{mha-progress}\n```\n", encoding="utf-8"
    )
    env = {**os.environ, "MHA_QUIZ_DIR": str(quizzes), "PYTHONPATH": str(REPO / "book" / "_ext")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-nW",
            "-q",
            str(src),
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "out" / "book" / "progress.html").read_text(encoding="utf-8")
    expected = render_progress_html(
        lesson_quizzes(
            load_all_banks(quizzes),
            notebooks_dir=src / "notebooks",
            href={"01_first": "../notebooks/01_first.html"}.get,
        )
    )
    assert expected in page
    assert 'href="../notebooks/01_first.html">Lesson 1: The <code>first</code> one</a>' in page
    assert '<th scope="row">02 second</th>' in page
    assert quiz_dir() == REPO / "mha_lib" / "quiz" / "banks"  # the environment change stayed local


# --- stored answers of version 1 (before the lessons were renumbered) -------------------------

T, F = True, False
# The course's answer keys as version 1 of the progress format stored them (commit a04b230,
# quizzes 01_input_vectors ... 08_the_module): question id -> (quiz stem, the options' correct
# flags in bank order, or the numeric/shape answer). Historical data: it never changes.
V1_KEYS = {
    "inputs-repeated-the-rows": ("01_input_vectors", [F, F, T, F]),
    "inputs-matrix-facts": ("01_input_vectors", [F, T, F, T, T]),
    "inputs-x-shape": ("01_input_vectors", [10, 8]),
    "inputs-similarity-shape": ("01_input_vectors", [10, 10]),
    "inputs-embedding-params": ("01_input_vectors", 72),
    "qkv-why-separate-query-key": ("02_qkv_projections", [F, T, F, F]),
    "qkv-projection-facts": ("02_qkv_projections", [T, T, F, F, F]),
    "qkv-torch-linear-weight-shape": ("02_qkv_projections", [4, 8]),
    "qkv-param-count-paper": ("02_qkv_projections", 98496),
    "qkv-forgot-transpose": ("02_qkv_projections", [F, F, T, F]),
    "scores-cross-attention-shape": ("03_attention_scores", [6, 10]),
    "scores-why-sqrt-dk": ("03_attention_scores", [F, F, T, F]),
    "scores-std-unscaled": ("03_attention_scores", 16),
    "scores-matrix-facts": ("03_attention_scores", [T, F, T, T, F]),
    "scores-quadratic-growth": ("03_attention_scores", 9),
    "scores-divided-by-dk": ("03_attention_scores", [F, T, F, F]),
    "softmax-axis-for-scores": ("04_softmax_and_masks", [F, F, T, F]),
    "softmax-mask-polarity": ("04_softmax_and_masks", [F, T, F, F]),
    "softmax-large-logits-weight": ("04_softmax_and_masks", 0.665),
    "softmax-temperature-facts": ("04_softmax_and_masks", [T, F, T, T, F]),
    "softmax-applying-a-mask": ("04_softmax_and_masks", [F, T, F, T]),
    "softmax-fully-masked-row": ("04_softmax_and_masks", [F, F, T, F]),
    "softmax-padding-mask-broadcast-shape": ("04_softmax_and_masks", [2, 1, 10]),
    "weighted-output-shape": ("05_weighted_sum", [5, 6]),
    "weighted-output-row-meaning": ("05_weighted_sum", [F, T, F, F]),
    "weighted-equal-values": ("05_weighted_sum", [F, F, F, T]),
    "weighted-sdpa-facts": ("05_weighted_sum", [T, F, T, F, F]),
    "weighted-cost-four-times-longer": ("05_weighted_sum", 16),
    "weighted-memory-mib": ("05_weighted_sum", 16),
    "heads-split-batch-shape": ("06_multiple_heads", [3, 2, 10, 4]),
    "heads-reshape-only-row": ("06_multiple_heads", [F, F, T, F]),
    "heads-column-blocks": ("06_multiple_heads", [T, F, F, T, F]),
    "heads-per-head-weights": ("06_multiple_heads", 16),
    "heads-view-after-transpose": ("06_multiple_heads", [F, T, F, F]),
    "concat-purpose-of-heads": ("07_concat_and_output_projection", [F, F, T, F, F]),
    "concat-summed-heads-shape": ("07_concat_and_output_projection", [10, 4]),
    "concat-output-projection-facts": ("07_concat_and_output_projection", [T, F, T, F, T]),
    "concat-param-count-16": ("07_concat_and_output_projection", 1088),
    "concat-packed-in-proj-weight": ("07_concat_and_output_projection", [F, F, F, T]),
    "module-mask-polarity-torch": ("08_the_module", [F, F, T, F]),
    "module-contiguous-before-view": ("08_the_module", [F, T, F, F]),
    "module-cross-attention-weights-shape": ("08_the_module", [3, 8, 12, 49]),
    "module-parameter-count-cross": ("08_the_module", 352),
    "module-padding-mask-facts": ("08_the_module", [F, T, F, T, F]),
    "module-forward-equivalent-changes": ("08_the_module", [F, T, F, T, F]),
    "module-key-bias-gradient": ("08_the_module", [F, F, F, T]),
    "module-torch-default-weights": ("08_the_module", [T, F, F, F]),
}


def _js_constant(name):
    """The JSON literal between the script's `// BEGIN name (JSON)` and `// END name` lines."""
    script = JS.read_text(encoding="utf-8")
    block = script.split(f"// BEGIN {name} (JSON)\n", 1)[1].split(f"// END {name}", 1)[0]
    declaration = f"const {name} = "
    assert block.startswith(declaration) and block.rstrip().endswith(";"), block[:80]
    return json.loads(block[len(declaration) :].rstrip().removesuffix(";"))


MIGRATION = _js_constant("V1_MIGRATION")


def _key(question):
    if question["type"] in CHOICE_TYPES:
        return [o["correct"] for o in question["options"]]
    return question["answer"]


def test_v1_migration_lists_only_version_1_questions():
    assert MIGRATION and set(MIGRATION) <= set(V1_KEYS)


def test_v1_option_maps_keep_every_right_and_wrong_answer(banks):
    current = {q["id"]: q for bank in banks.values() for q in bank}
    for qid, mapping in MIGRATION.items():
        if mapping is None:
            continue  # removed or rewritten: its stored answers are dropped
        old = V1_KEYS[qid][1]
        new = _key(current[qid])
        assert isinstance(old, list) and len(mapping) == len(old), qid
        kept = [m for m in mapping if m != -1]
        assert all(isinstance(m, int) and 0 <= m < len(new) for m in kept), qid
        assert len(set(kept)) == len(kept), f"{qid}: two old options map to one new option"
        # A stored answer is right after the move exactly when it was right before: the old
        # correct options map onto the new correct options (none of them was removed).
        old_right = {mapping[i] for i, right in enumerate(old) if right}
        assert -1 not in old_right, f"{qid}: a correct option was removed; map it to null"
        assert old_right == {j for j, right in enumerate(new) if right}, qid


def test_questions_missing_from_the_v1_migration_are_unchanged(banks):
    current = {q["id"]: q for bank in banks.values() for q in bank}
    for qid, (_stem, old) in V1_KEYS.items():
        if qid in MIGRATION:
            continue
        assert qid in current, f"{qid} was removed: add it to V1_MIGRATION as null"
        assert _key(current[qid]) == old, (
            f"{qid}: options or answer changed since version 1; add it to V1_MIGRATION"
        )


def test_v1_quiz_stems_map_to_today_s_banks(banks):
    renames = _js_constant("V1_QUIZ_RENAMES")
    masks = _js_constant("V1_MASK_QUESTIONS")
    old_stems = {stem for stem, _ in V1_KEYS.values()}
    assert set(renames) | {"04_softmax_and_masks"} == old_stems - set(banks)
    assert set(renames.values()) <= set(banks)
    # The old lesson 4 was split: its mask questions went to 05_masks, the rest to 04_softmax.
    split = [qid for qid, (stem, _) in V1_KEYS.items() if stem == "04_softmax_and_masks"]
    assert sorted(masks) == sorted(q for q in split if q in {x["id"] for x in banks["05_masks"]})
    assert set(split) - set(masks) <= {q["id"] for q in banks["04_softmax"]}
    for old, new in renames.items():
        moved = {qid for qid, (stem, _) in V1_KEYS.items() if stem == old}
        removed = {qid for qid, m in MIGRATION.items() if m is None}
        assert moved - removed <= {q["id"] for q in banks[new]}, old


def test_storage_format_version_is_2():
    script = JS.read_text(encoding="utf-8")
    assert "const PROGRESS_VERSION = 2;" in script
