"""The multiple-choice scorer: the option letter is read from what real models write; a reply
naming no option or several has no answer (score 0, with a note saying why)."""

from __future__ import annotations

import pytest

from benchmarks.registry import get

CAPITALS = {"options": ["Lyon", "Paris", "Marseille", "Nice"], "answer": "B"}
BONDS = {"options": ["expansionary monetary policy.", "contractionary monetary policy.",
                     "a depreciating dollar.", "fiscal policy designed to reduce the deficit."],
         "answer": "B"}
RATS = {"options": ["sewers", "laboratory", "basement", "clinic", "cellar"], "answer": "E"}
YES_NO = {"options": ["no", "yes"], "answer": "B"}

#: (reference, reply, letter read, score)
TABLE: list[tuple[dict[str, object], str, str | None, float]] = [
    (CAPITALS, "B", "B", 1.0),
    (CAPITALS, "(B)", "B", 1.0),
    (CAPITALS, "**B**", "B", 1.0),
    (CAPITALS, "B.", "B", 1.0),
    (CAPITALS, "[B]", "B", 1.0),
    (CAPITALS, "b", "B", 1.0),
    (CAPITALS, "The answer is B.", "B", 1.0),
    (CAPITALS, "The correct answer is (B).", "B", 1.0),
    (CAPITALS, "Answer: B) Paris", "B", 1.0),
    (CAPITALS, "Answer: B. Paris", "B", 1.0),
    (CAPITALS, "Answer: **B**", "B", 1.0),
    (CAPITALS, "Paris is the capital.\nFinal answer: B", "B", 1.0),
    (CAPITALS, "**Final answer:** B", "B", 1.0),
    (CAPITALS, "Final answer: (B) Paris", "B", 1.0),
    (CAPITALS, "Final Answer: Option B", "B", 1.0),
    (CAPITALS, "Final answer: Paris", "B", 1.0),
    (CAPITALS, "Paris", "B", 1.0),
    (CAPITALS, "The capital of France is Paris.", "B", 1.0),
    (CAPITALS, "I think B is right.", "B", 1.0),
    (CAPITALS, "Option B because Paris is the seat of government.", "B", 1.0),
    (CAPITALS, "Lyon (A) is large, but the capital is Paris.\nFinal answer: B", "B", 1.0),
    (CAPITALS, "Final answer: \\boxed{B}", "B", 1.0),
    (CAPITALS, "Final answer: A\nWait, no: Lyon is not the capital.\nFinal answer: B", "B",
     1.0),
    (CAPITALS, "Final answer: A", "A", 0.0),
    (CAPITALS, "The answer is (C) Marseille.", "C", 0.0),
    (CAPITALS, "Final answer: Nice", "D", 0.0),
    (CAPITALS, "D", "D", 0.0),
    # several options named: no answer
    (CAPITALS, "Final answer: A or B", None, 0.0),
    (CAPITALS, "Final answer: B and C", None, 0.0),
    (CAPITALS, "The answer is either (A) or (B).", None, 0.0),
    # no option named: no answer
    (CAPITALS, "I don't know.", None, 0.0),
    (CAPITALS, "", None, 0.0),
    (CAPITALS, "Final answer: E", None, 0.0),
    (CAPITALS, "Final answer: Berlin", None, 0.0),
    # "A" as the article is not option A
    (BONDS, "Final answer: A depreciating dollar", "C", 0.0),
    (BONDS, "Final answer: contractionary monetary policy", "B", 1.0),
    (BONDS, "Answer: B) contractionary monetary policy.", "B", 1.0),
    (BONDS, "The answer is A because expansion raises prices.", "A", 0.0),
    (RATS, "They hid in the cellar.\nFinal answer: E", "E", 1.0),
    (RATS, "Final answer: cellar", "E", 1.0),
    (RATS, "Final answer: (E) cellar", "E", 1.0),
    (RATS, "Final answer: basement", "C", 0.0),
    (YES_NO, "Final answer: yes", "B", 1.0),
    (YES_NO, "Yes.", "B", 1.0),
    (YES_NO, "Final answer: No", "A", 0.0),
]


@pytest.mark.parametrize(("reference", "reply", "letter", "score"), TABLE,
                         ids=[f"{i}:{row[1][:30]}" for i, row in enumerate(TABLE)])
def test_multiple_choice_replies(reference: dict[str, object], reply: str, letter: str | None,
                                 score: float) -> None:
    scored = get("mixeval-hard-mc").score(reference, reply)
    assert (scored.extracted, scored.score) == (letter, score), scored


def test_the_table_is_large_enough() -> None:
    assert len(TABLE) >= 40


def test_no_answer_says_why() -> None:
    scorer = get("mixeval-hard-mc")
    several = scorer.score(CAPITALS, "Final answer: A or B")
    assert several.note == "the answer names several options (A, B)"
    assert scorer.score(CAPITALS, "I don't know.").note == "the reply names no option"
    assert scorer.score(CAPITALS, "B").note == "no final-answer line; read the last line"
