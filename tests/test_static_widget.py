"""Live widgets that also carry a static rendering (quiz, explorer, lesson 04's slider)."""

from __future__ import annotations

import ipywidgets

from mha_lib import static_widget

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_display_with_note_keeps_the_view_and_adds_a_fixed_escaped_note(monkeypatch):
    shown = []
    monkeypatch.setattr(static_widget, "display", lambda data, raw: shown.append((data, raw)))
    slider = ipywidgets.FloatSlider(value=0.5)
    static_widget.display_with_note(slider, "Move <T> & see")
    (data, raw), = shown
    assert raw is True
    assert data[WIDGET_VIEW]["model_id"] == slider.model_id
    assert data["text/plain"] == "Move <T> & see"
    assert data["text/html"] == "<p><em>Move &lt;T&gt; &amp; see</em></p>"
