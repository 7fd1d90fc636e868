"""A shape-flow diagram of the whole multi-head attention layer, drawn as SVG text.

``shape_flow(seq_len=10, d_model=8, num_heads=2)`` draws x → Q, K, V → split → scores →
weights → heads → merge → W_O with the real shape of every array, symbolic and in numbers.
``highlight="split"`` marks the step a lesson is about. The result displays itself in a
notebook (``_repr_svg_``), carries its alt text (``.alt``, also the SVG's ``<desc>``) and is
byte-for-byte deterministic, so a saved copy can be checked against a fresh one.

The steps are those of lesson 9's ``forward``: 1 project, 2 split, 3 scores, 4 softmax,
5 weighted sum, 6 merge, 7 output projection.

Introduced in notebooks/07_multiple_heads.ipynb; the course's introduction shows the whole
layer (``python -m mha_lib.diagram book/images/shape_flow.svg`` regenerates that file).
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

_TITLES = {  # the label in the left column: forward's step number and name
    "input": "input",
    "project": "1 project",
    "split": "2 split",
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

# Geometry (pixels of the viewBox) and colours. Text is dark on light fills: contrast >= 7:1.
_WIDTH = 840
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

    @property
    def d_head(self) -> int:
        return self.d_model // self.num_heads

    def _repr_svg_(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        marked = ", ".join(self.highlight) if self.highlight else "none"
        batch = "" if self.batch is None else f"batch={self.batch}, "
        return (
            f"Shape-flow diagram of multi-head attention ({batch}seq_len={self.seq_len}, "
            f"d_model={self.d_model}, num_heads={self.num_heads}, d_head={self.d_head}); "
            f"highlighted: {marked}"
        )

    def save(self, path) -> Path:
        """Write the SVG to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.svg, encoding="utf-8")
        return path


