"""Notebook and book hygiene: what nbval and the site rely on, and the lesson skeleton."""

from __future__ import annotations

import itertools
import json
import re
import sys

import pytest
import yaml

from course import NOTEBOOKS, QUIZZES, REPO, lesson_paths, read_notebook, toc_files

LESSONS = lesson_paths()
LESSON_IDS = [p.stem for p in LESSONS]


def test_there_are_lessons():
    assert LESSONS, "no lesson notebooks found in notebooks/"


def test_every_toc_entry_exists():
    for entry in toc_files():
        candidates = [REPO / f"{entry}{ext}" for ext in (".md", ".ipynb")]
        assert any(c.exists() for c in candidates), f"_toc.yml names {entry!r}, which is missing"


def test_every_lesson_is_in_the_toc():
    listed = set(toc_files())
    for path in LESSONS:
        assert f"notebooks/{path.stem}" in listed, f"{path.name} is not in _toc.yml"


@pytest.mark.parametrize("path", LESSONS, ids=LESSON_IDS)
def test_cells_executed_in_order_without_errors(path):
    nb = read_notebook(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"{path.name}: execution counts {counts}; re-run with `make execute`"
    )
    for index, cell in enumerate(code):
        kinds = [o.get("name", o.output_type) for o in cell.outputs]
        assert not any(a == b in ("stdout", "stderr") for a, b in itertools.pairwise(kinds)), (
            f"{path.name} code cell {index} stores a stream in pieces (a progress bar's every "
            "update?): re-run with `make execute`, which stores each stream once"
        )
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name} code cell {index} stores an error"
            if output.output_type == "stream":
                assert not re.search(r"\r(?!\n)", output.text), (
                    f"{path.name} code cell {index} stores a line rewritten with \\r: "
                    f"{output.text[:120]!r}; re-run with `make execute`"
                )
            if output.output_type == "stream":
                assert output.name == "stdout", (
                    f"{path.name} code cell {index} writes to stderr: {output.text[:200]!r}"
                )


@pytest.mark.parametrize("path", LESSONS, ids=LESSON_IDS)
def test_outputs_are_deterministic_text(path):
    # Text only: base64 image data may hold "0x" and six hex digits by chance.
    outputs = [o for c in read_notebook(path).cells for o in c.get("outputs", [])]
    text = json.dumps(
        [o.get("text", "") for o in outputs]
        + [v for o in outputs for k, v in o.get("data", {}).items() if not k.startswith("image/")]
    )
    assert not re.search(r"0x[0-9a-fA-F]{6,}", text), f"{path.name}: an output shows an address"
    assert "Traceback (most recent call last)" not in text


@pytest.mark.parametrize("path", LESSONS, ids=LESSON_IDS)
def test_every_figure_has_alt_text(path):
    nb = read_notebook(path)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        has_image = any(
            mime.startswith("image/")
            for output in cell.outputs
            for mime in output.get("data", {})
        )
        if has_image:
            alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt) >= 40, (
                f"{path.name} cell {index} shows a figure without alt text: set "
                "cell metadata mystnb.image.alt to a sentence describing what it shows"
            )


@pytest.mark.parametrize("path", LESSONS, ids=LESSON_IDS)
def test_no_widget_state_unless_asked(path):
    """Widget state pulls the 3.6 MB widget manager into the page; quizzes need none."""
    nb = read_notebook(path)
    asked = nb.metadata.get("mha_course", {}).get("store_widget_state", False)
    assert asked or "widgets" not in nb.metadata, (
        f"{path.name} stores widget state; re-run `make execute`, or set "
        "metadata mha_course.store_widget_state if a page truly needs the widget manager"
    )


@pytest.mark.parametrize("path", LESSONS, ids=LESSON_IDS)
def test_lesson_skeleton(path):
    nb = read_notebook(path)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    number = int(path.stem[:2])
    assert nb.cells[0].source.startswith(f"# Lesson {number}:"), "first cell: '# Lesson N: title'"
    for heading in ("Learning objectives", "## Summary", "## What's next", "## Exercise"):
        assert heading in markdown, f"{path.name} lacks {heading!r}"
    assert ":::{dropdown} Solution" in markdown, f"{path.name}: exercise solution dropdown"
    assert re.search(r"^check_\w+\(", code, re.MULTILINE), f"{path.name}: no exercise check cell"
    assert f'show_quiz("{path.stem}")' in code, f"{path.name}: no quiz cell for its own bank"
    assert (QUIZZES / f"{path.stem}.yml").exists(), f"no bank mha_lib/quiz/banks/{path.stem}.yml"
    if path.stem.endswith("_review"):
        # A review teaches no new step: it runs the steps of earlier lessons from mha_lib,
        # and "later lessons import from mha_lib, never copy" (AUTHORING.md), so it has no
        # inline twin. It must use the library instead, and be the last lesson.
        assert "# library twin:" not in code, f"{path.name}: a review copies no step inline"
        assert re.search(r"^from mha_lib import", code, re.MULTILINE), (
            f"{path.name}: a review runs the course's steps from mha_lib")
        assert path == LESSONS[-1], f"{path.name}: the review comes after every lesson"
    else:
        assert "# library twin: mha_lib." in code, f"{path.name} names no library twin"


