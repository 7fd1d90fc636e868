"""Every lesson runs in a live kernel within budget, and its quiz output is a real widget
carrying the lesson's questions (what a learner in JupyterLab gets), next to the static HTML
the website shows."""

from __future__ import annotations

import time

import pytest
import yaml
from nbclient import NotebookClient

from course import NOTEBOOKS, QUIZZES, lesson_paths, read_notebook

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MAX_SECONDS = 10.0


@pytest.mark.parametrize("stem", [p.stem for p in lesson_paths()])
def test_lesson_executes_fast_and_its_widget_carries_the_questions(stem):
    nb = read_notebook(NOTEBOOKS / f"{stem}.ipynb")
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    start = time.perf_counter()
    client.execute()  # kernel start-up included: what a learner waits for
    elapsed = time.perf_counter() - start
    print(f"lesson {stem} executed in {elapsed:.2f} s")
    assert elapsed <= MAX_SECONDS, f"{stem} took {elapsed:.1f} s (budget {MAX_SECONDS} s)"

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
