"""Widgets that also carry a static rendering: live in Jupyter, plain HTML on the website.

The course site stores no widget state (the widget manager would add megabytes to a page), so
every interactive element's output carries, next to its widget view, a deterministic
``text/html`` (shown by the site, made interactive there by the element's own ES module) and a
deterministic ``text/plain`` (no memory address, so nbval sees the same text every run).
Introduced in notebooks/01_input_vectors.ipynb (the quiz).
"""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets
from IPython.display import display


class StaticHtmlWidget(anywidget.AnyWidget):
    """An anywidget whose output bundle adds its ``html`` trait and a fixed plain text.

    Subclasses set ``_esm``/``_css``, fill ``html`` with their deterministic markup and
    implement :meth:`_plain_text`. ``lang`` and ``ui_text`` (the browser strings of that
    language, from :mod:`mha_lib.ui_text`) reach the ES module, which puts them on the view's
    element (``lang``, ``data-mha-text``): the scripts read their strings from the markup or
    an ancestor, so an English rendering needs no strings of its own.
    """

    html = traitlets.Unicode("").tag(sync=True)
    lang = traitlets.Unicode("en").tag(sync=True)
    ui_text = traitlets.Dict().tag(sync=True)

    def _plain_text(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._plain_text()

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if bundle is not None else ({}, {})
        data = {**data, "text/plain": self._plain_text(), "text/html": self.html}
        return data, dict(metadata)


def display_with_note(widget, note: str) -> None:
    """Display any ipywidget live in Jupyter, with ``note`` where no kernel can drive it.

    The output carries the widget view (Jupyter) plus ``note`` as ``text/html`` (the course
    site, which stores no widget state) and as ``text/plain`` (deterministic for nbval).
    Introduced in notebooks/04_softmax.ipynb (the temperature slider).
    """
    bundle = widget._repr_mimebundle_() or {}  # ipywidgets: a dict; anywidget: (data, meta)
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    escaped = note.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    data = {**data, "text/plain": note, "text/html": f"<p><em>{escaped}</em></p>"}
    display(data, raw=True)
