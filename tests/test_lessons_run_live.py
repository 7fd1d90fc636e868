"""Every lesson runs in a live kernel within its CPU budget, and its quiz output is a real widget
carrying the lesson's questions (what a learner in JupyterLab gets), next to the static HTML
the website shows.

Those checks run in the nbval stage, in the kernel nbval has just run the lesson in (twice,
strict), as one more test item per lesson: tests/nbval_lessons.py, a pytest plugin that the
Makefile's NBVAL loads. This saves a third run of every lesson. The tests here make sure the
plugin is loaded and adds its item to every lesson, and test the budget's source: the
notebook's own metadata, ``metadata["mha_course"]["cpu_budget_s"]``, else 10 s of CPU.
"""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest
from nbval_lessons import DEFAULT_CPU_SECONDS, ITEM_NAME, cpu_budget

from course import NOTEBOOKS, REPO, lesson_paths


def _make_variable(name: str) -> str:
    """The value of ``name := ...`` in the Makefile, continuation lines joined."""
    text = (REPO / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(rf"^{name}\s*:?=(.*)$", text, re.MULTILINE)
    assert match, f"no {name} in the Makefile"
    return match.group(1)


def test_cpu_budget_comes_from_the_notebooks_metadata():
    nb = nbformat.v4.new_notebook()
    assert DEFAULT_CPU_SECONDS == 10.0
    assert cpu_budget(nb.metadata) == DEFAULT_CPU_SECONDS
    nb.metadata["mha_course"] = {"cpu_budget_s": 30}
    assert cpu_budget(nb.metadata) == 30.0
    for bad in (0, -1, "30", True, None):
        nb.metadata["mha_course"] = {"cpu_budget_s": bad}
        with pytest.raises(AssertionError, match="cpu_budget_s"):
            cpu_budget(nb.metadata)


def test_every_lesson_has_a_valid_budget():
    for path in lesson_paths():
        cpu_budget(nbformat.read(path, as_version=4).metadata)


def test_the_nbval_stage_loads_the_plugin():
    nbval = _make_variable("NBVAL")
    assert "--nbval " in nbval and "-p nbval_lessons" in nbval, nbval


def test_the_plugin_checks_every_lesson_after_its_last_cell():
    """Collected as the nbval stage collects: each lesson's item right after its last cell."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "nbval_lessons",
         "--nbval", "--nbval-current-env", "-p", "no:xdist", str(NOTEBOOKS.relative_to(REPO))],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    lessons = lesson_paths()
    assert lessons
    for path in lessons:
        mine = [i for i in ids if i.startswith(f"notebooks/{path.name}::")]
        cells = sum(c.cell_type == "code" for c in nbformat.read(path, as_version=4).cells)
        assert mine == [f"notebooks/{path.name}::Cell {k}" for k in range(cells)] + [
            f"notebooks/{path.name}::{ITEM_NAME}"
        ], path.name
