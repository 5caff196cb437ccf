"""The prompt markers and reply formats the techniques and the simulator share."""

from __future__ import annotations

import pytest

from simulator import protocol
from simulator.protocol import ProtocolParseError, Role


def test_a_rank_prompt_round_trips_role_question_candidates_and_critiques() -> None:
    critique = protocol.format_critiques(
        {2: protocol.Critique("clear", "wrong sum", likely_correct=False)}
    )
    text = protocol.build_prompt(
        Role.RANK,
        "  What is\n 2 + 2? ",
        candidates=["Answer: 4", "Answer: 5"],
        critiques={2: critique},
    )
    parsed = protocol.parse_prompt(text)
    assert parsed.role is Role.RANK
    assert parsed.question == "What is 2 + 2?"
    assert parsed.candidates == ("Answer: 4", "Answer: 5")
    assert protocol.parse_critique_body(parsed.critiques[2]).likely_correct is False
    assert "Ranking: [2] > [1] > [3]" in text  # the instructions show a real LLM the format


def test_a_prompt_without_marker_is_generate_and_the_whole_text_is_the_question() -> None:
    parsed = protocol.parse_messages(
        [{"role": "user", "content": [{"type": "text", "text": "How many  eggs?"}]}]
    )
    assert (parsed.role, parsed.question) == (Role.GENERATE, "How many eggs?")


@pytest.mark.parametrize(
    ("reply", "answer"),
    [("so 3 + 4 = 7\nAnswer: 7", "7"), ("Answer: $1,234.00", "1234"), ("Answer: 2.5", "2.5")],
)
def test_answers_are_parsed_from_the_last_answer_line(reply: str, answer: str) -> None:
    assert protocol.parse_answer(reply) == answer


def test_replies_that_break_the_format_raise_instead_of_guessing() -> None:
    with pytest.raises(ProtocolParseError):
        protocol.parse_answer("I think it is 7")
    with pytest.raises(ProtocolParseError):
        protocol.parse_ranking("Ranking: [1] > [1]", 2)
    with pytest.raises(ProtocolParseError):
        protocol.parse_verdict("looks fine")
    with pytest.raises(ProtocolParseError):
        protocol.parse_test_results("Test 1: pass", 2)


def test_every_reply_format_round_trips() -> None:
    assert protocol.parse_ranking(protocol.format_ranking([3, 1, 2], "because"), 3) == [3, 1, 2]
    assert protocol.parse_verdict(protocol.format_verdict("ok", True)) is True
    assert protocol.parse_verdict(protocol.format_verdict("no", False)) is False
    tests = ["The answer is even.", "The answer is below 10."]
    assert protocol.parse_unit_tests(protocol.format_unit_tests(tests)) == tests
    results = [True, False, True]
    assert protocol.parse_test_results(protocol.format_test_results(results), 3) == results


def test_markdown_headings_inside_a_candidate_do_not_split_it() -> None:
    candidate = "### Step 1\nadd 2 and 2\n### Step 2\nAnswer: 4"
    text = protocol.build_prompt(Role.VERIFY, "What is 2 + 2?", candidates=[candidate])
    assert protocol.parse_prompt(text).candidates == (candidate,)


def test_unit_test_prompts_can_ask_for_a_number_of_tests() -> None:
    text = protocol.build_prompt(Role.UNIT_TEST_GENERATE, "What is 2 + 2?", test_count=7)
    assert "Write 7 unit tests" in protocol.parse_prompt(text).instructions
