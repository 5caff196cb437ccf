"""How the simulator reads text, function by function: delimiters, question index, values.

These are parser edge cases, tested on the pure functions; everything a client sees is tested
over HTTP in the other modules.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.synth_math import generate
from simulator.answer_keys import KeyStore, synth_math_keys
from simulator.candidates import read_material, read_test_count, read_unit_tests
from simulator.datasets import load_math_style
from simulator.intent import Role, infer_role
from simulator.values import Kind, extract

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    "text",
    [
        "Rank these.\n<response_1>\nA is 4\n</response_1>\n<response_2>\nB is 5\n</response_2>",
        "Rank these.\nResponse 1: A is 4\nResponse 2: B is 5\n\nPlease rank the responses.",
        "Rank these.\n### Candidate 1\nA is 4\n### Candidate 2\nB is 5\n### Instructions\nRank.",
        "Rank these.\n**Answer 1:** A is 4\n**Answer 2:** B is 5",
        "Rank these.\n[1] A is 4\n[2] B is 5\n\nInstruction: rank them.",
        "Rank these responses:\n1. A is 4\n2. B is 5",
    ],
)
def test_candidates_are_read_whatever_the_delimiters(text: str) -> None:
    assert read_material(text).candidates == ("A is 4", "B is 5")


def test_a_numbered_list_inside_a_candidate_stays_in_it() -> None:
    text = "Responses from models:\n1. Steps:\n1. add\n2. multiply\nAnswer: 9\n2. Answer: 8"
    assert read_material(text).candidates == ("Steps:\n1. add\n2. multiply\nAnswer: 9",
                                              "Answer: 8")


def test_critiques_after_each_candidate_belong_to_it_the_last_one_too() -> None:
    text = ("Responses from models:\n1. Answer: 4 \n\nCritique:\nfine\n\n2. Answer: 5 \n\n"
            "Critique:\nthe answer is wrong\n")
    material = read_material(text)
    assert material.candidates == ("Answer: 4", "Answer: 5")
    assert material.critiques == {1: "fine", 2: "the answer is wrong"}


def test_unit_tests_skip_format_examples_and_read_lists() -> None:
    archon = ("Example:\nUnit Test #1: [Passed]\nUnit Test #2: [Failed]\n\nUnit Tests:\n"
              "Unit Test #1: The answer states 4.\nUnit Test #2: The answer is even.\n")
    assert read_unit_tests(archon) == ("The answer states 4.", "The answer is even.")
    bullets = "Your response should pass the following unit tests: \n- It states 4\n- It is even"
    assert read_unit_tests(bullets) == ("It states 4", "It is even")
    assert read_test_count("generate a set of seven unit tests") == 7


@pytest.mark.parametrize(
    ("instructions", "role"),
    [
        ("Synthesize these responses into a single, high-quality response.", Role.FUSE),
        ("Rank the responses; critiques of strengths/weaknesses are given.", Role.RANK),
        ("Evaluate the strengths and weaknesses of each response.", Role.CRITIQUE),
        ("Evaluate whether the response passes each unit test. [Passed] or [Failed]",
         Role.APPLY_TESTS),
        ("Evaluate whether or not the response is correct: '[Correct]' or '[Incorrect]'.",
         Role.VERIFY),
        ("Provide reasoning for why the response addresses the instruction.", Role.REASON),
    ],
)
def test_roles_are_inferred_from_the_instructions(instructions: str, role: Role) -> None:
    assert infer_role(instructions, "", has_candidates=True) is role


def test_unit_test_writing_needs_no_candidate_and_judging_without_one_is_generating() -> None:
    text = "Generate a set of 3 unit tests. Each unit test should be stated clearly."
    assert infer_role(text, "", has_candidates=False) is Role.WRITE_TESTS
    assert infer_role("Rank the responses.", "", has_candidates=False) is Role.GENERATE


def test_the_index_finds_a_question_in_a_long_prompt_and_prefers_the_last() -> None:
    store = KeyStore(synth_math_keys(range(10), 1000))
    problems = generate(3, 40)
    shots = "\n\n".join(f"Question: {p.question}\nAnswer: {p.answer}" for p in problems[:5])
    target = problems[7]
    prompt = (f"{shots}\n\nQuestion: **{target.question.upper()}**\n" + "filler words " * 400)
    # How fast is measured by bench/simulator_throughput.py, not asserted here.
    placement = store.place(prompt)
    assert placement is not None and placement.key.answer == target.answer
    assert store.place("Goran has apples. How many apples are there now?") is None


def test_math_style_answers_with_nested_braces_are_read_from_files_and_replies() -> None:
    keys = load_math_style(DATA / "math-style-sample.jsonl")
    assert [k.shown for k in keys] == ["\\frac{7}{8}", "-7, 7", "\\frac{3}{4}"]
    assert keys[0].is_right(extract(Kind.LATEX, "so $\\boxed{\\dfrac{7}{8}}$."))
    assert not keys[0].is_right(extract(Kind.LATEX, "so $\\boxed{\\frac{8}{7}}$."))
    assert keys[0].difficulty < keys[2].difficulty or keys[2].difficulty > -1.2


@pytest.mark.parametrize(
    ("reply", "letter"),
    [("The answer is (C).", "C"), ("B", "B"), ("Answer: **D**", "D"), ("\\boxed{A}", "A"),
     ("I pick the cellar, since rats hide there.", "E")],
)
def test_option_letters_are_read_in_the_common_forms(reply: str, letter: str) -> None:
    options = ("sewers", "laboratory", "basement", "clinic", "cellar")
    assert extract(Kind.CHOICE, reply, options) == letter
