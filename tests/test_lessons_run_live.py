"""Every lesson runs in a live kernel within budget, and its quiz output is a real widget
carrying the lesson's questions (what a learner in JupyterLab gets), next to the static HTML
the website shows.

The budget is on the CPU time the kernel spends (its process's user + system time, kernel
start-up and imports included), not on wall time: the test machines are shared, and wall time
there measures the neighbours as much as the lesson. On an idle laptop the two are close.
The budget is 10 s unless the notebook's own metadata sets another:
``metadata["course"]["cpu_budget_s"]`` (a lesson that trains a model may need more)."""

from __future__ import annotations

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from course import NOTEBOOKS, QUIZZES, lesson_paths, read_notebook

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
DEFAULT_CPU_SECONDS = 10.0
CPU_PROBE = (
    "import resource as _r\n"
    "_u = _r.getrusage(_r.RUSAGE_SELF)\n"
    "print(f'kernel cpu {_u.ru_utime + _u.ru_stime:.3f}')"
)


def cpu_budget(nb) -> float:
    """The lesson's kernel CPU budget in seconds: its metadata's ``course.cpu_budget_s``, else
    DEFAULT_CPU_SECONDS."""
    budget = nb.metadata.get("course", {}).get("cpu_budget_s", DEFAULT_CPU_SECONDS)
    assert isinstance(budget, int | float) and not isinstance(budget, bool) and budget > 0, (
        f"metadata course.cpu_budget_s must be a positive number of seconds, not {budget!r}"
    )
    return float(budget)


def test_cpu_budget_comes_from_the_notebooks_metadata():
    nb = nbformat.v4.new_notebook()
    assert cpu_budget(nb) == DEFAULT_CPU_SECONDS
    nb.metadata["course"] = {"cpu_budget_s": 30}
    assert cpu_budget(nb) == 30.0
    for bad in (0, -1, "30", True, None):
        nb.metadata["course"] = {"cpu_budget_s": bad}
        with pytest.raises(AssertionError, match="cpu_budget_s"):
            cpu_budget(nb)


@pytest.mark.parametrize("stem", [p.stem for p in lesson_paths()])
def test_lesson_executes_fast_and_its_widget_carries_the_questions(stem):
    nb = read_notebook(NOTEBOOKS / f"{stem}.ipynb")
    budget = cpu_budget(nb)
    nb.cells.append(nbformat.v4.new_code_cell(CPU_PROBE))
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    probe = nb.cells.pop()
    cpu = float(probe.outputs[0]["text"].split()[-1])
    print(f"lesson {stem}: the kernel used {cpu:.2f} s of CPU")
    assert cpu <= budget, f"{stem} used {cpu:.1f} s of CPU (budget {budget:g} s)"

    quiz_cell = next(c for c in nb.cells if f'show_quiz("{stem}")' in c.source)
    bundle = next(o["data"] for o in quiz_cell.outputs if WIDGET_VIEW in o.get("data", {}))
    model = nb.metadata["widgets"][WIDGET_STATE]["state"][bundle[WIDGET_VIEW]["model_id"]]
    assert model["model_name"] == "AnyModel"
    ids = [q["id"] for q in yaml.safe_load((QUIZZES / f"{stem}.yml").read_text("utf-8"))]
    for question_id in ids:
        assert f'data-question-id="{question_id}"' in model["state"]["html"]
    assert "export default" in model["state"]["_esm"], "the widget ships its ES module"
    # The same output also carries the static rendering the website shows.
    assert f'data-mha-quiz="{stem}"' in bundle["text/html"]
