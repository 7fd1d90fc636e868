"""Sphinx extension for the course website (listed under ``sphinx.extra_extensions``).

- Serves the quiz's JS and CSS from the package: the quiz on a lesson page is the static
  ``text/html`` rendering stored in the notebook, and ``mha_quiz.js`` (the same ES module the
  Jupyter widget uses) makes it interactive with no kernel and no network.
- Removes sphinx-thebe's scripts, which Jupyter Book 1 always loads: the course has no remote
  kernel, and the scripts declare ``THEBE_JS_URL`` twice (a console error on every page) and
  point at a CDN.
"""

from __future__ import annotations

from pathlib import Path

QUIZ_STATIC_DIR = Path(__file__).parent / "quiz" / "static"


def _add_static_path(app, config) -> None:
    config.html_static_path.append(str(QUIZ_STATIC_DIR))


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
    app.add_js_file("mha_quiz.js", type="module")
    app.add_css_file("mha_quiz.css")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
