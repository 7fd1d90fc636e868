"""Japanese search on the built site: a query typed without spaces finds its pages.

Sphinx indexes the Japanese edition with its Python TinySegmenter (``sphinx.search.ja``):
"マルチヘッドアテンションとソフトマックス" in a page is stored as the words
"マルチヘッドアテンション", "と" (too short: dropped) and "ソフトマックス". Sphinx's search page
splits a query on spaces and punctuation only, so the same text typed as a query would be one
word that no page holds. ``book/_ext/static/mha_search_ja.js`` (loaded on the Japanese
search page only, by ``book/_ext/mha_search_ja.py``) splits the query in the browser with the
same segmenter. Here:

- its model is the installed Sphinx's, table for table, and it splits every message of the
  Japanese catalogues (source and translation) and every text of the Japanese question banks
  exactly as the Python splitter does;
- on ``ja/search.html`` (every other host blocked), queries typed without spaces find every
  page whose index holds all their words (read from the edition's ``searchindex.js`` with the
  Python splitter), the translated introduction among them; for the queries of several words
  the test first shows that Sphinx's own split finds nothing; a result opens with the words
  highlighted; an English word still finds its pages in the Japanese edition;
- the English edition's search page does not load the script, and English search there is
  tested in test_accessibility.py.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
import yaml
from babel.messages.pofile import read_po
from playwright.sync_api import expect
from sphinx.search.ja import DefaultSplitter

from course import EDITIONS, QUIZZES, REPO, SITE
from harness import assert_no_serious, run_axe

pytestmark = pytest.mark.console("warning")

SPLITTER = DefaultSplitter({})
MESSAGES = REPO / "locales" / "ja" / "LC_MESSAGES"
# Queries typed as a Japanese reader types them: no space between the words.
QUERIES = {
    "マルチヘッドアテンション": "one word",
    "ソフトマックス": "one word",
    "マルチヘッドアテンションとソフトマックス": "two words and a particle",
    "マルチヘッドアテンションの用途": "two words and a particle",
}
# A page that holds every query's words: the introduction, translated in full (tests/test_i18n.py).
INTRO = "book/intro"
# Texts with what a page may hold beyond Japanese prose: full-width and half-width forms,
# numbers, code, emoji (beyond the BMP), whitespace Python strips and JavaScript does not.
EDGE_TEXTS = [
    "ｱｲｳｴｵ１２３ＡＢＣ", "d_model = 8、num_heads = 2", "😀絵文字😀とテスト", "\ufeffテスト\u3000",
    "a\x1cb\x85", "  ", "", "一二三四五六七八九十百千万億兆", "ヵヶ々〆", "Q K^T / √d_k",
]  # fmt: skip


def _index(edition: str) -> dict:
    text = (SITE / edition / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])


def _index_words(query: str) -> list[str]:
    """The words of ``query`` that the Japanese index can hold (SearchJapanese: split, then
    longer than one character), lowercased as the index is."""
    return [w.lower() for w in SPLITTER.split(query) if len(w) > 1]


def _pages_with_all_words(index: dict, words: list[str]) -> set[str]:
    """The pages whose index entry holds every word, as a word or in a title."""
    pages = None
    for word in words:
        found = set()
        for table in (index["terms"], index["titleterms"]):
            hits = table.get(word, [])
            found |= set([hits] if isinstance(hits, int) else hits)
        pages = found if pages is None else pages & found
    return {index["docnames"][i] for i in pages or set()}


def _catalogue_texts() -> list[str]:
    texts = []
    for path in sorted(MESSAGES.rglob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle):
                for text in (message.id, message.string):
                    texts += [text] if isinstance(text, str) else list(text or ())
    return [t for t in texts if t]


def _bank_texts() -> list[str]:
    texts = []

    def walk(value):
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for path in sorted((QUIZZES / "ja").glob("*.yml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return texts


@pytest.fixture
def search_page(offline_page, edition_url):
    """The Japanese edition's search page, its index loaded."""
    page = offline_page
    page.goto(f"{edition_url('ja')}/search.html")
    page.wait_for_function("() => typeof Search !== 'undefined' && Search.hasIndex()")
    return page


