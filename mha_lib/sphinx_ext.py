"""Sphinx extension for the course website (listed under ``sphinx.extra_extensions``).

- Serves the quiz's and the head explorer's JS and CSS from the package: each appears on a
  lesson page as the static ``text/html`` rendering stored in the notebook, and its ES module
  (the same one the Jupyter widget uses) makes it interactive with no kernel and no network.
- Removes sphinx-thebe's scripts, which Jupyter Book 1 always loads: the course has no remote
  kernel, and the scripts declare ``THEBE_JS_URL`` twice (a console error on every page) and
  point at a CDN.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).parent
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


def setup(app):
    app.connect("config-inited", _add_static_path)
    app.connect("html-page-context", _drop_thebe)
    for script, stylesheet in STATIC_ASSETS.values():
        app.add_js_file(script, type="module")
        app.add_css_file(stylesheet)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
