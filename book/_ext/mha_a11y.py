"""Sphinx extension: theme, accessibility and weight fixes for the course website.

A local extension (``sphinx.local_extensions`` in ``_config.yml``). The stock Jupyter Book 1 theme
(sphinx-book-theme 1.3 on pydata-sphinx-theme 0.17) failed the course's browser tests in a
few places; each fix is made where the problem starts, none hides it from the tests
(``tests/browser/test_every_page.py``, ``test_accessibility.py``, ``test_page_weight.py``).

Templates (``book/_templates/``, found next to this file's folder and put first on
``templates_path`` by this extension):

- ``search-button-field.html``, ``theme-switcher.html``: axe-core's
  label-content-name-mismatch (serious) on the search and colour-mode buttons.
- ``navbar-logo.html``: the course title atop the sidebar was outside every landmark.
- ``static/webpack-macros.html``: drops ``fontawesome.js`` (1.5 MB on every page). The
  theme's stylesheet already carries Font Awesome's web font and its icon classes.
- ``layout.html``: the search index and tools load on the search page only (they served
  search-as-you-type, which is off), not on every page; with no favicon configured, an
  empty one saves every page a request for ``/favicon.ico`` that ends in a 404.

At the end of the build:

- Icons: every empty Font Awesome element gets ``aria-hidden="true"`` (``fontawesome.js``
  used to do this for its SVGs; without it a font glyph would become the name of an
  icon-only button, such as the sidebar toggles named by their ``title``).
- ``_static/mha-fa-solid.woff``: the theme's solid icon font (157 KB) cut down to the glyphs
  the site uses (a few KB), found in the pages' and scripts' ``fa-*`` classes and in the
  glyphs the stylesheets use directly; ``mha_a11y.css`` declares it last, so the browser
  loads it instead of the full font.
- ``index.html``: Jupyter Book's redirect to the first page is a single ``<meta>`` line (no
  language, no title, no link). It becomes a complete page with the same redirect.

``_static/mha_a11y.css`` (from ``book/_ext/static/``, copied when the builder starts):

- Light theme: the link colour (#176de8) is 4.4:1 on a striped table row and the hover
  colour (#e89217) 2.5:1 on white; they become #1a62d0 (5.0:1 or more on every light
  background of the site) and #a65300 (4.8:1 or more).
- Highlighted search terms take the text colour (light theme) or white (dark): in a link
  they kept the link colour, 3.8:1 and 2.1:1 on the highlight.
- Dark theme: the theme paints every notebook HTML output as a light box (right for outputs
  made for white paper); the quiz and the head explorer take the page's colours instead.

The theme option ``navbar_persistent: []`` in ``_config.yml`` belongs with these fixes.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent  # book/_ext
TEMPLATES = HERE.parent / "_templates"  # book/_templates, wherever the build is started
CSS_NAME = "mha_a11y.css"
ICON_FONT = "mha-fa-solid.woff"
# The theme's solid icon font as shipped (TrueType: fontTools needs no brotli to read it).
THEME_FONT = "vendor/fontawesome/webfonts/fa-solid-900.ttf"
NOT_PAGES = ("_static", "_sources", "_images")

CSS = HERE / "static" / "mha_a11y.css"
ICON_FONT_CSS = HERE / "static" / "mha_icon_font.css"  # names ICON_FONT

# An empty <i> or <span> with a class attribute, e.g. <span class="fa-solid fa-bars"></span>.
_EMPTY = re.compile(
    r'<(?P<tag>i|span)(?P<attrs>\s[^>]*?\bclass="(?P<classes>[^"]*)"[^>]*?)>(?P<end>\s*</(?P=tag)>)'
)
ICON_STYLES = {"fa-solid", "fa-regular", "fa-brands", "fas", "far", "fab"}
# Font Awesome's icon classes in a stylesheet: .fa-a:before,.fa-b:before{content:"\f015"}
_ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:{1,2}before,?)+)\{content:"\\([0-9a-f]{4,5})"\}')
_ICON_NAME = re.compile(r"\.fa-([a-z0-9-]+):")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]|\\([ef][0-9a-f]{3})\b")
_USED_NAME = re.compile(r"\bfa-([a-z0-9]+(?:-[a-z0-9]+)*)")


def _theme_font() -> Path | None:
    spec = importlib.util.find_spec("pydata_sphinx_theme")
    if spec is None or spec.origin is None or importlib.util.find_spec("fontTools") is None:
        return None
    font = Path(spec.origin).parent / "theme" / "pydata_sphinx_theme" / "static" / THEME_FONT
    return font if font.is_file() else None


def _add_paths(app, config) -> None:
    if str(TEMPLATES) not in config.templates_path:
        config.templates_path.insert(0, str(TEMPLATES))


def _write_css(app) -> None:
    if app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    parts = [CSS] + ([ICON_FONT_CSS] if _theme_font() else [])
    text = "".join(part.read_text(encoding="utf-8") for part in parts)
    (static / CSS_NAME).write_text(text, encoding="utf-8")


def hide_icons(text: str) -> str:
    """Mark every empty Font Awesome element ``aria-hidden="true"`` (idempotent)."""

    def fix(match: re.Match) -> str:
        attrs = match["attrs"]
        if "aria-hidden" in attrs or not ICON_STYLES & set(match["classes"].split()):
            return match[0]
        return f'<{match["tag"]}{attrs} aria-hidden="true">{match["end"]}'

    return _EMPTY.sub(fix, text)


def icon_code_points(stylesheets: list[str], documents: list[str]) -> set[int]:
    """The icon-font glyphs a site uses: those of the ``fa-*`` classes named in its pages and
    scripts (``documents``), and those its stylesheets use directly (custom properties such
    as the admonition icons, pseudo-elements), outside Font Awesome's own class list."""
    by_name: dict[str, int] = {}
    direct: set[int] = set()
    for css in stylesheets:
        for match in _ICON_RULE.finditer(css):
            for name in _ICON_NAME.findall(match[1]):
                by_name[name] = int(match[2], 16)
        for match in _PRIVATE_USE.finditer(_ICON_RULE.sub("", css)):
            direct.add(int(match[1], 16) if match[1] else ord(match[0]))
    used = {name for text in documents for name in _USED_NAME.findall(text)}
    return direct | {by_name[name] for name in used if name in by_name}


