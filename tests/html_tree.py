"""A small HTML tree built with the standard library, for tests that read generated markup.

``parse(markup)`` is strict, for the markup the course generates itself (quiz, head explorer,
progress table): every element is closed in order, no attribute is given twice, no
``<x/>`` self-closing syntax and no comment. ``parse(markup, strict=False)`` reads any page
(e.g. a page of the built site) well enough to collect its elements and attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str | None]
    parent: Node | None = None
    children: list = field(default_factory=list)  # Node or str

    @property
    def elements(self) -> list[Node]:
        """The child elements (no text)."""
        return [c for c in self.children if isinstance(c, Node)]

    def iter(self):
        """Every element below this one, in document order."""
        for child in self.elements:
            yield child
            yield from child.iter()

    def find_all(self, tag: str | None = None, *, cls: str | None = None, **attrs) -> list[Node]:
        """Elements below this one with this tag, this class among their classes, and these
        attributes: ``data_question_id="q1"`` matches ``data-question-id="q1"`` (a trailing
        ``_`` is dropped: ``class_="a b"`` is the whole attribute), and ``True`` matches any
        value."""

        def matches(node: Node) -> bool:
            if tag is not None and node.tag != tag:
                return False
            if cls is not None and cls not in node.classes():
                return False
            for name, value in attrs.items():
                name = name.rstrip("_").replace("_", "-")
                if name not in node.attrs or value is not True and node.attrs[name] != value:
                    return False
            return True

        return [n for n in self.iter() if matches(n)]

    def find(self, tag: str | None = None, **kwargs) -> Node | None:
        found = self.find_all(tag, **kwargs)
        return found[0] if found else None

    def by_class(self, name: str) -> list[Node]:
        return self.find_all(cls=name)

    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)


class _TreeBuilder(HTMLParser):
    def __init__(self, strict: bool):
        super().__init__(convert_charrefs=True)
        self.strict = strict
        self.root = self.current = Node("#document", {})
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if len({name for name, _ in attrs}) != len(attrs):
            self.errors.append(f"duplicate attribute in <{tag}>")
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        if self.strict:
            self.errors.append(f"self-closing <{tag}/>")
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        if self.current.tag == tag:
            self.current = self.current.parent
            return
        self.errors.append(f"</{tag}> closes <{self.current.tag}>")
        if not self.strict:  # close the nearest open element of that name, if any
            node = self.current
            while node.parent is not None and node.tag != tag:
                node = node.parent
            if node.parent is not None:
                self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)

    def handle_comment(self, data):
        if self.strict:
            self.errors.append(f"comment <!--{data}-->")


def parse(markup: str, *, strict: bool = True) -> Node:
    """The document node of ``markup``; strict (the default) asserts that it is well formed."""
    builder = _TreeBuilder(strict)
    builder.feed(markup)
    builder.close()
    if strict:
        assert builder.errors == []
        assert builder.current is builder.root, "unclosed elements"
    return builder.root


def tables(root: Node) -> list[list[list[str]]]:
    """Every table below ``root`` as [header row, body rows...] of cell texts."""
    return [[[cell.text for cell in row.elements] for row in t.find_all("tr")]
            for t in root.find_all("table")]
