"""The built site, both editions, in a real Chromium, with every host but 127.0.0.1 blocked.

The site (``_build/site``, ``make book``) holds the English and the Japanese edition side by
side (``en/``, ``ja/``, same page names) and a root page that opens the reader's language.
Every page of it (found by walking it, not only the table of contents: the root page, and in
each edition the lessons, prose pages, index and search pages, the edition's root redirect)
is visited once (see ``harness.Visit``); the page-level tests here read that visit: no
request to another host, no console error or warning, no page error, no failed request (the
theme's own messages included: they are configured away at the source, not filtered here);
math is MathML drawn by the browser, none left as TeX; each page declares its edition's
language; each lesson's figures load and carry alt text, and its notebook can be downloaded.
Every internal link, image, script and stylesheet resolves, and every ``#fragment`` exists on
its target page. The root page opens Japanese for a browser that prefers it and English
otherwise, and is two plain links without JavaScript; the language switcher of a lesson
leads to the same lesson in the other edition and back. (Search, from the keyboard and
offline, is tested with its accessibility in test_accessibility.py; Japanese search in
test_search_ja.py.)

On each lesson page of each edition a reader then works through the whole quiz (one page
load): the bank's text is shown as text; "Check" with nothing chosen says so; every question
answered wrong, then right, with the mouse, the feedback saying in words what its colour says;
then every targeted feedback of the bank (a predictable wrong answer gets its own hint, word
for word; an unforeseen wrong answer the general message, not a stale hint; the right answer
still wins). Every lesson has at least one question with targeted feedback. The quiz speaks
its edition's language, from that language's bank (``course.edition_bank``). On the English edition every question is
also answered right with the keyboard alone, with a visible focus ring at every stop (the
keyboard path is mha_quiz.js and the quiz markup, one code for both editions).

Hostile answers (empty, letters, 1e999, NaN, a double click on "Check") give the invalid state
and nothing else: on the built site once per question type and edition (the first lesson that
has the type; they are handled by the type's code in mha_quiz.js, not by the lesson, and the
messages are the edition's), and many more of them on a quiz of its own in test_quiz_page.py.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest
from playwright.sync_api import expect

from course import (
    EDITIONS,
    REPO,
    SITE,
    bank,
    edition_bank,
    edition_of,
    lesson_stems,
    site_pages,
    toc_files,
)
from harness import injected_markup, script
from html_tree import parse
from quiz_driver import (
    WORDS,
    answer_for,
    as_typed,
    check_button,
    feedback,
    give,
    give_and_expect,
    right_options,
    shown_text,
    verdict_problem,
)

LESSONS = lesson_stems()
PAGES = site_pages() or ["(no built site in _build/site: run make book)"]
TOC_PAGES = [f"{doc}.html" for doc in toc_files()]  # below an edition's folder
EDITION_LESSONS = [(edition, stem) for edition in EDITIONS for stem in LESSONS]
EDITION_TOC_PAGES = [(edition, path) for edition in EDITIONS for path in TOC_PAGES]
# The edition whose quizzes are also walked through from the keyboard (see the docstring).
KEYBOARD_EDITION = "en"

pytestmark = pytest.mark.console("warning")


def test_the_page_list_covers_the_whole_site():
    assert SITE.is_dir(), "no built site in _build/site: run make book"
    expected = {"index.html"} | {
        f"{edition}/{path}"
        for edition in EDITIONS
        for path in [*TOC_PAGES, "index.html", "search.html", "genindex.html"]
    }
    assert expected <= set(PAGES), f"pages missing from the build: {sorted(expected - set(PAGES))}"
    # The editions have the same pages, under the same names.
    names = {e: {p.split("/", 1)[1] for p in PAGES if edition_of(p) == e} for e in EDITIONS}
    assert all(names[e] == names["en"] for e in EDITIONS), "the editions' pages differ"


# ---- every page, from its one visit ------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_page_is_offline_and_quiet(visit, path):
    visit(path).log.assert_clean(console="warning")


@pytest.mark.parametrize("path", PAGES)
def test_nothing_loads_lazily(visit, path):
    """Every image (and frame) loads with the page: a reader offline or on a slow link who
    scrolls later finds it there, and the visit's responses (page weight) are the whole page."""
    assert visit(path).facts["lazy"] == [], "elements that load only when scrolled to"


