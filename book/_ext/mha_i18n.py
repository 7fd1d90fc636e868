"""Sphinx extension: the language switcher of the two editions (issue 13).

A local extension, loaded only by the configurations ``scripts/i18n.py`` generates
(``_build/i18n/_config_{en,ja}.yml``, used by ``make book``), which set
``mha_editions: [en, ja]``; a plain ``jupyter-book build .`` (one English site in
``_build/html``) has no other edition to link to and is unchanged.

Both editions sit side by side in one static site (``_build/site/en/``, ``_build/site/ja/``) and
have the same page names, so the same page in the other edition is ``../`` once per folder of
the page name, once more for the edition's folder, then ``<language>/<page>.html``: relative
links that work on any static host, under any prefix, offline.

- ``<link rel="alternate" hreflang="…">`` in every page's head, one per edition (its own
  included, as the hreflang convention asks).
- The ``_toc.yml`` part captions ("Lessons", "Reference"): the gettext builder extracts them
  into the root page's ``.po``, but sphinx-external-toc inserts the toctrees after Sphinx has
  applied the translations, so they stayed English. They are translated here, from the same
  catalog, once the page's doctree is read.
- ``mha_other_editions`` in the template context: ``book/_templates/article-header-buttons.html``
  shows a link to each other edition in the page's header, its text in that edition's language
  (``lang`` and ``hreflang`` set). Its style: ``book/_ext/static/mha_i18n.css``.
- The search field's text ("Search..."): sphinx-book-theme makes it from its own catalog, which
  has no Japanese "Search"; here it comes from Sphinx's ("検索...").
- The lessons' stored outputs are English and shared by both editions. In an edition whose
  ``language`` is not English, once a page's doctree is read, every quiz output (the raw HTML
  with ``data-mha-quiz="<stem>"``) is replaced by the quiz rendered from
  ``mha_lib/quiz/banks/<language>/<stem>.yml`` in that language, and every head explorer
  (``data-mha-explorer``) is rendered again in that language from the data its markup
  carries (:func:`localize_outputs`). A missing translated bank, or an explorer caption
  missing from ``mha_lib/ui_text/<language>.captions.json``, leaves that output in English
  and logs a warning naming it (so ``-nW`` fails until the translation exists). The English
  edition's outputs are not touched.
- Markdown table cells inside a directive (``::::{container} mha-shape-sheet`` on the shape
  sheet): MyST renders a cell's paragraph into a row that is not yet part of the document, so
  the paragraph gets no ``source`` and Sphinx's i18n skips it as a "built-in message": it was
  never extracted nor translated. :class:`SourceFromAncestor` gives such a node its nearest
  ancestor's source and line before the translation transform runs (:func:`fill_sources`).
"""

from __future__ import annotations

import gettext
import html
import re
from collections.abc import Callable
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.locale import _
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.i18n import docname_to_domain

from mha_lib.explorer.render import explorer_from_html, render_data_html, translate_explorer
from mha_lib.quiz.bank import load_bank, quiz_dir
from mha_lib.quiz.render import render_quiz_html
from mha_lib.ui_text import DEFAULT_LANGUAGE, LANGUAGES

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CSS = HERE / "static" / "mha_i18n.css"
# Each edition's name, written in its own language.
NAMES = {"en": "English", "ja": "日本語"}


def edition_links(pagename: str, target_uri: str, editions: list[str]) -> dict[str, str]:
    """Each edition's URL of ``pagename``, relative to that page (``target_uri``: its file)."""
    up = "../" * (pagename.count("/") + 1)
    return {language: f"{up}{language}/{target_uri}" for language in editions}


def _page_context(app, pagename, templatename, context, doctree) -> None:
    editions = list(app.config.mha_editions or [])
    language = app.config.language or "en"
    if app.builder.format != "html" or language not in editions:
        return
    links = edition_links(pagename, app.builder.get_target_uri(pagename), editions)
    tags = "".join(
        f'\n<link rel="alternate" hreflang="{html.escape(lang, quote=True)}" '
        f'href="{html.escape(url, quote=True)}" />'
        for lang, url in links.items()
    )
    context["metatags"] = context.get("metatags", "") + tags
    context["mha_other_editions"] = [
        {"language": lang, "url": url, "name": NAMES.get(lang, lang)}
        for lang, url in links.items()
        if lang != language
    ]


def _search_text(app, pagename, templatename, context, doctree) -> None:
    # After sphinx-book-theme's handler (priority 900), which sets it from its own catalog.
    if "search_bar_text" not in (app.config.html_theme_options or {}):
        context["theme_search_bar_text"] = _("Search") + "..."


