"""The question banks as a course: coverage, item writing, and keys that are computed.

Quiz banks elsewhere shipped a correct option first far too often, or made it the longest;
a reader learns the position or the length instead of the idea (the browser shuffles, but
Jupyter users and the static fallback show the file's order). Every misconception in
DESIGN.md must be confronted by at least one question, and the keys of the questions that
ask for a computation are recomputed here with the library.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter

import numpy as np
import pytest

import mha_lib
from course import lesson_paths
from mha_lib import data
from mha_lib.quiz import MISCONCEPTIONS, load_all_banks
from mha_lib.quiz.render import _inline

BANKS = load_all_banks()
QUESTIONS = {q["id"]: q for bank in BANKS.values() for q in bank}


def shown(text: str) -> str:
    """Bank text as the page shows it: rendered, tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", _inline(text)))


def singles():
    return [q for bank in BANKS.values() for q in bank if q["type"] == "single"]


def test_every_misconception_is_tagged_on_some_question():
    tagged = {n for bank in BANKS.values() for q in bank for n in q.get("misconceptions", [])}
    missing = sorted(set(MISCONCEPTIONS) - tagged)
    assert not missing, (
        "no question confronts misconception(s) "
        + "; ".join(f"{n}: {MISCONCEPTIONS[n]['title']}" for n in missing)
    )


def test_mask_polarity_and_the_head_count_are_not_asked_over_and_over():
    # The review found mask polarity examined 4 times and "the parameter count does not depend
    # on the number of heads" about 7 times; each now has its one or few questions.
    tags = Counter(n for bank in BANKS.values() for q in bank for n in q.get("misconceptions", []))
    assert tags[6] <= 2, f"mask polarity (misconception 6) in {tags[6]} questions"
    assert tags[9] <= 3, f"parameter count vs heads (misconception 9) in {tags[9]} questions"


@pytest.mark.parametrize("stem", [p.stem for p in lesson_paths()])
def test_each_lesson_has_a_varied_quiz_of_4_to_7_questions(stem):
    bank = BANKS[stem]
    kinds = Counter(q["type"] for q in bank)
    # The review lesson's quiz is cumulative, at least 10 questions across the course
    # (issue 12); tests/test_review_bank.py checks that none repeats an earlier one.
    low, high = (10, 14) if stem.endswith("_review") else (4, 7)
    assert low <= len(bank) <= high, f"{stem}: {len(bank)} questions, want {low} to {high}"
    assert kinds["numeric"] + kinds["shape"] >= 1, f"{stem}: at least one numeric or shape"
    assert kinds["single"] + kinds["multiple"] >= 1, f"{stem}: at least one choice question"


def test_every_bank_belongs_to_a_lesson():
    assert set(BANKS) == {p.stem for p in lesson_paths()}


# --- item writing ---------------------------------------------------------------------------


def _correct_positions():
    """(stem, id, position, option count) of every single-choice question's correct option."""
    for stem, bank in BANKS.items():
        for q in bank:
            if q["type"] == "single":
                position = next(i for i, o in enumerate(q["options"]) if o["correct"])
                yield stem, q["id"], position, len(q["options"])


def test_correct_options_are_spread_over_the_positions():
    positions = list(_correct_positions())
    assert len(positions) >= 8, "the course has single-choice questions"
    counts = Counter(p for _, _, p, _ in positions)
    most, count = counts.most_common(1)[0]
    assert count <= 0.4 * len(positions), (
        f"{count} of {len(positions)} single-choice answers sit at position {most}: {counts}"
    )
    shortest = min(n for *_, n in positions)
    unused = [p for p in range(shortest) if counts[p] == 0]
    assert not unused, f"no correct option at position(s) {unused}: {counts}"


@pytest.mark.parametrize("stem", sorted(BANKS))
def test_no_bank_repeats_one_correct_position(stem):
    positions = [p for s, _, p, _ in _correct_positions() if s == stem]
    if len(positions) >= 2:
        most, count = Counter(positions).most_common(1)[0]
        assert count < len(positions), f"{stem}: every correct option at position {most}"


def test_correct_option_is_rarely_the_longest():
    longest = []
    for q in singles():
        lengths = [len(shown(o["text"])) for o in q["options"]]
        right = next(i for i, o in enumerate(q["options"]) if o["correct"])
        if lengths[right] == max(lengths):
            longest.append(q["id"])
    total = len(singles())
    assert len(longest) <= total / 3, (
        f"the correct option is the longest in {len(longest)} of {total} questions: {longest}"
    )


def test_multiple_choice_questions_have_varied_numbers_of_true_options():
    counts = Counter(
        min(sum(o["correct"] for o in q["options"]), 3)
        for bank in BANKS.values()
        for q in bank
        if q["type"] == "multiple"
    )
    assert set(counts) == {1, 2, 3}, f"true options per question (3 = three or more): {counts}"


