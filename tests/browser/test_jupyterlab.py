"""Every lesson as a learner meets it in JupyterLab (the `make lab` set-up), in a real browser.

One JupyterLab server (the flags of `make lab`, plus a token set here, no browser, a free
port) serves a temporary copy of ``notebooks/`` whose stored outputs are cleared, so that the
stored static quiz and checker boxes cannot stand in for live ones. Every request the page
makes to a host other than 127.0.0.1 is aborted and recorded. For every lesson:

- the MyST markup is rendered by jupyterlab-myst: the "Learning objectives" admonition is a
  box, no raw ``:::``, ``{directive}`` or ``$`` math source is visible in any Markdown cell;
- the solution is hidden in a closed dropdown until it is clicked open;
- Run → Run All Cells (clicked in the menu bar, once the kernel is connected and idle) really
  runs every code cell: execution counts 1…n appear and no cell writes to stderr;
- the exercise checker's box appears, and in the live quiz widget every question answered
  wrong and then right gives ``data-state`` "incorrect" and then "correct";
- 0 blocked requests and 0 page errors.

Screenshots: ``_build/screenshots/lab-<lesson>-{admonition,dropdown-closed,dropdown-open,
quiz}.png``. The server and its kernels are stopped at the end, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course import lesson_paths
from mha_lib.quiz import load_bank
from quiz_driver import shown_text

LESSONS = lesson_paths()
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
KERNEL_NAME = "Python 3 (ipykernel)"
START_TIMEOUT_S = 180  # JupyterLab start-up on a busy 2-core machine
RUN_TIMEOUT_S = 600  # Run All of one lesson (lesson 9 trains a small model)

# The flags `make lab` uses (Makefile, LAB_FLAGS): no news feed, no update check, no extension
# manager that would query a package index.
LAB_FLAGS = [
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
    "--ServerApp.port_retries=0",
]

# User settings of the test server (JUPYTERLAB_SETTINGS_DIR is a temporary folder):
# - no "get notified about Jupyter news?" pop-up over the notebook in the screenshots;
# - every cell is laid out (no windowing), so visibility checks see the whole notebook.
#   jupyterlab-myst renders a cell the same way whatever the windowing mode.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


# ---- the server --------------------------------------------------------------------------


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _copy_lessons_without_outputs(folder: Path) -> None:
    folder.mkdir()
    for path in LESSONS:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"] = []
                cell["execution_count"] = None
        (folder / path.name).write_text(json.dumps(notebook, indent=1), encoding="utf-8")


def _stop(process: subprocess.Popen) -> None:
    """Stop the server and every process it started (kernels run in sessions of their own)."""
    import psutil

    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for proc in [process, *children]:
        try:
            proc.terminate()
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=10)
    for proc in alive:
        proc.kill()


@contextlib.contextmanager
def _running_lab(root: Path, **extra_env: str):
    """A JupyterLab server as ``make lab`` starts it, on the lessons without outputs, in
    ``root``; ``extra_env`` for the server and its kernels (``MHA_LANG=ja``)."""
    notebooks = root / "notebooks"
    _copy_lessons_without_outputs(notebooks)
    settings = root / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTHONPATH", "MHA_LANG"))}
    env.update(
        JUPYTER_CONFIG_DIR=str(root / "config"),
        JUPYTER_DATA_DIR=str(root / "data"),
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"),
        IPYTHONDIR=str(root / "ipython"),
        **extra_env,
    )
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}", *LAB_FLAGS,
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = root / "jupyterlab.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    server = Lab(f"http://127.0.0.1:{port}", token, root, log, process)
    try:
        started = time.monotonic()
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}")
            try:
                server.api("/api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() - started > START_TIMEOUT_S:
                    pytest.fail(f"JupyterLab did not answer in {START_TIMEOUT_S} s:\n"
                                f"{server.log_tail()}")
                time.sleep(0.5)
        print(f"\nJupyterLab answered after {time.monotonic() - started:.1f} s")
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with _running_lab(tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture(scope="module")
def lab_ja(tmp_path_factory):
    """The same, for a Japanese reader: ``MHA_LANG=ja make lab`` (AUTHORING.md)."""
    with _running_lab(tmp_path_factory.mktemp("jupyterlab-ja"), MHA_LANG="ja") as server:
        yield server


@pytest.fixture
def lab_page(browser, lab):
    """A fresh browser context (no stored quiz progress) that reaches 127.0.0.1 only."""
    yield from _lab_page(browser, lab)


@pytest.fixture
def lab_page_ja(browser, lab_ja):
    yield from _lab_page(browser, lab_ja)


def _lab_page(browser, lab):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []
    page_errors: list[str] = []

    def route(route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.blocked, page.page_errors = blocked, page_errors
    yield page
    context.close()
    # Shut this lesson's kernel down so that the next lesson starts from a quiet machine.
    for session in lab.api("/api/sessions"):
        lab.api(f"/api/sessions/{session['id']}", method="DELETE")


# ---- what a lesson contains --------------------------------------------------------------

_DROPDOWN = re.compile(r"^:::\{dropdown\}[^\n]*\n(.*?)^:::\s*$", re.MULTILINE | re.DOTALL)
_FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def cells(path: Path) -> list[dict]:
    """The lesson's cells, each with its source as one string."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [dict(c, source="".join(c["source"])) for c in notebook["cells"]]


