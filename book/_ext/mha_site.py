"""Sphinx extension for the course website: widget assets, MathML, no thebe.

A local extension (``sphinx.local_extensions`` in ``_config.yml``): site-build code lives
here, next to the templates it serves, and imports ``mha_lib`` only to find the widgets' files.

- Serves the quiz's and the head explorer's JS and CSS from the package: each appears on a
  lesson page as the static ``text/html`` rendering stored in the notebook, and its ES module
  (the same one the Jupyter widget uses) makes it interactive with no kernel and no network.
- Renders math to MathML at build time (``html_math_renderer: mathml``): browsers draw
  MathML natively and screen readers read it, so pages need no 1.2 MB MathJax script, no
  network and no JavaScript for math.
- Puts the interface strings of the page's language (``mha_lib/ui_text/<language>.json``, the
  ``js.`` keys) in every page's head as ``<script type="application/json" id="mha-ui-text">``
  (``book/_templates/layout.html``): the scripts hold no strings and read them from there
  when a quiz's or explorer's own markup carries none (the English outputs the lessons store).
- Removes sphinx-thebe's scripts, which Jupyter Book 1 always loads: the course has no remote
  kernel, and the scripts declare ``THEBE_JS_URL`` twice (a console error on every page) and
  point at a CDN.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path

from docutils import nodes
from latex2mathml.converter import convert as latex_to_mathml

from mha_lib._markup import json_for_script
from mha_lib.ui_text import DEFAULT_LANGUAGE, LANGUAGES, js_strings

PACKAGE = Path(str(resources.files("mha_lib")))  # the installed package, wherever it is
# Each interactive element brings one ES module and one stylesheet (a few KB each), loaded on
# every page; no widget manager is needed because every element has a static rendering.
STATIC_ASSETS = {
    PACKAGE / "quiz" / "static": ("mha_quiz.js", "mha_quiz.css"),
    PACKAGE / "explorer" / "static": ("mha_explorer.js", "mha_explorer.css"),
}


def _add_static_path(app, config) -> None:
    for folder in STATIC_ASSETS:
        config.html_static_path.append(str(folder))


def _is_thebe(asset) -> bool:
    filename = getattr(asset, "filename", None) or str(asset)
    body = (getattr(asset, "attributes", None) or {}).get("body", "")
    return "thebe" in filename.lower() or "THEBE" in body


def _drop_thebe(app, pagename, templatename, context, doctree) -> None:
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not _is_thebe(asset)]


def _ui_text(app, pagename, templatename, context, doctree) -> None:
    language = app.config.language or DEFAULT_LANGUAGE
    strings = js_strings(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    context["mha_ui_text"] = json_for_script(strings, sort_keys=True)


def _mathml(latex: str, display: str) -> str:
    # alttext keeps the TeX source for assistive technology that prefers it.
    mathml = latex_to_mathml(latex, display=display)
    return mathml.replace("<math ", f'<math alttext="{html.escape(latex)}" ', 1)


def _visit_inline_math(self, node) -> None:
    self.body.append(_mathml(node.astext(), "inline"))
    raise nodes.SkipNode


def _visit_block_math(self, node) -> None:
    # A wide formula scrolls sideways inside this box, which keyboard users can then focus.
    self.body.append(
        '<div class="math-display" tabindex="0" role="group" aria-label="formula">'
        f'{_mathml(node.astext(), "block")}</div>'
    )
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer(
        "mathml", (_visit_inline_math, None), (_visit_block_math, None)
    )
    app.connect("config-inited", _add_static_path)
    app.connect("html-page-context", _drop_thebe)
    app.connect("html-page-context", _ui_text)
    for script, stylesheet in STATIC_ASSETS.values():
        app.add_js_file(script, type="module")
        app.add_css_file(stylesheet)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
