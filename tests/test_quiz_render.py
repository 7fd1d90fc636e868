"""Quiz markup (the DOM contract), escaping, determinism, and the widget's mimebundle."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from course import REPO, python_output
from html_tree import parse
from mha_lib.quiz import (
    BankError,
    QuizWidget,
    load_all_banks,
    load_bank,
    render_quiz_html,
    show_quiz,
)
from mha_lib.quiz import widget as widget_module

PACKAGE = REPO / "mha_lib" / "quiz"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

HOSTILE = [
    {
        "id": "hostile-single",
        "type": "single",
        "prompt": "Pick <script>alert(1)</script> & `<b>code</b>` \"quoted\" 'single'",
        "options": [
            {
                "text": "<script>alert(1)</script>",
                "correct": False,
                "explain": "Nope </script><script>alert(2)</script> <!-- comment",
            },
            {
                "text": "<img src=x onerror=alert(3)>",
                "correct": True,
                "explain": "Yes `</script>` ]]> \u2028 line",
            },
        ],
        "explain": "Overall </SCRIPT > text",
    },
    {
        "id": "hostile-shape",
        "type": "shape",
        "prompt": "Shape? <style>body{display:none}</style>",
        "answer": [5],
        "explain": "</script><!-- (5,) -->",
    },
]


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lesson():
    return load_bank("01_input_vectors")


@pytest.fixture(scope="module")
def lesson_html(lesson):
    return render_quiz_html(lesson, "01_input_vectors")


@pytest.fixture(scope="module")
def dom(lesson_html):
    return parse(lesson_html)


# --- determinism --------------------------------------------------------------------------------


def test_render_is_deterministic(lesson, lesson_html):
    assert render_quiz_html(lesson, "01_input_vectors") == lesson_html
    assert render_quiz_html(load_bank("01_input_vectors"), "01_input_vectors") == lesson_html


def test_render_is_identical_across_processes(lesson_html):
    # mha_lib is loaded as a bare namespace package, so this also proves that mha_lib.quiz
    # stands on its own (no import of the rest of the library, no torch).
    code = (
        "import sys, types; pkg = types.ModuleType('mha_lib'); pkg.__path__ = ['mha_lib'];"
        "sys.modules['mha_lib'] = pkg;"
        "from mha_lib.quiz import load_bank, render_quiz_html;"
        "assert 'torch' not in sys.modules and 'ipywidgets' not in sys.modules;"
        "sys.stdout.write(render_quiz_html(load_bank('01_input_vectors'), '01_input_vectors'))"
    )
    assert python_output(code, seeds=("0", "12345")) == lesson_html


def test_render_has_no_random_or_time_dependent_parts(lesson_html):
    assert "0x" not in lesson_html
    assert "uuid" not in lesson_html.lower()


def test_render_validates_the_bank(lesson):
    bad = [dict(lesson[0], options=[dict(o, correct=False) for o in lesson[0]["options"]])]
    with pytest.raises(BankError, match="inputs-repeated-the-rows"):
        render_quiz_html(bad, "broken")


# --- the DOM contract ---------------------------------------------------------------------------


def test_wrapper_and_title(dom, lesson):
    wrappers = dom.find_all("div", data_mha_quiz=True)
    assert len(wrappers) == 1
    wrapper = wrappers[0]
    assert wrapper.attrs["class"] == "mha-quiz"
    assert wrapper.attrs["data-mha-quiz"] == "01_input_vectors"
    title = wrapper.find("p", class_="mha-quiz-title")
    assert title is not None
    assert title.find("strong").text == "Check your understanding"
    assert title.text == f"Check your understanding ({len(lesson)} questions)"
    assert not [n for n in dom.iter() if n.tag in {"h1", "h2", "h3", "h4", "h5", "h6"}]


def test_singular_title():
    html = render_quiz_html(HOSTILE[1:], "one")
    assert "(1 question)</p>" in html


def test_every_question_follows_the_contract(dom, lesson):
    wrapper = dom.find("div", data_mha_quiz=True)
    questions = wrapper.find_all(data_question_id=True)
    assert [q.attrs["data-question-id"] for q in questions] == [q["id"] for q in lesson]
    for number, (node, question) in enumerate(zip(questions, lesson, strict=True), start=1):
        qid = question["id"]
        assert node.attrs["data-type"] == question["type"]
        fieldsets = node.find_all("fieldset")
        assert len(fieldsets) == 1
        legend = fieldsets[0].find("legend")
        assert legend is not None and fieldsets[0].children.count(legend) == 1
        assert legend.text.startswith(f"Question {number} of {len(lesson)}. ")
        assert " ".join(legend.text.split()).endswith(
            " ".join(question["prompt"].replace("`", "").split())
        )
        buttons = node.find_all("button")
        assert len(buttons) == 1
        assert buttons[0].attrs["type"] == "button" and buttons[0].text == "Check"
        feedback = [n for n in node.iter() if "aria-live" in n.attrs]
        assert len(feedback) == 1
        assert feedback[0].attrs["aria-live"] == "polite"
        assert "mha-quiz-feedback" in feedback[0].classes()
        assert "data-state" not in feedback[0].attrs and feedback[0].text == ""
        labels = {n.attrs["for"]: n for n in node.find_all("label")}
        inputs = node.find_all("input")
        if question["type"] in ("single", "multiple"):
            kind = "radio" if question["type"] == "single" else "checkbox"
            assert [i.attrs["type"] for i in inputs] == [kind] * len(question["options"])
            assert [i.attrs["value"] for i in inputs] == [
                str(k) for k in range(len(question["options"]))
            ]
            assert [i.attrs["id"] for i in inputs] == [
                f"mhaq-{qid}-{k}" for k in range(len(question["options"]))
            ]
            assert {i.attrs["name"] for i in inputs} == {f"mhaq-{qid}"}
            for k, (i, option) in enumerate(zip(inputs, question["options"], strict=True)):
                label = labels[i.attrs["id"]]
                # The exact text, whitespace collapsed, each `span` as a <code> with its text.
                shown = " ".join(option["text"].split())
                assert label.text == shown.replace("`", "")
                assert [c.text for c in label.find_all("code")] == re.findall(r"`([^`]+)`", shown)
                assert i.attrs["value"] == str(k)
        else:
            assert len(inputs) == 1
            (box,) = inputs
            assert box.attrs["type"] == "text" and box.attrs["autocomplete"] == "off"
            assert box.attrs["id"] == f"mhaq-{qid}-answer"
            assert box.attrs["id"] in labels
            hint = node.find(id=box.attrs["aria-describedby"])
            assert hint is not None
            if question["type"] == "shape":
                assert "(2, 3)" in hint.text


def test_backticks_become_code(dom):
    legend = dom.find(data_question_id="inputs-repeated-the-rows").find("legend")
    assert [c.text for c in legend.find_all("code")] == ["X", "the"]


def test_ids_are_unique_and_labels_point_at_inputs(dom):
    ids = [n.attrs["id"] for n in dom.iter() if "id" in n.attrs]
    assert len(ids) == len(set(ids))
    by_id = {n.attrs["id"]: n for n in dom.iter() if "id" in n.attrs}
    for label in dom.find_all("label"):
        assert by_id[label.attrs["for"]].tag == "input"


def test_answer_key_is_complete(dom, lesson):
    scripts = dom.find_all("script")
    assert len(scripts) == 1
    script = scripts[0]
    assert script.attrs == {"type": "application/json", "class": "mha-quiz-key"}
    assert script.parent.attrs.get("data-mha-quiz") == "01_input_vectors"
    key = json.loads(script.text)["questions"]
    assert list(key) == sorted(q["id"] for q in lesson)
    for question in lesson:
        entry = key[question["id"]]
        assert entry["type"] == question["type"]
        if question["type"] in ("single", "multiple"):
            assert [o["correct"] for o in entry["options"]] == [
                o["correct"] for o in question["options"]
            ]
            assert all(o["explain"] for o in entry["options"])
        else:
            assert entry["answer"] == question["answer"]
            assert entry["explain"]
        if question["type"] == "numeric":
            assert entry["tolerance"] == expected_tolerance(question)


def expected_tolerance(question):
    """The bank's tolerance, or the documented default 1e-9 * max(1, |answer|)."""
    if "tolerance" in question:
        return question["tolerance"]
    return 1e-9 * max(1.0, abs(question["answer"]))