def _subset_icon_font(outdir: Path, pages: list[Path]) -> None:
    from fontTools import subset  # a dependency of matplotlib

    static = outdir / "_static"
    stylesheets = [p.read_text(encoding="utf-8") for p in static.rglob("*.css")]
    scripts = [p.read_text(encoding="utf-8") for p in static.rglob("*.js")]
    documents = [p.read_text(encoding="utf-8") for p in pages] + scripts
    code_points = icon_code_points(stylesheets, documents)
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    font = subset.load_font(str(_theme_font()), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(code_points))
    subsetter.subset(font)
    subset.save_font(font, str(static / ICON_FONT), options)


def _hide_icons_in(pages: list[Path]) -> None:
    for page in pages:
        text = page.read_text(encoding="utf-8")
        fixed = hide_icons(text)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")




def _write_index(app) -> None:
    """A complete redirect page at ``index.html`` when the root document is not ``index``.

    sphinx-external-toc writes a one-line ``<meta>`` redirect there at ``build-finished``
    unless the file exists; whichever handler runs first, the result is this page.
    """
    if app.builder.name != "html" or app.config.root_doc == "index":
        return
    index = Path(app.outdir) / "index.html"
    if index.exists() and not index.read_text(encoding="utf-8").startswith("<meta "):
        return  # a real page, or already this one
    context = {
        "url": app.builder.get_target_uri(app.config.root_doc),
        "title": app.config.html_title or app.config.project,
        "lang": app.config.language or "en",
    }  # escaped in the template (|e): Sphinx templates do not autoescape
    index.write_text(app.builder.templates.render("mha-redirect.html", context), encoding="utf-8")


def _finish(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    pages = [p for p in outdir.rglob("*.html") if p.relative_to(outdir).parts[0] not in NOT_PAGES]
    _hide_icons_in(pages)
    if _theme_font():
        _subset_icon_font(outdir, pages)
    _write_index(app)


def setup(app):
    app.connect("config-inited", _add_paths)
    app.connect("builder-inited", _write_css)
    app.connect("build-finished", _finish)
    app.add_css_file(CSS_NAME)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
