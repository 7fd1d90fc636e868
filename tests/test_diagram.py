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


def _expected_shapes(batch, seq_len, d_model, num_heads, num_kv_heads=None) -> dict:
    """Every step's shape, worked out here from the arguments, independently of the module;
    with ``num_kv_heads``, also K and V's before and after the repeat."""
    d_head = d_model // num_heads
    lead = () if batch is None else (batch,)
    expected = {
        "input": lead + (seq_len, d_model),
        "project": lead + (seq_len, d_model),
        "split": lead + (num_heads, seq_len, d_head),
        "scores": lead + (num_heads, seq_len, seq_len),
        "weights": lead + (num_heads, seq_len, seq_len),
        "heads": lead + (num_heads, seq_len, d_head),
        "merge": lead + (seq_len, d_model),
        "output": lead + (seq_len, d_model),
    }
    if num_kv_heads is not None:
        expected |= {
            "project_kv": lead + (seq_len, num_kv_heads * d_head),
            "split_kv": lead + (num_kv_heads, seq_len, d_head),
            "repeat": lead + (num_heads, seq_len, d_head),
        }
    return expected


@pytest.mark.parametrize(
    "batch, seq_len, d_model, num_heads",
    [(None, 10, 8, 2), (3, 5, 12, 4), (1, 7, 6, 6), (2, 16, 512, 8)],
)
def test_shape_labels_match_the_arguments(batch, seq_len, d_model, num_heads):
    d_head = d_model // num_heads
    expected = _expected_shapes(batch, seq_len, d_model, num_heads)
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


# --- grouped-query attention (num_kv_heads) ---------------------------------------------------


@pytest.mark.parametrize(
    "batch, seq_len, d_model, num_heads, num_kv_heads",
    [(3, 10, 24, 4, 2), (None, 7, 32, 8, 2), (2, 5, 12, 4, 1), (1, 9, 64, 8, 4)],
)
def test_grouped_query_shapes_in_the_svg_and_the_alt_text(
        batch, seq_len, d_model, num_heads, num_kv_heads):
    d_head = d_model // num_heads
    expected = _expected_shapes(batch, seq_len, d_model, num_heads, num_kv_heads)
    result = shape_flow(batch=batch, seq_len=seq_len, d_model=d_model, num_heads=num_heads,
                        num_kv_heads=num_kv_heads)
    assert result.shapes == expected and result.grouped
    # The numeric lines, top to bottom: Q then K, V in the project and split rows.
    order = ["input", "project", "project_kv", "split", "split_kv", "repeat", "scores",
             "weights", "heads", "merge", "output"]
    lines = _shape_lines(result.svg)
    assert [tuple(int(n) for n in re.findall(r"\d+", line)) for line in lines] == [
        expected[step] for step in order]
    assert [line.endswith(" each") for line in lines] == [
        step in ("project_kv", "split_kv", "repeat") for step in order]
    texts = _texts(result.svg)
    assert any(t.startswith("K, V: (") and "num_kv_heads, seq_len, d_head)" in t for t in texts)
    assert "2b repeat K, V" in texts
    assert f"repeat_interleave, r = {num_heads // num_kv_heads}" in texts
    kind = "Multi-query" if num_kv_heads == 1 else "Grouped-query"
    assert texts[0] == f"{kind} attention, shape by shape"
    assert f"num_kv_heads = {num_kv_heads}" in texts[1]
    assert f"d_head = d_model / num_heads = {d_head}" in texts[1]
    # The alt text names every shape, K and V's before and after the repeat.
    assert result.alt.startswith(f"Shape-flow diagram of {kind.lower()} attention with ")
    for step in ("input", "project", "project_kv", "split_kv", "repeat", "scores", "output"):
        assert "(" + ", ".join(map(str, expected[step])) + ")" in result.alt, step
    assert f"repeated for its {num_heads // num_kv_heads} query heads" in result.alt
    assert f"num_kv_heads={num_kv_heads}" in repr(result)


