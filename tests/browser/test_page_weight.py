"""Weight and time to interactive of every lesson page, served on 127.0.0.1 (no other host).

Bytes: every response of a cold load (a fresh browser context, so no cache), after
scrolling to the bottom (anything loaded lazily is counted) and after MathJax has typeset the
page and fetched its fonts. The figure counted is the sum of the response bodies as
transferred (``request.sizes()["responseBodySize"]``); Python's http.server sends no gzip,
so that is each file's size on disk, which the test cross-checks. Headers are printed
apart. Budget: 1.5 MB = 1,500,000 bytes per lesson page.

Time to interactive: from navigation start (``performance.now()`` = 0) until every quiz on
the page carries ``data-hydrated`` (recorded by a MutationObserver installed before any page
script runs). Budget: 1 s.

The figures are printed in pytest's terminal summary.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course import REPO, lesson_paths

SITE = REPO / "_build" / "html"
LESSONS = [p.stem for p in lesson_paths()]
BUDGET_BYTES = 1_500_000
BUDGET_MS = 1000
WEIGHTS: dict[str, dict] = {}
TIMES: dict[str, float] = {}

HYDRATION_PROBE = """
(() => {
    const times = [];
    Object.defineProperty(window, '__mhaHydrationTimes', {value: times});
    new MutationObserver((records) => {
        for (const record of records) {
            if (record.target.hasAttribute('data-mha-quiz')) times.push(performance.now());
        }
    }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-hydrated']});
})();
"""


class _Summary:
    def pytest_terminal_summary(self, terminalreporter):
        if not WEIGHTS and not TIMES:
            return
        write = terminalreporter.write_line
        terminalreporter.write_sep(
            "-", f"lesson pages: bytes transferred (budget {BUDGET_BYTES:,}) and time to "
                 f"interactive (budget {BUDGET_MS} ms)")
        write(f"{'page':<42}{'bodies':>11}{'headers':>9}{'requests':>9}{'MathJax':>11}"
              f"{'figures':>10}{'quiz ready':>12}")
        for stem in LESSONS:
            w = WEIGHTS.get(stem)
            t = f"{TIMES[stem]:.0f} ms" if stem in TIMES else "-"
            if w is None:
                write(f"{stem:<42}{'-':>11}{'-':>9}{'-':>9}{'-':>11}{'-':>10}{t:>12}")
                continue
            flag = "" if w["bodies"] <= BUDGET_BYTES else f"  over by {w['bodies'] - BUDGET_BYTES:,}"
            write(f"{stem:<42}{w['bodies']:>11,}{w['headers']:>9,}{w['requests']:>9}"
                  f"{w['mathjax']:>11,}{w['figures']:>10,}{t:>12}{flag}")


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    manager = request.config.pluginmanager
    if not manager.has_plugin("mha-weight-summary"):
        manager.register(_Summary(), "mha-weight-summary")


def _load_completely(page, url):
    page.goto(url, wait_until="networkidle")
    page.evaluate(
        """async () => {
            for (let y = 0; y <= document.documentElement.scrollHeight; y += 500) {
                window.scrollTo(0, y);
                await new Promise(resolve => requestAnimationFrame(resolve));
            }
        }"""
    )
    page.wait_for_load_state("networkidle")
    if page.locator(".math").count() and page.locator("script[src*='mathjax']").count():
        page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=10_000)
        page.evaluate("() => MathJax.startup.promise")
        page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("stem", LESSONS)
def test_lesson_page_weight(offline_page, site_url, stem):
    page = offline_page
    finished = []
    page.on("requestfinished", lambda request: finished.append(request))
    _load_completely(page, f"{site_url}/notebooks/{stem}.html")
    resources = []
    for request in finished:
        sizes = request.sizes()
        path = unquote(urlparse(request.url).path).lstrip("/")
        resources.append((sizes["responseBodySize"], sizes["responseHeadersSize"], path))
        # No compression on this server: a body as transferred is the file on disk.
        assert sizes["responseBodySize"] == (SITE / path).stat().st_size, path
    bodies = sum(size for size, _, _ in resources)
    figures = [(size, path) for size, _, path in resources if path.startswith("_images/")]
    WEIGHTS[stem] = {
        "bodies": bodies,
        "headers": sum(headers for _, headers, _ in resources),
        "requests": len(resources),
        "mathjax": sum(size for size, _, path in resources if "/mathjax/" in path),
        "figures": sum(size for size, _ in figures),
    }
    assert len({path for _, _, path in resources}) == len(resources), "a file loaded twice"
    largest = "\n".join(f"{size:>10,}  {path}" for size, _, path in sorted(resources)[::-1][:12])
    assert bodies <= BUDGET_BYTES, (
        f"{stem}: {bodies:,} bytes, {bodies - BUDGET_BYTES:,} over the budget; "
        f"figures {sorted(figures, reverse=True)}; largest responses:\n{largest}"
    )
    page.log.assert_clean()


@pytest.mark.parametrize("stem", LESSONS)
def test_quiz_interactive_within_a_second(offline_page, site_url, stem):
    page = offline_page
    page.add_init_script(HYDRATION_PROBE)
    page.goto(f"{site_url}/notebooks/{stem}.html", wait_until="load")
    quizzes = page.locator("[data-mha-quiz]")
    expect(quizzes.first).to_have_attribute("data-hydrated", "true")
    count = quizzes.count()
    page.wait_for_function(f"() => window.__mhaHydrationTimes.length >= {count}")
    times = page.evaluate("() => window.__mhaHydrationTimes")
    assert len(times) == count, "each quiz is hydrated once"
    TIMES[stem] = max(times)
    assert max(times) <= BUDGET_MS, f"{stem}: quizzes interactive after {max(times):.0f} ms"
    # Interactive means it answers: a Check with nothing chosen says so.
    question = quizzes.first.locator("[data-question-id]").first
    question.get_by_role("button", name="Check", exact=True).click()
    expect(question.locator(".mha-quiz-feedback")).to_have_attribute("data-state", "invalid")
    page.log.assert_clean()
