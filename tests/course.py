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
# The built site (`make book`: scripts/i18n.py build): one edition per language, side by side,
# ``SITE / "en"`` and ``SITE / "ja"``, with the same page names, and a root index.html that
# opens the reader's language.
SITE = BUILD / "site"
EDITIONS = ("en", "ja")
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


def bank(stem: str, language: str = "en") -> list[dict]:
    """The questions of a lesson's bank, as written (no validation: the bank tests do that):
    the English bank, or its translation ``QUIZZES / language / f"{stem}.yml"``."""
    folder = QUIZZES if language == "en" else QUIZZES / language
    return yaml.safe_load((folder / f"{stem}.yml").read_text(encoding="utf-8"))


def edition_bank(stem: str, edition: str) -> list[dict]:
    """The questions ``edition``'s page of lesson ``stem`` shows: its bank in the edition's
    language (every bank is translated: ``scripts/i18n.py check --complete``; the Japanese
    build fails on a missing one)."""
    return bank(stem, edition)


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
    """Every HTML page of the built site, relative to its root: the root page that picks the
    language (``index.html``), then each edition's (``en/notebooks/01_x.html``,
    ``ja/book/intro.html``): lessons, prose pages, index and search pages, the edition's root
    redirect. Empty before a build."""
    if not SITE.is_dir():
        return []
    pages = ["index.html"] if (SITE / "index.html").is_file() else []
    for edition in EDITIONS:
        root = SITE / edition
        pages += sorted(
            p.relative_to(SITE).as_posix()
            for p in root.rglob("*.html")
            if p.relative_to(root).parts[0] not in NOT_PAGES
        )
    return pages


def edition_of(path: str) -> str | None:
    """The edition of a page of ``site_pages()`` (None: the root page)."""
    first = path.split("/", 1)[0]
    return first if first in EDITIONS else None


def redirect_pages() -> set[str]:
    """The pages that only send the reader on: the root page (it opens an edition, with its
    script) and each edition's ``index.html`` (a redirect to the course's first page)."""
    return {"index.html"} | {f"{edition}/index.html" for edition in EDITIONS}


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
