"""The browser tests' fixtures: one Chromium, one local server factory, one strict page.

- ``browser``: one headless Chromium for the whole session. Which one: ``$MHA_CHROMIUM``, else
  a ``chromium`` on the PATH (Debian's), else Playwright's own browser
  (scripts/ensure_browser.sh installs one in the same order).
- ``serve(folder)``: serves any folder on 127.0.0.1 (one server per folder, for the session)
  and returns its URL. ``site_root`` is the built site, ``_build/site`` (both editions and the
  root page that picks one); ``edition_url(edition)`` is one edition in it (``…/en``,
  ``…/ja``), ``site_url`` the English one; ``serve_site`` writes and serves a test module's own
  small site.
- ``new_page(...)`` / ``offline_page`` / ``page`` (on the module's own ``site``): a page in a
  fresh browser context where every request to a host other than 127.0.0.1 is blocked.
  Everything that goes wrong is recorded in ``page.log`` (console errors, page errors,
  blocked and failed requests, dialogs) and checked when the test ends;
  ``page.log.assert_clean()`` checks it on the spot. A console warning fails too under
  ``pytest.mark.console("warning")``, any console message under ``pytest.mark.console("all")``.
- ``visit(path)``: a page of the built site (a path below ``site_root``: ``ja/book/intro.html``),
  visited once per session for every page-level check, whichever worker asks first (see
  ``harness.Visit`` and ``harness.shared_visit``).
- ``screenshots``: the folder ``_build/screenshots``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
from pathlib import Path

import pytest

from course import AXE, EDITIONS, SCREENSHOTS, SITE
from harness import (
    AXE_IMPACTS,
    LAUNCH_ARGS,
    REPORT,
    chromium_executable,
    script,
    shared_visit,
    visit_page,
    watch,
    write_site,
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        'console(level): the least console message that fails a page: "error" (the default), '
        '"warning" or "all"',
    )


# ---- the closing tables, gathered from every xdist worker ---------------------------------------


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # an xdist worker: hand the tables over
        session.config.workeroutput["mha_report"] = json.dumps(REPORT)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):  # xdist's controller: gather the workers' tables
    worker = json.loads(getattr(node, "workeroutput", {}).get("mha_report", "null") or "null")
    if worker:
        REPORT["axe"].extend(worker["axe"])
        for key in ("weights", "times", "budgets"):
            REPORT[key].update(worker[key])


def pytest_terminal_summary(terminalreporter):
    write, sep = terminalreporter.write_line, terminalreporter.write_sep
    if REPORT["axe"]:
        version = (AXE.parent / "VERSION").read_text(encoding="utf-8").split()[0]
        sep("-", f"{version}: violations by impact")
        write(f"{'state':<24}{'page':<48}" + "".join(f"{i:>9}" for i in AXE_IMPACTS))
        for state, page, counts in sorted(REPORT["axe"], key=lambda run: (run[1], run[0])):
            write(f"{state:<24}{page:<48}" + "".join(f"{counts.get(i, 0):>9}" for i in AXE_IMPACTS))
    weights, times, budgets = REPORT["weights"], REPORT["times"], REPORT["budgets"]
    if weights or times:
        sep("-", f"lesson pages: bytes transferred (budget {budgets['bytes']:,}) and time to "
                 f"interactive (budget {budgets['ms']} ms)")
        write(f"{'page':<42}{'bodies':>11}{'headers':>9}{'requests':>9}{'figures':>10}"
              f"{'quiz ready':>12}")
        for stem in sorted(set(weights) | set(times)):
            t = f"{times[stem]:.0f} ms" if stem in times else "-"
            w = weights.get(stem)
            if w is None:
                write(f"{stem:<42}{'-':>11}{'-':>9}{'-':>9}{'-':>10}{t:>12}")
                continue
            over = w["bodies"] - budgets["bytes"]
            write(f"{stem:<42}{w['bodies']:>11,}{w['headers']:>9,}{w['requests']:>9}"
                  f"{w['figures']:>10,}{t:>12}" + (f"  over by {over:,}" if over > 0 else ""))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        executable = chromium_executable()  # None: Playwright's own browser
        browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        yield browser
        browser.close()


# ---- one local server factory ----------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep the test output readable
        pass


class _Server(http.server.ThreadingHTTPServer):
    # socketserver's listen backlog is 5. Chromium opens six connections to a host at once, and
    # on a loaded machine the accept loop falls behind: the kernel drops the extra SYNs and
    # Chromium retries after 1, 2, 4, 8, 16 s, past Playwright's 30 s (a page that never went
    # network-idle in one run of `make test`).
    request_queue_size = 128


@pytest.fixture(scope="session")
def serve():
    """``serve(folder) -> "http://127.0.0.1:PORT"``: the folder, served until the session ends."""
    servers: dict[Path, _Server] = {}

    def serve(folder) -> str:
        folder = Path(folder).resolve()
        if folder not in servers:
            handler = functools.partial(_QuietHandler, directory=str(folder))
            server = _Server(("127.0.0.1", 0), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers[folder] = server
        return f"http://127.0.0.1:{servers[folder].server_address[1]}"

    yield serve
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def serve_site(tmp_path_factory, serve):
    """``serve_site(pages, assets) -> URL``: a test module's own small site (see
    ``harness.write_site``), served on 127.0.0.1."""
    return lambda pages, assets: serve(write_site(tmp_path_factory.mktemp("site"), pages, assets))


@pytest.fixture(scope="session")
def site_root(serve):
    """The built site's root URL: the page that picks an edition, and the editions below it."""
    missing = [e for e in EDITIONS if not (SITE / e / "index.html").exists()]
    if missing or not (SITE / "index.html").exists():
        pytest.fail(f"no built site in {SITE} (editions missing: {missing}): run `make book` "
                    "first (make test does)")
    return serve(SITE)


@pytest.fixture(scope="session")
def edition_url(site_root):
    """``edition_url(edition) -> URL``: one edition of the built site (``…/en``, ``…/ja``)."""

    def edition_url(edition: str) -> str:
        assert edition in EDITIONS, edition
        return f"{site_root}/{edition}"

    return edition_url


@pytest.fixture(scope="session")
def site_url(edition_url):
    """The English edition of the built site (for the tests of code every edition shares)."""
    return edition_url("en")


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


@pytest.fixture
def page(new_page, site):
    """A page (see ``new_page``) for a test module's own small site: its ``site`` fixture,
    {"url": ..., ...}, is ``page.site``."""
    pg = new_page(viewport={"width": 1100, "height": 900})
    pg.site = site
    return pg


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# ---- the built site, each page visited once ---------------------------------------------------


@pytest.fixture(scope="session")
def visit(browser, site_root, tmp_path_factory):
    """``visit(path) -> Visit``: the facts every page-level test reads, from one cold load per
    session, made by whichever pytest-xdist worker needs the page first (``shared_visit``)."""
    base = tmp_path_factory.getbasetemp()  # a worker's is in the session's (xdist)
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "visits"
    visits = {}

    def visit(path: str):
        if path not in visits:
            visits[path] = shared_visit(folder, path, lambda: visit_page(browser, site_root, path))
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
