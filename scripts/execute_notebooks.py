"""Re-execute lesson notebooks with nbclient and store their outputs (``make execute``).

The stored outputs are what the website shows and what nbval compares, so a lesson is
re-executed whenever its code or the library changes. Widget state is stored only when a
notebook's metadata asks for it (``"mha_course": {"store_widget_state": true}``): every widget in
the course brings its own static rendering, and the widget manager would add megabytes to a page.

Usage: python scripts/execute_notebooks.py notebooks/01_input_vectors.ipynb [...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TIMEOUT_PER_CELL = 120


def execute(path: Path) -> float:
    """Execute one notebook in place; return its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    store_state = bool(nb.metadata.get("mha_course", {}).get("store_widget_state", False))
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_PER_CELL,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        store_widget_state=store_state,
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    if not store_state:
        nb.metadata.pop("widgets", None)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return elapsed


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__)
        return 2
    for name in paths:
        elapsed = execute(Path(name))
        print(f"{name}: executed in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
