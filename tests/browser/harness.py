"""What the browser tests share besides their fixtures (those are in conftest.py).

- ``chromium_executable()``: which Chromium to launch.
- ``script(name)``: the JavaScript in ``tests/browser/js/<name>.js``.
- ``PageLog`` and ``watch(context)``: a browser context where every request to a host other
  than 127.0.0.1 is blocked, and everything that goes wrong is recorded.
- ``run_axe(page, state, name)`` and ``assert_no_serious(violations)``: axe-core (vendored),
  every run's counts kept for the summary at the end of the session.
- ``visit_page(...)``: one visit of a page of the built site, for every page-level check;
  ``shared_visit(...)`` makes it once for all the session's processes.
- ``site_page(...)`` and ``write_site(...)``: the pages of a test's own small site.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from course import AXE, EDITIONS, SCREENSHOTS, SITE, redirect_pages, site_pages
from mha_lib._markup import json_for_script
from mha_lib.ui_text import js_strings

JS = Path(__file__).resolve().parent / "js"
PAGES = Path(__file__).resolve().parent / "pages"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
CONSOLE_LEVELS = ("error", "warning", "all")
SCHEMES = ("light", "dark")
# Pages where a visit also runs axe in the dark scheme (light: every page). The dark theme is
# one set of colours for the whole site, so a sample with every kind of content finds what
# every page would: the largest lesson page (prose, code, outputs, figures, math, a quiz), a
# prose page and the progress table, in each edition (the Japanese one sets other text in the
# same colours); test_accessibility.py adds answered quizzes, the search dialog and its results
# in both schemes. The theme itself is checked on every page.
DARK_AXE_PROSE = ("book/intro.html", "book/progress.html")
# What the session's closing tables print (conftest.py; gathered from every xdist worker):
# axe's counts by impact for every run, and each lesson page's weight and time to interactive.
REPORT: dict = {"axe": [], "weights": {}, "times": {}, "budgets": {}}


def dark_axe_pages() -> set[str]:
    """The pages axe checks in the dark scheme too (see DARK_AXE_PROSE): in each edition, the
    largest lesson page of the built site, and the prose pages of DARK_AXE_PROSE."""
    sample = set()
    for edition in EDITIONS:
        lessons = [p for p in site_pages() if p.startswith(f"{edition}/notebooks/")]
        largest = max(lessons, key=lambda p: (SITE / p).stat().st_size, default=None)
        sample |= {f"{edition}/{page}" for page in DARK_AXE_PROSE} | ({largest} if largest else set())
    return sample


def held_still(html: str) -> str:
    """A page that only sends the reader on (``course.redirect_pages``), without what sends
    them: the refresh of an edition's index.html, the root page's language-picking script."""
    lines = html.splitlines()
    kept = [ln for ln in lines if 'http-equiv="refresh"' not in ln and "mha_lang_pick.js" not in ln]
    assert len(kept) < len(lines), "the page sends the reader on"
    return "\n".join(kept)


# The headless shell first: the same Blink without the browser's own interface (the one Playwright
# itself launches for headless tests). Debian's full chromium runs a WebUI renderer and a busier
# browser process beside every page, which made the browser tests about a third slower here.
CHROMIUMS = ("chromium-headless-shell", "chromium", "chromium-browser")


def chromium_executable() -> str | None:
    """$MHA_CHROMIUM, else the first of ``CHROMIUMS`` on the PATH, else None: Playwright's own
    browser (its headless shell)."""
    if os.environ.get("MHA_CHROMIUM"):
        return os.environ["MHA_CHROMIUM"]
    return next(filter(None, map(shutil.which, CHROMIUMS)), None)


def script(name: str) -> str:
    """The JavaScript in tests/browser/js/<name>.js (a function, for ``page.evaluate``)."""
    return (JS / f"{name}.js").read_text(encoding="utf-8")


# ---- a strict, offline browser context ---------------------------------------------------------


@dataclass
class PageLog:
    """What went wrong on the pages of one browser context."""

    console_errors: list[str] = field(default_factory=list)
    console_warnings: list[str] = field(default_factory=list)
    console_other: list[str] = field(default_factory=list)  # "log: ...", "info: ..."
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def problems(self, console: str = "error") -> dict[str, list[str]]:
        """Everything that went wrong; ``console`` is the least console message that counts:
        "error", "warning" or "all" (any message at all)."""
        assert console in CONSOLE_LEVELS, console
        found = {
            "requests to other hosts": self.blocked,
            "failed requests": self.failed,
            "page errors": self.page_errors,
            "dialogs": self.dialogs,
            "console errors": self.console_errors,
            "console warnings": self.console_warnings if console != "error" else [],
            "console messages": self.console_other if console == "all" else [],
        }
        return {name: items for name, items in found.items() if items}

    def assert_clean(self, console: str = "error"):
        """Nothing went wrong (see ``problems``)."""
        problems = self.problems(console)
        assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


def watch(context) -> PageLog:
    """Block every request of ``context`` to a host other than 127.0.0.1 (data: and blob: URLs
    stay allowed) and record, for all its pages, what goes wrong."""
    log = PageLog()

    def route(route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            log.blocked.append(url)
            route.abort()

    def on_console(message):
        if message.type == "error":
            log.console_errors.append(message.text)
        elif message.type == "warning":
            log.console_warnings.append(message.text)
        else:
            log.console_other.append(f"{message.type}: {message.text}")

    def on_failed(request):
        if request.url not in log.blocked:
            log.failed.append(f"{request.failure} {request.url}")

    def on_response(response):
        if response.status >= 400:
            log.failed.append(f"{response.status} {response.url}")

    def on_dialog(dialog):
        if dialog.type == "beforeunload":  # leaving a page is the test's own doing
            dialog.accept()
            return
        log.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    context.route("**/*", route)
    context.on("console", on_console)
    context.on("weberror", lambda error: log.page_errors.append(str(error.error)))
    context.on("requestfailed", on_failed)
    context.on("response", on_response)
    context.on("dialog", on_dialog)
    return log


# ---- axe-core ---------------------------------------------------------------------------------

AXE_FAILING = {"serious", "critical"}
AXE_IMPACTS = ("critical", "serious", "moderate", "minor")


def run_axe(page, state: str, name: str) -> list[dict]:
    """axe-core on the whole document, no rule and no element excluded: the violations.
    ``state`` and ``name`` label the run in the session's summary."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(script("run_axe"), False)
    if any(v["impact"] in AXE_FAILING for v in violations):  # again, naming the elements
        violations = page.evaluate(script("run_axe"), True)
    counts: dict[str, int] = {}
    for violation in violations:
        counts[violation["impact"]] = counts.get(violation["impact"], 0) + len(violation["nodes"])
    REPORT["axe"].append((state, name, counts))
    return violations