GUARD_START = (
    "try:\n    import mha_lib\nexcept ModuleNotFoundError:\n"
    "    class CourseLibraryMissing(Exception):\n"
)


@pytest.mark.parametrize("path", LESSONS, ids=LESSON_IDS)
def test_setup_cell_stops_with_one_message_without_mha_lib(path, monkeypatch):
    """Run where mha_lib is missing (a downloaded lesson), the setup cell's guard ends the run
    with one message that says what to install and where the course bundle is."""
    setup = next(c.source for c in read_notebook(path).cells if c.cell_type == "code")
    assert setup.startswith(GUARD_START), f"{path.name}: the setup cell starts with the guard"
    guard = setup[: setup.index(") from None") + len(") from None")]
    monkeypatch.setitem(sys.modules, "mha_lib", None)  # `import mha_lib` now fails
    with pytest.raises(Exception, match="course library") as stop:
        exec(compile(guard, f"<{path.name} guard>", "exec"), {})  # noqa: S102 (the cell itself)
    assert type(stop.value).__name__ == "CourseLibraryMissing"
    # Jupyter shows an exception with _render_traceback_ as that text alone: the message.
    assert stop.value._render_traceback_() == [str(stop.value)]
    message = str(stop.value)
    for words in ("mha_lib", "course bundle", "mha-course.zip", "Set-up page",
                  "pip install -r requirements.txt mha_lib-*.whl"):
        assert words in message, f"{path.name}: the guard's message lacks {words!r}"
    assert stop.value.__suppress_context__, "raise ... from None: no chained traceback"


def test_intro_lists_every_lesson_in_order():
    """book/intro.md: one numbered step and one table row per lesson, in the order of the toc."""
    intro = (REPO / "book" / "intro.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| \{doc\}`\.\./notebooks/(\d\d_[a-z0-9_]+)`", intro, re.MULTILINE)
    assert rows == LESSON_IDS, f"the intro's lesson table lists {rows}"
    steps = re.findall(r"^(\d+)\. \*\*", intro, re.MULTILINE)
    assert steps == [str(n) for n in range(1, len(LESSONS) + 1)], (
        f"the intro's step list has items {steps} for {len(LESSONS)} lessons"
    )


def test_no_quiz_answers_in_notebook_sources():
    """Questions are data: a lesson's source never spells out a question or its answer key."""
    sources = {
        p.name: "\n".join(c.source for c in read_notebook(p).cells) for p in LESSONS
    }
    for bank in sorted(QUIZZES.glob("*.yml")):
        for question in yaml.safe_load(bank.read_text(encoding="utf-8")):
            for name, source in sources.items():
                assert question["prompt"].strip()[:60] not in source, (
                    f"{name} contains the prompt of quiz question {question['id']!r}"
                )
    for name, source in sources.items():
        assert not re.search(r"[\"']?correct[\"']?\s*[:=]\s*True", source), (
            f"{name} defines an answer key; put questions in mha_lib/quiz/banks/"
        )


def test_banks_belong_to_lessons():
    stems = {p.stem for p in lesson_paths()}
    for bank in QUIZZES.glob("*.yml"):
        assert bank.stem in stems, f"{bank.name} has no lesson notebook {bank.stem}.ipynb"


def test_config_keeps_the_site_offline_and_verified():
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["only_build_toc_files"] is True
    assert config["launch_buttons"]["thebe"] is False
    sphinx = config["sphinx"]["config"]
    assert sphinx["html_math_renderer"] == "mathml", "math is MathML: no script, no network"
    assert ["html", "text/html", 5] in sphinx["nb_mime_priority_overrides"]
    assert not (REPO / "_static").exists(), "JB1 would add every .js in _static to every page"
    assert NOTEBOOKS.is_dir()
