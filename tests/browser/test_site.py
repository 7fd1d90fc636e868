"""The built site in a real Chromium, with every host but 127.0.0.1 blocked.

For each lesson: the page loads with no console error and no request elsewhere, its figures have
loaded and carry alt text, and every quiz question is answered wrong, then right, through the
DOM contract (data-question-id, fieldset/legend, inputs by bank index, "Check", data-state).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course import QUIZZES, REPO, lesson_paths, toc_files

LESSONS = [p.stem for p in lesson_paths()]
PAGES = toc_files()


def _bank(stem):
    return yaml.safe_load((QUIZZES / f"{stem}.yml").read_text(encoding="utf-8"))


def _answer(page, question, right: bool):
    box = page.locator(f'[data-question-id="{question["id"]}"]')
    kind = question["type"]
    if kind in ("single", "multiple"):
        if kind == "multiple":
            for checkbox in box.locator("input[type=checkbox]").all():
                checkbox.uncheck()
        options = question["options"]
        if kind == "single":
            wanted = [i for i, o in enumerate(options) if o["correct"] == right][:1]
        elif right:
            wanted = [i for i, o in enumerate(options) if o["correct"]]
        else:
            wanted = [i for i, o in enumerate(options) if not o["correct"]][:1]
        for index in wanted:
            box.locator(f'input[value="{index}"]').check()
    else:
        answer = question["answer"]
        if kind == "shape":
            dims = answer if right else [d + 1 for d in answer]
            text = "(" + ", ".join(str(d) for d in dims) + ")"
        else:
            text = repr(answer if right else answer * 2 + 7)
        box.locator('input[type="text"]').fill(text)
    box.get_by_role("button", name="Check").click()
    feedback = box.locator('[aria-live="polite"]')
    expected = "correct" if right else "incorrect"
    feedback.and_(page.locator(f'[data-state="{expected}"]')).wait_for(timeout=3000)
    return feedback


@pytest.mark.parametrize("stem", LESSONS)
def test_lesson_quiz_wrong_then_right(offline_page, site_url, screenshots, stem):
    page = offline_page
    page.goto(f"{site_url}/notebooks/{stem}.html", wait_until="networkidle")
    questions = _bank(stem)
    assert page.locator("[data-question-id]").count() == len(questions)
    for question in questions:
        box = page.locator(f'[data-question-id="{question["id"]}"]')
        assert box.locator("fieldset legend").inner_text().strip()
        feedback = _answer(page, question, right=False)
        assert feedback.inner_text().strip()
        feedback = _answer(page, question, right=True)
        assert feedback.inner_text().strip()
    page.locator(".mha-quiz").first.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / f"{stem}.png"), full_page=True)
    page.locator(".mha-quiz").first.screenshot(path=str(screenshots / f"{stem}-quiz.png"))
    page.log.assert_clean()


@pytest.mark.parametrize("stem", LESSONS)
def test_lesson_figures_load_with_alt_text(offline_page, site_url, stem):
    page = offline_page
    page.goto(f"{site_url}/notebooks/{stem}.html", wait_until="networkidle")
    images = page.locator("main img")
    assert images.count() >= 1, "every lesson has at least one figure"
    for image in images.all():
        image.scroll_into_view_if_needed()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0"), "image not loaded"
        assert len(image.get_attribute("alt") or "") >= 40, "figure without real alt text"
    page.log.assert_clean()


@pytest.mark.parametrize("stem", LESSONS)
def test_lesson_notebook_can_be_downloaded(offline_page, site_url, stem):
    page = offline_page
    page.goto(f"{site_url}/notebooks/{stem}.html", wait_until="networkidle")
    link = page.locator(f'a[href$="{stem}.ipynb"]')
    assert link.count() >= 1, "the download button offers the .ipynb"
    response = page.request.get(f"{site_url}/notebooks/{link.first.get_attribute('href')}")
    assert response.ok
    assert response.json()["cells"], "the download is the notebook itself"
    page.log.assert_clean()


@pytest.mark.parametrize("doc", PAGES)
def test_page_renders_offline(offline_page, site_url, screenshots, doc):
    page = offline_page
    path = f"{doc}.html"
    page.goto(f"{site_url}/{path}", wait_until="networkidle")
    text = page.locator("main").inner_text()
    assert len(text) > 300, f"{path} renders almost nothing"
    assert "$$" not in text and "\\frac" not in text, f"{path}: math left unrendered"
    source = next(p for p in (REPO / f"{doc}.md", REPO / f"{doc}.ipynb") if p.exists())
    if "$" in source.read_text(encoding="utf-8"):
        # Math is MathML made at build time: drawn by the browser, no script, no network.
        # (Some math sits in closed dropdowns, so count the visible formulas.)
        visible = page.locator("main math").evaluate_all(
            "nodes => nodes.filter(n => n.getBoundingClientRect().width > 0).length"
        )
        assert visible > 0, f"{path}: no rendered math is visible"
    page.screenshot(path=str(screenshots / f"page-{doc.replace('/', '-')}.png"))
    page.log.assert_clean()
