"""The shape-flow diagram (mha_lib.diagram): its labels carry the shapes it was asked for, its
highlight is validated, bad sizes fail clearly, and every copy of it in the course is current."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from course import REPO, lesson_paths, read_notebook
from mha_lib import diagram
from mha_lib.diagram import STEPS, shape_flow

SVG = "{http://www.w3.org/2000/svg}"
INTRO_SVG = REPO / "book" / "images" / "shape_flow.svg"


def _texts(svg: str) -> list[str]:
    """Every <text> element's full text (tspans included), in document order."""
    root = ET.fromstring(svg)
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


def _shape_lines(svg: str) -> list[str]:
    """The numeric shape line of every row, e.g. '= (2, 2, 10, 4) each'."""
    return [t for t in _texts(svg) if t.startswith("= (")]


@pytest.mark.parametrize(
    "batch, seq_len, d_model, num_heads",
    [(None, 10, 8, 2), (3, 5, 12, 4), (1, 7, 6, 6), (2, 16, 512, 8)],
)
def test_shape_labels_match_the_arguments(batch, seq_len, d_model, num_heads):
    d_head = d_model // num_heads
    lead = () if batch is None else (batch,)
    expected = {  # worked out here from the arguments, independently of the module
        "input": lead + (seq_len, d_model),
        "project": lead + (seq_len, d_model),
        "split": lead + (num_heads, seq_len, d_head),
        "scores": lead + (num_heads, seq_len, seq_len),
        "weights": lead + (num_heads, seq_len, seq_len),
        "heads": lead + (num_heads, seq_len, d_head),
        "merge": lead + (seq_len, d_model),
        "output": lead + (seq_len, d_model),
    }
    result = shape_flow(batch=batch, seq_len=seq_len, d_model=d_model, num_heads=num_heads)
    assert result.shapes == expected
    lines = _shape_lines(result.svg)
    assert len(lines) == len(STEPS)
    for step, line in zip(STEPS, lines, strict=True):
        numbers = tuple(int(n) for n in re.findall(r"\d+", line))
        assert numbers == expected[step], f"row {step!r} reads {line!r}"
        assert line.endswith(" each") == (step in ("project", "split"))
    # The symbolic line above each numeric one names the axes, batch first when there is one.
    symbolic = [t for t in _texts(result.svg) if t.startswith("(")]
    assert len(symbolic) == len(STEPS)
    assert all(s.startswith("(batch, ") == (batch is not None) for s in symbolic)
    assert symbolic[STEPS.index("split")].startswith(
        "(batch, num_heads, seq_len, d_head)" if batch else "(num_heads, seq_len, d_head)")
    header = " ".join(_texts(result.svg)[:2])
    assert f"d_head = d_model / num_heads = {d_head}" in header
    assert f"d_model = {d_model}" in header and f"seq_len = {seq_len}" in header
    # The alt text gives the same shapes in words.
    for step in ("input", "split", "scores", "heads", "output"):
        assert "(" + ", ".join(map(str, expected[step])) + ")" in result.alt


