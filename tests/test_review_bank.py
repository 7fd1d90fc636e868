"""The review's questions are new: none repeats a question of an earlier lesson's bank.

Issue 12 asks for a cumulative quiz of new questions, each tying two steps together. A
question copied from an earlier bank, or one with a few words changed, would only test
recall of that question. Every question of a review bank (a lesson whose stem ends in
``_review``) is compared with every question of every other bank, on normalised text
(Unicode NFKC, lower case, punctuation and code marks dropped, spaces collapsed):

- the prompts (stems): word 3-gram Jaccard similarity and difflib's character ratio;
- the answers: the correct options' text (3-gram Jaccard) for choice questions; for numeric
  and shape questions, the same answer together with a prompt on a similar theme.

The thresholds sit well above the similarity of any two different questions of lessons 1 to
11 (measured when the review was written: prompt 3-gram Jaccard at most 0.21, character ratio
at most 0.70 — two "Which statements about ... are true?" prompts —, correct options at most
0.03), and far below a copy with a number or two changed (see the test of the detector).
"""

from __future__ import annotations

import difflib
import re
import unicodedata

import pytest

from course import lesson_stems
from mha_lib.quiz import load_all_banks

BANKS = load_all_banks()
REVIEWS = [stem for stem in lesson_stems() if stem.endswith("_review")]
EARLIER = [q for stem, bank in BANKS.items() if stem not in REVIEWS for q in bank]

PROMPT_JACCARD = 0.30  # word 3-grams shared by two prompts, over all their 3-grams
PROMPT_RATIO = 0.80  # difflib.SequenceMatcher ratio of two prompts
KEY_JACCARD = 0.30  # the same for the text of the correct options
SAME_ANSWER_PROMPT_JACCARD = 0.15  # a numeric/shape question with the same answer and theme


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(re.sub(r"[^\w.]+", " ", text).split())


def trigrams(text: str) -> set:
    words = normalise(text).split()
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def jaccard(a: str, b: str) -> float:
    x, y = trigrams(a), trigrams(b)
    return len(x & y) / len(x | y) if x | y else 0.0


def ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, normalise(a), normalise(b), autojunk=False).ratio()


def key(question: dict) -> str | None:
    """The correct options' text of a choice question, else None."""
    if "options" not in question:
        return None
    return " ".join(o["text"] for o in question["options"] if o["correct"])


def near_duplicate(new: dict, old: dict) -> str | None:
    """Why ``new`` repeats ``old``, or None when it does not."""
    prompt_jaccard = jaccard(new["prompt"], old["prompt"])
    if prompt_jaccard >= PROMPT_JACCARD:
        return f"their prompts share {prompt_jaccard:.0%} of their word 3-grams"
    prompt_ratio = ratio(new["prompt"], old["prompt"])
    if prompt_ratio >= PROMPT_RATIO:
        return f"their prompts are {prompt_ratio:.0%} alike, character by character"
    if key(new) is not None and key(old) is not None:
        key_jaccard = jaccard(key(new), key(old))
        if key_jaccard >= KEY_JACCARD:
            return f"their correct options share {key_jaccard:.0%} of their word 3-grams"
    if ("answer" in new and new["type"] == old["type"] and new["answer"] == old.get("answer")
            and prompt_jaccard >= SAME_ANSWER_PROMPT_JACCARD):
        return f"the same answer {new['answer']} to a prompt on the same theme"
    return None


def test_there_is_a_review_bank_with_at_least_ten_questions():
    assert REVIEWS, "no review lesson (notebooks/NN_review.ipynb) found"
    for stem in REVIEWS:
        assert len(BANKS[stem]) >= 10, f"{stem}: {len(BANKS[stem])} questions, issue 12 asks ≥ 10"


@pytest.mark.parametrize("stem", REVIEWS)
def test_no_review_question_repeats_an_earlier_one(stem):
    assert len(EARLIER) >= 40, "the earlier banks were loaded"
    repeats = [
        f"{new['id']} ~ {old['id']}: {why}"
        for new in BANKS[stem]
        for old in EARLIER
        if (why := near_duplicate(new, old))
    ]
    assert not repeats, "review questions that repeat earlier ones:\n" + "\n".join(repeats)


@pytest.mark.parametrize("stem", REVIEWS)
def test_review_questions_do_not_repeat_each_other(stem):
    bank = BANKS[stem]
    repeats = [f"{a['id']} ~ {b['id']}: {why}" for i, a in enumerate(bank) for b in bank[i + 1:]
               if (why := near_duplicate(a, b))]
    assert not repeats, "\n".join(repeats)


def _edited(question: dict, **changes) -> dict:
    copy = dict(question) | changes
    return copy


def test_the_detector_catches_lightly_edited_copies_and_passes_different_questions():
    """The thresholds are not so loose that nothing could fail: copies of earlier questions
    with a number or a few words changed are caught, and every pair of different earlier
    questions passes."""
    by_id = {q["id"]: q for q in EARLIER}
    growth = by_id["scores-quadratic-growth"]
    assert near_duplicate(_edited(growth, prompt=growth["prompt"].replace("30", "40"),
                                  answer=16), growth)
    why = by_id["scores-why-sqrt-dk"]
    reworded = _edited(why, prompt="Why do we divide the scores q · k by √d_k before applying "
                                   "the softmax?")
    assert near_duplicate(reworded, why)
    purpose = by_id["concat-purpose-of-heads"]
    options = [dict(o) for o in purpose["options"]]
    prompt = "What is multi-head attention for, compared with a single head?"
    assert near_duplicate(_edited(purpose, prompt=prompt, options=options), purpose)
    memory = by_id["weighted-memory-mib"]
    assert near_duplicate(_edited(memory, prompt=memory["prompt"].replace("2,048", "4,096"),
                                  answer=64), memory)
    different = [(a["id"], b["id"], near_duplicate(a, b))
                 for i, a in enumerate(EARLIER) for b in EARLIER[i + 1:]]
    assert not [d for d in different if d[2]], [d for d in different if d[2]][:3]