def test_every_numeric_key_carries_the_real_tolerance():
    numeric = [
        (stem, q) for stem, qs in load_all_banks().items() for q in qs if q["type"] == "numeric"
    ]
    assert numeric
    for stem, question in numeric:
        root = parse(render_quiz_html([question], stem))
        entry = json.loads(root.find("script").text)["questions"][question["id"]]
        assert entry["tolerance"] == expected_tolerance(question), question["id"]


@pytest.mark.parametrize(
    ("answer", "tolerance"), [(2e6, 2e-3), (-300, 3e-7), (1, 1e-9), (0.5, 1e-9), (0, 1e-9)]
)
def test_numeric_default_tolerance_is_tiny_and_relative_with_a_floor(answer, tolerance):
    bank = [{"id": "n", "type": "numeric", "prompt": "p", "answer": answer, "explain": "e"}]
    root = parse(render_quiz_html(bank, "n"))
    entry = json.loads(root.find("script").text)["questions"]["n"]
    assert entry["tolerance"] == pytest.approx(tolerance, rel=1e-12)


FEEDBACK = [
    {
        "id": "fb-numeric",
        "type": "numeric",
        "prompt": "How many times as many scores for 3 times the tokens?",
        "answer": 9,
        "tolerance": 0,
        "explain": "3 × 3 = 9.",
        "feedback": [
            {"answer": 3, "text": "Linear? Every query meets `every` key <b>."},
            {"answer": 6, "tolerance": 0.5, "text": "Not doubled & not </script>."},
        ],
    },
    {
        "id": "fb-default",
        "type": "numeric",
        "prompt": "Half?",
        "answer": 0.5,
        "explain": "0.5.",
        "feedback": [{"answer": 2, "text": "Upside down."}],
    },
    {
        "id": "fb-shape",
        "type": "shape",
        "prompt": "Shape?",
        "answer": [10, 8],
        "explain": "(10, 8).",
        "feedback": [{"answer": [8, 10], "text": "Swapped."}],
    },
]