@pytest.mark.parametrize("path", PAGES)
def test_math_is_mathml(visit, path):
    """Math is MathML made at build time: drawn by the browser, no script, no network."""
    facts = visit(path).facts
    math = facts["math"]
    assert math["errors"] == 0, "a TeX error"
    assert math["empty"] == 0 and math["displayWithoutMath"] == 0, f"unrendered math: {math}"
    for tex in ("$$", "\\frac", "\\(", "\\["):
        assert tex not in facts["mainText"], f"math left as TeX source ({tex})"


@pytest.mark.parametrize("path", PAGES)
def test_page_declares_its_language(visit, path):
    """Each edition's pages are ``<html lang>`` of the edition; the root page is English (its
    Japanese link is marked ``lang="ja"``)."""
    assert visit(path).facts["lang"] == (edition_of(path) or "en")


@pytest.mark.parametrize("edition, path", EDITION_TOC_PAGES)
def test_course_page_renders(visit, edition, path):
    facts = visit(f"{edition}/{path}").facts
    assert len(facts["mainText"]) > 300, f"{path} renders almost nothing"
    candidates = [(REPO / path).with_suffix(suffix) for suffix in (".md", ".ipynb")]
    source = next(p for p in candidates if p.exists())
    if "$" in source.read_text(encoding="utf-8"):
        assert facts["math"]["visible"] > 0, f"{path}: no rendered math is visible"


@pytest.mark.parametrize("edition, stem", EDITION_LESSONS)
def test_lesson_figures_load_with_alt_text(visit, edition, stem):
    images = [i for i in visit(f"{edition}/notebooks/{stem}.html").facts["images"] if i["inMain"]]
    assert len(images) >= 1, "every lesson has at least one figure"
    for image in images:
        assert image["loaded"], f"image not loaded: {image['src']}"
        assert len(image["alt"] or "") >= 40, f"figure without real alt text: {image['src']}"


@pytest.mark.parametrize("edition, stem", EDITION_LESSONS)
def test_lesson_notebook_can_be_downloaded(visit, edition_url, edition, stem):
    hrefs = visit(f"{edition}/notebooks/{stem}.html").facts["downloads"]
    links = [h for h in hrefs if h.endswith(f"{stem}.ipynb")]
    assert links, "the download button offers the .ipynb"
    status, body, _ = _fetch(urljoin(f"{edition_url(edition)}/notebooks/{stem}.html", links[0]))
    assert status == 200
    assert json.loads(body)["cells"], "the download is the notebook itself"


@pytest.mark.parametrize("edition", EDITIONS)
def test_edition_root_redirect_is_a_complete_page(edition):
    text = (SITE / edition / "index.html").read_text(encoding="utf-8")
    root = f"{toc_files()[0]}.html"
    title = {"en": "Multi-Head Attention", "ja": "マルチヘッドアテンション"}[edition]
    assert text.startswith("<!DOCTYPE html>")
    assert f'<html lang="{edition}">' in text and f"<title>{title}" in text
    assert f'content="0; url={root}"' in text and f'<a href="{root}">' in text


@pytest.mark.parametrize("edition", EDITIONS)
def test_edition_root_redirects_to_the_first_page(offline_page, edition_url, edition):
    offline_page.goto(f"{edition_url(edition)}/index.html")
    offline_page.wait_for_url(f"{edition_url(edition)}/{TOC_PAGES[0]}")
    offline_page.wait_for_load_state("networkidle")
    offline_page.log.assert_clean(console="warning")


# ---- the root page and the language switcher ---------------------------------------------------