def test_shown_measures_the_rendered_text():
    assert shown("`mask & pad`, then  `~mask`") == "mask & pad, then ~mask"


# --- targeted feedback ----------------------------------------------------------------------


def test_questions_on_a_misconception_give_targeted_feedback():
    missing = [
        q["id"]
        for q in QUESTIONS.values()
        if q["type"] in ("numeric", "shape") and q.get("misconceptions") and not q.get("feedback")
    ]
    assert not missing, f"numeric/shape questions on a misconception without feedback: {missing}"


def test_quadratic_growth_answers_the_linear_guess():
    feedback = {f["answer"]: f["text"] for f in QUESTIONS["scores-quadratic-growth"]["feedback"]}
    assert QUESTIONS["scores-quadratic-growth"]["answer"] == 9 and 3 in feedback


# --- keys that are computed, recomputed ------------------------------------------------------


def test_large_logits_key():
    question = QUESTIONS["softmax-large-logits-weight"]
    weight = mha_lib.softmax(np.array([1000.0, 999.0, 997.0]))[0]
    assert math.isfinite(weight) and abs(weight - 0.70538) < 1e-5
    assert round(weight, 3) == question["answer"] and question["tolerance"] < 0.001
    assert abs(round(weight, 2) - question["answer"]) > question["tolerance"], (
        "the 2-decimal value must not pass as the 3-decimal answer"
    )
    lesson_row = mha_lib.softmax(np.array([1000.0, 999.0, 998.0]))[0]
    assert abs(lesson_row - question["answer"]) > question["tolerance"]


def test_attention_by_hand_key():
    question = QUESTIONS["weighted-output-by-hand"]
    q = np.array([[1.0, 1, 1, 1]] * 3)  # only the second token's query is asked about
    k = np.array([[1.0, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0]])
    v = np.array([[4.0], [2.0], [9.0]])
    output, weights = mha_lib.scaled_dot_product_attention(q, k, v, mask=mha_lib.causal_mask(3))
    assert np.allclose(weights[1], [0.5, 0.5, 0.0])
    assert output[1, 0] == pytest.approx(question["answer"])
    # The feedback's wrong answers are the mistakes they name.
    unmasked, _ = mha_lib.scaled_dot_product_attention(q, k, v)
    answers = {f["answer"] for f in question["feedback"]}
    assert unmasked[1, 0] == pytest.approx(5) and 5 in answers
    assert {4 + 2, 4 + 2 + 9, 2, 9} <= answers


def test_keepdims_key():
    question = QUESTIONS["softmax-keepdims-shape"]
    scores = np.zeros((2, 2, 10, 10))
    assert list(scores.max(axis=-1, keepdims=True).shape) == question["answer"]
    assert [2, 2, 10] in [f["answer"] for f in question["feedback"]]
    with pytest.raises(ValueError):
        scores - scores.max(axis=-1)  # (2, 2, 10, 10) - (2, 2, 10): what keepdims prevents


def test_cross_attention_parameter_key():
    torch = pytest.importorskip("torch")
    question = QUESTIONS["module-parameter-count-cross"]
    layer = mha_lib.MultiHeadAttention(8, 2, kdim=12, vdim=12)
    assert sum(p.numel() for p in layer.parameters()) == question["answer"]
    no_bias = mha_lib.MultiHeadAttention(8, 2, kdim=12, vdim=12, bias=False)
    self_attention = torch.nn.MultiheadAttention(8, 2)
    wrong = {f["answer"] for f in question["feedback"]}
    assert sum(p.numel() for p in no_bias.parameters()) in wrong
    assert sum(p.numel() for p in self_attention.parameters()) in wrong


def test_shared_matrix_weights_quoted_in_the_explanation():
    # One shared matrix makes the scores symmetric, not the weights (issue 8, lesson 2).
    ex = data.running_example(d_model=8, seed=0)
    params = mha_lib.MHAParams.init(8, seed=0)
    shared = ex.x @ params.w_q + params.b_q
    scores = shared @ shared.T
    weights = mha_lib.softmax(scores / math.sqrt(8))
    fox, jumps = ex.tokens.index("fox"), ex.tokens.index("jumps")
    assert round(scores[fox, jumps], 2) == round(scores[jumps, fox], 2) == -2.55
    assert (round(weights[fox, jumps], 3), round(weights[jumps, fox], 3)) == (0.025, 0.005)
    option = QUESTIONS["qkv-why-separate-query-key"]["options"][0]
    assert not option["correct"]
    assert "-2.55" in option["explain"] and "0.025" in option["explain"]
    assert "0.005" in option["explain"]