def shape_flow(*, seq_len=10, d_model=8, num_heads=2, batch=None, highlight=None):
    """Draw multi-head self-attention as a flow of shapes, one row per step.

    Args:
        seq_len: tokens in the sequence (positive int); the layer is self-attention, so the
            queries and the keys both have this length.
        d_model: width of every token vector (positive int, divisible by ``num_heads``).
        num_heads: number of heads (positive int); ``d_head = d_model // num_heads``.
        batch: ``None`` for one unbatched sequence, shapes ``(seq_len, d_model)``; or a
            positive int, which puts a batch axis in front of every shape.
        highlight: ``None``, one step name or several (a list or tuple) from :data:`STEPS`
            ("input", "project", "split", "scores", "weights", "heads", "merge", "output").

    Returns:
        a :class:`ShapeFlowDiagram`; in a notebook it displays as SVG.

    Raises:
        TypeError: a size that is not an int, or a ``highlight`` that is not a string or a
            list of strings.
        ValueError: a size that is not positive, ``num_heads`` that does not divide
            ``d_model``, or a step name that is not in :data:`STEPS`.

    Introduced in notebooks/07_multiple_heads.ipynb.
    """
    # Validate once, at the top.
    seq_len = _positive_int(seq_len, "seq_len")
    d_model = _positive_int(d_model, "d_model")
    num_heads = _positive_int(num_heads, "num_heads")
    if batch is not None:
        batch = _positive_int(batch, "batch")
    if d_model % num_heads != 0:
        raise ValueError(
            f"num_heads={num_heads} must divide d_model={d_model} "
            f"(d_head = d_model / num_heads must be a whole number)"
        )
    marked = _steps(highlight)

    # 1. The numbers behind every symbolic size.
    sizes = {"seq_len": seq_len, "d_model": d_model, "num_heads": num_heads,
             "d_head": d_model // num_heads}
    lead = () if batch is None else ("batch",)
    if batch is not None:
        sizes["batch"] = batch
    symbolic = {step: lead + names for step, names in _SYMBOLIC.items()}
    shapes = {step: tuple(sizes[name] for name in names) for step, names in symbolic.items()}

    # 2. The text alternative, then the drawing.
    alt = _alt_text(shapes, sizes, batch, marked)
    svg = _draw(symbolic, shapes, sizes, batch, marked, alt)
    return ShapeFlowDiagram(svg=svg, alt=alt, shapes=shapes, seq_len=seq_len, d_model=d_model,
                            num_heads=num_heads, batch=batch, highlight=marked)


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {name}={value}")
    return int(value)


def _steps(highlight) -> tuple:
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
        if name not in STEPS:
            raise ValueError(
                f"highlight={name!r} is not a step of the diagram; choose from "
                + ", ".join(STEPS)
            )
    return tuple(step for step in STEPS if step in names)  # diagram order, no repeats


# ---------------------------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------------------------


def _shape(sizes) -> str:
    return "(" + ", ".join(str(n) for n in sizes) + ")"


def _alt_text(shapes, sizes, batch, marked) -> str:
    batch_part = "" if batch is None else f"batch = {batch}, "
    parts = [
        (f"Shape-flow diagram of multi-head self-attention with {batch_part}"
         f"seq_len = {sizes['seq_len']}, d_model = {sizes['d_model']}, "
         f"num_heads = {sizes['num_heads']} and d_head = {sizes['d_head']}, one row per step:"),
        f"the input x, {_shape(shapes['input'])};",
        (f"1 project: x times W_Q, W_K and W_V gives Q, K and V, "
         f"{_shape(shapes['project'])} each;"),
        f"2 split: each into num_heads heads, {_shape(shapes['split'])};",
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


def _draw(symbolic, shapes, sizes, batch, marked, alt) -> str:
    row_top = {step: _TOP + i * _ROW for i, step in enumerate(STEPS)}
    height = _TOP + len(STEPS) * _ROW + 8
    key = hashlib.sha256(alt.encode("utf-8")).hexdigest()[:10]  # unique ids, same every run
    ids = {name: f"mha-shape-flow-{name}-{key}" for name in ("title", "desc", "arrow")}
    q_lane, k_lane, v_lane = _LANES
    qk_centre = (q_lane + k_lane) / 2
    qk_width = k_lane - q_lane + _LANE_BOX
    all_width = v_lane - q_lane + _LANE_BOX
    all_centre = (q_lane + v_lane) / 2

    body: list[str] = [f'<rect width="{_WIDTH}" height="{height}" fill="#ffffff"/>']

    # Header: what is drawn, and the sizes it is drawn for.
    batch_part = "" if batch is None else f"batch = {batch},  "
    body.append(_text(16, 28, "Multi-head attention, shape by shape", size=18, weight="bold"))
    body.append(_text(
        16, 52,
        f"{batch_part}seq_len = {sizes['seq_len']},  d_model = {sizes['d_model']},  "
        f"num_heads = {sizes['num_heads']},  d_head = d_model / num_heads = "
        f"{sizes['d_head']}", size=14, color=_MUTED))
    body.append(_text(16, _TOP - 10, "step", size=12, weight="bold", color=_MUTED))
    body.append(_text(_SHAPE_X, _TOP - 10, "shape of the result", size=12, weight="bold",
                      color=_MUTED))

    # Highlighted rows: a tinted band with a thick outline and a ▶ in front of the step name.
    for step in marked:
        top = row_top[step] + 2
        body.append(f'<rect x="6" y="{top}" width="{_WIDTH - 12}" height="{_ROW - 8}" rx="8" '
                    f'fill="{_MARK_FILL}" stroke="{_MARK_LINE}" stroke-width="3"/>')

    # Left column: step names; right column: the shape, symbolic and in numbers.
    for step in STEPS:
        top = row_top[step]
        mark = step in marked
        label = ("▶ " if mark else "") + _TITLES[step]
        body.append(_text(14, top + 36, label, size=13, weight="bold" if mark else "normal"))
        each = " each" if step in _EACH else ""
        body.append(_text(_SHAPE_X, top + 24, "(" + ", ".join(symbolic[step]) + ")",
                          size=13, family="mono"))
        body.append(_text(_SHAPE_X, top + 44, "= " + _shape(shapes[step]) + each, size=13,
                          family="mono", weight="bold"))

    # Middle column: the computation.
    box_top = {step: row_top[step] + (_ROW - 8 - _BOX_HEIGHT) // 2 + 2 for step in STEPS}
    bottom = {step: box_top[step] + _BOX_HEIGHT for step in STEPS}
    body += _box(k_lane, box_top["input"], _LANE_BOX, ["x"])
    for lane, name in zip(_LANES, "QKV", strict=True):
        body += _box(lane, box_top["project"], _LANE_BOX,
                     [name, f"x W_{{{name}}} + b_{{{name}}}"])
        body += _box(lane, box_top["split"], _LANE_BOX,
                     [f"{name} per head", f"x W_{{i}}^{{{name}}}, i = 1…h"])
        body.append(_arrow(k_lane, bottom["input"], lane, box_top["project"] - 2))
        body.append(_arrow(lane, bottom["project"], lane, box_top["split"] - 2))
    body += _box(qk_centre, box_top["scores"], qk_width, ["Q Kᵀ / √d_{head}"])
    body += _box(qk_centre, box_top["weights"], qk_width, ["softmax over the keys",
                                                          "after the mask"])
    body += _box(all_centre, box_top["heads"], all_width, ["weights @ V",
                                                          "head_{1}, …, head_{h}"])
    body += _box(all_centre, box_top["merge"], all_width, ["[head_{1} | … | head_{h}]",
                                                          "concatenated, not summed"])
    body += _box(all_centre, box_top["output"], all_width, ["merged W_{O} + b_{O}"])
    body.append(_arrow(q_lane, bottom["split"], q_lane, box_top["scores"] - 2))
    body.append(_arrow(k_lane, bottom["split"], k_lane, box_top["scores"] - 2))
    body.append(_arrow(v_lane, bottom["split"], v_lane, box_top["heads"] - 2))
    body.append(_arrow(qk_centre, bottom["scores"], qk_centre, box_top["weights"] - 2))
    body.append(_arrow(qk_centre, bottom["weights"], qk_centre, box_top["heads"] - 2))
    body.append(_arrow(all_centre, bottom["heads"], all_centre, box_top["merge"] - 2))
    body.append(_arrow(all_centre, bottom["merge"], all_centre, box_top["output"] - 2))

    title = "Multi-head attention, shape by shape"
    head = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
         f'viewBox="0 0 {_WIDTH} {height}" role="img" '
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


def main(argv=None) -> int:
    """Write the introduction's diagram (the running example, unhighlighted) to a file."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m mha_lib.diagram OUTPUT.svg")
        return 2
    shape_flow(seq_len=10, d_model=8, num_heads=2).save(args[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