def solution_marker(path: Path) -> str:
    """A line of the lesson's solution (in a dropdown) that no code cell contains: it must
    not be on screen until the dropdown is opened."""
    code = "\n".join(c["source"] for c in cells(path) if c["cell_type"] == "code")
    markdown = "\n".join(c["source"] for c in cells(path) if c["cell_type"] == "markdown")
    dropdowns = _DROPDOWN.findall(markdown)
    assert dropdowns, f"{path.name}: no :::{{dropdown}} (the exercise's solution)"
    lines = [
        line.strip()
        for block in dropdowns
        for fence in _FENCE.findall(block)
        for line in fence.splitlines()
    ]
    unique = [line for line in lines if len(line) > 12 and line not in code]
    assert unique, f"{path.name}: the solution has no line that the code cells lack"
    return max(unique, key=len)


def code_cell_count(path: Path) -> int:
    return sum(c["cell_type"] == "code" for c in cells(path))


# ---- the notebook in the page ----------------------------------------------------------------

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"

_PROMPTS = """(selector) => Array.from(document.querySelectorAll(selector + ' .jp-CodeCell'))
    .map(cell => cell.querySelector('.jp-InputArea-prompt').textContent.trim())"""

_KERNEL_READY = """([selector, kernel]) => {
    const panel = document.querySelector(selector).closest('.jp-NotebookPanel');
    const name = panel.querySelector('.jp-Toolbar-kernelName');
    const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    const status = document.querySelector('#jp-main-statusbar');
    return Boolean(name && name.textContent.trim() === kernel
        && indicator && indicator.getAttribute('data-status') === 'idle'
        && status && / \\| Idle\\b/.test(status.innerText.replace(/\\n/g, ' | ')));
}"""

_MARKDOWN_RENDERED = """(selector) => Array.from(
    document.querySelectorAll(selector + ' .jp-MarkdownCell'))
    .every(cell => Array.from(cell.querySelectorAll('.myst, .jp-RenderedMarkdown'))
        .some(node => node.innerText.trim() !== ''))"""

# Text a reader sees in the rendered Markdown cells: MyST source must not be part of it.
_MARKDOWN_TEXT = """(selector) => Array.from(
    document.querySelectorAll(selector + ' .jp-MarkdownCell .jp-RenderedMarkdown, '
                              + selector + ' .jp-MarkdownCell .myst'))
    .map(node => node.innerText).join('\\n')"""
RAW_MYST = [":::", "{admonition}", "{dropdown}", "{doc}", "{ref}", ":class:", "$"]


def wait_for(predicate, what: str, timeout: float, lab: Lab, interval: float = 0.5):
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n"
                        f"server log:\n{lab.log_tail()}")
        time.sleep(interval)
    return time.monotonic() - started


def run_all_from_menu(page) -> None:
    menu_bar = page.get_by_role("navigation", name="main menu")
    menu_bar.get_by_role("menuitem", name="Run", exact=True).click()
    item = page.get_by_role("menu").get_by_role("menuitem", name=re.compile(r"^Run All Cells"))
    expect(item).to_be_visible()
    item.click()