# navigator.languages as a browser reports them, and the edition the root page must open: the
# reader's first preferred language that the site has, English when it has none of them.
PREFERENCES = {
    "ja-JP": (["ja-JP", "ja"], "ja"),
    "ja": (["ja"], "ja"),
    "en-US": (["en-US", "en"], "en"),
    "fr-FR": (["fr-FR", "fr"], "en"),
    "fr-FR, ja": (["fr-FR", "ja", "en"], "ja"),
    "de-DE, en, ja": (["de-DE", "en", "ja"], "en"),
}
LANGUAGES_SCRIPT = """Object.defineProperty(Navigator.prototype, "languages",
    {configurable: true, get: () => %s});"""


@pytest.mark.parametrize("preference", PREFERENCES)
def test_root_page_opens_the_readers_language(new_page, site_root, preference):
    languages, edition = PREFERENCES[preference]
    page = new_page(locale=languages[0], init_script=LANGUAGES_SCRIPT % json.dumps(languages))
    page.goto(f"{site_root}/index.html")
    page.wait_for_url(f"{site_root}/{edition}/{TOC_PAGES[0]}")
    expect(page.locator("html")).to_have_attribute("lang", edition)
    page.log.assert_clean(console="warning")


def test_root_page_works_without_javascript(new_page, site_root):
    """Without JavaScript the root page stays, and is a link to each edition (named in its
    own language), each leading to the edition's first page."""
    page = new_page(java_script_enabled=False, locale="ja-JP")
    for edition, name in (("ja", "日本語版"), ("en", "English edition")):
        page.goto(f"{site_root}/index.html", wait_until="load")
        page.wait_for_timeout(300)  # a script that ran would have left by now
        assert page.url == f"{site_root}/index.html"
        page.log.assert_clean(console="warning")
        link = page.locator(f'main a[hreflang="{edition}"]')
        expect(link).to_have_count(1)
        expect(link).to_have_attribute("lang", edition)
        expect(link).to_contain_text(name)
        link.click()
        page.wait_for_url(f"{site_root}/{edition}/{TOC_PAGES[0]}")
        expect(page.locator("html")).to_have_attribute("lang", edition)
        # With JavaScript off, Chromium refuses the theme's <link rel="preload" as="script">
        # of every page (a "csp" failure): that, and only that, is not the site's doing.
        refused = [f for f in page.log.failed if re.fullmatch(r"csp \S+/_static/scripts/\S+\.js\S*", f)]
        page.log.failed = [f for f in page.log.failed if f not in refused]
        page.log.assert_clean(console="warning")


@pytest.mark.parametrize("path", [f"notebooks/{LESSONS[3]}.html", "book/progress.html"])
def test_language_switcher_leads_to_the_same_page_and_back(offline_page, site_root, path):
    """English -> 日本語 -> English on the same page, by its switcher (named in the language it
    leads to, marked with that language)."""
    page = offline_page
    page.goto(f"{site_root}/en/{path}")
    for edition, name in (("ja", "日本語"), ("en", "English")):
        switch = page.locator("a.mha-language-switch")
        expect(switch).to_have_count(1)
        expect(switch).to_have_text(name)
        expect(switch).to_have_attribute("hreflang", edition)
        expect(switch).to_have_attribute("lang", edition)
        expect(switch).to_be_visible()
        switch.click()
        page.wait_for_url(f"{site_root}/{edition}/{path}")
        expect(page.locator("html")).to_have_attribute("lang", edition)
    page.log.assert_clean(console="warning")


# ---- links -------------------------------------------------------------------------------------

