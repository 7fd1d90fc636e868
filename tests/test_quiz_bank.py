"""Question banks: schema, semantic rules, course-wide ids, and lesson 01's answer key."""

from __future__ import annotations

import copy
import json
import math
import re

import jsonschema
import pytest
import yaml

from course import QUIZZES, REPO
from mha_lib.quiz import (
    MISCONCEPTIONS,
    BankError,
    load_all_banks,
    load_bank,
    quiz_dir,
    validate_bank,
)
from mha_lib.quiz import bank as bank_module

BANK_DIR = QUIZZES
BANK_PATHS = sorted(BANK_DIR.glob("*.yml"))
SCHEMA = json.loads((REPO / "mha_lib" / "quiz" / "schema.json").read_text(encoding="utf-8"))

GOOD = [
    {
        "id": "t-single",
        "type": "single",
        "prompt": "Pick one.",
        "options": [
            {"text": "A", "correct": False, "explain": "A is wrong."},
            {"text": "B", "correct": True, "explain": "B is right."},
        ],
    },
    {
        "id": "t-multiple",
        "type": "multiple",
        "prompt": "Pick some.",
        "options": [
            {"text": "A", "correct": True, "explain": "A is right."},
            {"text": "B", "correct": False, "explain": "B is wrong."},
            {"text": "C", "correct": True, "explain": "C is right."},
        ],
        "explain": "A and C.",
        "misconceptions": [3, 9],
    },
    {"id": "t-numeric", "type": "numeric", "prompt": "How many?", "answer": 72, "explain": "9*8."},
    {"id": "t-shape", "type": "shape", "prompt": "Shape?", "answer": [10, 8], "explain": "(10, 8)"},
]


def good_bank() -> list[dict]:
    return copy.deepcopy(GOOD)


def rejected(questions, source="bad.yml") -> str:
    with pytest.raises(BankError) as info:
        validate_bank(questions, source=source)
    return str(info.value)


# --- the real banks -------------------------------------------------------------------------


def test_there_is_at_least_the_lesson_01_bank():
    assert BANK_DIR / "01_input_vectors.yml" in BANK_PATHS


