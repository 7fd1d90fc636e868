"""The head explorer in a real browser: static markup + mha_explorer.js/css on 127.0.0.1 only.

The page mimics a lesson page of the site: pydata-sphinx-theme's stylesheet (when installed),
the running example's explorer inside a notebook output, and a hostile cross-attention
explorer straight on the page. Every request to another host is blocked; console output of
any kind, page errors, failed requests and dialogs fail the test (the ``new_page`` fixture of
conftest.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

import mha_lib
from harness import globals_changed, injected_markup, site_page
from mha_lib import data
from mha_lib.explorer import STATIC_DIR, render_explorer_html

pytestmark = pytest.mark.console("all")

EXAMPLE = data.running_example()
TOKENS = list(EXAMPLE.tokens)
_, _WEIGHTS = mha_lib.multi_head_attention(
    EXAMPLE.x, EXAMPLE.x, EXAMPLE.x, mha_lib.MHAParams.init(8, seed=0), 2
)
WEIGHTS = np.asarray(_WEIGHTS)  # (num_heads=2, T_q=10, T_k=10)
RUNNING = "heads-running"

HOSTILE_ID = "hostile"
HOSTILE_TOKENS = ["<script>alert(1)</script>", "</script><b>bold</b>", "a & b \"q\" 'q'"]
HOSTILE_KEYS = [
    "<img src=x onerror=alert(2)>",
    "<!-- x",
    "]]> \u2028 y",
    "<style>body{display:none}</style>",
]
HOSTILE_HEADS = ["<i>H0</i>", "Head & 1"]
HOSTILE_CAPTION = "<a href=https://example.com>caption</a> & more"
HOSTILE_WEIGHTS = np.random.default_rng(7).dirichlet(np.ones(4), size=(2, 3))  # (2, 3, 4)
HOSTILE_WEIGHTS[1, 2] = 0.0  # a fully masked query

PYDATA_CSS = None
_spec = importlib.util.find_spec("pydata_sphinx_theme")
if _spec is not None and _spec.origin:
    _candidate = (
        Path(_spec.origin).parent
        / "theme/pydata_sphinx_theme/static/styles/pydata-sphinx-theme.css"
    )
    PYDATA_CSS = _candidate if _candidate.is_file() else None

MODULE = '<script type="module" src="_static/mha_explorer.js"></script>\n'
STYLE = '<link rel="stylesheet" href="_static/mha_explorer.css">\n'
THEME = f'<link rel="stylesheet" href="_static/styles/{PYDATA_CSS.name}">\n' if PYDATA_CSS else ""


def lesson_page(body: str, module: str = MODULE) -> str:
    body = "<p>Some lesson text before the explorer.</p>\n" + body
    return site_page("Lesson 07: Multiple heads", body, head=THEME + STYLE + module, theme="light")


# --- what the readout must say, computed here from the weights ---------------------------------


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def labels(tokens):
    return [
        f"{t} ({ordinal(i + 1)} token)" if tokens.count(t) > 1 else t for i, t in enumerate(tokens)
    ]


def expected_sentence(weights, tokens, keys, head_names, head, query):
    row3 = [round(float(w), 3) for w in weights[head, query]]
    best = sorted((j for j in range(len(row3)) if row3[j] > 0), key=lambda j: (-row3[j], j))[:3]
    who = f"{head_names[head]}: {labels(tokens)[query]}"
    if not best:
        return f"{who} attends to no token (all its weights are 0)."
    shown = ", ".join(f"{labels(keys)[j]} {float(weights[head, query, j]):.2f}" for j in best)
    return f"{who} attends most to: {shown}."


def running_sentence(head, query):
    return expected_sentence(WEIGHTS, TOKENS, TOKENS, ["Head 0", "Head 1"], head, query)


def hostile_sentence(head, query):
    return expected_sentence(
        HOSTILE_WEIGHTS, HOSTILE_TOKENS, HOSTILE_KEYS, HOSTILE_HEADS, head, query
    )


def test_expected_readouts_make_sense():
    # The Python side of the contract, checked on numbers printed in the lesson.
    assert running_sentence(0, 3) == (
        "Head 0: fox attends most to: brown 0.47, quick 0.19, fox 0.12."
    )
    assert running_sentence(1, 0) == (  # 0.1549...: 0.15, as numpy prints it
        "Head 1: the (1st token) attends most to: lazy 0.26, . 0.15, jumps 0.14."
    )
    assert hostile_sentence(1, 2) == (
        "Head & 1: a & b \"q\" 'q' attends to no token (all its weights are 0)."
    )


# --- the site ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(serve_site):
    running = render_explorer_html(TOKENS, WEIGHTS, explorer_id=RUNNING)
    hostile = render_explorer_html(
        HOSTILE_TOKENS,
        HOSTILE_WEIGHTS,
        explorer_id=HOSTILE_ID,
        key_tokens=HOSTILE_KEYS,
        head_names=HOSTILE_HEADS,
        caption=HOSTILE_CAPTION,
    )
    body = (
        '<div class="cell_output docutils container"><div class="output text_html">\n'
        f"{running}</div></div>\n<p>Text between the explorers.</p>\n{hostile}"
    )
    pages = {
        "index.html": lesson_page(body),
        "bare.html": lesson_page(body, module=""),
        "empty.html": lesson_page("<p>No explorer here; the widget test mounts one.</p>\n"),
    }
    assets = {f"_static/{n}": STATIC_DIR / n for n in ("mha_explorer.js", "mha_explorer.css")}
    if PYDATA_CSS:
        assets[f"_static/styles/{PYDATA_CSS.name}"] = PYDATA_CSS
    return {"url": serve_site(pages, assets), "running_html": running}


def open_page(page, name="index.html"):
    page.goto(f"{page.site['url']}/{name}")
    for explorer_id in (RUNNING, HOSTILE_ID):
        expect(explorer(page, explorer_id)).to_have_attribute("data-hydrated", "true")


def explorer(page, explorer_id=RUNNING):
    return page.locator(f'[data-mha-explorer="{explorer_id}"]')


def readout(page, explorer_id=RUNNING):
    return explorer(page, explorer_id).locator(".mha-explorer-readout")


def head_button(page, name, explorer_id=RUNNING):
    return explorer(page, explorer_id).get_by_role("button", name=name, exact=True)


def token_button(page, index, explorer_id=RUNNING):
    return explorer(page, explorer_id).locator(f'.mha-explorer-token[data-index="{index}"]')


def focused(page):
    return page.evaluate(
        """() => {
            const a = document.activeElement;
            const root = a && a.closest('[data-mha-explorer]');
            return {tag: a.tagName, text: a.textContent, cls: a.className || '',
                    index: a.dataset ? (a.dataset.index ?? null) : null,
                    explorer: root ? root.dataset.mhaExplorer : null,
                    pressed: a.getAttribute('aria-pressed')};
        }"""
    )


def table_texts(scope):
    """Each table as [header row, body rows...] of cell texts."""
    return scope.locator("table.mha-explorer-table").evaluate_all(
        """tables => tables.map(t => Array.from(t.rows,
               r => Array.from(r.cells, c => c.textContent)))"""
    )


def expected_table(weights, tokens, keys):
    return [
        [["query \u2193 key \u2192", *keys]]
        + [[tokens[q]] + [f"{float(w):.2f}" for w in weights[h, q]] for q in range(len(tokens))]
        for h in range(weights.shape[0])
    ]


# --- tests -------------------------------------------------------------------------------------


def test_tables_without_javascript(new_page, site):
    pg = new_page(viewport={"width": 1100, "height": 900}, java_script_enabled=False)
    pg.goto(f"{site['url']}/index.html")
    running = explorer(pg)
    expect(running.locator(".mha-explorer-caption")).to_have_text(
        "Attention weights of 2 heads for the tokens: the quick brown fox jumps over "
        "the lazy dog ."
    )
    tables = running.locator("table.mha-explorer-table")
    expect(tables).to_have_count(2)
    for h in range(2):
        expect(tables.nth(h).locator("caption")).to_have_text(
            f"Head {h}: attention weights, rows = queries (attending token), columns = keys"
        )
        expect(tables.nth(h)).to_be_visible()
    assert table_texts(running) == expected_table(WEIGHTS, TOKENS, TOKENS)
    assert running.locator('th[scope="col"]').count() == 2 * 11
    assert running.locator('th[scope="row"]').count() == 2 * 10
    hostile = explorer(pg, HOSTILE_ID)
    assert table_texts(hostile) == expected_table(HOSTILE_WEIGHTS, HOSTILE_TOKENS, HOSTILE_KEYS)
    # Nothing was enhanced, nothing is hidden.
    assert pg.locator("[data-hydrated]").count() == 0
    assert pg.locator(".mha-explorer-ui, details").count() == 0
    expect(hostile.locator(".mha-explorer-caption")).to_have_text(HOSTILE_CAPTION)


def test_keyboard_only(page):
    open_page(page)
    visited = []
    for _ in range(20):
        page.keyboard.press("Tab")
        state = focused(page)
        visited.append(state)
        if state["explorer"] == RUNNING and "mha-explorer-token" in state["cls"]:
            break
    # Tab reached the head selector first, then the tokens: the first token, "the".
    heads = [s["text"] for s in visited if "mha-explorer-head" in s["cls"]]
    assert heads == ["Head 0", "Head 1", "All heads side by side"]
    assert visited[-1]["index"] == "0" and visited[-1]["text"] == "the"
    expect(readout(page)).to_have_text(running_sentence(0, 0))
    expect(readout(page)).to_have_attribute("aria-live", "polite")

    # The arrow keys move focus between tokens; only the active token is a Tab stop.
    page.keyboard.press("ArrowRight")
    assert focused(page)["index"] == "1"
    expect(readout(page)).to_have_text(running_sentence(0, 1))
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert focused(page)["text"] == "fox"
    expect(readout(page)).to_have_text(
        "Head 0: fox attends most to: brown 0.47, quick 0.19, fox 0.12."
    )
    tabbable = explorer(page).locator('.mha-explorer-token[tabindex="0"]')
    expect(tabbable).to_have_count(1)
    expect(tabbable).to_have_text("fox")
    expect(token_button(page, 3)).to_have_attribute("aria-current", "true")
    page.keyboard.press("End")
    assert focused(page)["index"] == "9"
    expect(readout(page)).to_have_text(running_sentence(0, 9))
    page.keyboard.press("ArrowRight")  # stays on the last token
    assert focused(page)["index"] == "9"
    page.keyboard.press("Home")
    page.keyboard.press("ArrowLeft")  # stays on the first token
    assert focused(page)["index"] == "0"
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert focused(page)["text"] == "fox"

    # The focus ring is visible (an outline, not just a colour change).
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert ring[0] == "solid" and ring[1] >= 2

    # Shift+Tab back to the head selector; Enter picks head 1: the readout changes.
    page.keyboard.press("Shift+Tab")
    assert focused(page)["text"] == "All heads side by side"
    page.keyboard.press("Shift+Tab")
    assert focused(page)["text"] == "Head 1"
    page.keyboard.press("Enter")
    expect(head_button(page, "Head 1")).to_have_attribute("aria-pressed", "true")
    expect(head_button(page, "Head 0")).to_have_attribute("aria-pressed", "false")
    expect(readout(page)).to_have_text(running_sentence(1, 3))
    assert running_sentence(1, 3) != running_sentence(0, 3)
    panels = explorer(page).locator(".mha-explorer-panel")
    expect(panels).to_have_count(1)
    expect(panels.first.locator(".mha-explorer-panel-title")).to_have_text("Head 1: fox attends to")

    # Side by side: Space on the third button; both heads in the readout and in panels.
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(head_button(page, "All heads side by side")).to_have_attribute("aria-pressed", "true")
    expect(readout(page)).to_have_text(f"{running_sentence(0, 3)} {running_sentence(1, 3)}")
    expect(panels).to_have_count(2)
    for h in range(2):
        panel = panels.nth(h)
        expect(panel.locator(".mha-explorer-panel-title")).to_have_text(f"Head {h}: fox attends to")
        assert panel.locator(".mha-explorer-key").all_text_contents() == TOKENS
        assert panel.locator(".mha-explorer-value").all_text_contents() == [
            f"{float(w):.2f}" for w in WEIGHTS[h, 3]
        ]
    boxes = [panels.nth(h).bounding_box() for h in range(2)]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 1 and boxes[1]["x"] > boxes[0]["x"]

    # Back into the tokens (on "fox"), move, and leave: no keyboard trap.
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "fox"
    page.keyboard.press("ArrowLeft")
    expect(readout(page)).to_have_text(f"{running_sentence(0, 2)} {running_sentence(1, 2)}")
    page.keyboard.press("Tab")
    state = focused(page)
    assert state["tag"] == "SUMMARY" and state["text"] == "Show the tables of weights"
    details = explorer(page).locator("details.mha-explorer-details")
    expect(details.locator("table").first).to_be_hidden()
    page.keyboard.press("Enter")
    expect(details).to_have_attribute("open", "")
    expect(details.locator("table")).to_have_count(2)
    expect(details.locator("table").first).to_be_visible()
    assert table_texts(explorer(page)) == expected_table(WEIGHTS, TOKENS, TOKENS)
    for _ in range(3):
        page.keyboard.press("Tab")
    assert focused(page)["explorer"] == HOSTILE_ID


def test_hover_shows_whom_a_token_attends_to(page):
    open_page(page)
    token_button(page, 8).hover()
    expect(readout(page)).to_have_text(running_sentence(0, 8))
    expect(token_button(page, 8)).to_have_attribute("aria-current", "true")
    # The other tokens are shaded by head 0's weights from "dog".
    shades = (
        explorer(page)
        .locator(".mha-explorer-token")
        .evaluate_all("els => els.map(e => e.style.getPropertyValue('--w'))")
    )
    assert [float(s) for s in shades] == [round(float(w), 3) for w in WEIGHTS[0, 8]]
    # Leaving the tokens shows the selected token again (the first, never changed).
    page.mouse.move(1, 1)
    expect(readout(page)).to_have_text(running_sentence(0, 0))
    expect(token_button(page, 0)).to_have_attribute("aria-current", "true")
    head_button(page, "Head 1").click()
    expect(readout(page)).to_have_text(running_sentence(1, 0))
    token_button(page, 5).hover()
    expect(readout(page)).to_have_text(running_sentence(1, 5))
    ranks = explorer(page).locator(".mha-explorer-bars li[data-rank]")
    expect(ranks).to_have_count(3)
    top = int(np.argmax(WEIGHTS[1, 5]))
    expect(explorer(page).locator('li[data-rank="1"] .mha-explorer-key')).to_have_text(TOKENS[top])
    widths = (
        explorer(page)
        .locator(".mha-explorer-fill")
        .evaluate_all("els => els.map(e => parseFloat(e.style.width))")
    )
    assert widths == pytest.approx([100 * round(float(w), 3) for w in WEIGHTS[1, 5]])
    # Hovering did not steal the focus.
    assert focused(page)["text"] == "Head 1"
    # A click selects; the keyboard then wins over a mouse resting on another token.
    token_button(page, 1).click()
    expect(readout(page)).to_have_text(running_sentence(1, 1))
    token_button(page, 7).hover()
    expect(readout(page)).to_have_text(running_sentence(1, 7))
    page.keyboard.press("ArrowRight")  # focus is on "quick" (clicked)
    assert focused(page)["text"] == "brown"
    expect(readout(page)).to_have_text(running_sentence(1, 2))
    expect(explorer(page).locator('.mha-explorer-token[tabindex="0"]')).to_have_text("brown")


def test_hostile_tokens_are_text_and_cross_attention_works(page):
    open_page(page)
    hostile = explorer(page, HOSTILE_ID)
    expect(hostile.locator(".mha-explorer-caption")).to_have_text(HOSTILE_CAPTION)
    assert hostile.locator(".mha-explorer-token").all_text_contents() == HOSTILE_TOKENS
    assert hostile.locator(".mha-explorer-head").all_text_contents() == [
        *HOSTILE_HEADS,
        "All heads side by side",
    ]
    expect(readout(page, HOSTILE_ID)).to_have_text(hostile_sentence(0, 0))
    token_button(page, 2, HOSTILE_ID).click()
    expect(readout(page, HOSTILE_ID)).to_have_text(hostile_sentence(0, 2))
    head_button(page, "Head & 1", HOSTILE_ID).click()
    expect(readout(page, HOSTILE_ID)).to_have_text(hostile_sentence(1, 2))
    expect(hostile.locator(".mha-explorer-bars li[data-rank]")).to_have_count(0)
    head_button(page, "All heads side by side", HOSTILE_ID).click()
    expect(readout(page, HOSTILE_ID)).to_have_text(
        f"{hostile_sentence(0, 2)} {hostile_sentence(1, 2)}"
    )
    assert (
        hostile.locator(".mha-explorer-panel")
        .first.locator(".mha-explorer-key")
        .all_text_contents()
        == HOSTILE_KEYS
    )
    # Cross-attention: the query tokens are not shaded (they are not the keys).
    shades = hostile.locator(".mha-explorer-token").evaluate_all(
        "els => els.map(e => e.style.getPropertyValue('--w'))"
    )
    assert shades == ["0", "0", "0"]
    assert injected_markup(page, ".mha-explorer", ".mha-explorer-data") == 0
    assert page.evaluate("() => document.scripts.length") == 4  # the module, the page's interface strings, two data blocks
    expect(page.locator("body")).to_be_visible()


def test_explorers_are_independent(page):
    open_page(page)
    token_button(page, 4).click()
    head_button(page, "Head 1").click()
    expect(readout(page)).to_have_text(running_sentence(1, 4))
    expect(readout(page, HOSTILE_ID)).to_have_text(hostile_sentence(0, 0))
    expect(head_button(page, HOSTILE_HEADS[0], HOSTILE_ID)).to_have_attribute(
        "aria-pressed", "true"
    )
    ids = page.evaluate("() => Array.from(document.querySelectorAll('[id]'), e => e.id)")
    assert len(ids) == len(set(ids))


def test_hydration_is_idempotent(page):
    open_page(page)
    token_button(page, 3).click()
    before = explorer(page).inner_html()
    page.evaluate(
        "async () => { const m = await import('/_static/mha_explorer.js');"
        " m.hydrate(document); m.hydrate(document.querySelector('[data-mha-explorer]')); }"
    )
    assert explorer(page).inner_html() == before
    for explorer_id in (RUNNING, HOSTILE_ID):
        expect(explorer(page, explorer_id).locator(".mha-explorer-ui")).to_have_count(1)
        expect(explorer(page, explorer_id).locator("details")).to_have_count(1)
    # One listener per button: a click still yields exactly one readout sentence.
    head_button(page, "Head 1").click()
    expect(readout(page)).to_have_text(running_sentence(1, 3))


def test_module_leaks_no_globals(page):
    assert globals_changed(page, f"{page.site['url']}/bare.html", open_page) == set()


def test_anywidget_render_entry_point(page, render_as_anywidget):
    """The module's default export works as an anywidget front-end (model.get('html'))."""
    page.goto(f"{page.site['url']}/empty.html")
    render_as_anywidget(page, "/_static/mha_explorer.js", page.site["running_html"], "article")
    view = page.locator(f'.widget-view [data-mha-explorer="{RUNNING}"]')
    expect(view).to_have_attribute("data-hydrated", "true")
    view.locator('.mha-explorer-token[data-index="3"]').click()
    expect(view.locator(".mha-explorer-readout")).to_have_text(running_sentence(0, 3))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshot(page, screenshots, theme):
    page.emulate_media(color_scheme=theme)
    open_page(page)
    page.evaluate(f"() => {{ document.documentElement.dataset.theme = '{theme}'; }}")
    # The running example: one head, "fox" focused by keyboard (shading in the sentence,
    # focus ring). The hostile one: heads side by side, tables open.
    hostile = explorer(page, HOSTILE_ID)
    head_button(page, "All heads side by side", HOSTILE_ID).click()
    token_button(page, 1, HOSTILE_ID).click()
    hostile.locator("summary").click()
    token_button(page, 2).click()
    page.mouse.move(1, 1)  # a resting mouse would preview the token under it
    page.keyboard.press("ArrowRight")
    expect(readout(page)).to_have_text(running_sentence(0, 3))
    expect(readout(page, HOSTILE_ID)).to_have_text(
        f"{hostile_sentence(0, 1)} {hostile_sentence(1, 1)}"
    )
    path = screenshots / f"explorer_{theme}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    # Text stays readable: the explorer inherits the text colour of where it is shown.
    colours = page.evaluate(
        """() => {
            const c = (sel) => getComputedStyle(document.querySelector(sel)).color;
            return [c('[data-mha-explorer="hostile"]'), c('body'),
                    c('[data-mha-explorer="hostile"] .mha-explorer-readout'),
                    c('[data-mha-explorer="hostile"] td'),
                    c('[data-mha-explorer="heads-running"]'),
                    c('[data-mha-explorer="heads-running"] .mha-explorer-value'),
                    c('.text_html')];
        }"""
    )
    assert colours[0] == colours[1] == colours[2] == colours[3]
    assert colours[4] == colours[5] == colours[6]
