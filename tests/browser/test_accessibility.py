"""Accessibility of the built site, in Chromium with every host but 127.0.0.1 blocked.

- axe-core (vendored: tests/vendor/axe-core, made by scripts/vendor_test_js.sh) on every page
  of both editions of ``_build/site`` and its root page in the light theme, and in the dark
  theme on a sample (in each edition the largest lesson, a prose page and the progress page:
  ``harness.dark_axe_pages``), from each page's one visit
  (see ``harness.Visit``), and in the states a reader creates (answered quizzes, the search
  dialog, search results, the sidebar on a small screen): no violation of impact serious or
  critical. Moderate and minor ones are counted and printed at the end of the session. No rule
  and no element is excluded.
- The theme follows the reader's colour scheme, and the quiz text keeps AA contrast in both.
- Headings: one ``h1`` per page, first, and no level skipped below it. Images carry alt text.
- Both themes are legible: screenshots of a quiz on a lesson page of each edition, light and
  dark, in ``_build/screenshots/`` (site-en-quiz-light.png, site-ja-quiz-dark.png, ...).
- The quizzes work from the keyboard alone and announce their feedback in words: see the
  reader's walk through every lesson's quiz in test_site.py.
"""

from __future__ import annotations

import itertools

import pytest
from playwright.sync_api import expect

from course import (
    EDITIONS,
    edition_bank,
    lesson_stems,
    redirect_pages,
    site_pages,
    toc_files,
)
from harness import DARK_AXE_PROSE, SCHEMES, assert_no_serious, dark_axe_pages, run_axe
from quiz_driver import OUTCOMES, give_and_expect

LESSONS = lesson_stems()
PAGES = site_pages() or ["(no built site in _build/site: run make book)"]
# The lesson shown in the screenshots and the interactive states: it has every question type.
SHOWCASE = LESSONS[0]

pytestmark = pytest.mark.console("warning")


# ---- every page, from its one visit -------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_axe_every_page(visit, path):
    """axe in the light scheme on every page, in the dark one on a sample (harness.py:
    ``dark_axe_pages``); on every page the theme follows the reader's colour scheme."""
    page = visit(path)
    if path not in redirect_pages():  # the root page and the editions' redirects have no theme
        assert page.themes == {s: s for s in SCHEMES}, "the theme follows the colour scheme"
    assert set(page.axe) == ({"light", "dark"} if path in dark_axe_pages() else {"light"})
    for violations in page.axe.values():
        assert_no_serious(violations)


def test_dark_axe_sample_has_a_lesson_and_prose():
    sample = dark_axe_pages()
    for edition in EDITIONS:
        assert any(p.startswith(f"{edition}/notebooks/") for p in sample), edition
        assert {f"{edition}/{p}" for p in DARK_AXE_PROSE} <= sample
    assert sample <= set(PAGES)


# The root page has an h1 and nothing below it; an edition's redirect has a bare h1.
@pytest.mark.parametrize("path", [p for p in PAGES if p not in redirect_pages() - {"index.html"}])
def test_heading_order(visit, path):
    headings = visit(path).facts["headings"]
    assert headings, f"{path} has no heading"
    assert headings[0]["level"] == 1, f"the first heading is {headings[0]}"
    assert [h for h in headings if h["level"] == 1] == headings[:1], "more than one h1"
    for before, after in itertools.pairwise(headings):
        assert after["level"] <= before["level"] + 1, f"{before} is followed by {after}"
        assert after["text"], f"an empty heading after {before}"


@pytest.mark.parametrize("path", PAGES)
def test_every_image_has_alt_text(visit, path):
    for image in visit(path).facts["images"]:
        decorative = image["role"] in ("presentation", "none") and image["alt"] == ""
        assert decorative or (image["alt"] or "").strip(), f"no alt text: {image['src']}"


def test_the_page_lists_cover_the_toc():
    for edition in EDITIONS:
        assert {f"{edition}/{doc}.html" for doc in toc_files()} <= set(PAGES)


# ---- the states a reader creates ----------------------------------------------------------------


def answer_every_way(page, stem, edition="en"):
    """Answer the lesson's questions so that every feedback state is on screen at once:
    the first wrong, the next right, the next invalid, and so on."""
    questions = {q["id"]: q for q in edition_bank(stem, edition)}
    language = edition  # the quiz speaks its edition's language
    outcomes = ["incorrect", "correct", "invalid"]
    seen = set()
    for n, box in enumerate(page.locator("[data-question-id]").all()):
        question = questions[box.get_attribute("data-question-id")]
        give_and_expect(box, question, outcomes[n % 3], language)
        seen.add(outcomes[n % 3])
    assert seen == set(OUTCOMES)