def _search(page, url: str) -> list[str]:
    """The pages (``book/intro``) a search lists, once it has finished and said so, in
    Japanese, with the number of results (an empty message in Sphinx's catalogue)."""
    page.goto(url)
    summary = page.locator("#search-results .search-summary")
    expect(summary).not_to_be_empty(timeout=15_000)
    hrefs = page.locator("#search-results ul.search li > a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    text = summary.inner_text()
    assert re.search(r"[\u3040-\u30ff]", text) and f" {len(hrefs)} " in text, text
    return sorted({re.sub(r"\.html(#.*)?$", "", h.split("?")[0]) for h in hrefs})


def test_the_model_is_sphinxs(search_page):
    model = search_page.evaluate("() => ({bias: MhaSearchJa.BIAS, model: MhaSearchJa.MODEL})")
    tables = {name[:-2]: value for name, value in vars(DefaultSplitter).items()
              if re.fullmatch(r"[A-Z]{2}\d__", name)}
    assert len(tables) >= 40 and set(model["model"]) == set(tables)
    for name, table in tables.items():
        assert model["model"][name] == table, name
    assert model["bias"] == DefaultSplitter.BIAS__


def test_queries_are_split_as_the_index_is(search_page):
    """The browser's segmenter and Sphinx's, on every catalogue message, every Japanese bank
    text and some edge cases: the same words, in the same order."""
    texts = _catalogue_texts() + _bank_texts() + EDGE_TEXTS
    assert len(texts) > 500, "the Japanese catalogues are missing"
    split = search_page.evaluate("texts => texts.map(t => MhaSearchJa.segment(t))", texts)
    differ = [(t, SPLITTER.split(t), s) for t, s in zip(texts, split) if SPLITTER.split(t) != s]
    assert differ == [], f"{len(differ)} of {len(texts)} texts split differently: {differ[:3]}"
    # What the search page asks of the index: the words longer than one character.
    queries = search_page.evaluate("qs => qs.map(q => splitQuery(q))", list(QUERIES))
    assert queries == [[w for w in SPLITTER.split(q) if len(w) > 1] for q in QUERIES]


@pytest.mark.parametrize("query", QUERIES)
def test_japanese_query_without_spaces_finds_its_pages(search_page, edition_url, query):
    page = search_page
    index = _index("ja")
    words = _index_words(query)
    expected = _pages_with_all_words(index, words)
    assert INTRO in expected, f"the index of {INTRO} lacks one of {words}"
    if len(words) > 1:
        # Sphinx's own split keeps the query whole: no page holds that word, nor a longer one.
        default = page.evaluate(
            "q => q.split(/[^\\p{Letter}\\p{Number}_\\p{Emoji_Presentation}]+/gu).filter(t => t)",
            query,
        )
        assert default == [query]
        held = [t for t in (*index["terms"], *index["titleterms"]) if query.lower() in t]
        assert held == [], f"{query} is a word of the index: the test shows nothing"
    found = _search(page, f"{edition_url('ja')}/search.html?q={quote(query)}")
    assert expected <= set(found), f"{query}: {sorted(expected - set(found))} not found"


def test_a_result_opens_with_the_words_highlighted(search_page, edition_url):
    """From the search dialog of a Japanese lesson page, as a reader would: the query typed
    without spaces, Enter, the introduction among the results (the results page axe-clean),
    opened with both words highlighted."""
    page = search_page
    query = "マルチヘッドアテンションとソフトマックス"
    page.goto(f"{edition_url('ja')}/notebooks/04_softmax.html")
    page.keyboard.press("Control+k")
    field = page.locator("#pst-search-dialog input[name=q]")
    expect(field).to_be_focused()
    field.fill(query)
    field.press("Enter")
    page.wait_for_url("**/ja/search.html?q=*")
    expect(page.locator("#search-results .search-summary")).not_to_be_empty(timeout=15_000)
    intro = page.locator(f'#search-results ul.search li > a[href^="{INTRO}.html"]')
    expect(intro).to_have_count(1)
    assert_no_serious(run_axe(page, "search results, light", "ja/search.html?q=…"))
    intro.click()
    page.wait_for_url(f"**/ja/{INTRO}.html*")
    highlighted = page.locator("main span.highlighted").all_inner_texts()
    assert {w for w in _index_words(query)} <= {h.lower() for h in highlighted}, highlighted


def test_an_english_word_still_finds_pages_in_the_japanese_edition(search_page, edition_url):
    index = _index("ja")
    expected = _pages_with_all_words(index, ["softmax"])
    assert "notebooks/04_softmax" in expected
    found = _search(search_page, f"{edition_url('ja')}/search.html?q=softmax")
    assert expected <= set(found)


def test_only_the_japanese_search_page_loads_the_segmenter(offline_page, edition_url):
    page = offline_page
    for edition, path, loaded in (("en", "search.html", False), ("ja", "search.html", True),
                                  ("ja", "book/intro.html", False)):
        page.goto(f"{edition_url(edition)}/{path}")
        assert page.evaluate("() => typeof MhaSearchJa !== 'undefined'") is loaded, (edition, path)


@pytest.mark.parametrize("edition", EDITIONS)
def test_typed_text_starts_after_the_search_icon(offline_page, edition_url, edition):
    """On the search page and in the search dialog (opened from another page), the first
    character typed is not drawn under the magnifier (the theme puts the icon over the field)."""
    page = offline_page
    page.goto(f"{edition_url(edition)}/search.html?q=softmax")
    page.wait_for_load_state("networkidle")  # leaving earlier aborts its requests
    measure = """form => {
        const icon = form.querySelector('.fa-magnifying-glass').getBoundingClientRect();
        const input = form.querySelector('input');
        const start = input.getBoundingClientRect().left + parseFloat(getComputedStyle(input).paddingLeft);
        return [icon.right, start];
    }"""
    icon_right, text_start = page.locator(".bd-search-container form.bd-search").evaluate(measure)
    assert text_start >= icon_right, (icon_right, text_start)
    page.goto(f"{edition_url(edition)}/book/intro.html")  # the search page has no dialog
    page.wait_for_load_state("networkidle")
    page.locator("button.search-button-field").first.click()
    dialog_form = page.locator("#pst-search-dialog form.bd-search")
    expect(dialog_form).to_be_visible()
    icon_right, text_start = dialog_form.evaluate(measure)
    assert text_start >= icon_right, (icon_right, text_start)
