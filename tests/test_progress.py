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

from course import REPO
from html_tree import parse
from mha_lib.quiz import load_all_banks, load_bank, quiz_dir
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
    outputs = set()
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONIOENCODING": "utf-8"}
        env.pop("MHA_QUIZ_DIR", None)
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, check=True
        )
        outputs.add(result.stdout)
    assert outputs == {course_html.encode("utf-8")}


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
            extensions = ["myst_parser", "mha_lib.sphinx_progress"]
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
    env = {**os.environ, "MHA_QUIZ_DIR": str(quizzes)}
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