def test_feedback_is_in_the_answer_key_in_bank_order():
    html = render_quiz_html(FEEDBACK, "fb")
    assert render_quiz_html(FEEDBACK, "fb") == html
    key = json.loads(parse(html).find("script").text)["questions"]
    assert key["fb-numeric"]["feedback"] == [
        {"answer": 3, "tolerance": 0, "text": "Linear? Every query meets <code>every</code> key &lt;b&gt;."},
        {"answer": 6, "tolerance": 0.5, "text": "Not doubled &amp; not &lt;/script&gt;."},
    ]
    # Without its own tolerance, a feedback answer is matched like the question's answer.
    assert key["fb-default"]["feedback"] == [{"answer": 2, "tolerance": 1e-9, "text": "Upside down."}]
    assert key["fb-shape"]["feedback"] == [{"answer": [8, 10], "text": "Swapped."}]
    assert "</script>." not in html  # the feedback text cannot close the key's script


def test_questions_without_feedback_have_no_feedback_in_the_key():
    key = json.loads(parse(render_quiz_html(HOSTILE, "h")).find("script").text)["questions"]
    assert all("feedback" not in entry for entry in key.values())


def test_the_live_widget_carries_the_same_feedback():
    w = QuizWidget(questions=FEEDBACK, quiz_id="fb")
    assert w.html == render_quiz_html(FEEDBACK, "fb")
    assert '"feedback":[{"answer":[8,10],"text":"Swapped."}]' in w.html
    w.close()


# --- escaping ----------------------------------------------------------------------------------


def test_hostile_text_is_escaped():
    html = render_quiz_html(HOSTILE, "hostile")
    assert "<script>alert" not in html
    assert "<img" not in html and "<style" not in html and "<b>" not in html
    root = parse(html)
    assert {n.tag for n in root.iter()} <= {
        "div",
        "p",
        "strong",
        "span",
        "fieldset",
        "legend",
        "input",
        "label",
        "button",
        "script",
        "code",
    }
    legend = root.find(data_question_id="hostile-single").find("legend")
    assert "Pick <script>alert(1)</script> & <b>code</b> \"quoted\" 'single'" in legend.text
    assert legend.find("code").text == "<b>code</b>"
    labels = [n.text for n in root.find(data_question_id="hostile-single").find_all("label")]
    assert labels == ["<script>alert(1)</script>", "<img src=x onerror=alert(3)>"]