def assert_no_serious(violations: list[dict]) -> None:
    serious = [v for v in violations if v["impact"] in AXE_FAILING]
    assert serious == [], "\n".join(
        f"{v['impact']} {v['id']} ({v['help']}):\n    " + "\n    ".join(v["nodes"][:5])
        for v in serious
    )


# ---- one visit of a page of the built site -----------------------------------------------------


@dataclass
class Visit:
    """The facts the page-level tests read, from one cold load of ``path``.

    A visit loads the page in a fresh browser context (no cache, no stored answers) with every
    other host blocked, waits until the network is idle (nothing on the site loads lazily, which
    test_site.py checks, so the load fetched everything), then records what went wrong, every
    response's size, when each quiz became interactive, the page's text, math, headings, images
    and download links (see js/page_facts.js), a screenshot, and axe-core's violations in the light theme (and in the
    dark one on the pages of ``dark_axe_pages()``).
    The pages that only send the reader on (``course.redirect_pages``: the root page that picks
    an edition, each edition's ``index.html``) are visited held still (``held_still``), so
    that what is checked is the page itself.
    """

    path: str
    log: PageLog
    facts: dict
    responses: list[tuple[int, int, str]]  # (body bytes, header bytes, path below the site)
    axe: dict[str, list[dict]]  # scheme -> violations (dark: only on dark_axe_pages())
    themes: dict[str, str | None]  # scheme asked for -> the theme the page then showed


def _wait_until_idle(page, inflight: set, quiet_ms: int = 500, timeout_ms: int = 15_000):
    """Wait until none of the page's requests has been in flight for ``quiet_ms``."""
    waited = quiet = 0
    while quiet < quiet_ms:
        assert waited < timeout_ms, f"requests still in flight: {[r.url for r in inflight]}"
        page.wait_for_timeout(100)
        waited += 100
        quiet = quiet + 100 if not inflight else 0


def _theme_after(page, scheme: str, wait: bool) -> str | None:
    """The page's theme once it has followed ``scheme`` (or, after 5 s, whatever it is)."""
    if wait:
        try:
            page.wait_for_function("s => document.documentElement.dataset.theme === s",
                                   arg=scheme, timeout=5_000)
        except PlaywrightTimeoutError:
            pass  # the test says what the theme is instead
    return page.evaluate("() => document.documentElement.dataset.theme ?? null")


