"""Fixtures for browser tests: the built site on 127.0.0.1 and a Chromium with no other host."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "_build" / "html"
SCREENSHOTS = REPO / "_build" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def chromium_executable() -> str | None:
    """$MHA_CHROMIUM, else a chromium on PATH (Debian's), else None: Playwright's own browser."""
    if os.environ.get("MHA_CHROMIUM"):
        return os.environ["MHA_CHROMIUM"]
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output readable
        pass


@pytest.fixture(scope="session")
def site_url():
    if not (SITE / "index.html").exists():
        pytest.fail("no built site in _build/html: run `make book` first (make test does)")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


@dataclass
class PageLog:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    bytes_received: int = 0

    def assert_clean(self):
        assert self.blocked == [], f"requests to other hosts: {self.blocked}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.page_errors == [], f"page errors: {self.page_errors}"
        assert self.failed == [], f"failed requests: {self.failed}"


@pytest.fixture
def offline_page(browser):
    """A page whose every request to a host other than 127.0.0.1 is blocked and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log = PageLog()

    def route(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith("data:") or host in LOCAL_HOSTS:
            route.continue_()
        else:
            log.blocked.append(route.request.url)
            route.abort()

    def on_response(response):
        if response.status >= 400:
            log.failed.append(f"{response.status} {response.url}")

    context.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and log.console_errors.append(m.text))
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))
    page.on("response", on_response)
    page.log = log
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# The anywidget front-end contract: ``render({model, el})`` draws ``model.get("html")`` into
# ``el``, listens for ``change:html`` and returns a clean-up function. Shared by the tests of
# every interactive element (quiz, head explorer).
_RENDER_AS_ANYWIDGET = """async ([module, html, container]) => {
    const mod = await import(module);
    const listeners = {};
    const model = {
        get: (name) => (name === 'html' ? html : null),
        on: (event, cb) => { listeners[event] = cb; },
        off: (event) => { delete listeners[event]; },
    };
    const el = document.createElement('div');
    el.className = 'widget-view';
    document.querySelector(container).appendChild(el);
    const cleanup = mod.default.render({ model, el });
    if (typeof cleanup !== 'function' || !listeners['change:html']) {
        throw new Error('render contract');
    }
}"""


def render_as_anywidget(page, module: str, html: str, container: str) -> None:
    """Mount ``html`` in a ``.widget-view`` inside ``container`` through ``module``'s
    anywidget ``render``; raises if the module breaks the render contract."""
    page.evaluate(_RENDER_AS_ANYWIDGET, [module, html, container])