def answer(box, question, right: bool, check: str = "Check") -> None:
    """Put a wrong or the right answer to ``question`` into its quiz box and press the
    button named ``check`` ("Check"; 答え合わせ in Japanese)."""
    kind = question["type"]
    if kind in ("single", "multiple"):
        correct = [i for i, o in enumerate(question["options"]) if o["correct"]]
        wrong = [i for i, o in enumerate(question["options"]) if not o["correct"]]
        if kind == "multiple":
            for item in box.locator("input[type=checkbox]").all():
                item.set_checked(False)
        for index in (correct if right else wrong[:1]):
            box.locator(f'input[value="{index}"]').check()
    elif kind == "numeric":
        value = question["answer"] if right else question["answer"] + 1000
        box.locator("input[type=text]").fill(repr(value))
    else:  # shape
        dims = question["answer"] if right else [d + 1 for d in question["answer"]]
        box.locator("input[type=text]").fill("(" + ", ".join(map(str, dims)) + ")")
    box.get_by_role("button", name=check, exact=True).click()


def shot(page, screenshots: Path, name: str, locator=None) -> Path:
    path = screenshots / f"lab-{name}.png"
    if locator is not None:
        locator.scroll_into_view_if_needed()
    page.screenshot(path=str(path))
    return path


# ---- the test --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_in_jupyterlab(lab, lab_page, screenshots, path):
    page, stem = lab_page, path.stem
    timings: dict[str, float] = {}
    started = time.monotonic()
    page.goto(f"{lab.url}/lab/workspaces/{stem}/tree/{path.name}?reset&token={lab.token}")
    notebook = page.locator(NOTEBOOK)
    expect(notebook.locator(".jp-Cell").first).to_be_visible(timeout=START_TIMEOUT_S * 1000)
    expect(notebook.locator(".jp-Cell")).to_have_count(len(cells(path)), timeout=60_000)
    # jupyterlab-myst renders each Markdown cell asynchronously: wait for all of them.
    wait_for(lambda: page.evaluate(_MARKDOWN_RENDERED, NOTEBOOK),
             "every Markdown cell to be rendered", START_TIMEOUT_S, lab)
    timings["open"] = time.monotonic() - started

    # Before anything runs: the outputs were cleared, so no quiz and no checker box yet.
    assert notebook.locator("[data-mha-quiz], .mha-check").count() == 0

    # MyST rendered by jupyterlab-myst: an admonition box, math typeset, no raw source.
    objectives = notebook.locator("aside.myst-admonition", has_text="Learning objectives")
    expect(objectives.first).to_be_visible()
    assert notebook.locator(".jp-MarkdownCell .katex").count() > 0, "no typeset math"
    shot(page, screenshots, f"{stem}-admonition", objectives.first)

    # The solution: in a closed dropdown, not on screen until it is opened.
    marker = solution_marker(path)
    solution = notebook.locator("details.myst-dropdown", has_text="Solution")
    expect(solution).to_have_count(1)
    expect(solution).not_to_have_attribute("open", "")
    solution_code = solution.locator("pre, code").filter(has_text=marker).first
    expect(solution_code).to_be_hidden()

    # Run → Run All Cells, once the kernel is connected and idle (an earlier Run All is lost).
    timings["kernel"] = wait_for(
        lambda: page.evaluate(_KERNEL_READY, [NOTEBOOK, KERNEL_NAME]), "the kernel to be connected and idle",
        START_TIMEOUT_S, lab,
    )
    run_started = time.monotonic()
    run_all_from_menu(page)
    code_cells = code_cell_count(path)
    wait_for(
        lambda: any(p not in ("[ ]:", "") for p in page.evaluate(_PROMPTS, NOTEBOOK)),
        "Run All to start (a cell marked [*] or numbered)", 60, lab,
    )
    wait_for(
        lambda: all(re.fullmatch(r"\[\d+\]:", p) for p in page.evaluate(_PROMPTS, NOTEBOOK))
        and page.evaluate(_KERNEL_READY, [NOTEBOOK, KERNEL_NAME]),
        f"all {code_cells} code cells to run", RUN_TIMEOUT_S, lab, interval=1.0,
    )
    timings["run all"] = time.monotonic() - run_started
    counts = [int(p[1:-2]) for p in page.evaluate(_PROMPTS, NOTEBOOK)]
    assert counts == list(range(1, code_cells + 1)), f"execution counts {counts}"
    stderr = notebook.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
    assert stderr.count() == 0, f"a cell wrote to stderr or raised: {stderr.all_inner_texts()}"

    # The exercise checker's box, from this run (the stub is not solved yet).
    check_box = notebook.locator(".jp-OutputArea-output .mha-check")
    expect(check_box).to_have_count(1)
    expect(check_box).to_be_visible()
    expect(check_box).to_have_attribute("data-passed", "false")
    expect(check_box).to_contain_text("Not yet")

    # The live quiz, every question wrong then right. It is the anywidget view: the widget
    # manager's output (a Lumino panel with no data-mime-type), not the static text/html one.
    quiz = notebook.locator(".jp-OutputArea-output.lm-Panel:not([data-mime-type]) [data-mha-quiz]")
    assert notebook.locator('[data-mime-type="text/html"] [data-mha-quiz]').count() == 0
    expect(quiz).to_have_count(1)
    expect(quiz).to_have_attribute("data-mha-quiz", stem)
    expect(quiz).to_have_attribute("data-hydrated", "true")
    bank = {q["id"]: q for q in load_bank(stem)}
    boxes = quiz.locator("[data-question-id]")
    expect(boxes).to_have_count(len(bank))
    for box in boxes.all():
        question = bank[box.get_attribute("data-question-id")]
        feedback = box.locator(".mha-quiz-feedback")
        answer(box, question, right=False)
        expect(feedback).to_have_attribute("data-state", "incorrect")
        answer(box, question, right=True)
        expect(feedback).to_have_attribute("data-state", "correct")
    shot(page, screenshots, f"{stem}-quiz", boxes.first)

    # After the run: still no raw MyST anywhere in the rendered Markdown.
    text = page.evaluate(_MARKDOWN_TEXT, NOTEBOOK)
    assert "Learning objectives" in text and "Summary" in text
    raw = [token for token in RAW_MYST if token in text]
    assert raw == [], f"raw MyST source visible in Markdown cells: {raw}"
    assert marker not in page.locator(NOTEBOOK).inner_text(), "solution visible while closed"
    shot(page, screenshots, f"{stem}-dropdown-closed", solution)

    # Open the dropdown: now the solution is there.
    solution.locator("summary").click()
    expect(solution).to_have_attribute("open", "")
    expect(solution_code).to_be_visible()
    assert marker in page.locator(NOTEBOOK).inner_text()
    shot(page, screenshots, f"{stem}-dropdown-open", solution)

    assert page.blocked == [], f"requests to other hosts: {page.blocked}"
    assert page.page_errors == [], f"page errors: {page.page_errors}"
    print(f"\n{stem}: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
          + f", total {time.monotonic() - started:.1f} s")