def visit_page(browser, site_url: str, path: str) -> Visit:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    try:
        log = watch(context)
        context.add_init_script(script("hydration_probe"))
        page = context.new_page()
        finished = []
        page.on("requestfinished", lambda request: finished.append(request))
        url = f"{site_url}/{path}"
        if path in redirect_pages():
            held = held_still((SITE / path).read_text(encoding="utf-8"))
            page.route(url, lambda route: route.fulfill(body=held, content_type="text/html"))
        inflight = set()
        page.on("request", lambda request: inflight.add(request))
        page.on("requestfinished", lambda request: inflight.discard(request))
        page.on("requestfailed", lambda request: inflight.discard(request))
        page.goto(url, wait_until="load")
        _wait_until_idle(page, inflight)
        facts = page.evaluate(script("page_facts"))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = path.removesuffix(".html").replace("/", "-")
        page.screenshot(path=str(SCREENSHOTS / f"page-{name}.png"))
        responses = []
        for request in finished:
            sizes = request.sizes()
            local = unquote(urlparse(request.url).path).lstrip("/")
            responses.append((sizes["responseBodySize"], sizes["responseHeadersSize"], local))
        axe, themes = {}, {}
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)  # the theme follows the reader's scheme
            themes[scheme] = _theme_after(page, scheme, wait=path not in redirect_pages())
            if scheme == "light" or path in dark_axe_pages():
                axe[scheme] = run_axe(page, f"page, {scheme}", path)
        return Visit(path, log, facts, responses, axe, themes)
    finally:
        context.close()


def shared_visit(folder: Path, path: str, make) -> Visit:
    """The session's one visit of ``path``: made by ``make()`` in the first process (pytest-xdist
    worker) that asks for it, stored in ``folder`` as JSON, read by the others (a lock per
    page: a worker that needs a page another one is visiting waits for that visit)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = path.replace("/", "-")
    stored = folder / f"{name}.json"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stored.exists():
            made = make()
            fields = {f.name: getattr(made, f.name) for f in dataclasses.fields(made)}
            text = json.dumps(fields | {"log": dataclasses.asdict(made.log)})
            stored.with_suffix(".tmp").write_text(text, encoding="utf-8")
            stored.with_suffix(".tmp").replace(stored)
            return made
    fields = json.loads(stored.read_text(encoding="utf-8"))
    return Visit(**fields | {"log": PageLog(**fields["log"])})


# Elements that text shown on a page (bank text, tokens, captions) must never bring into a page.
INJECTABLE = "img, iframe, object, embed, style, link, base, a, b, i"


def injected_markup(page, root: str, own_script: str) -> int:
    """How many elements inside ``root`` came in with text: anything of ``INJECTABLE``, or a
    script other than the element's own (``own_script``, a selector)."""
    return page.locator(f"{root} :is({INJECTABLE}, script:not({own_script}))").count()



def globals_changed(page, bare_url: str, open_with_module) -> set[str]:
    """The names of ``window`` that an ES module adds or removes: ``bare_url`` is the page
    without the module, ``open_with_module(page)`` opens the same page with it."""
    names = "() => Object.getOwnPropertyNames(window)"
    page.goto(bare_url)
    without = set(page.evaluate(names))
    open_with_module(page)
    return set(page.evaluate(names)) ^ without


# ---- a test's own small site --------------------------------------------------------------------


def site_page(title: str, body: str, *, head: str = "", static: str = "_static/",
              theme: str | None = None) -> str:
    """A page of pages/page.html: ``head`` goes in <head> (stylesheets, the module), ``body``
    below the ``<h1>title</h1>``; ``static`` is the way to ``_static/`` from the page, where
    ``write_site`` puts page.css; ``theme`` sets html[data-theme]. Like every page of the
    course site (book/_ext/mha_site.py), it carries the English interface strings the quiz and
    explorer scripts read (``#mha-ui-text``)."""
    strings = json_for_script(js_strings("en"), sort_keys=True)
    head = f'<script type="application/json" id="mha-ui-text">{strings}</script>\n{head}'
    return (PAGES / "page.html").read_text(encoding="utf-8").format(
        title=title, head=head, body=body, static=static,
        html_attributes=f' data-theme="{theme}"' if theme else "",
    )


def write_site(root: Path, pages: dict[str, str], assets: dict[str, Path]) -> Path:
    """Write ``pages`` ({path: html}) and copy ``assets`` ({path: file}) under ``root``, with
    pages/page.css as ``_static/page.css``."""
    for name, source in {**assets, "_static/page.css": PAGES / "page.css"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, root / name)
    for name, html in pages.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(html, encoding="utf-8")
    return root