def test_schema_is_a_valid_draft_2020_12_schema():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", BANK_PATHS, ids=lambda p: p.stem)
def test_bank_matches_schema_with_plain_jsonschema(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("path", BANK_PATHS, ids=lambda p: p.stem)
def test_bank_passes_semantic_rules(path):
    questions = load_bank(path)
    assert questions and all(isinstance(q, dict) for q in questions)


def test_all_banks_load_and_ids_are_unique_across_the_course():
    banks = load_all_banks()
    assert set(banks) == {p.stem for p in BANK_PATHS}
    ids = [q["id"] for questions in banks.values() for q in questions]
    assert len(ids) == len(set(ids))


def test_correct_option_is_not_always_first_across_the_course():
    choice = [
        q for qs in load_all_banks().values() for q in qs if q["type"] in ("single", "multiple")
    ]
    assert choice
    assert not all(q["options"][0]["correct"] for q in choice)


def test_misconceptions_table_is_complete():
    assert sorted(MISCONCEPTIONS) == list(range(1, 11))
    for entry in MISCONCEPTIONS.values():
        assert entry["title"].strip() and entry["text"].strip()
    assert "transpose" in MISCONCEPTIONS[1]["title"].lower()
    assert "quadratic" in MISCONCEPTIONS[10]["text"].lower() or "×" in MISCONCEPTIONS[10]["text"]


# --- lesson 01: the answer key agrees with the running example ------------------------------


def _running_example():
    sentence = "The quick brown fox jumps over the lazy dog."
    tokens = sentence.lower().replace(".", " .").split()
    vocab = sorted(set(tokens))
    d_model = 8
    return tokens, vocab, d_model


def test_lesson_01_bank_covers_every_question_type():
    questions = load_bank("01_input_vectors")
    assert len(questions) >= 4
    assert {q["type"] for q in questions} == {"single", "multiple", "numeric", "shape"}
    for q in questions:
        for option in q.get("options", []):
            assert len(option["explain"].split()) >= 8, (q["id"], option["text"])


def test_lesson_01_answer_key_matches_the_running_example():
    tokens, vocab, d_model = _running_example()
    assert len(tokens) == 10 and len(vocab) == 9
    questions = {q["id"]: q for q in load_bank("01_input_vectors")}
    assert questions["inputs-x-shape"]["answer"] == [len(tokens), d_model]
    assert questions["inputs-similarity-shape"]["answer"] == [len(tokens), len(tokens)]
    assert questions["inputs-embedding-params"]["answer"] == len(vocab) * d_model
    the_rows = questions["inputs-repeated-the-rows"]
    first, seventh = tokens[0], tokens[6]
    assert first == seventh == "the"
    correct = [o for o in the_rows["options"] if o["correct"]]
    assert len(correct) == 1 and "the same id" in correct[0]["text"]


# --- quiz_dir / load_bank plumbing -----------------------------------------------------------


def test_quiz_dir_default_and_env_override(monkeypatch, tmp_path):
    monkeypatch.delenv("MHA_QUIZ_DIR", raising=False)
    assert quiz_dir() == BANK_DIR
    monkeypatch.setenv("MHA_QUIZ_DIR", str(tmp_path))
    assert quiz_dir() == tmp_path.resolve()
    (tmp_path / "99_demo.yml").write_text(yaml.safe_dump(good_bank()), encoding="utf-8")
    assert [q["id"] for q in load_bank("99_demo")] == [q["id"] for q in GOOD]
    assert list(load_all_banks()) == ["99_demo"]


def test_load_bank_by_path_and_missing_bank(tmp_path):
    path = tmp_path / "demo.yml"
    path.write_text(yaml.safe_dump(good_bank()), encoding="utf-8")
    assert load_bank(path) == GOOD
    assert load_bank(str(path)) == GOOD
    with pytest.raises(FileNotFoundError, match="no quiz bank"):
        load_bank(tmp_path / "nope.yml")


def test_good_bank_is_accepted_and_returned_unchanged():
    questions = good_bank()
    assert validate_bank(questions, source="good.yml") is questions
    assert questions == GOOD


# --- each rule rejects a deliberately bad bank, naming the question id ------------------------


def test_bank_must_be_a_non_empty_list():
    assert "a bank must be a YAML list" in rejected({"id": "x"})
    assert "should be non-empty" in rejected([]) or "too short" in rejected([])


def test_unknown_field_is_rejected():
    bank = good_bank()
    bank[0]["hint"] = "no such field"
    message = rejected(bank)
    assert "'t-single'" in message and "hint" in message


def test_missing_required_fields_are_rejected():
    bank = good_bank()
    del bank[2]["explain"]
    del bank[3]["answer"]
    message = rejected(bank)
    assert "question 't-numeric'" in message and "'explain' is a required property" in message
    assert "question 't-shape'" in message and "'answer' is a required property" in message


def test_unknown_type_is_rejected():
    bank = good_bank()
    bank[0]["type"] = "truefalse"
    assert "question 't-single'" in rejected(bank)


def test_bad_id_format_is_rejected():
    bank = good_bank()
    bank[0]["id"] = "Bad Id!"
    assert "'Bad Id!'" in rejected(bank)


@pytest.mark.parametrize("n_correct", [0, 2])
def test_single_needs_exactly_one_correct_option(n_correct):
    bank = good_bank()
    for option in bank[0]["options"]:
        option["correct"] = False
    for option in bank[0]["options"][:n_correct]:
        option["correct"] = True
    message = rejected(bank)
    expected = "a single-choice question needs exactly 1 correct option"
    assert f"question 't-single': {expected}, got {n_correct}" in message


def test_multiple_needs_a_correct_option():
    bank = good_bank()
    for option in bank[1]["options"]:
        option["correct"] = False
    assert "question 't-multiple': a multiple-choice question needs at least 1 correct" in rejected(
        bank
    )


def test_multiple_needs_an_incorrect_option():
    bank = good_bank()
    for option in bank[1]["options"]:
        option["correct"] = True
    assert "question 't-multiple'" in rejected(bank)
    assert "at least 1 incorrect option" in rejected(bank)


@pytest.mark.parametrize("explain", ["", "   \n "])
def test_every_option_needs_a_non_empty_explanation(explain):
    # The schema already refuses it, naming the option's field ...
    bank = good_bank()
    bank[1]["options"][2]["explain"] = explain
    message = rejected(bank)
    assert "question 't-multiple': options[2].explain: " in message
    # ... and the semantic rule behind it (reached by schema-valid data built in code, e.g. a
    # widget's questions) names the option too.
    question = good_bank()[1]
    question["options"][2]["explain"] = explain
    assert bank_module._semantic_problems(question) == ["option 3 has an empty 'explain'"]
    question["options"][2]["explain"] = "A real reason."
    assert bank_module._semantic_problems(question) == []


def test_option_without_explain_field_is_rejected():
    bank = good_bank()
    del bank[0]["options"][0]["explain"]
    message = rejected(bank)
    assert "question 't-single'" in message and "'explain' is a required property" in message


def test_choice_needs_at_least_two_options():
    bank = good_bank()
    bank[0]["options"] = bank[0]["options"][1:]
    message = rejected(bank)
    assert "question 't-single'" in message and "too short" in message


def test_duplicate_option_texts_are_rejected():
    bank = good_bank()
    bank[1]["options"][1]["text"] = "  a "  # same text as option 1 up to case and spaces
    message = rejected(bank)
    assert "question 't-multiple': options 1 and 2 have the same text" in message


def test_duplicate_ids_within_a_bank_are_rejected():
    bank = good_bank()
    bank[3]["id"] = "t-numeric"
    assert "question 't-numeric': duplicate id" in rejected(bank)


def test_duplicate_ids_across_banks_are_rejected(tmp_path):
    (tmp_path / "01_a.yml").write_text(yaml.safe_dump(good_bank()), encoding="utf-8")
    other = good_bank()[:1]
    (tmp_path / "02_b.yml").write_text(yaml.safe_dump(other), encoding="utf-8")
    with pytest.raises(BankError) as info:
        load_all_banks(tmp_path)
    message = str(info.value)
    assert "question 't-single': id already used in" in message and "01_a.yml" in message


@pytest.mark.parametrize("answer", [".inf", "-.inf", ".nan"])
def test_numeric_answer_must_be_finite(tmp_path, answer):
    text = yaml.safe_dump(good_bank()).replace("answer: 72", f"answer: {answer}")
    path = tmp_path / "bad.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BankError) as info:
        load_bank(path)
    assert "question 't-numeric': numeric answer must be finite" in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("answer", ["72", True, None, [72]])
def test_numeric_answer_must_be_a_number(answer):
    bank = good_bank()
    bank[2]["answer"] = answer
    assert "question 't-numeric'" in rejected(bank)


def test_negative_tolerance_is_rejected():
    bank = good_bank()
    bank[2]["tolerance"] = -0.1
    assert "question 't-numeric': tolerance" in rejected(bank)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (".inf", "tolerance must be a finite number >= 0, got inf (an infinite tolerance"),
        (".nan", "tolerance must be a finite number >= 0, got .nan (no answer could ever match"),
        ("-.inf", "tolerance: -inf is less than the minimum of 0"),
    ],
)
def test_infinite_or_nan_tolerance_is_rejected(tmp_path, value, message):
    # An infinite tolerance would mark every numeric answer correct.
    text = yaml.safe_dump(good_bank()).replace("answer: 72\n", f"answer: 72\n  tolerance: {value}\n")
    assert f"tolerance: {value}" in text
    path = tmp_path / "bad.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BankError) as info:
        load_bank(path)
    assert f"question 't-numeric': {message}" in str(info.value)
    assert len(info.value.problems) == 1


