"""The question banks as a course: misconception coverage and answer-position balance.

Quiz banks elsewhere shipped a correct option first far too often; a reader learns the position
instead of the idea (the browser shuffles, but Jupyter users and the static fallback do not
depend on luck). Every misconception in DESIGN.md must be confronted by at least one question.
"""

from __future__ import annotations

from collections import Counter

import pytest

from course import lesson_paths
from mha_lib.quiz import MISCONCEPTIONS, load_all_banks

BANKS = load_all_banks()


def test_every_misconception_is_tagged_on_some_question():
    tagged = {n for bank in BANKS.values() for q in bank for n in q.get("misconceptions", [])}
    missing = sorted(set(MISCONCEPTIONS) - tagged)
    assert not missing, (
        "no question confronts misconception(s) "
        + "; ".join(f"{n}: {MISCONCEPTIONS[n]['title']}" for n in missing)
    )


@pytest.mark.parametrize("stem", [p.stem for p in lesson_paths()])
def test_each_lesson_has_a_varied_quiz(stem):
    bank = BANKS[stem]
    kinds = Counter(q["type"] for q in bank)
    assert len(bank) >= 3, f"{stem}: at least 3 questions"
    assert kinds["numeric"] + kinds["shape"] >= 1, f"{stem}: at least one numeric or shape"
    assert kinds["single"] + kinds["multiple"] >= 1, f"{stem}: at least one choice question"


def _correct_positions():
    """(stem, id, position, option count) of every single-choice question's correct option."""
    for stem, bank in BANKS.items():
        for q in bank:
            if q["type"] == "single":
                position = next(i for i, o in enumerate(q["options"]) if o["correct"])
                yield stem, q["id"], position, len(q["options"])


def test_correct_options_are_not_in_one_position_too_often():
    positions = list(_correct_positions())
    assert positions, "the course has single-choice questions"
    counts = Counter(p for _, _, p, _ in positions)
    most, count = counts.most_common(1)[0]
    assert count <= max(2, 0.5 * len(positions)), (
        f"{count} of {len(positions)} single-choice answers sit at position {most}: {counts}"
    )
    first = counts.get(0, 0)
    assert first <= max(1, 0.4 * len(positions)), f"correct option first in {first} questions"


@pytest.mark.parametrize("stem", sorted(BANKS))
def test_no_bank_repeats_one_correct_position(stem):
    positions = [p for s, _, p, _ in _correct_positions() if s == stem]
    if len(positions) >= 3:
        most, count = Counter(positions).most_common(1)[0]
        assert count < len(positions), f"{stem}: every correct option at position {most}"
