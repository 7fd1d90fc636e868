"""Lesson 01 runs in a live kernel, and its quiz output is a real widget carrying the questions."""

from __future__ import annotations

import time

import yaml
from nbclient import NotebookClient

from course import NOTEBOOKS, QUIZZES, read_notebook

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STEM = "01_input_vectors"
MAX_SECONDS = 10.0


def test_lesson01_executes_fast_and_its_widget_carries_the_questions():
    nb = read_notebook(NOTEBOOKS / f"{STEM}.ipynb")
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    start = time.perf_counter()
    client.execute()  # kernel start-up included: what a learner waits for
    elapsed = time.perf_counter() - start
    print(f"lesson {STEM} executed in {elapsed:.2f} s")
    assert elapsed <= MAX_SECONDS, f"{STEM} took {elapsed:.1f} s (budget {MAX_SECONDS} s)"

    quiz_cell = next(c for c in nb.cells if f'show_quiz("{STEM}")' in c.source)
    bundle = next(o["data"] for o in quiz_cell.outputs if WIDGET_VIEW in o.get("data", {}))
    model_id = bundle[WIDGET_VIEW]["model_id"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    model = state[model_id]
    assert model["model_name"] == "AnyModel"
    ids = [q["id"] for q in yaml.safe_load((QUIZZES / f"{STEM}.yml").read_text("utf-8"))]
    for question_id in ids:
        assert f'data-question-id="{question_id}"' in model["state"]["html"]
    assert "export default" in model["state"]["_esm"], "the widget ships its ES module"
    # The same output also carries the static rendering the website shows.
    assert 'data-mha-quiz="01_input_vectors"' in bundle["text/html"]
