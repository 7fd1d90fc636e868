"""The Japanese edition (issue 13): extract, update the .po files, build both editions, check.

Usage: python scripts/i18n.py {config,extract,build,site,check} [options]

- ``config``: write the generated configurations ``_build/i18n/_config_en.yml`` and
  ``_build/i18n/_config_ja.yml`` from ``_config.yml``. They live in the build folder, not in the
  repository: they are derived (``_config.yml`` stays the one file an author edits; a second
  file in the root would invite edits that the next build overwrites), ``_build/`` is already
  ignored by git and ``make clean`` removes them. Jupyter Book 1 resolves
  ``sphinx.local_extensions`` relative to the config file, so their paths are rewritten.
- ``extract``: the gettext builder, with its own ``--path-output`` (Jupyter Book's doctree
  folder cannot be shared between the gettext and html builders: "This environment is
  incompatible with the selected builder"), then ``sphinx-intl update -l ja`` into
  ``locales/ja/LC_MESSAGES/<page>.po`` (one file per page: ``gettext_compact: false``).
- ``build``: the two editions, each with its own ``--path-output``, assembled into one static
  site: ``_build/site/en/``, ``_build/site/ja/`` and a root ``index.html`` that picks the
  reader's language (``book/_ext/i18n/``; plain links when JavaScript is off).
- ``site``: ``extract`` then ``build``.
- ``check-site``: in the built site, every switcher and hreflang link leads to a page and
  every page declares its edition's language (``build`` and ``site`` run it too).
- ``check``: per ``.po`` file, the translated, fuzzy and untranslated entries, and every
  translated message keeps its ``$`` math, backtick code and link targets. ``--complete``
  also fails on any fuzzy or untranslated entry (the 100 % rule of issue 13; off until the
  whole course is translated).

Every build is offline; nothing here needs a network.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BUILD = REPO / "_build" / "i18n"  # generated configs and each build's own output root
SITE = REPO / "_build" / "site"  # the static site: en/, ja/, index.html
LOCALES = REPO / "locales"
ROOT_PAGE = REPO / "book" / "_ext" / "i18n"  # the root page and its script
LANGUAGES = ("en", "ja")
TITLES = {"ja": "マルチヘッドアテンションを一歩ずつ"}
AUTHORS = {"ja": "コースの著者"}  # shown in the page footer ("著者 …")


# ---- configuration ---------------------------------------------------------------------------
def edition_config(base: dict, language: str, config_dir: Path) -> dict:
    """The configuration of one edition, from the parsed ``_config.yml``.

    ``language``, the title and the author change; gettext settings and the editions (for the language
    switcher, book/_ext/mha_i18n.py) are added; local extension paths are made relative to
    ``config_dir``, where the generated file is written.
    """
    config = yaml.safe_load(yaml.safe_dump(base))  # a deep copy
    if language in TITLES:
        config["title"] = TITLES[language]
    if language in AUTHORS:
        config["author"] = AUTHORS[language]
    sphinx = config.setdefault("sphinx", {})
    extensions = sphinx.get("local_extensions") or {}
    sphinx["local_extensions"] = {
        name: _relative(REPO / path, config_dir) for name, path in extensions.items()
    }
    # mha_i18n: the language switcher and hreflang links (book/_ext/mha_i18n.py).
    sphinx["local_extensions"]["mha_i18n"] = _relative(REPO / "book" / "_ext", config_dir)
    options = sphinx.setdefault("config", {})
    options["language"] = language
    options["locale_dirs"] = [str(LOCALES)]
    options["gettext_compact"] = False
    options["gettext_uuid"] = False
    # The figures' alt text (cell metadata mystnb.image.alt, on the outputs' image nodes) is
    # not a paragraph: Sphinx extracts and translates it only with the "image" target. Each
    # image also yields a ".. image:: <uri>" message, which needs no translation (check_po
    # leaves it out of the counts).
    options["gettext_additional_targets"] = ["image"]
    options["mha_editions"] = list(LANGUAGES)
    # gettext must see the outputs html shows (alt text of the html rendering).
    # myst-nb's own gettext list has no image types: a figure's output became its text/plain
    # ("<Figure size …>"), and its alt text never reached the catalog. So gettext takes html's
    # whole priority list, then html's overrides.
    from myst_nb.core.render import base_render_priority

    overrides = [list(item) for item in options.get("nb_mime_priority_overrides", [])]
    html_overrides = [item for item in overrides if item[0] == "html"]
    overrides += [["gettext", mime, rank] for mime, rank in base_render_priority()["html"].items()]
    overrides += [["gettext", *item[1:]] for item in html_overrides]
    options["nb_mime_priority_overrides"] = overrides
    return config


def _relative(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(path, start)


def write_configs() -> dict[str, Path]:
    base = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    BUILD.mkdir(parents=True, exist_ok=True)
    paths = {}
    for language in LANGUAGES:
        path = BUILD / f"_config_{language}.yml"
        text = (
            "# Generated by scripts/i18n.py from _config.yml: edit that file, not this one.\n"
            + yaml.safe_dump(edition_config(base, language, BUILD), allow_unicode=True,
                             sort_keys=False)
        )
        path.write_text(text, encoding="utf-8")
        paths[language] = path
    return paths


# ---- builds ----------------------------------------------------------------------------------
def _jupyter_book_command(*args: str) -> list[str]:
    return [str(BIN / "jupyter-book"), "build", str(REPO), *args]


def _jupyter_book(*args: str) -> float:
    start = time.monotonic()
    subprocess.run(_jupyter_book_command(*args), check=True)
    return time.monotonic() - start


def extract() -> float:
    configs = write_configs()
    out = BUILD / "gettext"
    took = _jupyter_book(
        "--all", "--builder", "custom", "--custom-builder", "gettext",
        "--config", str(configs["en"]), "--path-output", str(out),
    )
    pot = out / "_build" / "gettext"
    subprocess.run(
        [str(BIN / "sphinx-intl"), "update", "-p", str(pot), "-d", str(LOCALES), "-l", "ja"],
        check=True,
    )
    return took


def build(strict: bool = True, languages: tuple[str, ...] = LANGUAGES) -> dict[str, float]:
    """Build the editions side by side (one process each: a Sphinx build uses one core), each
    into its own ``--path-output``; print each one's output in turn, then assemble the site.
    Returns each edition's build time in seconds."""
    configs = write_configs()
    flags = ["--all", "-nW", "--keep-going"] if strict else ["--all"]
    BUILD.mkdir(parents=True, exist_ok=True)
    running = {}
    for language in languages:
        command = _jupyter_book_command(
            *flags, "--config", str(configs[language]), "--path-output", str(BUILD / language))
        log = open(BUILD / f"build-{language}.log", "w+", encoding="utf-8")  # noqa: SIM115
        running[language] = (command, log, time.monotonic(), subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, text=True))
    times, failed = {}, None
    for language, (command, log, start, process) in running.items():
        status = process.wait()
        times[language] = time.monotonic() - start
        with log:
            log.seek(0)
            print(f"---- the {language} edition ({times[language]:.0f} s) ----\n{log.read()}",
                  flush=True)
        if status != 0 and failed is None:
            failed = subprocess.CalledProcessError(status, command)
    if failed is not None:
        raise failed
    assemble()
    return times


