"""A shape-flow diagram of the whole multi-head attention layer, drawn as SVG text.

``shape_flow(seq_len=10, d_model=8, num_heads=2)`` draws x → Q, K, V → split → scores →
weights → heads → merge → W_O with the real shape of every array, symbolic and in numbers.
``highlight="split"`` marks the step a lesson is about. ``num_kv_heads`` (fewer key/value
heads than query heads) draws grouped-query attention instead, with the step that repeats
each key/value head for its group of query heads. The result displays itself in a
notebook (``_repr_svg_``), carries its alt text (``.alt``, also the SVG's ``<desc>``) and is
byte-for-byte deterministic, so a saved copy can be checked against a fresh one.

The steps are those of lesson 9's ``forward``: 1 project, 2 split, 3 scores, 4 softmax,
5 weighted sum, 6 merge, 7 output projection.

Introduced in notebooks/07_multiple_heads.ipynb; the course's introduction shows the whole
layer (``python -m mha_lib.diagram book/images/shape_flow.svg`` regenerates that file) and the
review's shape sheet shows it for MHA and GQA (``python -m mha_lib.diagram --sheet book/images``
regenerates those).
"""

from __future__ import annotations

import hashlib
import numbers
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

#: The steps of the diagram, in order; ``highlight`` takes one name or several.
STEPS = ("input", "project", "split", "scores", "weights", "heads", "merge", "output")
#: The steps of a grouped-query diagram (``num_kv_heads < num_heads``): one more, "repeat".
GQA_STEPS = STEPS[:3] + ("repeat",) + STEPS[3:]

_TITLES = {  # the label in the left column: forward's step number and name
    "input": "input",
    "project": "1 project",
    "split": "2 split",
    "repeat": "2b repeat K, V",
    "scores": "3 scores",
    "weights": "4 softmax",
    "heads": "5 weighted sum",
    "merge": "6 merge",
    "output": "7 output projection",
}

_SYMBOLIC = {  # the shape of what each step produces, by name
    "input": ("seq_len", "d_model"),
    "project": ("seq_len", "d_model"),
    "split": ("num_heads", "seq_len", "d_head"),
    "scores": ("num_heads", "seq_len", "seq_len"),
    "weights": ("num_heads", "seq_len", "seq_len"),
    "heads": ("num_heads", "seq_len", "d_head"),
    "merge": ("seq_len", "d_model"),
    "output": ("seq_len", "d_model"),
}

_EACH = {"project", "split"}  # rows holding three arrays (Q, K and V) of one shape

_SYMBOLIC_KV = {  # grouped-query attention: K and V before the repeat, and after it
    "project_kv": ("seq_len", "num_kv_heads·d_head"),
    "split_kv": ("num_kv_heads", "seq_len", "d_head"),
    "repeat": ("num_heads", "seq_len", "d_head"),
}

# Geometry (pixels of the viewBox) and colours. Text is dark on light fills: contrast >= 7:1.
_WIDTH = 840
_WIDTH_GQA = 920  # its longer shape names need the room
_ROW_TWO_SHAPES = 100  # a grouped-query row with a shape for Q and another for K and V
_TOP = 92
_ROW = 66
_BOX_HEIGHT = 42
_LANES = (240, 356, 472)  # x centres of the Q, K and V lanes
_LANE_BOX = 108
_SHAPE_X = 550
_INK = "#212529"
_MUTED = "#495057"
_BOX_FILL = "#e7f5ff"
_BOX_LINE = "#1864ab"
_MARK_FILL = "#fff3bf"
_MARK_LINE = "#c92a2a"