def _luminance(rgb: str) -> float:
    inside = rgb[rgb.index("(") + 1 : rgb.index(")")]
    channels = [int(float(c)) / 255 for c in inside.split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


QUIZ_COLOURS = """() => {
    // The nearest opaque background behind the first question's text.
    const legend = document.querySelector('[data-mha-quiz] legend');
    for (let el = legend; el; el = el.parentElement) {
        const bg = getComputedStyle(el).backgroundColor;
        if (bg.startsWith('rgb(')) return {text: getComputedStyle(legend).color, background: bg};
    }
    return {text: getComputedStyle(legend).color, background: 'rgb(255, 255, 255)'};
}"""


@pytest.mark.parametrize("edition", EDITIONS)
def test_answered_quiz_in_both_themes(offline_page, site_root, screenshots, edition):
    page = offline_page
    path = f"{edition}/notebooks/{SHOWCASE}.html"
    page.goto(f"{site_root}/{path}")
    quiz = page.locator("[data-mha-quiz]").first
    expect(quiz).to_have_attribute("data-hydrated", "true")
    answer_every_way(page, SHOWCASE, edition)
    states = page.locator(".mha-quiz-feedback").evaluate_all("fs => fs.map(f => f.dataset.state)")
    height = quiz.bounding_box()["height"]
    page.set_viewport_size({"width": 1280, "height": int(height) + 300})  # one piece, no seams
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        expect(page.locator("html")).to_have_attribute("data-theme", scheme)
        assert_no_serious(run_axe(page, f"quiz answered, {scheme}", path))
        quiz.scroll_into_view_if_needed()
        shot = screenshots / f"site-{edition}-quiz-{scheme}.png"
        quiz.screenshot(path=str(shot))
        assert shot.stat().st_size > 20_000
        # The theme really is light or dark, and the quiz text keeps AA contrast on it.
        colours = page.evaluate(QUIZ_COLOURS)
        text, background = _luminance(colours["text"]), _luminance(colours["background"])
        assert (background < 0.05) if scheme == "dark" else (background > 0.8), colours
        ratio = (max(text, background) + 0.05) / (min(text, background) + 0.05)
        assert ratio >= 4.5, f"quiz text contrast {ratio:.1f}:1 in the {scheme} theme"
    # Changing the theme changed no answer.
    assert page.locator(".mha-quiz-feedback").evaluate_all(
        "fs => fs.map(f => f.dataset.state)") == states


def _axe_in_both_themes(page, state, name):
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        expect(page.locator("html")).to_have_attribute("data-theme", scheme)
        assert_no_serious(run_axe(page, f"{state}, {scheme}", name))
    page.emulate_media(color_scheme="light")


def test_search_dialog_results_and_highlights(offline_page, site_url):
    """Search from the keyboard, offline: Ctrl+K opens the dialog with the focus in its field,
    Enter shows the results (the softmax lesson among them), a result opens its page with the
    terms highlighted; axe in both themes at each step."""
    page = offline_page
    path = f"notebooks/{SHOWCASE}.html"
    page.goto(f"{site_url}/{path}")
    page.keyboard.press("Control+k")
    field = page.locator("#pst-search-dialog input[name=q]")
    expect(field).to_be_focused()
    _axe_in_both_themes(page, "search dialog", path)
    expect(field).to_be_focused()
    field.fill("softmax")
    field.press("Enter")
    page.wait_for_url("**/search.html?q=softmax*")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=10_000)
    page.wait_for_load_state("networkidle")
    hrefs = results.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert any(h.split("#")[0].endswith("/notebooks/04_softmax.html") for h in hrefs), hrefs
    _axe_in_both_themes(page, "search results", "search.html?q=softmax")
    # A result opens its page with the search terms highlighted.
    results.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("span.highlighted").count() > 0
    found = page.url.removeprefix(site_url + "/")
    _axe_in_both_themes(page, "highlighted", found.split("#")[0][:47])


def test_small_screen_with_the_sidebar_open(offline_page, site_url):
    page = offline_page
    page.set_viewport_size({"width": 390, "height": 844})
    path = f"notebooks/{SHOWCASE}.html"
    page.goto(f"{site_url}/{path}", wait_until="networkidle")
    assert_no_serious(run_axe(page, "small screen", path))
    # The course's navigation opens from the visible toggle, and closes with Escape.
    toggles = page.locator("button.primary-toggle")
    expect(toggles).to_have_count(1)
    toggles.click()
    dialog = page.locator("#pst-primary-sidebar-modal")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("link", name="Lesson 2", exact=False)).to_be_visible()
    assert_no_serious(run_axe(page, "small screen, sidebar", path))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # So does the page's table of contents.
    page.locator("button.secondary-toggle:visible").click()
    expect(page.locator("#pst-secondary-sidebar-modal")).to_be_visible()
    assert_no_serious(run_axe(page, "small screen, contents", path))