def test_a_lesson_in_japanese_in_jupyterlab(lab_ja, lab_page_ja, screenshots):
    """``MHA_LANG=ja make lab``: the lesson's prose stays as stored (the notebooks are shared),
    its quiz speaks Japanese: the Japanese bank, the Japanese button and verdicts (written out
    here, as in the site's browser tests)."""
    page, path = lab_page_ja, LESSONS[0]
    page.goto(f"{lab_ja.url}/lab/workspaces/ja/tree/{path.name}?reset&token={lab_ja.token}")
    notebook = page.locator(NOTEBOOK)
    expect(notebook.locator(".jp-Cell")).to_have_count(len(cells(path)), timeout=START_TIMEOUT_S * 1000)
    wait_for(lambda: page.evaluate(_KERNEL_READY, [NOTEBOOK, KERNEL_NAME]),
             "the kernel to be connected and idle", START_TIMEOUT_S, lab_ja)
    run_all_from_menu(page)
    quiz = notebook.locator(".jp-OutputArea-output.lm-Panel:not([data-mime-type]) [data-mha-quiz]")
    expect(quiz).to_have_attribute("data-hydrated", "true", timeout=RUN_TIMEOUT_S * 1000)
    expect(quiz).to_have_attribute("lang", "ja")
    bank = {q["id"]: q for q in load_bank(path.stem, "ja")}
    boxes = quiz.locator("[data-question-id]")
    expect(boxes).to_have_count(len(bank))
    box = boxes.first
    question = bank[box.get_attribute("data-question-id")]
    expect(box).to_contain_text(shown_text(question["prompt"])[:20])
    feedback = box.locator(".mha-quiz-feedback")
    answer(box, question, right=False, check="答え合わせ")
    expect(feedback).to_have_attribute("data-state", "incorrect")
    expect(feedback).to_contain_text("✗ 正解ではありません。")
    answer(box, question, right=True, check="答え合わせ")
    expect(feedback).to_have_attribute("data-state", "correct")
    expect(feedback).to_contain_text("✓ 正解です。")
    shot(page, screenshots, f"ja-{path.stem}-quiz", box)
    assert page.blocked == [], f"requests to other hosts: {page.blocked}"
    assert page.page_errors == [], f"page errors: {page.page_errors}"