@dataclass(frozen=True)
class ShapeFlowDiagram:
    """The diagram: ``svg`` (the drawing), ``alt`` (its text alternative), ``shapes`` (the
    numeric shape each step produces, by step name) and the arguments it was drawn for.

    In a notebook it displays as SVG; ``save(path)`` writes the SVG to a file.
    """

    svg: str
    alt: str
    shapes: dict
    seq_len: int
    d_model: int
    num_heads: int
    batch: int | None
    highlight: tuple
    num_kv_heads: int | None = None  # None: as many as num_heads (multi-head attention)

    @property
    def d_head(self) -> int:
        return self.d_model // self.num_heads

    @property
    def grouped(self) -> bool:
        """True when the drawing is grouped-query attention (fewer K/V heads than Q heads)."""
        return self.num_kv_heads is not None and self.num_kv_heads < self.num_heads

    def _repr_svg_(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        marked = ", ".join(self.highlight) if self.highlight else "none"
        batch = "" if self.batch is None else f"batch={self.batch}, "
        kind, kv = "multi-head attention", ""
        if self.grouped:
            kind = _kind(self.num_kv_heads)
            kv = f", num_kv_heads={self.num_kv_heads}"
        return (
            f"Shape-flow diagram of {kind} ({batch}seq_len={self.seq_len}, "
            f"d_model={self.d_model}, num_heads={self.num_heads}{kv}, d_head={self.d_head}); "
            f"highlighted: {marked}"
        )

    def save(self, path) -> Path:
        """Write the SVG to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.svg, encoding="utf-8")
        return path


def shape_flow(*, seq_len=10, d_model=8, num_heads=2, batch=None, highlight=None,
               num_kv_heads=None):
    """Draw multi-head self-attention as a flow of shapes, one row per step.

    Args:
        seq_len: tokens in the sequence (positive int); the layer is self-attention, so the
            queries and the keys both have this length.
        d_model: width of every token vector (positive int, divisible by ``num_heads``).
        num_heads: number of heads (positive int); ``d_head = d_model // num_heads``.
        batch: ``None`` for one unbatched sequence, shapes ``(seq_len, d_model)``; or a
            positive int, which puts a batch axis in front of every shape.
        highlight: ``None``, one step name or several (a list or tuple) from :data:`STEPS`
            ("input", "project", "split", "scores", "weights", "heads", "merge", "output"),
            or from :data:`GQA_STEPS` (which adds "repeat") for a grouped-query drawing.
        num_kv_heads: ``None`` (or ``num_heads``) for multi-head attention; fewer, a positive
            int dividing ``num_heads``, for grouped-query attention (1: multi-query). K and V
            then have shape ``(num_kv_heads, seq_len, d_head)`` after the split, and a "repeat"
            row shows each key/value head repeated for its ``num_heads // num_kv_heads``
            query heads (``repeat_interleave``) before the scores.

    Returns:
        a :class:`ShapeFlowDiagram`; in a notebook it displays as SVG.

    Raises:
        TypeError: a size that is not an int, or a ``highlight`` that is not a string or a
            list of strings.
        ValueError: a size that is not positive, ``num_heads`` that does not divide
            ``d_model``, ``num_kv_heads`` that does not divide ``num_heads``, or a step name
            that is not drawn.

    Introduced in notebooks/07_multiple_heads.ipynb.
    """
    # Validate once, at the top.
    seq_len = _positive_int(seq_len, "seq_len")
    d_model = _positive_int(d_model, "d_model")
    num_heads = _positive_int(num_heads, "num_heads")
    if batch is not None:
        batch = _positive_int(batch, "batch")
    _divides(num_heads, "num_heads", d_model, "d_model",
             "d_head = d_model / num_heads must be a whole number")
    if num_kv_heads is not None:
        num_kv_heads = _positive_int(num_kv_heads, "num_kv_heads")
        _divides(num_kv_heads, "num_kv_heads", num_heads, "num_heads",
                 "each key/value head serves num_heads / num_kv_heads query heads, a whole "
                 "number")
    grouped = num_kv_heads is not None and num_kv_heads < num_heads
    marked = _steps(highlight, GQA_STEPS if grouped else STEPS)

    # 1. The numbers behind every symbolic size.
    sizes = {"seq_len": seq_len, "d_model": d_model, "num_heads": num_heads,
             "d_head": d_model // num_heads}
    lead = () if batch is None else ("batch",)
    if batch is not None:
        sizes["batch"] = batch
    symbolic = {step: lead + names for step, names in _SYMBOLIC.items()}
    if grouped:
        sizes["num_kv_heads"] = num_kv_heads
        sizes["num_kv_heads·d_head"] = num_kv_heads * sizes["d_head"]
        symbolic |= {step: lead + names for step, names in _SYMBOLIC_KV.items()}
    shapes = {step: tuple(sizes[name] for name in names) for step, names in symbolic.items()}

    # 2. The text alternative, then the drawing.
    alt = _alt_text(shapes, sizes, batch, marked)
    svg = _draw(symbolic, shapes, sizes, batch, marked, alt, GQA_STEPS if grouped else STEPS)
    return ShapeFlowDiagram(svg=svg, alt=alt, shapes=shapes, seq_len=seq_len, d_model=d_model,
                            num_heads=num_heads, batch=batch, highlight=marked,
                            num_kv_heads=num_kv_heads)


def _kind(num_kv_heads) -> str:
    return "multi-query attention" if num_kv_heads == 1 else "grouped-query attention"


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {name}={value}")
    return int(value)


def _divides(part, part_name, whole, whole_name, why):
    if whole % part != 0:
        raise ValueError(f"{part_name}={part} must divide {whole_name}={whole} ({why})")


def _steps(highlight, steps=STEPS) -> tuple:
    if highlight is None:
        return ()
    names = (highlight,) if isinstance(highlight, str) else highlight
    if not isinstance(names, (list, tuple)):
        raise TypeError(
            f"highlight must be None, a step name or a list of step names, "
            f"got {type(highlight).__name__}"
        )
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"highlight names steps with strings, got {type(name).__name__}")
        if name not in steps:
            raise ValueError(
                f"highlight={name!r} is not a step of the diagram; choose from "
                + ", ".join(steps)
                + (" (the repeat step is drawn only when num_kv_heads < num_heads)"
                   if name == "repeat" else "")
            )
    return tuple(step for step in steps if step in names)  # diagram order, no repeats


# ---------------------------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------------------------


def _shape(sizes) -> str:
    return "(" + ", ".join(str(n) for n in sizes) + ")"


def _alt_text(shapes, sizes, batch, marked) -> str:
    batch_part = "" if batch is None else f"batch = {batch}, "
    if "repeat" not in shapes:  # multi-head attention
        parts = [
            (f"Shape-flow diagram of multi-head self-attention with {batch_part}"
             f"seq_len = {sizes['seq_len']}, d_model = {sizes['d_model']}, "
             f"num_heads = {sizes['num_heads']} and d_head = {sizes['d_head']}, one row per "
             f"step:"),
            f"the input x, {_shape(shapes['input'])};",
            (f"1 project: x times W_Q, W_K and W_V gives Q, K and V, "
             f"{_shape(shapes['project'])} each;"),
            f"2 split: each into num_heads heads, {_shape(shapes['split'])};",
        ]
    else:  # grouped-query attention: K and V narrower until the repeat
        group = sizes["num_heads"] // sizes["num_kv_heads"]
        parts = [
            (f"Shape-flow diagram of {_kind(sizes['num_kv_heads'])} with {batch_part}"
             f"seq_len = {sizes['seq_len']}, d_model = {sizes['d_model']}, "
             f"num_heads = {sizes['num_heads']}, num_kv_heads = {sizes['num_kv_heads']} and "
             f"d_head = {sizes['d_head']}, one row per step:"),
            f"the input x, {_shape(shapes['input'])};",
            (f"1 project: x times W_Q gives Q, {_shape(shapes['project'])}, and x times the "
             f"narrower W_K and W_V gives K and V, {_shape(shapes['project_kv'])} each;"),
            (f"2 split: Q into num_heads heads, {_shape(shapes['split'])}, K and V into "
             f"num_kv_heads heads, {_shape(shapes['split_kv'])} each;"),
            (f"2b repeat K, V: each key/value head repeated for its {group} query heads "
             f"(repeat_interleave), {_shape(shapes['repeat'])} each;"),
        ]
    parts += [
        (f"3 scores: Q times K transposed over the square root of d_head, "
         f"{_shape(shapes['scores'])};"),
        f"4 softmax: mask, then softmax over the keys, weights {_shape(shapes['weights'])};",
        f"5 weighted sum: weights times V gives the heads, {_shape(shapes['heads'])};",
        f"6 merge: the heads side by side, {_shape(shapes['merge'])};",
        f"7 output projection: times W_O, output {_shape(shapes['output'])}, the shape of x.",
    ]
    if marked:
        parts.append("Highlighted: " + ", ".join(_TITLES[step] for step in marked) + ".")
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------------------------


_SCRIPT = re.compile(r"([_^])\{([^}]*)\}")  # W_{i}^{Q}: a subscript i, a superscript Q
_SHIFT = {"_": 4, "^": -6}


def _tspans(content: str, size) -> str:
    """Escape ``content`` and turn ``_{...}`` and ``^{...}`` into sub- and superscripts."""
    out, offset, position = [], 0, 0
    for match in _SCRIPT.finditer(content):
        plain = content[position:match.start()]
        if plain:
            out.append(f'<tspan dy="{-offset}">{escape(plain)}</tspan>' if offset
                       else escape(plain))
            offset = 0
        shift = _SHIFT[match.group(1)]
        out.append(f'<tspan dy="{shift - offset}" font-size="{round(size * 0.72)}">'
                   f"{escape(match.group(2))}</tspan>")
        offset, position = shift, match.end()
    rest = content[position:]
    if rest:
        out.append(f'<tspan dy="{-offset}">{escape(rest)}</tspan>' if offset else escape(rest))
    return "".join(out)


def _text(x, y, content, *, size=14, weight="normal", anchor="start", family="sans",
          color=_INK) -> str:
    font = ("DejaVu Sans Mono, Menlo, Consolas, monospace" if family == "mono"
            else "DejaVu Sans, Helvetica, Arial, sans-serif")
    return (f'<text x="{x:g}" y="{y}" font-family={quoteattr(font)} font-size="{size}" '
            f'font-weight="{weight}" text-anchor="{anchor}" fill="{color}">'
            f"{_tspans(content, size)}</text>")


def _box(cx, top, width, lines) -> list[str]:
    """A box centred at ``cx`` with one or two lines of text (the first in bold)."""
    left = cx - width / 2
    out = [(f'<rect x="{left:g}" y="{top}" width="{width}" height="{_BOX_HEIGHT}" rx="6" '
            f'fill="{_BOX_FILL}" stroke="{_BOX_LINE}" stroke-width="1.5"/>')]
    if len(lines) == 1:
        out.append(_text(cx, top + 26, lines[0], weight="bold", anchor="middle"))
    else:
        out.append(_text(cx, top + 18, lines[0], weight="bold", anchor="middle"))
        out.append(_text(cx, top + 35, lines[1], size=12, anchor="middle"))
    return out


def _arrow(x1, y1, x2, y2) -> str:
    return (f'<line x1="{x1:g}" y1="{y1}" x2="{x2:g}" y2="{y2}" stroke="{_MUTED}" '
            f'stroke-width="1.5" marker-end="url(#{{marker}})"/>')


def _draw(symbolic, shapes, sizes, batch, marked, alt, steps=STEPS) -> str:
    grouped = "repeat" in steps
    width = _WIDTH_GQA if grouped else _WIDTH
    two_shapes = {"project", "split"} if grouped else set()  # Q's shape, then K's and V's
    heights = {step: _ROW_TWO_SHAPES if step in two_shapes else _ROW for step in steps}
    row_top, top = {}, _TOP
    for step in steps:
        row_top[step] = top
        top += heights[step]
    height = top + 8
    key = hashlib.sha256(alt.encode("utf-8")).hexdigest()[:10]  # unique ids, same every run
    ids = {name: f"mha-shape-flow-{name}-{key}" for name in ("title", "desc", "arrow")}
    q_lane, k_lane, v_lane = _LANES
    qk_centre = (q_lane + k_lane) / 2
    qk_width = k_lane - q_lane + _LANE_BOX
    all_width = v_lane - q_lane + _LANE_BOX
    all_centre = (q_lane + v_lane) / 2
    kv_centre = (k_lane + v_lane) / 2
    title = (_kind(sizes["num_kv_heads"]).capitalize() if grouped
             else "Multi-head attention") + ", shape by shape"

    body: list[str] = [f'<rect width="{width}" height="{height}" fill="#ffffff"/>']

    # Header: what is drawn, and the sizes it is drawn for.
    batch_part = "" if batch is None else f"batch = {batch},  "
    kv_part = f"num_kv_heads = {sizes['num_kv_heads']},  " if grouped else ""
    body.append(_text(16, 28, title, size=18, weight="bold"))
    body.append(_text(
        16, 52,
        f"{batch_part}seq_len = {sizes['seq_len']},  d_model = {sizes['d_model']},  "
        f"num_heads = {sizes['num_heads']},  {kv_part}d_head = d_model / num_heads = "
        f"{sizes['d_head']}", size=14, color=_MUTED))
    body.append(_text(16, _TOP - 10, "step", size=12, weight="bold", color=_MUTED))
    body.append(_text(_SHAPE_X, _TOP - 10, "shape of the result", size=12, weight="bold",
                      color=_MUTED))

    # Highlighted rows: a tinted band with a thick outline and a ▶ in front of the step name.
    for step in marked:
        top = row_top[step] + 2
        body.append(f'<rect x="6" y="{top}" width="{width - 12}" height="{heights[step] - 8}" '
                    f'rx="8" fill="{_MARK_FILL}" stroke="{_MARK_LINE}" stroke-width="3"/>')

    # Left column: step names; right column: the shape, symbolic and in numbers.
    for step in steps:
        top = row_top[step]
        mark = step in marked
        label = ("▶ " if mark else "") + _TITLES[step]
        shift = (heights[step] - _ROW) // 2  # centre the label in a taller row
        body.append(_text(14, top + 36 + shift, label, size=13,
                          weight="bold" if mark else "normal"))
        if step in two_shapes:
            for name, kv_step, dy in (("Q", step, 0), ("K, V", f"{step}_kv", 42)):
                each = " each" if name == "K, V" else ""
                body.append(_text(_SHAPE_X, top + 20 + dy, f"{name}: (" + ", ".join(
                    symbolic[kv_step]) + ")", size=13, family="mono"))
                body.append(_text(_SHAPE_X, top + 38 + dy, "= " + _shape(shapes[kv_step])
                                  + each, size=13, family="mono", weight="bold"))
            continue
        each = " each" if step in _EACH or step == "repeat" else ""
        body.append(_text(_SHAPE_X, top + 24, "(" + ", ".join(symbolic[step]) + ")",
                          size=13, family="mono"))
        body.append(_text(_SHAPE_X, top + 44, "= " + _shape(shapes[step]) + each, size=13,
                          family="mono", weight="bold"))

    # Middle column: the computation.
    box_top = {step: row_top[step] + (heights[step] - 8 - _BOX_HEIGHT) // 2 + 2
               for step in steps}
    bottom = {step: box_top[step] + _BOX_HEIGHT for step in steps}
    body += _box(k_lane, box_top["input"], _LANE_BOX, ["x"])
    for lane, name in zip(_LANES, "QKV", strict=True):
        body += _box(lane, box_top["project"], _LANE_BOX,
                     [name, f"x W_{{{name}}} + b_{{{name}}}"])
        if grouped and name != "Q":
            body += _box(lane, box_top["split"], _LANE_BOX,
                         [f"{name} per group", "g = 1…h_{kv}"])
        else:
            body += _box(lane, box_top["split"], _LANE_BOX,
                         [f"{name} per head", f"x W_{{i}}^{{{name}}}, i = 1…h"])
        body.append(_arrow(k_lane, bottom["input"], lane, box_top["project"] - 2))
        body.append(_arrow(lane, bottom["project"], lane, box_top["split"] - 2))
    kv_from = "split"
    if grouped:
        group = sizes["num_heads"] // sizes["num_kv_heads"]
        body += _box(kv_centre, box_top["repeat"], v_lane - k_lane + _LANE_BOX,
                     ["each KV head × r", f"repeat_interleave, r = {group}"])
        body.append(_arrow(k_lane, bottom["split"], k_lane, box_top["repeat"] - 2))
        body.append(_arrow(v_lane, bottom["split"], v_lane, box_top["repeat"] - 2))
        kv_from = "repeat"
    body += _box(qk_centre, box_top["scores"], qk_width, ["Q Kᵀ / √d_{head}"])
    body += _box(qk_centre, box_top["weights"], qk_width, ["softmax over the keys",
                                                          "after the mask"])
    body += _box(all_centre, box_top["heads"], all_width, ["weights @ V",
                                                          "head_{1}, …, head_{h}"])
    body += _box(all_centre, box_top["merge"], all_width, ["[head_{1} | … | head_{h}]",
                                                          "concatenated, not summed"])
    body += _box(all_centre, box_top["output"], all_width, ["merged W_{O} + b_{O}"])
    body.append(_arrow(q_lane, bottom["split"], q_lane, box_top["scores"] - 2))
    body.append(_arrow(k_lane, bottom[kv_from], k_lane, box_top["scores"] - 2))
    body.append(_arrow(v_lane, bottom[kv_from], v_lane, box_top["heads"] - 2))
    body.append(_arrow(qk_centre, bottom["scores"], qk_centre, box_top["weights"] - 2))
    body.append(_arrow(qk_centre, bottom["weights"], qk_centre, box_top["heads"] - 2))
    body.append(_arrow(all_centre, bottom["heads"], all_centre, box_top["merge"] - 2))
    body.append(_arrow(all_centre, bottom["merge"], all_centre, box_top["output"] - 2))

    head = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}" role="img" '
         f'aria-labelledby="{ids["title"]} {ids["desc"]}">'),
        f'<title id="{ids["title"]}">{escape(title)}</title>',
        f'<desc id="{ids["desc"]}">{escape(alt)}</desc>',
        "<defs>",
        (f'<marker id="{ids["arrow"]}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
         f'markerHeight="7" orient="auto-start-reverse">'
         f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{_MUTED}"/></marker>'),
        "</defs>",
    ]
    lines = head + [line.replace("{marker}", ids["arrow"]) for line in body] + ["</svg>"]
    return "\n".join(lines) + "\n"


#: The sizes of the review's shape sheet (book/shape_sheet.md): every size a different
#: number, so that each number on the sheet names one axis.
SHEET = {"batch": 3, "seq_len": 10, "d_model": 24, "num_heads": 4}
SHEET_NUM_KV_HEADS = 2
SHEET_FILES = ("shape_sheet_mha.svg", "shape_sheet_gqa.svg")


def sheet_diagrams() -> dict:
    """The shape sheet's two drawings, by file name: MHA, then GQA with the same sizes."""
    mha, gqa = SHEET_FILES
    return {mha: shape_flow(**SHEET),
            gqa: shape_flow(**SHEET, num_kv_heads=SHEET_NUM_KV_HEADS)}


def main(argv=None) -> int:
    """Write the introduction's diagram (the running example, unhighlighted) to a file, or,
    with ``--sheet FOLDER``, the shape sheet's two drawings into a folder."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--sheet":
        for name, drawing in sheet_diagrams().items():
            drawing.save(Path(args[1]) / name)
        return 0
    if len(args) != 1:
        print("usage: python -m mha_lib.diagram OUTPUT.svg | --sheet FOLDER")
        return 2
    shape_flow(seq_len=10, d_model=8, num_heads=2).save(args[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