LINKING_TAGS = {"a", "area", "link", "img", "script", "source", "iframe", "video", "audio"}
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with _NO_PROXY.open(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        return error.code, b"", ""
    except urllib.error.URLError:
        return 0, b"", ""


def _references(tree):
    """(tag, url) of every href/src/srcset of the linking elements."""
    for node in tree.iter():
        if node.tag not in LINKING_TAGS:
            continue
        for name in ("href", "src"):
            if node.attrs.get(name):
                yield node.tag, node.attrs[name]
        for candidate in (node.attrs.get("srcset") or "").split(","):
            if candidate.strip():
                yield node.tag, candidate.split()[0]


def _ids(tree) -> set[str]:
    ids = {n.attrs["id"] for n in tree.iter() if n.attrs.get("id")}
    return ids | {n.attrs["name"] for n in tree.find_all("a", name=True) if n.attrs["name"]}


def test_internal_links_and_fragments_resolve(site_root):
    fetched: dict[str, tuple[int, set[str] | None]] = {}

    def target(url):
        if url not in fetched:
            status, body, kind = _fetch(url)
            ids = None
            if status == 200 and kind == "text/html":
                ids = _ids(parse(body.decode("utf-8"), strict=False))
            fetched[url] = (status, ids)
        return fetched[url]

    site = urlparse(site_root).netloc
    problems, checked, fragments, external = [], 0, 0, set()
    for path in PAGES:
        page_url = f"{site_root}/{path}"
        status, body, _ = _fetch(page_url)
        assert status == 200, f"{path}: HTTP {status}"
        for tag, ref in _references(parse(body.decode("utf-8"), strict=False)):
            url = urljoin(page_url, ref)
            if urlparse(url).scheme in {"mailto", "javascript", "data", "tel"}:
                continue
            address, fragment = urldefrag(url)
            if urlparse(address).netloc != site:
                if tag in {"a", "area"}:
                    external.add(address)  # followed by a reader when online
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


# ---- a reader works through each lesson's quiz --------------------------------------------------


def _as_shown(text: str) -> str:
    """Bank text as the page shows it: `code` spans lose their backticks, spaces collapse."""
    return " ".join(str(text).replace("`", "").split())


def _shown_as_text(page, questions):
    """Bank text reaches the page escaped: `->`, `T > 0` and friends appear literally, and
    no markup comes in with it."""
    shown = page.evaluate(script("quiz_as_shown"))
    assert sorted(box["id"] for box in shown) == sorted(questions)
    for box in shown:
        question = questions[box["id"]]
        assert box["number"] is not None, f"{box['id']}: no question number in the legend"
        assert _as_shown(box["legend"]) == _as_shown(f"{box['number']} {question['prompt']}")
        labels = {option["value"]: option["label"] for option in box["options"]}
        assert len(labels) == len(question.get("options", [])), box["id"]
        for index, option in enumerate(question.get("options", [])):
            assert labels.get(str(index)) is not None, f"{box['id']}: option {index} unlabelled"
            assert _as_shown(labels[str(index)]) == _as_shown(option["text"])
        # Live regions exist, empty, before anything is announced in them.
        [region] = box["feedback"]
        assert region["live"] in ("polite", "assertive")
        assert region["text"].strip() == ""
        assert region["state"] is None
    assert injected_markup(page, "[data-mha-quiz]", ".mha-quiz-key") == 0


def _expect_state(box, state: str, language: str = "en") -> str:
    expect(feedback(box)).to_have_attribute("data-state", state)
    text = feedback(box).inner_text()
    problem = verdict_problem(text, state, language)
    assert problem is None, (state, problem)
    return text


def _check_with_nothing_chosen(page, questions, language):
    for box in page.locator("[data-question-id]").all():
        if questions[box.get_attribute("data-question-id")]["type"] in ("single", "multiple"):
            check_button(box, language).dblclick()
            _expect_state(box, "invalid", language)


def _focused(page):
    state = page.evaluate(script("quiz_focus"))
    assert state["ring"], f"no visible focus ring on {state}"
    return state


def _by_keyboard_alone(page, questions):
    """Tab to each question, choose with Space and the arrow keys or type, Tab to "Check",
    Enter: every question ends up correct, and every stop shows its focus ring."""
    # Start where a reader arrives at the quiz: on its title (not focusable), then Tab.
    page.locator("[data-mha-quiz] .mha-quiz-title").first.click()
    order = page.locator("[data-question-id]").evaluate_all(
        "qs => qs.map(q => q.dataset.questionId)"
    )
    for qid in order:
        question = questions[qid]
        page.keyboard.press("Tab")
        state = _focused(page)
        assert state["question"] == qid, f"Tab went to {state}, not into {qid}"
        if question["type"] == "single":
            assert state["type"] == "radio"
            page.keyboard.press("Space")
            assert _focused(page)["checked"]
            target = str(min(right_options(question)))
            for _ in range(len(question["options"])):
                if _focused(page)["value"] == target:
                    break
                page.keyboard.press("ArrowDown")
            state = _focused(page)
            assert state["value"] == target and state["checked"]
        elif question["type"] == "multiple":
            wanted = {str(i) for i in right_options(question)}
            assert state["type"] == "checkbox"
            while (state := _focused(page))["type"] == "checkbox":
                if state["checked"] != (state["value"] in wanted):
                    page.keyboard.press("Space")
                    assert _focused(page)["checked"] == (state["value"] in wanted)
                page.keyboard.press("Tab")  # the next option, then "Check"
        else:
            assert state["type"] == "text"
            page.keyboard.type(answer_for(question, "correct"))
        if question["type"] != "multiple":
            page.keyboard.press("Tab")
        state = _focused(page)
        assert state["tag"] == "BUTTON" and state["text"] == WORDS["en"]["check"]
        assert state["question"] == qid
        page.keyboard.press("Enter")
        _expect_state(page.locator(f'[data-question-id="{qid}"]'), "correct")


HOSTILE = ["", "   ", "letters", "1e999", "NaN"]
QUESTION_TYPES = ("single", "multiple", "numeric", "shape")


def _first_of_each_type() -> dict[str, tuple[str, str]]:
    """{type: (lesson stem, question id)}: the first question of each type in the course (the
    same in every edition: a translated bank keeps the ids and types, scripts/i18n.py check)."""
    found = {}
    for stem in LESSONS:
        for question in bank(stem):
            found.setdefault(question["type"], (stem, question["id"]))
    return found


def _hostile_answers(page, questions, language):
    """Hostile text answers give the invalid state; a double click changes nothing. Returns
    how many of ``questions`` take typed answers."""
    text_questions = 0
    for qid, question in questions.items():
        box = page.locator(f'[data-question-id="{qid}"]')
        check = check_button(box, language)
        if question["type"] not in ("numeric", "shape"):
            give_and_expect(box, question, "correct", language)
            check.click()
            single = _expect_state(box, "correct", language)
            check.dblclick()
            assert _expect_state(box, "correct", language) == single, (
                "a double click changed the feedback")
            continue
        text_questions += 1
        field = box.locator("input[type=text]")
        for value in HOSTILE:
            # A right answer first, so that every hostile value is a real change of state.
            field.fill(answer_for(question, "correct"))
            check.click()
            _expect_state(box, "correct", language)
            field.fill(value)
            check.click()
            single = _expect_state(box, "invalid", language)
            expect(field).to_have_attribute("aria-invalid", "true")
            check.dblclick()
            assert _expect_state(box, "invalid", language) == single, (
                f"a double click changed {value!r}")
        field.fill(answer_for(question, "correct"))
        check.dblclick()
        _expect_state(box, "correct", language)
        expect(field).not_to_have_attribute("aria-invalid", "true")
    return text_questions


def _wrong_then_right(page, questions, language):
    for box in page.locator("[data-question-id]").all():
        question = questions[box.get_attribute("data-question-id")]
        for outcome in ("incorrect", "correct"):
            give(box, answer_for(question, outcome), language)
            assert _expect_state(box, outcome, language).strip()


def _type_and_check(box, text, language):
    box.locator("input[type=text]").fill(text)
    check_button(box, language).click()
    return feedback(box)


def _targeted_feedback(page, questions, language):
    """Each predictable wrong answer of the bank gets its own hint, word for word; a wrong
    answer nobody predicted gets the general message, not a stale hint; the right answer
    still wins. (In a language of ``quiz_driver.WORDS``, the words around the hint and the
    general message are checked word for word too; in another, the verdict is in its
    language and the general message holds no hint.)"""
    targeted = [q for q in questions.values() if q.get("feedback")]
    assert targeted, "no question with targeted feedback"
    words = WORDS[language]
    for question in targeted:
        box = page.locator(f'[data-question-id="{question["id"]}"]')
        hints = [shown_text(item["text"]) for item in question["feedback"]]
        for item, hint in zip(question["feedback"], hints):
            fb = _type_and_check(box, as_typed(question, item["answer"]), language)
            expect(fb).to_have_attribute("data-state", "incorrect")
            text = " ".join(fb.inner_text().split())
            expected = f"{words['incorrect']}{words['join']}{hint} {words['try_again']}"
            assert text == expected, (question["id"], text)
        if question["type"] == "shape":
            other = [d + 1 for d in question["answer"]] + [7]
        else:
            other = question["answer"] * 2 + 7.25
        fb = _type_and_check(box, as_typed(question, other), language)
        expect(fb).to_have_attribute("data-state", "incorrect")
        text = " ".join(fb.inner_text().split())
        assert not any(hint in text for hint in hints), f"a stale hint: {text}"
        assert text.startswith(words["incorrect"]) and words["unexpected"] in text, text
        fb = _type_and_check(box, as_typed(question, question["answer"]), language)
        expect(fb).to_have_attribute("data-state", "correct")


def _open_lesson(page, url: str, stem: str, edition: str) -> str:
    """Open a lesson page with its quiz ready; the quiz's language, the edition's, which a
    non-English quiz declares on its root. Returns it."""
    page.goto(url)
    quiz = page.locator("[data-mha-quiz]").first
    expect(quiz).to_have_attribute("data-hydrated", "true")
    if edition != "en":
        expect(quiz).to_have_attribute("lang", edition)
    return edition


@pytest.mark.parametrize("edition, stem", EDITION_LESSONS)
def test_lesson_quiz_by_keyboard_and_mouse(offline_page, edition_url, screenshots, edition, stem):
    page = offline_page
    language = _open_lesson(page, f"{edition_url(edition)}/notebooks/{stem}.html", stem, edition)
    questions = {q["id"]: q for q in edition_bank(stem, edition)}
    _shown_as_text(page, questions)
    _check_with_nothing_chosen(page, questions, language)
    if edition == KEYBOARD_EDITION:
        _by_keyboard_alone(page, questions)
    _wrong_then_right(page, questions, language)
    _targeted_feedback(page, questions, language)
    assert any(q["type"] in ("numeric", "shape") for q in questions.values()), (
        "every lesson has a numeric or shape question"
    )
    shot = screenshots / f"{edition}-{stem}-quiz.png"
    page.locator(".mha-quiz").first.screenshot(path=str(shot))
    page.log.assert_clean(console="warning")


@pytest.mark.parametrize("edition", EDITIONS)
def test_shape_sheet_prints_on_one_page(offline_page, edition_url, screenshots, edition):
    """The review's shape sheet (book/shape_sheet.md) is meant to be printed: on A4 it is one
    page, with its two diagrams side by side (mha_a11y.css's print rules), in each edition."""
    page = offline_page
    page.goto(f"{edition_url(edition)}/book/shape_sheet.html")
    page.emulate_media(media="print")
    figures = page.locator(".mha-shape-sheet figure.mha-sheet-figure")
    expect(figures).to_have_count(2)
    first, second = (figures.nth(i).bounding_box() for i in range(2))
    assert abs(first["y"] - second["y"]) < 1 and second["x"] > first["x"] + first["width"] / 2, (
        "on paper the two diagrams sit side by side")
    page.screenshot(path=screenshots / f"{edition}-shape_sheet_print.png", full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))  # page objects, not the /Pages tree
    assert pages == 1, f"the shape sheet prints on {pages} A4 pages"


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("kind", QUESTION_TYPES)
def test_hostile_answers_once_per_question_type(offline_page, edition_url, kind, edition):
    """On the first lesson with a question of ``kind``: every question of that kind there
    answered right, then hostile text (text questions) and double clicks on "Check"."""
    first = _first_of_each_type()
    assert set(first) == set(QUESTION_TYPES), f"question types in the course: {sorted(first)}"
    stem, _ = first[kind]
    page = offline_page
    language = _open_lesson(page, f"{edition_url(edition)}/notebooks/{stem}.html", stem, edition)
    questions = {q["id"]: q for q in edition_bank(stem, edition) if q["type"] == kind}
    text = _hostile_answers(page, questions, language)
    assert text == (len(questions) if kind in ("numeric", "shape") else 0)
    page.log.assert_clean(console="warning")


