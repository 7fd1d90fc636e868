"""Figures for the lessons: labelled heatmaps that stay readable without colour.

Introduced in notebooks/01_input_vectors.ipynb. Every figure in a lesson also carries alt text in
its cell metadata (``mystnb.image.alt``); the hygiene tests check that.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def heatmap(
    matrix,
    row_labels,
    col_labels,
    *,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    fmt: str = "{:.1f}",
    cmap: str = "viridis",
    ax=None,
    colorbar: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
):
    """Draw ``matrix`` (rows, cols) as a heatmap with each value written in its cell.

    The numbers make the figure readable without relying on colour. ``vmin``/``vmax`` fix the
    colour scale (give several panels the same ones to compare them). Returns the Axes.
    Introduced in notebooks/01_input_vectors.ipynb.
    """
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {values.shape}")
    if len(row_labels) != values.shape[0] or len(col_labels) != values.shape[1]:
        raise ValueError(
            f"labels do not fit matrix.shape={values.shape}: "
            f"{len(row_labels)} row_labels, {len(col_labels)} col_labels"
        )
    if ax is None:
        width = max(4.0, 0.55 * values.shape[1] + 2.0)
        height = max(3.0, 0.45 * values.shape[0] + 1.5)
        _, ax = plt.subplots(figsize=(width, height), layout="constrained")
    image = ax.imshow(values, cmap=cmap, aspect="auto", vmin=vmin, vmax=vmax)
    ax.set_xticks(range(values.shape[1]), labels=list(col_labels), rotation=45, ha="right")
    ax.set_yticks(range(values.shape[0]), labels=list(row_labels))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    low = np.nanmin(values) if vmin is None else vmin
    high = np.nanmax(values) if vmax is None else vmax
    middle = (low + high) / 2
    for (row, col), value in np.ndenumerate(values):
        # Dark text on the bright end of viridis, light text on the dark end.
        color = "black" if value > middle else "white"
        ax.text(col, row, fmt.format(value), ha="center", va="center", color=color, fontsize=8)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.8)
    return ax
