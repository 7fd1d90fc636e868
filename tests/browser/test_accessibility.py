"""Accessibility of the built site, in Chromium with every host but 127.0.0.1 blocked.

- axe-core (vendored: tests/vendor/axe-core, made by scripts/vendor_test_js.sh) on every page
  of ``_build/html``, in the light and the dark theme, and in the states a reader creates
  (answered quizzes, the search dialog, search results, the sidebar on a small screen):
  no violation of impact serious or critical. Moderate and minor ones are counted and printed.
  No rule and no element is excluded.
- The quizzes on the real lesson pages work from the keyboard alone (Tab to an option,
  Space and the arrow keys to choose, Tab to "Check", Enter or Space), with a visible focus
  ring at every stop; feedback sits in a live region and says in words what the colour says.
- Headings: one ``h1`` per page, first, and no level skipped below it. Images carry alt text.
- Both themes are legible: screenshots of a quiz on a lesson page, light and dark, in
  ``_build/screenshots/`` (site-quiz-light.png, site-quiz-dark.png).
"""

from __future__ import annotations

import itertools
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course import QUIZZES, REPO, lesson_paths, toc_files

SITE = REPO / "_build" / "html"
AXE = REPO / "tests" / "vendor" / "axe-core" / "axe.min.js"
NOT_PAGES = {"_static", "_sources", "_images"}
FAILING = {"serious", "critical"}
LESSONS = [p.stem for p in lesson_paths()]
SCHEMES = ["light", "dark"]
# The lesson shown in the screenshots and the interactive states: it has every question type.
SHOWCASE = LESSONS[0]


def site_pages() -> list[str]:
    if not SITE.is_dir():
        return []
    return sorted(
        p.relative_to(SITE).as_posix()
        for p in SITE.rglob("*.html")
        if p.relative_to(SITE).parts[0] not in NOT_PAGES
    )


PAGES = site_pages() or ["(no built site in _build/html: run make book)"]
RESULTS: list[tuple[str, str, dict[str, int]]] = []  # (state, page, {impact: count})


class _Summary:
    """Prints every axe run's counts by impact in pytest's terminal summary."""

    def pytest_terminal_summary(self, terminalreporter):
        if not RESULTS:
            return
        impacts = ["critical", "serious", "moderate", "minor"]
        write = terminalreporter.write_line
        terminalreporter.write_sep("-", f"{_axe_version()}: violations by impact")
        write(f"{'state':<24}{'page':<48}" + "".join(f"{i:>9}" for i in impacts))
        for state, page, counts in RESULTS:
            write(f"{state:<24}{page:<48}" + "".join(f"{counts.get(i, 0):>9}" for i in impacts))


@pytest.fixture(scope="module", autouse=True)
def axe_summary(request):
    manager = request.config.pluginmanager
    if not manager.has_plugin("mha-axe-summary"):
        manager.register(_Summary(), "mha-axe-summary")


def _axe_version() -> str:
    return (AXE.parent / "VERSION").read_text(encoding="utf-8").split()[0]


def run_axe(page, state: str, name: str) -> list[dict]:
    """Run axe-core on the whole document; record the counts; return the violations."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ") + ": " +
                                        (n.failureSummary || "").replace(/\\s+/g, " ")),
            }));
        }"""
    )
    counts: dict[str, int] = {}
    for violation in violations:
        counts[violation["impact"]] = counts.get(violation["impact"], 0) + len(violation["nodes"])
    RESULTS.append((state, name, counts))
    return violations


def assert_no_serious(violations):
    serious = [v for v in violations if v["impact"] in FAILING]
    assert serious == [], "\n".join(
        f"{v['impact']} {v['id']} ({v['help']}):\n    " + "\n    ".join(v["nodes"][:5])
        for v in serious
    )


def typeset_math(page) -> None:
    if page.locator(".math").count() and page.locator("script[src*='mathjax']").count():
        page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=10_000)
        page.evaluate("() => MathJax.startup.promise")