def test_progress_is_shared_between_the_editions(offline_page, edition_url):
    """A translated bank keeps the English ids and answers, and both editions are one site (one
    origin, one localStorage): what a reader answers in one edition counts in the other's
    progress page, and the quiz there shows it answered."""
    page = offline_page
    stem = LESSONS[0]
    questions = edition_bank(stem, "en")
    page.goto(f"{edition_url('en')}/notebooks/{stem}.html")
    expect(page.locator("[data-mha-quiz]").first).to_have_attribute("data-hydrated", "true")
    first, second = (page.locator(f'[data-question-id="{q["id"]}"]') for q in questions[:2])
    give_and_expect(first, questions[0], "correct")
    give_and_expect(second, questions[1], "incorrect")
    page.goto(f"{edition_url('ja')}/book/progress.html")
    table = page.locator("[data-mha-progress]")
    expect(table).to_have_attribute("data-hydrated", "true")
    row = table.locator(f'tbody tr[data-quiz="{stem}"]')
    expect(row.locator(".mha-progress-answered")).to_have_text("2")
    expect(row.locator(".mha-progress-correct")).to_have_text("1")
    language = _open_lesson(page, f"{edition_url('ja')}/notebooks/{stem}.html", stem, "ja")
    for question, state in ((questions[0], "correct"), (questions[1], "incorrect")):
        box = page.locator(f'[data-question-id="{question["id"]}"]')
        _expect_state(box, state, language)
    page.log.assert_clean(console="warning")


