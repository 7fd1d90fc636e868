"""Every page of the built site, with every host but 127.0.0.1 blocked.

The pages are found by walking ``_build/html`` (not only the table of contents): lessons, the
prose pages, the index and search pages, the root redirect. Each one makes no request to
another host, logs no console error or warning and raises no page error (the theme's own
messages included: they are configured away in mha_lib/sphinx_a11y.py, not filtered here),
and typesets its math with the vendored MathJax. Every internal link, image, script and
stylesheet resolves, and every ``#fragment`` exists on its target page. On each lesson page
every quiz shows its bank text as text, and hostile answers (empty, letters, 1e999, NaN, a
double click on "Check") give the invalid or feedback state and nothing else.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest
import yaml
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course import QUIZZES, REPO, lesson_paths, toc_files

SITE = REPO / "_build" / "html"
NOT_PAGES = {"_static", "_sources", "_images"}
LESSONS = [p.stem for p in lesson_paths()]


def site_pages() -> list[str]:
    """Every HTML page of the built site, relative to its root, e.g. ``notebooks/01_x.html``."""
    if not SITE.is_dir():
        return []
    return sorted(
        p.relative_to(SITE).as_posix()
        for p in SITE.rglob("*.html")
        if p.relative_to(SITE).parts[0] not in NOT_PAGES
    )


PAGES = site_pages() or ["(no built site in _build/html: run make book)"]


def _bank(stem):
    return {q["id"]: q for q in yaml.safe_load((QUIZZES / f"{stem}.yml").read_text("utf-8"))}


def _as_shown(text: str) -> str:
    """Bank text as the page shows it: `code` spans lose their backticks, spaces collapse."""
    return " ".join(str(text).replace("`", "").split())


def _goto(page, url):
    warnings: list[str] = []
    page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    page.goto(url, wait_until="networkidle")
    return warnings


def typeset_math(page) -> int:
    """Wait until the page's math is rendered; return the number of formulas on it.

    Math is rendered offline either in the browser by the vendored MathJax, or at build time
    as MathML; the checks below accept either."""
    count = page.locator(".math").count()
    if count and page.locator("script[src*='mathjax']").count():
        page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=10_000)
        page.evaluate("() => MathJax.startup.promise")
    return count


def test_the_page_list_covers_the_whole_site():
    assert SITE.is_dir(), "no built site in _build/html: run make book"
    pages = set(PAGES)
    expected = {f"{doc}.html" for doc in toc_files()} | {"index.html", "search.html"}
    assert expected <= pages, f"pages missing from the build: {sorted(expected - pages)}"
    assert "genindex.html" in pages


@pytest.mark.parametrize("path", PAGES)
def test_page_is_offline_and_quiet(offline_page, site_url, path):
    page = offline_page
    warnings = _goto(page, f"{site_url}/{path}")
    if path == "index.html":  # the root redirects to the first page of the course
        page.wait_for_url(f"{site_url}/{toc_files()[0]}.html")
        page.wait_for_load_state("networkidle")
    formulas = typeset_math(page)
    if formulas:
        left = page.locator(".math:not(:has(mjx-container, math))")
        assert left.count() == 0, f"{left.count()} of {formulas} formulas not rendered"
        assert page.locator("mjx-merror, math merror").count() == 0, "a TeX error"
        text = page.locator("main").inner_text()
        assert "\\(" not in text and "\\[" not in text, "math left as TeX source"
    page.wait_for_load_state("networkidle")  # fonts MathJax asked for
    page.log.assert_clean()
    assert warnings == [], f"console warnings: {warnings}"


def test_root_redirect_is_a_complete_page():
    text = (SITE / "index.html").read_text(encoding="utf-8")
    root = f"{toc_files()[0]}.html"
    assert text.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in text and "<title>Multi-Head Attention" in text
    assert f'content="0; url={root}"' in text and f'<a href="{root}">' in text


def test_search_finds_a_lesson_offline(offline_page, site_url):
    page = offline_page
    warnings = _goto(page, f"{site_url}/search.html?q=softmax")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=10_000)
    hrefs = results.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert any(h.split("#")[0].endswith("/notebooks/04_softmax.html") for h in hrefs)
    page.log.assert_clean()
    assert warnings == []


def test_search_dialog_opens_with_the_keyboard_and_searches(offline_page, site_url):
    page = offline_page
    warnings = _goto(page, f"{site_url}/notebooks/{LESSONS[0]}.html")
    page.keyboard.press("Control+k")
    field = page.locator("#pst-search-dialog input[name=q]")
    expect(field).to_be_focused()
    field.fill("heads")
    field.press("Enter")
    page.wait_for_url("**/search.html?q=heads*")
    page.locator("#search-results ul.search li").first.wait_for(timeout=10_000)
    page.log.assert_clean()
    assert warnings == []


# ---- links ---------------------------------------------------------------------------------

LINKING_TAGS = {"a", "area", "link", "img", "script", "source", "iframe", "video", "audio"}


class _Links(HTMLParser):
    """Every href/src of a page, and every id (and <a name>) it defines."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []  # (tag, rel, url)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("name"):
            self.ids.add(attributes["name"])
        if tag not in LINKING_TAGS:
            return
        for name in ("href", "src"):
            if attributes.get(name):
                self.refs.append((tag, attributes.get("rel") or "", attributes[name]))
        for candidate in (attributes.get("srcset") or "").split(","):
            if candidate.strip():
                self.refs.append((tag, "", candidate.split()[0]))


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with _NO_PROXY.open(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        return error.code, b"", ""
    except urllib.error.URLError:
        return 0, b"", ""


def test_internal_links_and_fragments_resolve(site_url):
    fetched: dict[str, tuple[int, set[str] | None]] = {}

    def target(url):
        if url not in fetched:
            status, body, kind = _fetch(url)
            ids = None
            if status == 200 and kind == "text/html":
                parser = _Links()
                parser.feed(body.decode("utf-8"))
                ids = parser.ids
            fetched[url] = (status, ids)
        return fetched[url]

    site = urlparse(site_url).netloc
    problems, checked, fragments, external = [], 0, 0, set()
    for path in PAGES:
        page_url = f"{site_url}/{path}"
        status, body, _ = _fetch(page_url)
        assert status == 200, f"{path}: HTTP {status}"
        parser = _Links()
        parser.feed(body.decode("utf-8"))
        for tag, rel, ref in parser.refs:
            url = urljoin(page_url, ref)
            if urlparse(url).scheme in {"mailto", "javascript", "data", "tel"}:
                continue
            address, fragment = urldefrag(url)
            if urlparse(address).netloc != site:
                if tag in {"a", "area"}:
                    external.add(address)  # followed by a reader when online (or their server)
                else:
                    problems.append(f"{path}: <{tag}> loads {url} from another host")
                continue
            checked += 1
            status, ids = target(urlparse(address)._replace(query="").geturl())
            if status != 200:
                problems.append(f"{path}: <{tag}> {ref} -> HTTP {status}")
            elif fragment and ids is not None:
                fragments += 1
                if unquote(fragment) not in ids:
                    problems.append(f"{path}: <{tag}> {ref} -> no id {unquote(fragment)!r} there")
    print(f"\n{checked} internal references ({fragments} with a #fragment) on {len(PAGES)} "
          f"pages checked; {len(external)} external links not followed (offline)")
    assert checked > 100 and fragments > 10
    assert problems == [], "\n".join(problems)


# ---- quizzes on the real lesson pages -------------------------------------------------------


def _open_lesson(page, site_url, stem):
    warnings = _goto(page, f"{site_url}/notebooks/{stem}.html")
    quizzes = page.locator("[data-mha-quiz]")
    expect(quizzes.first).to_have_attribute("data-hydrated", "true")
    return warnings


@pytest.mark.parametrize("stem", LESSONS)
def test_quiz_text_is_shown_as_text(offline_page, site_url, stem):
    """Bank text reaches the page escaped: `->`, `T > 0` and friends appear literally."""
    page = offline_page
    warnings = _open_lesson(page, site_url, stem)
    bank = _bank(stem)
    boxes = page.locator("[data-question-id]")
    assert boxes.count() == len(bank)
    for box in boxes.all():
        question = bank[box.get_attribute("data-question-id")]
        legend = box.locator("legend")
        number = legend.locator(".mha-quiz-qnum").inner_text()
        assert _as_shown(legend.inner_text()) == _as_shown(f"{number} {question['prompt']}")
        for index, option in enumerate(question.get("options", [])):
            input_id = box.locator(f'input[value="{index}"]').get_attribute("id")
            label = box.locator(f'label[for="{input_id}"]')
            assert _as_shown(label.inner_text()) == _as_shown(option["text"])
    # No markup came in with the text: the quiz holds only its own elements.
    stray = page.locator(
        "[data-mha-quiz] :is(img, iframe, object, embed, style, link, base, a, "
        "script:not(.mha-quiz-key))"
    )
    assert stray.count() == 0
    page.log.assert_clean()
    assert warnings == []


HOSTILE = ["", "   ", "letters", "1e999", "NaN"]


def _right_text(question) -> str:
    answer = question["answer"]
    if question["type"] == "shape":
        return "(" + ", ".join(str(d) for d in answer) + ")"
    return repr(answer)


@pytest.mark.parametrize("stem", LESSONS)
def test_hostile_answers_give_the_invalid_state(offline_page, site_url, stem):
    page = offline_page
    warnings = _open_lesson(page, site_url, stem)
    bank = _bank(stem)
    text_questions = 0
    for box in page.locator("[data-question-id]").all():
        question = bank[box.get_attribute("data-question-id")]
        check = box.get_by_role("button", name="Check", exact=True)
        feedback = box.locator(".mha-quiz-feedback")
        if question["type"] in ("numeric", "shape"):
            text_questions += 1
            field = box.locator("input[type=text]")
            for value in HOSTILE:
                # A right answer first, so that every hostile value is a real change of state.
                field.fill(_right_text(question))
                check.click()
                expect(feedback).to_have_attribute("data-state", "correct")
                field.fill(value)
                check.click()
                expect(feedback, f"{value!r}").to_have_attribute("data-state", "invalid")
                expect(field).to_have_attribute("aria-invalid", "true")
                assert feedback.inner_text().startswith("Invalid answer:"), value
                single = feedback.inner_text()
                check.dblclick()
                expect(feedback).to_have_attribute("data-state", "invalid")
                assert feedback.inner_text() == single, "a double click changed the feedback"
            field.fill(_right_text(question))
            check.dblclick()
            expect(feedback).to_have_attribute("data-state", "correct")
            expect(field).not_to_have_attribute("aria-invalid", "true")
        else:  # nothing chosen, then a choice, each checked with a double click
            check.dblclick()
            expect(feedback).to_have_attribute("data-state", "invalid")
            assert feedback.inner_text().startswith("Invalid answer:")
            right = [i for i, o in enumerate(question["options"]) if o["correct"]]
            for index in right:
                box.locator(f'input[value="{index}"]').check()
            check.click()
            expect(feedback).to_have_attribute("data-state", "correct")
            single = feedback.inner_text()
            check.dblclick()
            expect(feedback).to_have_attribute("data-state", "correct")
            assert feedback.inner_text() == single, "a double click changed the feedback"
    assert text_questions >= 1, "every lesson has a numeric or shape question"
    page.log.assert_clean()
    assert warnings == []