def open_page(page, site_url, path, scheme):
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{site_url}/{path}", wait_until="networkidle")
    typeset_math(page)
    page.wait_for_load_state("networkidle")
    # The theme follows the reader's colour scheme (default_mode auto).
    assert page.evaluate("() => document.documentElement.dataset.theme") == scheme


def _bank(stem):
    return {q["id"]: q for q in yaml.safe_load((QUIZZES / f"{stem}.yml").read_text("utf-8"))}


# ---- axe on every page, both themes ---------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_axe_every_page(offline_page, site_url, scheme, path):
    page = offline_page
    if path == "index.html":
        # The root is a redirect; axe checks the redirect page itself, held still.
        text = (SITE / "index.html").read_text(encoding="utf-8")
        held = "\n".join(line for line in text.splitlines() if 'http-equiv="refresh"' not in line)
        assert held != text, "index.html redirects"
        page.route(f"{site_url}/index.html", lambda route: route.fulfill(
            body=held, content_type="text/html; charset=utf-8"))
        page.emulate_media(color_scheme=scheme)
        page.goto(f"{site_url}/index.html", wait_until="networkidle")
    else:
        open_page(page, site_url, path, scheme)
    assert_no_serious(run_axe(page, f"page, {scheme}", path))
    page.log.assert_clean()


# ---- axe in the states a reader creates ----------------------------------------------------


def _right_text(question) -> str:
    if question["type"] == "shape":
        return "(" + ", ".join(str(d) for d in question["answer"]) + ")"
    return repr(question["answer"])


def answer_every_way(page, stem):
    """Answer the lesson's questions so that every feedback state is on screen at once:
    the first wrong, the next right, the next invalid, and so on."""
    bank = _bank(stem)
    states = ["incorrect", "correct", "invalid"]
    seen = set()
    for n, box in enumerate(page.locator("[data-question-id]").all()):
        question = bank[box.get_attribute("data-question-id")]
        state = states[n % 3]
        if question["type"] in ("numeric", "shape"):
            field = box.locator("input[type=text]")
            if state == "correct":
                field.fill(_right_text(question))
            elif state == "incorrect":
                wrong = [d + 1 for d in question["answer"]] if question["type"] == "shape" else (
                    question["answer"] * 2 + 7)
                field.fill(_right_text({**question, "answer": wrong}))
            else:
                field.fill("letters")
        elif state != "invalid":
            options = question["options"]
            wanted = [i for i, o in enumerate(options) if o["correct"] == (state == "correct")]
            for index in wanted[: 1 if question["type"] == "single" else None]:
                box.locator(f'input[value="{index}"]').check()
        box.get_by_role("button", name="Check", exact=True).click()
        feedback = box.locator(".mha-quiz-feedback")
        expect(feedback).to_have_attribute("data-state", state)
        seen.add(state)
    assert seen == set(states)