def test_japanese_explorer_and_progress_page_speak_japanese(offline_page, edition_url):
    """The Japanese edition's head explorer and progress page use the Japanese interface
    strings (written out here, as a reader sees them), and no English one is left."""
    page = offline_page
    page.goto(f"{edition_url('ja')}/notebooks/{LESSONS[6]}.html")
    explorer = page.locator("[data-mha-explorer]").first
    expect(explorer).to_have_attribute("data-hydrated", "true")
    assert explorer.get_attribute("lang") == "ja"
    expect(explorer.get_by_role("button", name="全ヘッドを並べて表示", exact=True)).to_have_count(1)
    expect(explorer.locator("summary").first).to_have_text("重みの表を表示")
    explorer.locator('.mha-explorer-token[data-index="3"]').first.click()
    readout = " ".join(explorer.locator(".mha-explorer-readout").first.inner_text().split())
    assert re.fullmatch(r"ヘッド 0：\S+ が最も注目しているのは .+ です。", readout), readout
    english = ("Head ", "attends", "Show the table", "All heads", "Query token")
    assert not any(word in explorer.inner_text() for word in english), explorer.inner_text()

    page.goto(f"{edition_url('ja')}/book/progress.html")
    table = page.locator("[data-mha-progress]")
    expect(table).to_have_attribute("data-hydrated", "true")
    page.get_by_role("button", name="進捗をリセット", exact=True).click()
    expect(page.get_by_role("button", name="はい、リセットします", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="キャンセル", exact=True)).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(".mha-progress-status")).to_have_text(
        "リセットを取り消しました。何も削除されていません。"
    )
    summary = " ".join(table.inner_text().split())
    assert "まだ1問も答えていません" in summary, summary
    assert not any(w in summary for w in ("Lesson", "Answered", "Reset", "answered")), summary
    page.log.assert_clean(console="warning")