def test_svg_is_well_formed_accessible_and_deterministic():
    first = shape_flow(seq_len=10, d_model=8, num_heads=2, highlight="split")
    again = shape_flow(seq_len=10, d_model=8, num_heads=2, highlight="split")
    assert first.svg == again.svg and first.alt == again.alt
    root = ET.fromstring(first.svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    desc = root.find(f"{SVG}desc")
    assert desc.get("id") == desc_id and desc.text == first.alt
    assert len(first.alt) >= 200 and "Highlighted: 2 split." in first.alt
    assert first._repr_svg_() == first.svg
    assert "0x" not in repr(first) and "highlighted: split" in repr(first)
    # Another highlight is another drawing with its own ids (two can share a page).
    other = shape_flow(seq_len=10, d_model=8, num_heads=2, highlight="merge")
    assert other.svg != first.svg
    assert ET.fromstring(other.svg).get("aria-labelledby") != root.get("aria-labelledby")


def _marked_rows(svg: str) -> list[str]:
    return [t[2:] for t in _texts(svg) if t.startswith("▶ ")]


def test_highlight_marks_exactly_the_steps_asked_for():
    plain = shape_flow(seq_len=10, d_model=8, num_heads=2)
    assert _marked_rows(plain.svg) == [] and plain.highlight == ()
    assert "Highlighted" not in plain.alt
    for step in STEPS:
        one = shape_flow(seq_len=10, d_model=8, num_heads=2, highlight=step)
        assert one.highlight == (step,)
        assert len(_marked_rows(one.svg)) == 1
        assert one.svg.count('stroke-width="3"') == 1  # one highlight band
    # Several steps, in any order and repeated, are marked once each in diagram order.
    two = shape_flow(seq_len=10, d_model=8, num_heads=2, highlight=["output", "merge", "merge"])
    assert two.highlight == ("merge", "output")
    assert _marked_rows(two.svg) == ["6 merge", "7 output projection"]
    assert two.alt.endswith("Highlighted: 6 merge, 7 output projection.")


@pytest.mark.parametrize("bad", ["Split", "softmax", "", "concat"])
def test_unknown_highlight_is_a_clear_value_error(bad):
    with pytest.raises(ValueError, match=r"highlight=.* is not a step of the diagram; "
                                         r"choose from input, project, split"):
        shape_flow(seq_len=10, d_model=8, num_heads=2, highlight=bad)
    with pytest.raises(ValueError, match="is not a step"):
        shape_flow(seq_len=10, d_model=8, num_heads=2, highlight=["split", bad])


@pytest.mark.parametrize("bad", [3, {"split"}, ["split", 2]])
def test_highlight_of_the_wrong_type_is_a_type_error(bad):
    with pytest.raises(TypeError, match="highlight"):
        shape_flow(seq_len=10, d_model=8, num_heads=2, highlight=bad)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"d_model": 8, "num_heads": 3}, ValueError, r"num_heads=3 must divide d_model=8"),
        ({"d_model": 0}, ValueError, r"d_model must be a positive int, got d_model=0"),
        ({"seq_len": -1}, ValueError, r"seq_len must be a positive int, got seq_len=-1"),
        ({"num_heads": 0}, ValueError, r"num_heads must be a positive int"),
        ({"batch": 0}, ValueError, r"batch must be a positive int, got batch=0"),
        ({"d_model": 8.0}, TypeError, r"d_model must be a positive int, got float 8.0"),
        ({"seq_len": True}, TypeError, r"seq_len must be a positive int, got bool"),
        ({"num_heads": "2"}, TypeError, r"num_heads must be a positive int, got str"),
        ({"batch": (2,)}, TypeError, r"batch must be a positive int, got tuple"),
    ],
)
def test_bad_sizes_fail_with_a_clear_message(kwargs, error, message):
    arguments = {"seq_len": 10, "d_model": 8, "num_heads": 2} | kwargs
    with pytest.raises(error, match=message):
        shape_flow(**arguments)


def test_intro_image_is_the_current_drawing(tmp_path):
    """book/images/shape_flow.svg is what `python -m mha_lib.diagram` writes, and the intro shows
    it with the diagram's own alt text."""
    fresh = tmp_path / "shape_flow.svg"
    assert diagram.main([str(fresh)]) == 0
    assert INTRO_SVG.read_bytes() == fresh.read_bytes(), (
        "book/images/shape_flow.svg is stale: run "
        "`.venv/bin/python -m mha_lib.diagram book/images/shape_flow.svg`"
    )
    intro = (REPO / "book" / "intro.md").read_text(encoding="utf-8")
    figure = re.search(r"```\{figure\} images/shape_flow\.svg\n:alt: (.+)\n", intro)
    assert figure, "book/intro.md shows images/shape_flow.svg in a {figure} with :alt:"
    assert figure.group(1) == ET.fromstring(fresh.read_text("utf-8")).find(f"{SVG}desc").text


def _diagram_cells():
    for path in lesson_paths():
        for index, cell in enumerate(read_notebook(path).cells):
            if cell.cell_type == "code" and "shape_flow(" in cell.source:
                yield path, index, cell


def test_lessons_7_to_9_show_the_diagram_with_their_step_highlighted():
    shown = {path.stem[:2] for path, _, _ in _diagram_cells()}
    assert {"07", "08", "09"} <= shown, f"the diagram appears in lessons {sorted(shown)}"
    for path, index, cell in _diagram_cells():
        assert "highlight=" in cell.source, f"{path.name} cell {index}: highlight a step"
        svgs = [o["data"]["image/svg+xml"] for o in cell.outputs
                if "image/svg+xml" in o.get("data", {})]
        assert len(svgs) == 1, f"{path.name} cell {index} stores one SVG output"
        svg = svgs[0] if isinstance(svgs[0], str) else "".join(svgs[0])
        desc = ET.fromstring(svg).find(f"{SVG}desc").text
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
        assert alt == desc, f"{path.name} cell {index}: the alt text is not the diagram's own"
        assert "Highlighted:" in desc