def test_default_tolerance_is_relative_with_a_floor():
    from mha_lib.quiz import bank

    assert bank.default_tolerance(2e6) == pytest.approx(2e-3, rel=1e-12)
    assert bank.default_tolerance(-300) == pytest.approx(3e-7, rel=1e-12)
    # Below |answer| = 1 the tolerance stops shrinking: 1e-9, not 1e-9 * |answer|.
    for small in (1.0, 0.5, 1e-6, 0.0, -0.25):
        assert bank.default_tolerance(small) == 1e-9


# --- targeted feedback ---------------------------------------------------------------------


def feedback_bank() -> list[dict]:
    bank = good_bank()
    bank[2]["feedback"] = [
        {"answer": 80, "text": "That counts tokens, not distinct tokens."},
        {"answer": 17, "tolerance": 0.5, "text": "Multiply, do not add."},
    ]
    bank[3]["feedback"] = [{"answer": [9, 8], "text": "One row per token, not per word."}]
    return bank


def test_feedback_is_accepted_on_numeric_and_shape_questions():
    bank = feedback_bank()
    assert validate_bank(bank, source="fb.yml") is bank
    jsonschema.validate(bank, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("index", [0, 1])
def test_feedback_is_not_allowed_on_choice_questions(index):
    bank = good_bank()
    bank[index]["feedback"] = [{"answer": 1, "text": "No."}]
    qid, qtype = bank[index]["id"], bank[index]["type"]
    assert f"question {qid!r}: field 'feedback' is not allowed in a {qtype} question" in (
        rejected(bank)
    )


@pytest.mark.parametrize(
    ("tolerance", "wrong", "accepted"),
    [(None, 72, True), (None, 72 + 5e-8, True), (None, 72 + 1e-7, False), (0.5, 72.4, True),
     (0.5, 72.6, False)],
)
def test_feedback_answer_must_not_be_accepted_as_correct(tolerance, wrong, accepted):
    bank = good_bank()
    if tolerance is not None:
        bank[2]["tolerance"] = tolerance
    bank[2]["feedback"] = [{"answer": wrong, "text": "Hmm."}]
    if accepted:
        message = rejected(bank)
        assert f"question 't-numeric': feedback 1: answer {wrong!r} is accepted as correct" in (
            message
        )
    else:
        assert validate_bank(bank) is bank


def test_feedback_answer_must_not_be_the_right_shape():
    bank = good_bank()
    bank[3]["feedback"] = [{"answer": [10, 8], "text": "Hmm."}]
    assert "question 't-shape': feedback 1: answer [10, 8] is the correct answer" in rejected(bank)


@pytest.mark.parametrize(
    ("index", "answer"),
    [(2, "80"), (2, [80]), (2, True), (2, None), (3, 80), (3, [0, 8]), (3, [2.5, 8]), (3, [])],
)
def test_feedback_answer_must_have_the_question_s_answer_form(index, answer):
    bank = good_bank()
    bank[index]["feedback"] = [{"answer": answer, "text": "Hmm."}]
    assert f"question {bank[index]['id']!r}: feedback[0].answer" in rejected(bank)


def test_feedback_answer_must_be_finite(tmp_path):
    text = yaml.safe_dump(feedback_bank()).replace("answer: 80", "answer: .inf")
    path = tmp_path / "bad.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BankError, match="question 't-numeric': feedback 1: answer must be a finite"):
        load_bank(path)


@pytest.mark.parametrize("tolerance", [float("inf"), float("nan")])
def test_feedback_tolerance_must_be_finite(tolerance):
    bank = feedback_bank()
    bank[2]["feedback"][1]["tolerance"] = tolerance
    assert "question 't-numeric': feedback 2: tolerance must be a finite number >= 0" in (
        rejected(bank)
    )


def test_feedback_tolerance_is_numeric_only():
    bank = feedback_bank()
    bank[3]["feedback"][0]["tolerance"] = 0
    assert (
        "question 't-shape': field 'feedback[0].tolerance' is not allowed in a shape question"
        in rejected(bank)
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("text", "   ", "feedback[0].text"),
        ("hint", "x", "Additional properties are not allowed ('hint' was unexpected)"),
    ],
)
def test_feedback_entry_fields(field, value, expected):
    bank = feedback_bank()
    bank[2]["feedback"][0][field] = value
    assert expected in rejected(bank)
    del bank[2]["feedback"][0]["text"]
    assert "'text' is a required property" in rejected(bank)


