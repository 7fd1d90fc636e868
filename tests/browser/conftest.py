"""The browser tests' fixtures: one Chromium, one local server factory, one strict page.

- ``browser``: one headless Chromium for the whole session. Which one: ``$MHA_CHROMIUM``, else
  a ``chromium`` on the PATH (Debian's), else Playwright's own browser
  (scripts/ensure_browser.sh installs one in the same order).
- ``serve(folder)``: serves any folder on 127.0.0.1 (one server per folder, for the session)
  and returns its URL. ``site_url`` is the built site, ``_build/html``.
- ``new_page(...)`` / ``offline_page``: a page in a fresh browser context where every request
  to a host other than 127.0.0.1 is blocked. Everything that goes wrong is recorded in
  ``page.log`` (console errors, page errors, blocked and failed requests, dialogs) and checked
  when the test ends; ``page.log.assert_clean()`` checks it on the spot. A console warning
  fails too under ``pytest.mark.console("warning")``, any console message under
  ``pytest.mark.console("all")``.
- ``visit(path)``: a page of the built site, visited once per session for every page-level
  check (see ``harness.Visit``).
- ``screenshots``: the folder ``_build/screenshots``.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

from course import SCREENSHOTS, SITE
from harness import LAUNCH_ARGS, SUMMARIES, chromium_executable, script, visit_page, watch


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        'console(level): the least console message that fails a page: "error" (the default), '
        '"warning" or "all"',
    )


def pytest_terminal_summary(terminalreporter):
    for summary in SUMMARIES:  # axe's counts, the lesson pages' weights and times
        summary(terminalreporter)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable(), args=LAUNCH_ARGS)
        yield browser
        browser.close()


# ---- one local server factory ----------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep the test output readable
        pass


@pytest.fixture(scope="session")
def serve():
    """``serve(folder) -> "http://127.0.0.1:PORT"``: the folder, served until the session ends."""
    servers: dict[Path, http.server.ThreadingHTTPServer] = {}

    def serve(folder) -> str:
        folder = Path(folder).resolve()
        if folder not in servers:
            handler = functools.partial(_QuietHandler, directory=str(folder))
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers[folder] = server
        return f"http://127.0.0.1:{servers[folder].server_address[1]}"

    yield serve
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def site_url(serve):
    if not (SITE / "index.html").exists():
        pytest.fail("no built site in _build/html: run `make book` first (make test does)")
    return serve(SITE)


# ---- one strict page -------------------------------------------------------------------------


@pytest.fixture
def new_page(browser, request):
    """``new_page(**context_options) -> page``: a page in a fresh context (its own cache and
    storage) with only 127.0.0.1 (and data:/blob: URLs) reachable. ``page.log`` records what
    went wrong on every page of that context (``page.context.new_page()`` included); it must
    be clean when the test ends."""
    marker = request.node.get_closest_marker("console")
    console = marker.args[0] if marker else "error"
    contexts = []

    def new_page(*, init_script: str | None = None, **options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**options)
        if init_script:
            context.add_init_script(init_script)
        log = watch(context)
        contexts.append((context, log))
        page = context.new_page()
        page.log = log
        return page

    yield new_page
    for context, _ in contexts:
        context.close()
    for _, log in contexts:
        log.assert_clean(console)


@pytest.fixture
def offline_page(new_page):
    """A page with every request to another host blocked and recorded (see ``new_page``)."""
    return new_page()


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# ---- the built site, each page visited once ---------------------------------------------------


@pytest.fixture(scope="session")
def visit(browser, site_url):
    """``visit(path) -> Visit``: the facts every page-level test reads, from one cold load."""
    visits = {}

    def visit(path: str):
        if path not in visits:
            visits[path] = visit_page(browser, site_url, path)
        return visits[path]

    return visit


# ---- interactive elements as JupyterLab mounts them --------------------------------------------


@pytest.fixture
def render_as_anywidget():
    """``render_as_anywidget(page, module, html, container)``: mount ``html`` in a
    ``.widget-view`` inside ``container`` through ``module``'s anywidget ``render({model,
    el})`` (draws ``model.get("html")``, listens for ``change:html``, returns a clean-up
    function); raises if the module breaks that contract. Shared by every interactive element
    (quiz, head explorer)."""

    def render(page, module: str, html: str, container: str) -> None:
        page.evaluate(script("render_as_anywidget"), [module, html, container])

    return render
