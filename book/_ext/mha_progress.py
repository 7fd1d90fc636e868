"""Sphinx extension (local, ``book/_ext``): the ``mha-progress`` directive of the progress page.

Usage in a MyST page (``book/progress.md``)::

    ```{mha-progress}
    ```

At build time it lists every lesson quiz of :func:`mha_lib.quiz.load_all_banks` (title from
the lesson notebook's first heading, link relative to the page, question ids in the markup);
``mha_quiz.js``, which ``mha_site`` (``book/_ext/mha_site.py``) already loads on every page, fills in the
learner's counts from the browser's ``localStorage``. The markup comes from
:func:`mha_lib.quiz.progress.render_progress_html`; this module only wires it into Sphinx.

In an edition of another language (``language: ja``) the table's strings are in that
language and each lesson title is its heading's translation from the lesson's gettext catalog
(``locales/<language>/LC_MESSAGES/notebooks/<stem>.po``; an untranslated heading stays
English). The rows list the English banks' question ids: a translated bank has the same ids
(``scripts/i18n.py check``), so one learner's progress counts in both editions.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from mha_i18n import page_catalog  # a local extension beside this one (book/_ext)
from mha_lib.quiz.bank import load_all_banks, quiz_dir
from mha_lib.quiz.progress import lesson_quizzes, render_progress_html
from mha_lib.ui_text import DEFAULT_LANGUAGE, LANGUAGES


def heading_translator(locale_dirs: list[Path], language: str, gettext_compact: bool | str):
    """(stem, heading) -> the lesson heading from ``notebooks/<stem>``'s catalog in
    ``language`` (the heading itself when untranslated); None for English."""
    if language == DEFAULT_LANGUAGE:
        return None

    def translate(stem: str, heading: str) -> str:
        return page_catalog(locale_dirs, language, f"notebooks/{stem}", gettext_compact)(heading)

    return translate


class ProgressDirective(SphinxDirective):
    """``{mha-progress}``: the per-lesson progress table with its Reset button."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def _lesson_docname(self, stem: str) -> str | None:
        docs = self.env.found_docs
        if f"notebooks/{stem}" in docs:
            return f"notebooks/{stem}"
        matches = sorted(doc for doc in docs if doc.rsplit("/", 1)[-1] == stem)
        return matches[0] if matches else None

    def run(self) -> list[nodes.Node]:
        language = self.env.config.language or DEFAULT_LANGUAGE
        language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        folder = quiz_dir(DEFAULT_LANGUAGE)
        banks = load_all_banks(folder)
        self.env.note_dependency(str(folder))  # a bank added or removed
        builder = self.env.app.builder
        notebooks = Path(self.env.srcdir) / "notebooks"  # the lessons (titles)
        hrefs: dict[str, str | None] = {}
        for stem in banks:
            self.env.note_dependency(str(folder / f"{stem}.yml"))
            if (notebooks / f"{stem}.ipynb").exists():
                self.env.note_dependency(str(notebooks / f"{stem}.ipynb"))  # its title
            docname = self._lesson_docname(stem)
            if docname is None:  # not part of this build: listed without a link
                hrefs[stem] = None
                continue
            try:
                hrefs[stem] = builder.get_relative_uri(self.env.docname, docname)
            except NotImplementedError:  # a builder without page addresses
                hrefs[stem] = None
        config = self.env.config
        dirs = [Path(self.env.srcdir, folder) for folder in config.locale_dirs]
        translate = heading_translator(dirs, language, config.gettext_compact)
        lessons = lesson_quizzes(banks, notebooks_dir=notebooks, href=hrefs.get, translate=translate)
        return [nodes.raw("", render_progress_html(lessons, language), format="html")]


def setup(app):
    app.add_directive("mha-progress", ProgressDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