def assemble() -> None:
    """Copy both editions into ``_build/site`` with the language-picking root page."""
    if SITE.exists():
        shutil.rmtree(SITE)
    for language in LANGUAGES:
        shutil.copytree(BUILD / language / "_build" / "html", SITE / language)
    for name in ("index.html", "mha_lang_pick.js"):
        shutil.copy2(ROOT_PAGE / name, SITE / name)


# ---- checks ----------------------------------------------------------------------------------
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.DOTALL)
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<body>[^`]*)`")
_CODE = re.compile(r"(?<![}`])(`+)(?P<code>.+?)\1(?!`)", re.DOTALL)
_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
_ROLE_TARGET = re.compile(r"<(?P<target>[^<>]+)>\s*$")
_ROLE_OR_CODE = re.compile(_ROLE.pattern + r"|(?<![}`])(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`)", re.DOTALL)
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")  # template strings (sphinx.po)
IMAGE_URI = ".. image:: "  # gettext_additional_targets "image": the image's own message


def invariants(text: str) -> dict[str, Counter]:
    """What a translation must keep from its source: math, code, link and role targets, and
    the ``%(name)s`` placeholders of the templates' messages."""
    roles = Counter()
    # Left to right, a role or a code span, whichever starts first: a `{name}` inside a code
    # span (`:::{admonition}`) is code, not a role.
    for match in _ROLE_OR_CODE.finditer(text):
        if match["role"]:
            target = _ROLE_TARGET.search(match["body"])
            roles[(match["role"], (target["target"] if target else match["body"]).strip())] += 1
    no_roles = _ROLE_OR_CODE.sub(lambda m: "" if m["role"] else m[0], text)
    return {
        "math": Counter(m.strip() for m in _MATH.findall(no_roles)),
        "code": Counter(m["code"] for m in _CODE.finditer(_MATH.sub("", no_roles))),
        "links": Counter(m["target"] for m in _LINK.finditer(no_roles)),
        "roles": roles,
        "placeholders": Counter(_PLACEHOLDER.findall(text)),
    }


def message_problems(msgid: str, msgstr: str) -> list[str]:
    """Why a translation breaks its source's math, code or links (an empty list: it does not)."""
    problems = []
    if msgid.startswith("\n") and msgstr != msgid:
        # A display-math block ($$ … $$, {math}) is extracted without its dollars, between
        # newlines: its translation must be the same LaTeX.
        problems.append("display math changed (copy the msgid as it is)")
    if _unbalanced_dollars(msgstr) and not _unbalanced_dollars(msgid):
        problems.append("unbalanced $ (the rest of the paragraph would become math)")
    source, target = invariants(msgid), invariants(msgstr)
    for kind in source:
        if source[kind] != target[kind]:
            lost = sorted(map(str, (source[kind] - target[kind]).elements()))
            added = sorted(map(str, (target[kind] - source[kind]).elements()))
            problems.append(f"{kind} differ: missing {lost}, unexpected {added}")
    return problems


def _unbalanced_dollars(text: str) -> bool:
    return len(re.findall(r"(?<!\\)\$", text)) % 2 == 1


@dataclass
class PoReport:
    path: Path
    translated: int = 0
    fuzzy: int = 0
    untranslated: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.translated + self.fuzzy + self.untranslated


def check_po(path: Path) -> PoReport:
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        catalog = read_po(handle)
    report = PoReport(path)
    for message in catalog:
        if not message.id:  # the header
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        if msgid.startswith(IMAGE_URI):  # the image itself, not its alt text: nothing to translate
            continue
        msgstr = message.string if isinstance(message.string, str) else message.string[0]
        if message.fuzzy:
            report.fuzzy += 1
        elif not msgstr:
            report.untranslated += 1
        else:
            report.translated += 1
            for problem in message_problems(msgid, msgstr):
                line = message.lineno or "?"
                report.problems.append(f"{path}:{line}: {problem}")
    return report


def check(locale_dir: Path, complete: bool = False) -> int:
    reports = [check_po(path) for path in sorted(locale_dir.rglob("*.po"))]
    if not reports:
        print(f"no .po files under {locale_dir}: run `python scripts/i18n.py extract`")
        return 1
    failed = False
    width = max(len(str(r.path.relative_to(locale_dir))) for r in reports)
    print(f"{'page':<{width}}  translated  fuzzy  untranslated  total")
    for r in reports:
        print(f"{r.path.relative_to(locale_dir)!s:<{width}}  {r.translated:>10}  "
              f"{r.fuzzy:>5}  {r.untranslated:>12}  {r.total:>5}")
    totals = [sum(getattr(r, k) for r in reports) for k in ("translated", "fuzzy", "untranslated")]
    print(f"{'all':<{width}}  {totals[0]:>10}  {totals[1]:>5}  {totals[2]:>12}  {sum(totals):>5}")
    for r in reports:
        for problem in r.problems:
            print(problem)
            failed = True
    if complete and (totals[1] or totals[2]):
        print(f"--complete: {totals[1]} fuzzy and {totals[2]} untranslated entries")
        failed = True
    return 1 if failed else 0


# ---- question banks --------------------------------------------------------------------------
BANKS = REPO / "mha_lib" / "quiz" / "banks"  # English banks; a translation in BANKS / <lang>
# What a translated bank must keep from its English one, field by field (the rest is text).
_KEPT = ("id", "type", "answer", "tolerance", "misconceptions")
_TEXT = ("prompt", "explain")


def _bank_texts(question: dict) -> list[tuple[str, str]]:
    """Every translatable text of a question, each with its place: ``(place, text)``."""
    texts = [(name, question[name]) for name in _TEXT if name in question]
    for i, option in enumerate(question.get("options", [])):
        texts += [(f"options[{i}].text", option["text"]), (f"options[{i}].explain", option["explain"])]
    texts += [(f"feedback[{i}].text", item["text"]) for i, item in enumerate(question.get("feedback", []))]
    return texts


def _bank_skeleton(question: dict) -> dict:
    """A question without its texts: ids, types, answers, flags and tolerances."""
    return {
        **{name: question[name] for name in _KEPT if name in question},
        "options": [option["correct"] for option in question.get("options", [])],
        "feedback": [(item["answer"], item.get("tolerance")) for item in question.get("feedback", [])],
        "texts": [place for place, _ in _bank_texts(question)],
    }


def bank_problems(english: list[dict], translated: list[dict], name: str) -> list[str]:
    """Why a translated bank is not its English bank in another language (empty: it is).

    Same questions in the same order, with the same ids, types, answers, tolerances, correct
    flags, feedback answers and misconceptions (so a learner's progress is shared between the
    editions); the same texts, each keeping its `code`, $math$ and link targets, and none left
    in English (identical to its source) unless it holds nothing but code and math.
    """
    problems = []
    ids = [q.get("id") for q in english]
    if [q.get("id") for q in translated] != ids:
        return [f"{name}: question ids differ: {[q.get('id') for q in translated]} instead of {ids}"]
    for source, target in zip(english, translated):
        where = f"{name}: {source['id']}"
        if _bank_skeleton(source) != _bank_skeleton(target):
            problems.append(f"{where}: type, answer, tolerance, correct flags, feedback answers, "
                            "misconceptions or the set of texts differ from the English bank")
            continue
        for (place, text), (_, translation) in zip(_bank_texts(source), _bank_texts(target)):
            problems += [f"{where} {place}: {p}" for p in message_problems(text, translation)]
            prose = _CODE.sub("", _MATH.sub("", text))
            if translation.strip() == text.strip() and re.search(r"[A-Za-z]{3,}", prose):
                problems.append(f"{where} {place}: not translated (same as the English)")
    return problems


def check_banks(language: str = "ja", complete: bool = False) -> tuple[int, int, list[str]]:
    """(translated banks, banks, problems) for ``language``; with ``complete`` a missing bank is
    a problem. Each translated bank must also pass the quiz's own validation."""
    sys.path.insert(0, str(REPO))
    from mha_lib.quiz.bank import BankError, validate_bank

    problems, done, english_paths = [], 0, sorted(BANKS.glob("*.yml"))
    for path in english_paths:
        other = BANKS / language / path.name
        if not other.exists():
            if complete:
                problems.append(f"{other.relative_to(REPO)}: missing (translate {path.relative_to(REPO)})")
            continue
        done += 1
        english = yaml.safe_load(path.read_text(encoding="utf-8"))
        try:
            translated = validate_bank(yaml.safe_load(other.read_text(encoding="utf-8")), str(other))
        except BankError as error:
            problems += error.problems
            continue
        problems += bank_problems(english, translated, str(other.relative_to(REPO)))
    extra = sorted({p.name for p in (BANKS / language).glob("*.yml")} - {p.name for p in english_paths})
    problems += [f"{language}/{name}: no English bank of that name" for name in extra]
    return done, len(english_paths), problems


_EDITION_LINK = re.compile(
    r'class="mha-language-switch" href="(?P<a>[^"]+)"|rel="alternate" hreflang="[^"]+" href="(?P<b>[^"]+)"'
)


def site_problems(site: Path = SITE) -> list[str]:
    """Switcher and hreflang links that lead nowhere, and pages missing their language."""
    problems = []
    for language in LANGUAGES:
        for page in sorted((site / language).rglob("*.html")):
            if "_static" in page.relative_to(site).parts:
                continue
            text = page.read_text(encoding="utf-8")
            links = list(dict.fromkeys(m["a"] or m["b"] for m in _EDITION_LINK.finditer(text)))
            if '<meta http-equiv="refresh"' not in text:
                if not links:
                    problems.append(f"{page.relative_to(site)}: no language switcher")
                if f'<html lang="{language}"' not in text:
                    problems.append(f"{page.relative_to(site)}: not <html lang=\"{language}\">")
            for href in links:
                if not (page.parent / href).resolve().is_file():
                    problems.append(f"{page.relative_to(site)}: {href} does not exist")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["config", "extract", "build", "site", "check", "check-site"])
    parser.add_argument("--complete", action="store_true",
                        help="check: fail on any fuzzy or untranslated entry")
    parser.add_argument("--only", choices=LANGUAGES,
                        help="build: this edition only (the other keeps its last build)")
    parser.add_argument("--lenient", action="store_true",
                        help="build: without -nW (warnings do not fail the build)")
    args = parser.parse_args(argv)
    if args.command == "config":
        for path in write_configs().values():
            print(path.relative_to(REPO))
    if args.command in ("extract", "site"):
        print(f"gettext: {extract():.0f} s")
    if args.command in ("build", "site"):
        for language, took in build(
            strict=not args.lenient, languages=(args.only,) if args.only else LANGUAGES
        ).items():
            print(f"{language} edition: {took:.0f} s")
        print(f"site: {SITE.relative_to(REPO)}/ (en/, ja/, index.html)")
    if args.command in ("build", "site", "check-site"):
        problems = site_problems()
        print("\n".join(problems) or "site: every switcher and hreflang link resolves")
        if problems:
            return 1
    if args.command == "check":
        failed = check(LOCALES / "ja" / "LC_MESSAGES", complete=args.complete)
        done, total, problems = check_banks("ja", complete=args.complete)
        print(f"question banks: {done} of {total} translated")
        print("\n".join(problems))
        return 1 if failed or problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