def _luminance(rgb: str) -> float:
    channels = [int(float(c)) / 255 for c in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_answered_quiz_in_both_themes(offline_page, site_url, screenshots, scheme):
    page = offline_page
    open_page(page, site_url, f"notebooks/{SHOWCASE}.html", scheme)
    expect(page.locator("[data-mha-quiz]").first).to_have_attribute("data-hydrated", "true")
    answer_every_way(page, SHOWCASE)
    assert_no_serious(run_axe(page, f"quiz answered, {scheme}", f"notebooks/{SHOWCASE}.html"))
    quiz = page.locator("[data-mha-quiz]").first
    height = quiz.bounding_box()["height"]
    page.set_viewport_size({"width": 1280, "height": int(height) + 300})  # one piece, no seams
    quiz.scroll_into_view_if_needed()
    path = screenshots / f"site-quiz-{scheme}.png"
    quiz.screenshot(path=str(path))
    assert path.stat().st_size > 20_000
    # The theme really is light or dark, and the quiz text keeps AA contrast on it.
    colours = page.evaluate(
        """() => {
            // The nearest opaque background behind the first question's text.
            const legend = document.querySelector('[data-mha-quiz] legend');
            for (let el = legend; el; el = el.parentElement) {
                const bg = getComputedStyle(el).backgroundColor;
                if (bg.startsWith('rgb(')) {
                    return {text: getComputedStyle(legend).color, background: bg};
                }
            }
            return {text: getComputedStyle(legend).color, background: 'rgb(255, 255, 255)'};
        }"""
    )
    text, background = _luminance(colours["text"]), _luminance(colours["background"])
    assert (background < 0.05) if scheme == "dark" else (background > 0.8), colours
    ratio = (max(text, background) + 0.05) / (min(text, background) + 0.05)
    assert ratio >= 4.5, f"quiz text contrast {ratio:.1f}:1 in the {scheme} theme"
    page.log.assert_clean()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_search_dialog_and_results(offline_page, site_url, scheme):
    page = offline_page
    path = f"notebooks/{SHOWCASE}.html"
    open_page(page, site_url, path, scheme)
    page.keyboard.press("Control+k")
    field = page.locator("#pst-search-dialog input[name=q]")
    expect(field).to_be_focused()
    assert_no_serious(run_axe(page, f"search dialog, {scheme}", path))
    field.fill("attention")
    field.press("Enter")
    page.wait_for_url("**/search.html?q=attention*")
    page.locator("#search-results ul.search li").first.wait_for(timeout=10_000)
    page.wait_for_load_state("networkidle")
    assert_no_serious(run_axe(page, f"search results, {scheme}", "search.html?q=attention"))
    # A result opens its page with the search terms highlighted.
    page.locator("#search-results ul.search li a").first.click()
    page.wait_for_load_state("networkidle")
    typeset_math(page)
    assert page.locator("span.highlighted").count() > 0
    found = page.url.removeprefix(site_url + "/")
    assert_no_serious(run_axe(page, f"highlighted, {scheme}", found.split("#")[0][:47]))
    page.log.assert_clean()


def test_small_screen_with_the_sidebar_open(offline_page, site_url):
    page = offline_page
    page.set_viewport_size({"width": 390, "height": 844})
    path = f"notebooks/{SHOWCASE}.html"
    open_page(page, site_url, path, "light")
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
    page.log.assert_clean()


# ---- keyboard, focus, live regions ---------------------------------------------------------

FOCUSED = """() => {
    const a = document.activeElement;
    const q = a && a.closest('[data-question-id]');
    const style = getComputedStyle(a);
    return {tag: a.tagName, type: a.type || null, value: a.value ?? null, checked: !!a.checked,
            text: a.textContent.trim(), question: q ? q.dataset.questionId : null,
            ring: a.matches(':focus-visible') && style.outlineStyle !== 'none'
                  && parseFloat(style.outlineWidth) >= 2};
}"""


def focused(page):
    state = page.evaluate(FOCUSED)
    assert state["ring"], f"no visible focus ring on {state}"
    return state


@pytest.mark.parametrize("stem", LESSONS)
def test_quiz_by_keyboard_alone(offline_page, site_url, stem):
    page = offline_page
    page.goto(f"{site_url}/notebooks/{stem}.html", wait_until="networkidle")
    expect(page.locator("[data-mha-quiz]").first).to_have_attribute("data-hydrated", "true")
    bank = _bank(stem)
    # Start where a reader arrives at the quiz: on its title (not focusable), then Tab.
    page.locator("[data-mha-quiz] .mha-quiz-title").first.click()
    questions = page.locator("[data-question-id]")
    order = questions.evaluate_all("qs => qs.map(q => q.dataset.questionId)")
    for qid in order:
        question = bank[qid]
        page.keyboard.press("Tab")
        state = focused(page)
        assert state["question"] == qid, f"Tab went to {state}, not into {qid}"
        if question["type"] == "single":
            assert state["type"] == "radio"
            page.keyboard.press("Space")
            assert focused(page)["checked"]
            target = str(next(i for i, o in enumerate(question["options"]) if o["correct"]))
            for _ in range(len(question["options"])):
                if focused(page)["value"] == target:
                    break
                page.keyboard.press("ArrowDown")
            state = focused(page)
            assert state["value"] == target and state["checked"]
        elif question["type"] == "multiple":
            wanted = {str(i) for i, o in enumerate(question["options"]) if o["correct"]}
            assert state["type"] == "checkbox"
            while focused(page)["type"] == "checkbox":
                if focused(page)["value"] in wanted:
                    page.keyboard.press("Space")
                    assert focused(page)["checked"]
                page.keyboard.press("Tab")  # the next option, then "Check"
        else:
            assert state["type"] == "text"
            page.keyboard.type(_right_text(question))
        if question["type"] != "multiple":
            page.keyboard.press("Tab")
        state = focused(page)
        assert state["tag"] == "BUTTON" and state["text"] == "Check" and state["question"] == qid
        page.keyboard.press("Enter")
        feedback = page.locator(f'[data-question-id="{qid}"] .mha-quiz-feedback')
        expect(feedback).to_have_attribute("data-state", "correct")
    page.log.assert_clean()


@pytest.mark.parametrize("stem", LESSONS)
def test_feedback_is_announced_in_words(offline_page, site_url, stem):
    page = offline_page
    page.goto(f"{site_url}/notebooks/{stem}.html", wait_until="networkidle")
    expect(page.locator("[data-mha-quiz]").first).to_have_attribute("data-hydrated", "true")
    boxes = page.locator("[data-question-id]")
    # Live regions exist, empty, before anything is announced in them.
    for box in boxes.all():
        feedback = box.locator(".mha-quiz-feedback")
        assert feedback.get_attribute("aria-live") in ("polite", "assertive")
        assert feedback.inner_text().strip() == ""
    answer_every_way(page, stem)
    words = {"correct": "✓ Correct.", "incorrect": "✗ Not quite.", "invalid": "Invalid answer:"}
    for box in boxes.all():
        feedback = box.locator(".mha-quiz-feedback")
        state = feedback.get_attribute("data-state")
        assert feedback.inner_text().startswith(words[state]), (state, feedback.inner_text())
    page.log.assert_clean()


# ---- structure: headings and images ---------------------------------------------------------

HEADINGS = """() => Array.from(
    document.querySelectorAll('main :is(h1, h2, h3, h4, h5, h6), main [role=heading]'))
    .filter(h => h.checkVisibility() && !h.closest('[aria-hidden=true]'))
    .map(h => ({level: h.getAttribute('aria-level') ? Number(h.getAttribute('aria-level'))
                                                    : Number(h.tagName[1]),
                text: h.textContent.trim().slice(0, 60)}))"""


@pytest.mark.parametrize("path", [p for p in PAGES if p != "index.html"])
def test_heading_order(offline_page, site_url, path):
    page = offline_page
    page.goto(f"{site_url}/{path}", wait_until="networkidle")
    headings = page.evaluate(HEADINGS)
    assert headings, f"{path} has no heading"
    assert headings[0]["level"] == 1, f"the first heading is {headings[0]}"
    assert [h for h in headings if h["level"] == 1] == headings[:1], "more than one h1"
    for before, after in itertools.pairwise(headings):
        assert after["level"] <= before["level"] + 1, f"{before} is followed by {after}"
        assert after["text"], f"an empty heading after {before}"


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def test_every_image_has_alt_text():
    pages = [p for p in PAGES if (SITE / p).is_file()]
    assert pages, "no built site in _build/html: run make book"
    missing, count = [], 0
    for path in pages:
        parser = _Images()
        parser.feed((SITE / path).read_text(encoding="utf-8"))
        for image in parser.images:
            count += 1
            decorative = image.get("role") in ("presentation", "none")
            if decorative and image.get("alt") == "":
                continue
            if not (image.get("alt") or "").strip():
                missing.append(f"{path}: {image.get('src')}")
    assert count >= len(LESSONS), "every lesson has a figure"
    assert missing == [], f"images without alt text: {missing}"


def test_the_page_lists_cover_the_toc():
    assert {f"{doc}.html" for doc in toc_files()} <= set(PAGES)
