"""Helpers the tests share: where things are, and reading the lessons."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import yaml

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
QUIZZES = REPO / "mha_lib" / "quiz" / "banks"
LESSON_PATTERN = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")


def lesson_paths() -> list[Path]:
    """Every lesson notebook, in order (``notebooks/NN_slug.ipynb``)."""
    return sorted(p for p in NOTEBOOKS.glob("*.ipynb") if LESSON_PATTERN.match(p.name))


def read_notebook(path: Path):
    return nbformat.read(path, as_version=4)


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