def test_grouped_query_svg_is_accessible_deterministic_and_its_own_drawing():
    first = shape_flow(batch=3, seq_len=10, d_model=24, num_heads=4, num_kv_heads=2,
                       highlight="repeat")
    again = shape_flow(batch=3, seq_len=10, d_model=24, num_heads=4, num_kv_heads=2,
                       highlight="repeat")
    assert first.svg == again.svg and first.alt == again.alt
    root = ET.fromstring(first.svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").text == "Grouped-query attention, shape by shape"
    assert root.find(f"{SVG}title").get("id") == title_id
    desc = root.find(f"{SVG}desc")
    assert desc.get("id") == desc_id and desc.text == first.alt
    assert first.alt.endswith("Highlighted: 2b repeat K, V.")
    assert _marked_rows(first.svg) == ["2b repeat K, V"]
    assert first.svg.count('stroke-width="3"') == 1
    # MHA with the same sizes is another drawing, with other ids (both can share a page).
    mha = shape_flow(batch=3, seq_len=10, d_model=24, num_heads=4, highlight="split")
    assert ET.fromstring(mha.svg).get("aria-labelledby") != root.get("aria-labelledby")
    assert "repeat" not in mha.shapes and "num_kv_heads" not in mha.svg


@pytest.mark.parametrize("batch, highlight", [(None, None), (2, "split"), (3, ["merge"])])
def test_as_many_kv_heads_as_heads_is_the_multi_head_drawing(batch, highlight):
    """num_kv_heads = num_heads is ordinary multi-head attention: the very same bytes."""
    plain = shape_flow(batch=batch, seq_len=10, d_model=8, num_heads=2, highlight=highlight)
    same = shape_flow(batch=batch, seq_len=10, d_model=8, num_heads=2, highlight=highlight,
                      num_kv_heads=2)
    assert same.svg == plain.svg and same.alt == plain.alt and same.shapes == plain.shapes
    assert not same.grouped and not plain.grouped


@pytest.mark.parametrize(
    "num_heads, num_kv_heads, error, message",
    [
        (4, 3, ValueError, r"num_kv_heads=3 must divide num_heads=4"),
        (2, 4, ValueError, r"num_kv_heads=4 must divide num_heads=2"),
        (8, 0, ValueError, r"num_kv_heads must be a positive int, got num_kv_heads=0"),
        (8, -2, ValueError, r"num_kv_heads must be a positive int, got num_kv_heads=-2"),
        (8, 2.0, TypeError, r"num_kv_heads must be a positive int, got float 2.0"),
        (8, "2", TypeError, r"num_kv_heads must be a positive int, got str"),
    ],
)
def test_bad_num_kv_heads_fails_with_a_clear_message(num_heads, num_kv_heads, error, message):
    with pytest.raises(error, match=message):
        shape_flow(seq_len=10, d_model=24, num_heads=num_heads, num_kv_heads=num_kv_heads)


def test_the_repeat_step_is_only_drawn_for_grouped_query_attention():
    with pytest.raises(ValueError, match=r"highlight='repeat' is not a step of the diagram.*"
                                         r"drawn only when num_kv_heads < num_heads"):
        shape_flow(seq_len=10, d_model=8, num_heads=2, highlight="repeat")
    with pytest.raises(ValueError, match=r"choose from input, project, split, repeat, scores"):
        shape_flow(seq_len=10, d_model=8, num_heads=2, num_kv_heads=1, highlight="heads_kv")
    both = shape_flow(seq_len=10, d_model=8, num_heads=2, num_kv_heads=1,
                      highlight=["scores", "repeat"])
    assert both.highlight == ("repeat", "scores")


# --- the review's shape sheet (book/shape_sheet.md) -------------------------------------------

SHEET_PAGE = REPO / "book" / "shape_sheet.md"


def test_sheet_images_are_the_current_drawings_with_their_own_alt_text(tmp_path):
    assert diagram.main(["--sheet", str(tmp_path)]) == 0
    page = SHEET_PAGE.read_text(encoding="utf-8")
    for name in diagram.SHEET_FILES:
        fresh = (tmp_path / name).read_bytes()
        assert (REPO / "book" / "images" / name).read_bytes() == fresh, (
            f"book/images/{name} is stale: run "
            "`.venv/bin/python -m mha_lib.diagram --sheet book/images`")
        figure = re.search(rf":::\{{figure\}} images/{re.escape(name)}\n:alt: (.+)\n", page)
        assert figure, f"book/shape_sheet.md shows images/{name} in a figure with :alt:"
        desc = ET.fromstring(fresh.decode("utf-8")).find(f"{SVG}desc").text
        assert figure.group(1) == desc


def _sheet_rows() -> dict:
    """The sheet's table: step -> (MHA numbers, GQA numbers), each a tuple of ints or None."""
    rows = {}
    for line in SHEET_PAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("step", "---"):
            rows[cells[0]] = tuple(
                tuple(int(n) for n in re.findall(r"\d+", c.replace(",", ""))) or None
                for c in cells[3:])
    return rows


def test_sheet_table_gives_the_shapes_of_a_running_layer():
    """Every number on the sheet, worked out here from the sheet's sizes: the rows the
    diagrams draw must agree with shape_flow, the others (ids, weights, cache, parameters)
    with the formulas."""
    b, t, d, h, kv = 3, 10, 24, 4, 2
    vocab, dh = 9, d // h
    assert diagram.SHEET == {"batch": b, "seq_len": t, "d_model": d, "num_heads": h}
    assert diagram.SHEET_NUM_KV_HEADS == kv
    mha, gqa = (drawing.shapes for drawing in diagram.sheet_diagrams().values())
    expected = {
        "token ids": ((b, t), (b, t)),
        "embedding table": ((vocab, d), (vocab, d)),
        "input x = table[ids]": (mha["input"], gqa["input"]),
        "W_Q, W_O": ((d, d), (d, d)),
        "W_K, W_V": ((d, d), (d, kv * dh)),
        "1 project: Q": (mha["project"], gqa["project"]),
        "1 project: K, V": (mha["project"], gqa["project_kv"]),
        "2 split: Q": (mha["split"], gqa["split"]),
        "2 split: K, V": (mha["split"], gqa["split_kv"]),
        "2b repeat K, V": (None, gqa["repeat"]),
        "3 scores": (mha["scores"], gqa["scores"]),
        "4 softmax: weights": (mha["weights"], gqa["weights"]),
        "5 weighted sum: heads": (mha["heads"], gqa["heads"]),
        "6 merge": (mha["merge"], gqa["merge"]),
        "7 output projection": (mha["output"], gqa["output"]),
        "KV cache: keys, values": ((b, h, t, dh), (b, kv, t, dh)),
        "parameters, with biases": ((4 * d * d + 4 * d,),
                                    (2 * (d * d + d) + 2 * (d + 1) * kv * dh,)),
    }
    assert _sheet_rows() == expected
    assert gqa["repeat"] == (b, h, t, dh) and gqa["split_kv"] == (b, kv, t, dh)