def test_feedback_answers_are_listed_once():
    bank = feedback_bank()
    bank[2]["feedback"].append({"answer": 80.0, "text": "Again."})
    bank[3]["feedback"].append({"answer": [9, 8], "text": "Again."})
    message = rejected(bank)
    assert "question 't-numeric': feedback 1 and 3 have the same answer 80.0" in message
    assert "question 't-shape': feedback 1 and 2 have the same answer [9, 8]" in message


@pytest.mark.parametrize("answer", [[0, 8], [-1, 8], [2.5, 8], [2.0, 8], [], "10, 8", [True, 8]])
def test_shape_answer_must_be_positive_integers(answer):
    bank = good_bank()
    bank[3]["answer"] = answer
    assert "question 't-shape'" in rejected(bank)


@pytest.mark.parametrize(
    ("index", "field", "value"),
    [
        (0, "answer", 1),
        (0, "tolerance", 0.1),
        (2, "options", GOOD[0]["options"]),
        (3, "tolerance", 0),
    ],
)
def test_fields_of_another_question_type_are_rejected(index, field, value):
    bank = good_bank()
    bank[index][field] = copy.deepcopy(value)
    qid = bank[index]["id"]
    assert (
        f"question {qid!r}: field {field!r} is not allowed in a {bank[index]['type']} question"
        in (rejected(bank))
    )


