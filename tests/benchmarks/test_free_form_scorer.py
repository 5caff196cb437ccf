"""The free-form scorer (MixEval-Hard free form): the short final answer, normalised, against
every acceptable target; numbers as numbers, LaTeX targets through math-verify."""

from __future__ import annotations

import pytest

from benchmarks.free_form import normalise
from benchmarks.registry import get

PLANT = ["Robert Plant", "Robbie plant", "Robert Anthony Plant"]
RAINBOW = ["Rainbow Road", "Rainbow Road (video game)"]
PULLOVER = ["Pullover", "Pull-over", "A PULLOVER"]

#: (targets, reply, answer read, score)
TABLE: list[tuple[list[str], str, str | None, float]] = [
    (PLANT, "Final answer: Robert Plant", "Robert Plant", 1.0),
    (PLANT, "Final answer: **Robert Plant**.", "Robert Plant", 1.0),
    (PLANT, "final answer: robert plant", "robert plant", 1.0),
    (PLANT, "He fronted Led Zeppelin.\n\nFinal Answer: Robert Anthony Plant",
     "Robert Anthony Plant", 1.0),
    (PLANT, "The answer is Robert Plant.", "Robert Plant", 1.0),
    (PLANT, "Robert Plant", "Robert Plant", 1.0),
    (PLANT, "Final answer: Jimmy Page", "Jimmy Page", 0.0),
    (PLANT, "Final answer: Plant", "Plant", 0.0),
    (PLANT, "Final answer: Jimmy Page\nOn reflection, it was the singer.\nFinal answer: Robert "
            "Plant", "Robert Plant", 1.0),
    (RAINBOW, "Final answer: The Rainbow Road", "The Rainbow Road", 1.0),
    (RAINBOW, "Final answer: rainbow road!", "rainbow road!", 1.0),
    (RAINBOW, "Final answer: Bowser's Castle", "Bowser's Castle", 0.0),
    (PULLOVER, "Final answer: a pullover", "a pullover", 1.0),
    (PULLOVER, "Final answer: pull-over", "pull-over", 1.0),
    (PULLOVER, "Final answer: cardigan", "cardigan", 0.0),
    # numbers
    (["367"], "Final answer: 367", "367", 1.0),
    (["367"], "Final answer: 367 more", "367 more", 1.0),
    (["1234"], "Final answer: 1,234", "1,234", 1.0),
    (["184"], "Final answer: $184", "$184", 1.0),
    (["184"], "Final answer: 184 miles", "184 miles", 1.0),
    (["184"], "Final answer: 184.0", "184.0", 1.0),
    (["7"], "Final answer: seven", "seven", 1.0),
    (["184"], "Final answer: 148", "148", 0.0),
    (["2"], "Final answer: x = 2, y = 5", "x = 2, y = 5", 0.0),
    (["2"], "Final answer: 2 or 5", "2 or 5", 0.0),
    (["1"], "Final answer: 1:00 PM", "1:00 PM", 0.0),
    (["363"], "Sam tells 3, they tell 9, ... 3 + 9 + 27 + 81 + 243 = 363.\nFinal answer: 363",
     "363", 1.0),
    # LaTeX targets (MixEval's MATH rows)
    ([r"\frac{2009}{4}"], r"Final answer: $\frac{2009}{4}$", r"$\frac{2009}{4}$", 1.0),
    ([r"\frac{2009}{4}"], r"Final answer: 502.25", "502.25", 1.0),
    ([r"\frac{2009}{4}"], r"Final answer: $\frac{2009}{2}$", r"$\frac{2009}{2}$", 0.0),
    ([r"\dfrac{39}{64}"], r"The probability is \boxed{\frac{39}{64}}", r"\frac{39}{64}", 1.0),
    ([r"\left( \frac{3}{2}, -13 \right)"], r"Final answer: $(3/2, -13)$", "$(3/2, -13)$", 1.0),
    ([r"\left( \frac{3}{2}, -13 \right)"], r"Final answer: $(-13, 3/2)$", "$(-13, 3/2)$", 0.0),
    ([r"9\text{ a.m.}"], "Final answer: 9 a.m.", "9 a.m", 1.0),
    ([r"9\text{ a.m.}"], "Final answer: 9 p.m.", "9 p.m", 0.0),
    # words of BBH
    (["Yes"], "Final answer: yes", "yes", 1.0),
    (["Yes"], "Final answer: No", "No", 0.0),
    (["invalid"], "The argument is deductively invalid.\nFinal answer: invalid", "invalid",
     1.0),
    (["invalid"], "Final answer: valid", "valid", 0.0),
    (["(D)"], "Final answer: (D)", "(D)", 1.0),
    (["(D)"], "The answer is D.", "D", 1.0),
    (["True"], "Final answer: False", "False", 0.0),
    # no answer
    (PLANT, "", None, 0.0),
    (PLANT, "Final answer:", None, 0.0),
]


@pytest.mark.parametrize(("targets", "reply", "extracted", "score"), TABLE,
                         ids=[f"{i}:{row[1][:30]}" for i, row in enumerate(TABLE)])
def test_free_form_replies(targets: list[str], reply: str, extracted: str | None,
                           score: float) -> None:
    scored = get("mixeval-hard-free").score({"targets": targets}, reply)
    assert (scored.extracted, scored.score) == (extracted, score), scored


def test_the_table_is_large_enough() -> None:
    assert len(TABLE) >= 40


@pytest.mark.parametrize(("text", "normalised"), [
    ("The Rainbow Road!", "rainbow road"),
    ("1,234.0 dollars", "1234 dollars"),
    ("Seven  Samurai", "7 samurai"),
    ("An apple, a day", "apple day"),
    ("3.50", "3.5"),
    (r"\text{Paris}", "paris"),
])
def test_normalisation(text: str, normalised: str) -> None:
    assert normalise(text) == normalised
