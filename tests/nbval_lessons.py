"""pytest plugin for the nbval stage (the Makefile's NBVAL: ``-p nbval_lessons``): after
nbval has run the last cell of a lesson, in the same kernel, one more test item per lesson.

``<lesson>.ipynb::kernel CPU and quiz widget`` checks what a learner in JupyterLab gets:

- the kernel's CPU time (its process's user + system time, start-up and imports included; not
  wall time, which on a shared machine measures the neighbours as much as the lesson) is
  within the lesson's budget: ``metadata["mha_course"]["cpu_budget_s"]`` in the notebook, else
  10 s (``cpu_budget``);
- the quiz cell's output (``show_quiz("NN_slug")``, as nbval received it from the kernel) is a
  widget view of an ``AnyModel`` whose state carries every question of the lesson's bank and
  the widget's ES module, next to the static HTML the website shows.

nbval runs the lessons anyway (twice, strict); checking here saves a third run of every
lesson. tests/test_lessons_run_live.py tests ``cpu_budget`` and that the Makefile loads this
plugin.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from course import LESSON_PATTERN, QUIZZES

DEFAULT_CPU_SECONDS = 10.0
ITEM_NAME = "kernel CPU and quiz widget"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Run in the lesson's kernel after its last cell: the kernel's CPU time and the state of the
# quiz's widget model (the dict the kernel sends to JupyterLab).
PROBE = """\
import json as _json, resource as _resource
from ipywidgets.widgets.widget import _instances as _widgets
_usage = _resource.getrusage(_resource.RUSAGE_SELF)
_model = _widgets.get({model_id!r})
_state = _model.get_state() if _model is not None else None
print(_json.dumps({{"cpu": _usage.ru_utime + _usage.ru_stime, "state": _state}}, default=str))
"""


def cpu_budget(metadata) -> float:
    """A lesson's kernel CPU budget in seconds, from its notebook ``metadata``:
    ``mha_course.cpu_budget_s``, else DEFAULT_CPU_SECONDS."""
    budget = metadata.get("mha_course", {}).get("cpu_budget_s", DEFAULT_CPU_SECONDS)
    assert isinstance(budget, int | float) and not isinstance(budget, bool) and budget > 0, (
        f"metadata mha_course.cpu_budget_s must be a positive number of seconds, not {budget!r}"
    )
    return float(budget)


def _run_in_kernel(kernel, code: str, timeout: float = 60) -> str:
    """Run ``code`` in nbval's kernel; its stdout (an error fails the test)."""
    msg_id = kernel.execute_cell_input(code, allow_stdin=False)
    kernel.await_reply(msg_id, timeout=timeout)
    text = []
    while True:
        msg = kernel.get_message(stream="iopub", timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "status" and content["execution_state"] == "idle":
            return "".join(text)
        if kind == "error":
            trace = "\n".join(content["traceback"])
            pytest.fail(f"the probe failed in the lesson's kernel:\n{trace}")
        if kind == "stream" and content["name"] == "stdout":
            text.append(content["text"])


class LessonKernelItem(pytest.Item):
    """The lesson's kernel CPU and its quiz widget, after nbval ran its cells (see module)."""

    def runtest(self):
        nbfile, stem = self.parent, Path(self.parent.path).stem
        kernel = nbfile.kernel
        assert kernel is not None and kernel.is_alive(), "the lesson's kernel is not running"
        cells = [i for i in self.session.items if i.parent is nbfile and i is not self]
        quiz = [c for c in cells if f'show_quiz("{stem}")' in c.cell.source]
        assert len(quiz) == 1, f"{stem}: {len(quiz)} cells call show_quiz({stem!r})"
        outputs = getattr(quiz[0], "test_outputs", None)
        assert outputs is not None, "nbval did not run the quiz cell"
        views = [o["data"] for o in outputs if WIDGET_VIEW in o.get("data", {})]
        assert len(views) == 1, f"the quiz cell shows {len(views)} widget views"
        bundle = views[0]

        model_id = bundle[WIDGET_VIEW]["model_id"]
        probe = json.loads(_run_in_kernel(kernel, PROBE.format(model_id=model_id)))
        cpu, budget = probe["cpu"], cpu_budget(nbfile.nb.metadata)
        print(f"lesson {stem}: the kernel used {cpu:.2f} s of CPU (budget {budget:g} s)")
        assert cpu <= budget, f"{stem} used {cpu:.1f} s of CPU (budget {budget:g} s)"

        state = probe["state"]
        assert state is not None, "the quiz's widget view names no live widget model"
        assert state["_model_name"] == "AnyModel"
        ids = [q["id"] for q in yaml.safe_load((QUIZZES / f"{stem}.yml").read_text("utf-8"))]
        assert ids, f"{stem}: an empty bank"
        for question_id in ids:
            assert f'data-question-id="{question_id}"' in state["html"], question_id
        assert "export default" in state["_esm"], "the widget ships its ES module"
        # The same output also carries the static rendering the website shows.
        assert f'data-mha-quiz="{stem}"' in bundle["text/html"]

    def reportinfo(self):
        return self.path, None, f"{Path(self.parent.path).name}::{ITEM_NAME}"


def pytest_collection_modifyitems(session, config, items):
    """After the last cell of each lesson, its LessonKernelItem (same parent: same kernel, and
    the same xdist scope under ``--dist loadscope``)."""
    if not config.getoption("nbval", default=False):
        return
    result, last = [], {}
    for item in items:
        result.append(item)
        parent = item.parent
        if hasattr(parent, "kernel") and LESSON_PATTERN.match(Path(parent.path).name):
            last[parent] = len(result)
    for parent, position in sorted(last.items(), key=lambda kv: -kv[1]):
        result.insert(position, LessonKernelItem.from_parent(parent, name=ITEM_NAME))
    items[:] = result
