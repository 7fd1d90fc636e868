"""Where things are, for every test (unit and browser), and reading the lessons and banks.

The one place that names the repository's folders: import from here, never from a path
computed relative to a test file. ``tests/`` is on ``sys.path`` for every test
(``pythonpath`` in pyproject.toml).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
QUIZZES = REPO / "mha_lib" / "quiz" / "banks"
BUILD = REPO / "_build"
SITE = BUILD / "html"
SCREENSHOTS = BUILD / "screenshots"
VENDOR = REPO / "tests" / "vendor"
AXE = VENDOR / "axe-core" / "axe.min.js"
LESSON_PATTERN = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
# Folders of the built site that hold no pages (assets, sources of the pages).
NOT_PAGES = {"_static", "_sources", "_images"}


def lesson_paths() -> list[Path]:
    """Every lesson notebook, in order (``notebooks/NN_slug.ipynb``)."""
    return sorted(p for p in NOTEBOOKS.glob("*.ipynb") if LESSON_PATTERN.match(p.name))


def lesson_stems() -> list[str]:
    """Every lesson's stem, in order (``NN_slug``)."""
    return [p.stem for p in lesson_paths()]


def read_notebook(path: Path):
    return nbformat.read(path, as_version=4)


def bank(stem: str) -> list[dict]:
    """The questions of a lesson's bank, as written (no validation: the bank tests do that)."""
    return yaml.safe_load((QUIZZES / f"{stem}.yml").read_text(encoding="utf-8"))


def toc_files() -> list[str]:
    """Every file named in ``_toc.yml`` (without extension), root first."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def site_pages() -> list[str]:
    """Every HTML page of the built site, relative to its root (``notebooks/01_x.html``):
    lessons, prose pages, index and search pages, the root redirect. Empty before a build."""
    if not SITE.is_dir():
        return []
    return sorted(
        p.relative_to(SITE).as_posix()
        for p in SITE.rglob("*.html")
        if p.relative_to(SITE).parts[0] not in NOT_PAGES
    )


def python_output(code: str, *, cwd=REPO, env: dict | None = None, seeds=("0",)) -> str:
    """What ``python -c code`` prints in a fresh interpreter (in ``cwd``, with ``env`` or this
    one's environment without MHA_QUIZ_DIR), once per PYTHONHASHSEED of ``seeds``; it must exit
    cleanly and print the same under every seed (a deterministic output)."""
    outputs = set()
    for seed in seeds:
        run_env = dict(os.environ if env is None else env, PYTHONHASHSEED=seed)
        run_env.update(PYTHONIOENCODING="utf-8")
        run_env.pop("MHA_QUIZ_DIR", None)
        result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=run_env,
                                capture_output=True, text=True, encoding="utf-8", check=False)
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1, f"the output changes with PYTHONHASHSEED ({len(outputs)} versions)"
    return outputs.pop()