def page_catalog(
    locale_dirs: list[Path], language: str, docname: str, compact: bool | str
) -> Callable[[str], str]:
    """``translate(message)`` from page ``docname``'s catalog in ``language`` (the first of
    ``locale_dirs`` that translates it; the message itself when none does). For text Sphinx
    does not translate itself: the ``_toc.yml`` captions, the progress page's lesson titles."""
    domain = docname_to_domain(docname, compact)
    catalogs = [gettext.translation(domain, str(d), [language], fallback=True) for d in locale_dirs]

    def translate(message: str) -> str:
        for catalog in catalogs:
            translated = catalog.gettext(message)
            if translated != message:
                return translated
        return message

    return translate


def _translate_captions(app, doctree) -> None:
    language = app.config.language or "en"
    if language == "en" or not app.config.mha_editions:
        return
    toctrees = [node for node in doctree.findall(addnodes.toctree) if node.get("caption")]
    if not toctrees:
        return
    dirs = [Path(app.srcdir, folder) for folder in app.config.locale_dirs]
    translate = page_catalog(dirs, language, app.env.docname, app.config.gettext_compact)
    for node in toctrees:
        node["caption"] = node["rawcaption"] = translate(node["caption"])


_QUIZ_ID = re.compile(r'<div class="mha-quiz" data-mha-quiz="([^"]+)"')
_EXPLORER_ID = re.compile(r'<div class="mha-explorer" data-mha-explorer="([^"]+)"')


def localize_outputs(
    doctree: nodes.Node, language: str, warn: Callable[[str, nodes.Node], None]
) -> list[Path]:
    """Re-render every quiz and head explorer output of ``doctree`` in ``language``.

    A quiz comes from its translated bank (``quiz_dir(language) / "<stem>.yml"``); an
    explorer from the data in its own markup. What cannot be translated stays as it is and
    ``warn(message, node)`` is called. Returns the banks used (for Sphinx's dependencies).
    English: nothing changes.
    """
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return []
    used: list[Path] = []
    for node in list(doctree.findall(nodes.raw)):
        if node.get("format") != "html":
            continue
        markup = node.astext()
        quiz, explorer = _QUIZ_ID.search(markup), _EXPLORER_ID.search(markup)
        if quiz:
            stem = html.unescape(quiz.group(1))
            bank = quiz_dir(language) / f"{stem}.yml"
            if not bank.is_file():
                warn(
                    f"no {language!r} question bank for the quiz {stem!r} ({bank} is missing): "
                    "the quiz stays in English",
                    node,
                )
                continue
            used.append(bank)
            new = render_quiz_html(load_bank(stem, language), stem, language)
        elif explorer:
            data, translated = translate_explorer(explorer_from_html(markup), language)
            if not translated:
                warn(
                    f"the head explorer {data.explorer_id!r} has no {language!r} caption for "
                    f"{data.caption!r} (add it to mha_lib/ui_text/{language}.captions.json): "
                    "its caption stays in English",
                    node,
                )
            new = render_data_html(data, language)
        else:
            continue
        replacement = nodes.raw("", new, format="html")
        replacement.update_all_atts(node)
        node.replace_self(replacement)
    return used


def _localize_outputs(app, doctree) -> None:
    language = app.config.language or DEFAULT_LANGUAGE

    def warn(message: str, node: nodes.Node) -> None:
        logger.warning(message, location=node if node.source else app.env.docname)

    for bank in localize_outputs(doctree, language, warn):
        app.env.note_dependency(str(bank))


def fill_sources(doctree: nodes.Node) -> int:
    """Give every table cell's text without a ``source`` its nearest ancestor's source and line.

    MyST sets no source on a Markdown table cell's paragraph; outside a directive docutils
    fills it in when the row is appended to the document, inside one (a nested parse) the row
    is not yet in the document, so the paragraph stays without a source and Sphinx's i18n
    skips it. Only text inside a table is touched; returns how many nodes got a source.
    """
    filled = 0
    for table in doctree.findall(nodes.table):
        for node in table.findall(nodes.TextElement):
            if node.source:
                continue
            ancestor = node.parent
            while ancestor is not None and not ancestor.source:
                ancestor = ancestor.parent
            if ancestor is None:
                continue
            node.source = ancestor.source
            if node.line is None:
                node.line = ancestor.line
            filled += 1
    return filled


class SourceFromAncestor(SphinxTransform):
    """:func:`fill_sources` before Sphinx extracts or translates the messages."""

    default_priority = 15  # before sphinx.transforms.i18n.Locale (20)

    def apply(self, **kwargs) -> None:
        fill_sources(self.document)


def _write_css(app) -> None:
    if app.builder.format != "html" or not app.config.mha_editions:
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    (static / CSS.name).write_text(CSS.read_text(encoding="utf-8"), encoding="utf-8")
    app.add_css_file(CSS.name)


def setup(app):
    app.add_config_value("mha_editions", [], "html", types=[list])
    app.add_transform(SourceFromAncestor)
    app.connect("builder-inited", _write_css)
    app.connect("html-page-context", _page_context)
    app.connect("html-page-context", _search_text, priority=900)
    app.connect("doctree-read", _translate_captions)
    app.connect("doctree-read", _localize_outputs)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
