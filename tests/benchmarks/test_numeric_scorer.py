"""The numeric scorer (synth-math, gsm8k) on replies as real models write them: the final
stated answer is read, never the first number of the reply, and never a time of day."""

from __future__ import annotations

import pytest

from benchmarks.registry import get

#: (answer key, reply, the answer read from it, score)
TABLE: list[tuple[str, str, str | None, float]] = [
    # what the framing asks for
    ("18", "She has 20 - 2 = 18.\nFinal answer: 18", "18", 1.0),
    ("18", "Final answer: 18", "18", 1.0),
    ("18", "final answer: 18.", "18", 1.0),
    ("18", "Final Answer: 18 apples", "18", 1.0),
    ("18", "Final answer:\n18", "18", 1.0),
    ("18", "### Final Answer\n\n18", "18", 1.0),
    # markdown, currency, separators
    ("1234", "**Final answer:** $1,234", "1234", 1.0),
    ("1234", "**Final answer: 1234**", "1234", 1.0),
    ("1234", "Final answer: **1,234**", "1234", 1.0),
    ("1234", "Final answer: `1234`", "1234", 1.0),
    ("1234", "Final answer: $\\$1{,}234$", "1234", 1.0),
    ("1234.5", "Final answer: $1,234.50", "1234.5", 1.0),
    ("18", "Final answer: 18.0", "18", 1.0),
    ("-7", "Final answer: -7", "-7", 1.0),
    ("-7", "Final answer: −7", "-7", 1.0),
    ("25", "Final answer: 25%", "25", 1.0),
    # the other ways models state it
    ("14", "Adding them up gives 14.\n\n\\boxed{14}", "14", 1.0),
    ("14", "The total is $\\boxed{14}$.", "14", 1.0),
    ("78", "She earns 6 * 13 = 78 dollars.\n#### 78", "78", 1.0),
    ("78", "#### Answer: 78", "78", 1.0),
    ("78", "So the answer is 78.", "78", 1.0),
    ("78", "The answer is: 78", "78", 1.0),
    ("78", "Answer: 78", "78", 1.0),
    ("78", "Final Answer: The final answer is $\\boxed{78}$. I hope it is correct.", "78", 1.0),
    ("15", "Final answer: 18 - 3 = 15", "15", 1.0),
    # the final stated answer, not the first or an earlier one
    ("15", "At first I got 12.\nFinal answer: 12\nWait, I forgot the 3.\nFinal answer: 15", "15",
     1.0),
    ("15", "There are 3 boxes of 5 pens.\nFinal answer: 15\nI hope the answer is clear.", "15",
     1.0),
    ("15", "There are 3 boxes of 5 pens, so 3 * 5 = 15 pens in all.", "15", 1.0),
    ("15", "3 boxes of 5 pens.\nSo she has 15 pens.", "15", 1.0),
    # wrong answers stay wrong
    ("18", "Final answer: 17", "17", 0.0),
    ("18", "The first step gives 18 but then 18 - 2 = 16.\nFinal answer: 16", "16", 0.0),
    ("2", "Final answer: x = 2, y = 5", "5", 0.0),
    ("1", "Final answer: 1/3", "1/3", 0.0),
    ("18", "Final answer: 180", "180", 0.0),
    ("18", "Final answer: 1.8", "1.8", 0.0),
    # a time of day is not read as a number
    ("1", "The meeting ends at 1:00 PM.\nFinal answer: 1:00 PM", "1:00 PM", 0.0),
    ("13", "Final answer: 1:00 PM", "1:00 PM", 0.0),
    ("9", "Final answer: 9 a.m.", "9 a.m.", 0.0),
    ("1", "They meet at 1:00 PM.", None, 0.0),
    # no answer at all
    ("18", "I am not sure how to solve this.", None, 0.0),
    ("18", "", None, 0.0),
    ("18", "Final answer:", None, 0.0),
    ("18", "Final answer: <number>", None, 0.0),
]


@pytest.mark.parametrize(("key", "reply", "extracted", "score"), TABLE,
                         ids=[f"{i}:{row[1][:30]}" for i, row in enumerate(TABLE)])
@pytest.mark.parametrize("benchmark", ["synth-math", "gsm8k"])
def test_numeric_replies(benchmark: str, key: str, reply: str, extracted: str | None,
                         score: float) -> None:
    scored = get(benchmark).score({"answer": key}, reply)
    assert (scored.extracted, scored.score) == (extracted, score), scored


def test_the_table_is_large_enough_and_has_both_outcomes() -> None:
    assert len(TABLE) >= 40
    assert {row[3] for row in TABLE} == {0.0, 1.0}


def test_a_reply_without_an_answer_line_says_how_it_was_read() -> None:
    scorer = get("gsm8k")
    assert scorer.score({"answer": "15"}, "So she has 15 pens.").note == (
        "no final-answer line; read the number of the reply's last line")
    assert scorer.score({"answer": "15"}, "Final answer: 15").note is None
    assert "no number" in (scorer.score({"answer": "15"}, "No idea.").note or "")
    assert "time of day" in (scorer.score({"answer": "1"}, "Final answer: 1:00 PM").note or "")


def test_the_scorer_agrees_with_the_recorded_grades_of_four_real_systems(datasets: object) -> None:
    """GSM8K's example_model_solutions.jsonl: 4 x 1,319 real GPT-3 solutions (ending ``A: N``)
    with their official is_correct; the scorer must grade every one the same way."""
    import json
    from pathlib import Path

    from benchmarks.registry import load_questions

    assert isinstance(datasets, Path)
    items = load_questions("gsm8k", split="all")
    lines = (datasets / "gsm8k" / "example_model_solutions.jsonl").read_text().splitlines()
    scorer = get("gsm8k")
    accuracy = {}
    for system in ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"):
        graded = [(scorer.score(item.reference, row[system]["solution"]).score,
                   row[system]["is_correct"])
                  for item, row in zip(items, map(json.loads, lines), strict=True)]
        assert [score == 1.0 for score, _ in graded] == [right for _, right in graded]
        accuracy[system] = round(sum(score or 0 for score, _ in graded) / len(graded), 3)
    assert accuracy == {"6b_finetuning": 0.217, "6b_verification": 0.39,
                        "175b_finetuning": 0.347, "175b_verification": 0.563}