@pytest.mark.parametrize("value", [[0], [11], ["3"], []])
def test_misconception_numbers_must_be_1_to_10(value):
    bank = good_bank()
    bank[1]["misconceptions"] = value
    assert "question 't-multiple'" in rejected(bank)


def test_empty_prompt_is_rejected():
    bank = good_bank()
    bank[0]["prompt"] = "   "
    assert "question 't-single'" in rejected(bank)


YAML_TRAPS = {
    # `No` is a YAML 1.1 boolean: the option text would silently become False.
    "pitfall.yml": (
        ("- id: yaml-bool\n  type: single\n  prompt: Is it?\n  options:\n"
        "    - {text: Yes, correct: true, explain: right because}\n"
        "    - {text: No, correct: false, explain: wrong because}\n"),
        "question 'yaml-bool'",
    ),
    "dupkey.yml": (
        "- id: dup-key\n  type: numeric\n  prompt: P\n  answer: 1\n  answer: 2\n  explain: E\n",
        "duplicate key 'answer'",
    ),
    "broken.yml": ("- id: [unclosed\n", "broken.yml: invalid YAML"),
}


@pytest.mark.parametrize("name", YAML_TRAPS)
def test_yaml_traps_are_rejected_by_name(tmp_path, name):
    """A YAML 1.1 boolean for an option text, a duplicate key, invalid YAML naming the file."""
    text, message = YAML_TRAPS[name]
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(BankError, match=re.escape(message)):
        load_bank(tmp_path / name)


def test_yaml_suffix_is_reported_in_a_quiz_folder(tmp_path):
    (tmp_path / "01_a.yml").write_text(yaml.safe_dump(good_bank()), encoding="utf-8")
    (tmp_path / "02_b.yaml").write_text(yaml.safe_dump(good_bank()), encoding="utf-8")
    with pytest.raises(BankError, match="02_b.yaml: quiz banks must use the .yml suffix"):
        load_all_banks(tmp_path)


def test_all_problems_are_reported_at_once():
    bank = good_bank()
    bank[0]["options"][0]["correct"] = True  # two correct options
    bank[2]["answer"] = math.inf
    bank[3]["answer"] = [0]
    with pytest.raises(BankError) as info:
        validate_bank(bank, source="many.yml")
    problems = info.value.problems
    assert len(problems) == 3
    for qid in ("t-single", "t-numeric", "t-shape"):
        assert sum(f"question {qid!r}" in p for p in problems) == 1
    assert all(p.startswith("many.yml: ") for p in problems)
    assert str(info.value).startswith("3 problems in quiz bank(s):")


def test_bank_error_is_a_value_error():
    assert issubclass(BankError, ValueError)
    assert bank_module.CHOICE_TYPES == ("single", "multiple")
