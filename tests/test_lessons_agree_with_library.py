"""A lesson writes each step once inline and names its library twin; these tests prove they agree.

For every code cell holding ``# library twin: mha_lib.X`` we run the lesson's setup cell and that
cell (nothing else), take the function it defines, and compare it with ``mha_lib.X`` over several
inputs and seeds. A twin named in a lesson but missing from ``tests/twin_cases/`` fails the test, so a new
lesson cannot skip the check.

We also run each exercise's published solution through its checker: a wrong solution in a
dropdown would teach the wrong thing.
"""

from __future__ import annotations

import ast
import importlib
import re

import numpy as np
import pytest

from course import lesson_paths, read_notebook
from twin_cases import Compare, all_cases

TWIN_PATTERN = re.compile(r"#\s*library twin:\s*(mha_lib(?:\.\w+)+)")


CASES = all_cases()


def _resolve(dotted: str):
    module_name, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def _defined_functions(source: str) -> list[str]:
    return [
        node.name
        for node in ast.parse(source).body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    ]


def _twin_cells():
    for path in lesson_paths():
        nb = read_notebook(path)
        setup = next(c.source for c in nb.cells if c.cell_type == "code")
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for match in TWIN_PATTERN.finditer(cell.source):
                # The function a twin comment names is the first def after the comment.
                after = cell.source[match.end():]
                start = min(i for i in (after.find("def "), after.find("class ")) if i >= 0)
                name = _defined_functions(after[start:])[0]
                yield pytest.param(
                    setup, cell.source, name, match.group(1), id=f"{path.stem}:{name}"
                )


@pytest.mark.parametrize("setup, source, name, twin", list(_twin_cells()))
def test_inline_step_agrees_with_its_library_twin(setup, source, name, twin):
    assert twin in CASES, f"add input cases for {twin} in tests/twin_cases/lessonNN.py"
    namespace: dict = {}
    exec(compile(setup, "<setup cell>", "exec"), namespace)
    # Run only the definitions of the cell (not its demo lines, which need earlier cells).
    tree = ast.parse(source)
    definitions = ast.Module(
        body=[n for n in tree.body
              if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))],
        type_ignores=[],
    )
    exec(compile(definitions, "<lesson cell>", "exec"), namespace)
    inline, library = namespace[name], _resolve(twin)
    if isinstance(CASES[twin], Compare):
        assert CASES[twin].fn(inline, library) >= 3, "compare over several inputs"
        return
    count = 0
    for args in CASES[twin]():
        expected, got = library(*args), inline(*args)
        if isinstance(expected, np.ndarray):
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        else:
            assert got == expected, f"{name}{args!r}: lesson gives {got!r}, {twin} {expected!r}"
        count += 1
    assert count >= 3, "compare over several inputs"


SOLUTION_PATTERN = re.compile(r":::\{dropdown\} Solution\s*```python\n(.*?)```", re.DOTALL)
CHECK_PATTERN = re.compile(r"^(check_\w+)\((\w+)\)", re.MULTILINE)


def _solutions():
    for path in lesson_paths():
        nb = read_notebook(path)
        setup = next(c.source for c in nb.cells if c.cell_type == "code")
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        solutions = SOLUTION_PATTERN.findall(markdown)
        checks = CHECK_PATTERN.findall(code)
        yield pytest.param(setup, solutions, checks, id=path.stem)


@pytest.mark.parametrize("setup, solutions, checks", list(_solutions()))
def test_published_solution_passes_its_checker(setup, solutions, checks):
    assert solutions and checks, "every lesson has an exercise solution and a check cell"
    namespace: dict = {}
    exec(compile(setup, "<setup cell>", "exec"), namespace)
    for solution in solutions:
        exec(compile(solution, "<solution>", "exec"), namespace)
    for checker, function in checks:
        result = namespace[checker](namespace[function])
        assert result.passed, f"the published solution fails {checker}: {result.message}"


@pytest.mark.parametrize("path", lesson_paths(), ids=lambda p: p.stem)
def test_stored_exercise_stub_does_not_pass(path):
    """The stored notebook shows the stub's check failing: learners start from a 'not yet'."""
    nb = read_notebook(path)
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECK_PATTERN.search(cell.source):
            html = "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)
            assert 'data-passed="false"' in html, f"{path.name}: stored check of the stub"
