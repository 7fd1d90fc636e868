"""Re-execute lesson notebooks with nbclient and store their outputs (``make execute``).

The stored outputs are what the website shows and what nbval compares, so a lesson is
re-executed whenever its code or the library changes. Widget state is stored only when a
notebook's metadata asks for it (``"mha_course": {"store_widget_state": true}``): every widget in
the course brings its own static rendering, and the widget manager would add megabytes to a page.

Usage: python scripts/execute_notebooks.py notebooks/01_input_vectors.ipynb [...]
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TIMEOUT_PER_CELL = 120
# Text up to a carriage return that is followed by more text on the same line: a progress bar
# rewriting its line. A terminal or JupyterLab shows only what comes after it.
OVERWRITTEN = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)


def coalesce_streams(outputs: list) -> list:
    """Consecutive outputs of one stream as one, each rewritten line at its last state.

    nbclient stores every flush of a stream as its own output, so a progress bar (tqdm) would
    be stored, and shown on the website, as one block per update. Stored this way, the site
    shows what JupyterLab shows: the bar's final line.
    """
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.output_type == "stream"
            and previous is not None
            and previous.output_type == "stream"
            and previous.name == output.name
        ):
            previous.text += output.text
        else:
            merged.append(output)
    for output in merged:
        if output.output_type == "stream":
            output.text = OVERWRITTEN.sub("", output.text)
    return merged


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
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
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
