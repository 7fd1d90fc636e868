"""The interface strings a reader sees, one table per language (package data).

``en.json`` and ``ja.json`` hold every string of the quiz, the head explorer and the progress
page: what the Python renderers write into the markup, the widgets' ``text/plain`` lines, and
(keys starting with ``js.``) what ``mha_quiz.js`` and ``mha_explorer.js`` show in the browser.
The scripts hold no copy: the markup of a non-English quiz or explorer carries its ``js.``
strings in a ``data-mha-text`` attribute, next to its ``lang``; the course site puts the page
language's table in every page (``<script id="mha-ui-text">``), and a live widget gets its
table through a synced trait. ``ja.captions.json`` translates the captions the lessons give
their explorers (English caption -> Japanese).

A string may hold ``{name}`` placeholders (the same names in every language; a test checks).
Counted strings come in plural forms ``key_one``, ``key_other`` (and, for ordinals,
``key_two``, ``key_few``), chosen like ``Intl.PluralRules`` in the browser: see
:func:`plural_key`.

Introduced in the Japanese edition (issue 13). Torch-free and Sphinx-free.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
from importlib import resources
from typing import Any

from .._markup import json_for_script

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "caption_translation",
    "js_strings",
    "markup_attributes",
    "plural_key",
    "resolve_language",
    "text",
    "ui_table",
]

DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "ja")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def resolve_language(lang: str | None) -> str:
    """``lang`` itself, or for ``None`` the ``MHA_LANG`` environment variable, else ``"en"``.

    Raises ``ValueError`` for a language with no table (the message lists the known ones).
    """
    if lang is None:
        lang = os.environ.get("MHA_LANG", "").strip() or DEFAULT_LANGUAGE
    if not isinstance(lang, str):
        raise TypeError(f"lang must be a str or None, got {type(lang).__name__}")
    if lang not in LANGUAGES:
        source = " (from $MHA_LANG)" if os.environ.get("MHA_LANG", "").strip() == lang else ""
        raise ValueError(
            f"lang must be one of {', '.join(LANGUAGES)}, got lang={lang!r}{source}"
        )
    return lang


@functools.cache
def _load(name: str) -> dict[str, str]:
    raw = (resources.files(__name__) / name).read_text(encoding="utf-8")
    return json.loads(raw)


def ui_table(lang: str | None = None) -> dict[str, str]:
    """The whole table of one language (key -> string); ``lang`` as in :func:`resolve_language`."""
    return dict(_load(f"{resolve_language(lang)}.json"))


def placeholders(value: str) -> set[str]:
    """The ``{name}`` placeholders of a string."""
    return set(_PLACEHOLDER.findall(value))


def plural_key(key: str, count: int, lang: str) -> str:
    """``key_one`` or ``key_other``: English uses ``_one`` for 1; Japanese has one form."""
    return f"{key}_one" if lang == "en" and count == 1 else f"{key}_other"


def text(key: str, lang: str | None = None, /, count: int | None = None, **values: Any) -> str:
    """One string of ``lang``'s table with its placeholders filled in.

    With ``count``, the plural form of ``key`` for that number (``count`` is also a value).
    """
    lang = resolve_language(lang)
    table = _load(f"{lang}.json")
    if count is not None:
        key = plural_key(key, count, lang)
        values["count"] = count
    template = table[key]
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


def js_strings(lang: str | None = None, *sections: str) -> dict[str, str]:
    """The strings the browser scripts need (keys ``js.…``, prefix removed), sorted by key.

    ``sections`` (e.g. ``"quiz"``, ``"explorer"``, ``"progress"``) keep only those keys
    (``js.quiz.…``); none: every section.
    """
    table = _load(f"{resolve_language(lang)}.json")
    wanted = tuple(f"js.{section}." for section in sections) or ("js.",)
    return {key[3:]: table[key] for key in sorted(table) if key.startswith(wanted)}


def markup_attributes(lang: str, *sections: str) -> str:
    """A widget wrapper's `` lang="…" data-mha-text="…"`` (its browser strings, ``sections``
    of :func:`js_strings`) for a non-English rendering; ``""`` for English, whose markup stays
    as the lessons store it (the site and the live widget give the scripts the English table).
    """
    if resolve_language(lang) == DEFAULT_LANGUAGE:
        return ""
    strings = json_for_script(js_strings(lang, *sections), sort_keys=True)
    return f' lang="{html.escape(lang)}" data-mha-text="{html.escape(strings, quote=True)}"'


def caption_translation(caption: str, lang: str) -> str | None:
    """A lesson's explorer caption in ``lang`` (``None``: no translation in the table)."""
    if resolve_language(lang) == DEFAULT_LANGUAGE:
        return caption
    try:
        captions = _load(f"{lang}.captions.json")
    except FileNotFoundError:
        return None
    return captions.get(caption)