def test_script_end_tag_in_key_cannot_break_out():
    html = render_quiz_html(HOSTILE, "hostile")
    start = html.index('<script type="application/json" class="mha-quiz-key">')
    body_start = html.index(">", start) + 1
    body_end = html.index("</script>", body_start)
    body = html[body_start:body_end]
    # The first "</script>" after the key's opening tag is the key's own end tag.
    assert html[body_end:] == "</script>\n</div>\n"
    assert "<" not in body and ">" not in body and "\u2028" not in body
    key = json.loads(body)["questions"]
    assert (
        "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;"
        in key["hostile-single"]["options"][0]["explain"]
    )
    assert key["hostile-single"]["options"][1]["explain"].startswith("Yes <code>&lt;/script&gt;")
    assert key["hostile-single"]["explain"] == "Overall &lt;/SCRIPT &gt; text"
    assert key["hostile-shape"]["answer"] == [5]


def test_quiz_id_is_escaped():
    html = render_quiz_html(HOSTILE[1:], 'x" onmouseover="alert(1)')
    root = parse(html)
    assert root.find("div", class_="mha-quiz").attrs["data-mha-quiz"] == 'x" onmouseover="alert(1)'
    assert 'onmouseover="alert' not in html


# --- the widget ---------------------------------------------------------------------------------


def test_esm_and_css_are_package_files():
    esm = QuizWidget._esm
    css = QuizWidget._css
    assert Path(esm._path) == PACKAGE / "static" / "mha_quiz.js"
    assert Path(css._path) == PACKAGE / "static" / "mha_quiz.css"
    assert widget_module.ESM_PATH.is_file() and widget_module.CSS_PATH.is_file()
    js = widget_module.ESM_PATH.read_text(encoding="utf-8")
    assert str(esm) == js and str(css) == widget_module.CSS_PATH.read_text(encoding="utf-8")
    assert "export default" in js and "render(" in js


def test_js_has_no_console_network_or_globals():
    js = (PACKAGE / "static" / "mha_quiz.js").read_text(encoding="utf-8")
    for forbidden in ("console.", "fetch(", "XMLHttpRequest", "import(", "window.", "globalThis",
                      "eval(", "new Function", "http://", "https://",
                      "sessionStorage", "indexedDB", "cookie"):
        assert forbidden not in js, forbidden
    # Progress (issue 5): local storage is read in exactly one place, under one key.
    assert js.count("localStorage") == 1
    assert js.count('"mha-course-progress-v1"') == 1


def test_widget_traits(lesson, lesson_html):
    w = QuizWidget(questions=lesson, quiz_id="01_input_vectors")
    assert w.html == lesson_html
    assert w.quiz_id == "01_input_vectors"
    assert w.questions == lesson
    for name in ("html", "quiz_id", "questions"):
        assert w.trait_metadata(name, "sync") is True
    assert w._esm == (PACKAGE / "static" / "mha_quiz.js").read_text(encoding="utf-8")
    w.questions = HOSTILE
    assert w.html == render_quiz_html(HOSTILE, "01_input_vectors")
    w.close()


def test_widget_mimebundle(lesson_html):
    w = show_quiz("01_input_vectors")
    bundle = w._repr_mimebundle_()
    assert isinstance(bundle, tuple) and len(bundle) == 2
    data, metadata = bundle
    assert isinstance(metadata, dict)
    assert set(data) == {WIDGET_MIME, "text/html", "text/plain"}
    assert data[WIDGET_MIME]["model_id"] == w.model_id
    assert data[WIDGET_MIME]["version_major"] == 2
    assert data["text/html"] == lesson_html
    expected = (
        "Quiz 01_input_vectors: 5 questions. Run this notebook in Jupyter or open the course "
        "website to answer."
    )
    assert data["text/plain"] == expected
    assert repr(w) == expected and "0x" not in repr(w)
    other = show_quiz("01_input_vectors")
    assert other._repr_mimebundle_()[0]["text/plain"] == expected
    assert other._repr_mimebundle_()[0]["text/html"] == lesson_html
    w.close()
    other.close()


def test_show_quiz_unknown_stem():
    with pytest.raises(FileNotFoundError):
        show_quiz("99_no_such_lesson")
