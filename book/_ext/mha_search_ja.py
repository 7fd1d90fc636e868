"""Sphinx extension: the Japanese edition's search splits a query the way its index did.

Sphinx indexes a page in Japanese (``language: ja``) with a Japanese word splitter
(``sphinx.search.ja.DefaultSplitter``, a port of TinySegmenter), but its search page splits a
query on spaces and punctuation only: "ソフトマックス関数", typed the Japanese way, without a
space, is looked up as one word that no page holds, and nothing is found.
``static/mha_search_ja.js`` ports the same splitter, with the same model, to the browser and
gives it to Sphinx's search (``searchtools.js`` keeps a ``splitQuery`` defined before it).

It is loaded on the search page of a Japanese build only (the search dialog of every page
submits to ``search.html``): the English edition and every other page are unchanged. A
local extension of ``_config.yml``; tests/browser/test_search_ja.py checks the port against
the installed Sphinx and searches the built site.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "static" / "mha_search_ja.js"


def _japanese(app) -> bool:
    return (app.config.language or "en").split("_")[0] == "ja" and app.builder.format == "html"


def _copy_script(app) -> None:
    if _japanese(app):
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SCRIPT, static / SCRIPT.name)


def _search_page(app, pagename, templatename, context, doctree) -> None:
    if pagename == "search" and _japanese(app):
        # Called from this event: for this page only; after translations.js (priority 500).
        app.add_js_file(SCRIPT.name, priority=800)


def setup(app):
    app.connect("builder-inited", _copy_script)
    app.connect("html-page-context", _search_page)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
