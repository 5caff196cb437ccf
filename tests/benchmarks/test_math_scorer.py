r"""The MATH-style scorer: the answer is read from the reply (last \boxed{}, else the final
answer line) and compared with the key by math-verify, so equivalent forms are right and a
different value is wrong however similar it looks."""

from __future__ import annotations

import pytest

from benchmarks.answers import last_boxed
from benchmarks.registry import get

#: (key as in a reference solution's \boxed{}, reply, answer read, score)
TABLE: list[tuple[str, str, str | None, float]] = [
    # fractions
    (r"\frac{1}{2}", r"So the probability is $\boxed{\frac{1}{2}}$.", r"\frac{1}{2}", 1.0),
    (r"\frac{1}{2}", r"\boxed{\dfrac{1}{2}}", r"\dfrac{1}{2}", 1.0),
    (r"\frac{1}{2}", r"\boxed{0.5}", "0.5", 1.0),
    (r"\frac{1}{2}", r"\boxed{1/2}", "1/2", 1.0),
    (r"\frac{1}{2}", r"\boxed{\frac{2}{4}}", r"\frac{2}{4}", 1.0),
    (r"\frac{1}{2}", r"\boxed{\frac{1}{3}}", r"\frac{1}{3}", 0.0),
    (r"\frac{1}{2}", r"Final answer: $\frac{1}{3}$", r"\frac{1}{3}", 0.0),
    (r"-\frac{1}{2}", r"\boxed{-\frac{1}{2}}", r"-\frac{1}{2}", 1.0),
    (r"-\frac{1}{2}", r"\boxed{\frac{1}{2}}", r"\frac{1}{2}", 0.0),
    (r"\frac{3}{28}", r"$\frac{3}{8}\cdot\frac{2}{7} = \boxed{\frac{3}{28}}$", r"\frac{3}{28}",
     1.0),
    # radicals
    (r"2\sqrt{3}", r"\boxed{\sqrt{12}}", r"\sqrt{12}", 1.0),
    (r"2\sqrt{3}", r"\boxed{2\sqrt{3}}", r"2\sqrt{3}", 1.0),
    (r"2\sqrt{3}", r"\boxed{3\sqrt{2}}", r"3\sqrt{2}", 0.0),
    (r"\frac{\sqrt{3}}{2}", r"\boxed{\frac{\sqrt3}{2}}", r"\frac{\sqrt3}{2}", 1.0),
    (r"5\sqrt{2}", r"\boxed{\sqrt{50}}", r"\sqrt{50}", 1.0),
    # pi
    (r"9\pi", r"The area is $\boxed{9\pi}$ square units.", r"9\pi", 1.0),
    (r"9\pi", r"\boxed{9 \pi}", r"9 \pi", 1.0),
    (r"9\pi", r"\boxed{3\pi}", r"3\pi", 0.0),
    (r"\frac{\pi}{4}", r"\boxed{\pi/4}", r"\pi/4", 1.0),
    (r"\frac{\pi}{4}", r"\boxed{\frac{\pi}{2}}", r"\frac{\pi}{2}", 0.0),
    # intervals
    (r"(-\infty, 5)", r"\boxed{(-\infty,5)}", r"(-\infty,5)", 1.0),
    (r"[-2, 4]", r"\boxed{[-2, 4]}", "[-2, 4]", 1.0),
    (r"[-2, 4]", r"\boxed{(-2, 4)}", "(-2, 4)", 0.0),
    (r"(2, \infty)", r"\boxed{(2,\infty)}", r"(2,\infty)", 1.0),
    (r"(2, \infty)", r"\boxed{[2,\infty)}", r"[2,\infty)", 0.0),
    # tuples and ordered pairs
    ("(4, 3)", r"\boxed{(4,3)}", "(4,3)", 1.0),
    ("(4, 3)", r"\boxed{(3, 4)}", "(3, 4)", 0.0),
    (r"\left(3, \frac{\pi}{2}\right)", r"\boxed{\left( 3, \frac{\pi}{2} \right)}",
     r"\left( 3, \frac{\pi}{2} \right)", 1.0),
    # several answers
    ("x = 2, y = 5", r"\boxed{x = 2, y = 5}", "x = 2, y = 5", 1.0),
    ("x = 2, y = 5", r"\boxed{x=2,\ y=5}", r"x=2,\ y=5", 1.0),
    ("x = 2, y = 5", r"\boxed{x = 5, y = 2}", "x = 5, y = 2", 0.0),
    ("2", r"\boxed{x = 2, y = 5}", "x = 2, y = 5", 0.0),
    ("2, 3", r"\boxed{3, 2}", "3, 2", 1.0),
    ("2, 3", r"\boxed{2}", "2", 0.0),
    ("-2, 0, 2", r"The solutions are $\boxed{-2, 0, 2}$.", "-2, 0, 2", 1.0),
    # expressions and equations
    ("x^2 + 6x + 9", r"\boxed{(x+3)^2}", "(x+3)^2", 1.0),
    ("y = -2x + 7", r"\boxed{y = 7 - 2x}", "y = 7 - 2x", 1.0),
    ("y = -2x + 7", r"\boxed{y = -2x - 7}", "y = -2x - 7", 0.0),
    ("5 + i", r"\boxed{5+i}", "5+i", 1.0),
    # plain numbers, and where the answer is read
    ("9", r"First $\boxed{2}$ is extraneous... the answer is $\boxed{9}$.", "9", 1.0),
    ("9", "x = 2 is extraneous.\nFinal answer: 9", "9", 1.0),
    ("9", r"Final answer: $x = 9$", "x = 9", 1.0),
    ("6", r"#### 6", "6", 1.0),
    ("28", r"So $x = 28$.", "x = 28", 1.0),
    ("13", "The meeting ends at 1:00 PM.\nFinal answer: 1:00 PM", None, 0.0),
    ("1", "Final answer: 1:00 PM", None, 0.0),
    ("6", "I could not solve it.", None, 0.0),
    ("6", r"\boxed{}", None, 0.0),
]


@pytest.mark.parametrize(("key", "reply", "extracted", "score"), TABLE,
                         ids=[f"{i}:{row[1][:30]}" for i, row in enumerate(TABLE)])
def test_math_replies(key: str, reply: str, extracted: str | None, score: float) -> None:
    scored = get("math").score({"answer": key}, reply)
    assert (scored.extracted, scored.score) == (extracted, score), scored


def test_the_table_is_large_enough() -> None:
    assert len(TABLE) >= 40


def test_the_key_is_the_last_boxed_answer_with_nested_braces() -> None:
    solution = r"First $\boxed{3}$ fails. Hence $x = \boxed{\frac{\sqrt{3}}{2}}$ is the answer."
    assert last_boxed(solution) == r"\frac{\sqrt{3}}{2}"
    assert last_boxed(r"\boxed{\left(3, \frac{\pi}{2}\right)}") == \
        r"\left(3, \frac{\pi}{2}\right)"
    assert last_boxed(r"unclosed \boxed{\frac{1}{2}") is None


def test_every_packaged_problem_scores_its_own_answer_right_and_another_wrong() -> None:
    from benchmarks.registry import load_questions

    items = load_questions("math", split="all")
    assert len(items) >= 40
    scorer = get("math")
    for item, other in zip(items, items[1:] + items[:1], strict=True):
        key = item.reference["answer"]
        assert scorer.score(item.reference, f"Done: $\\boxed{{{key}}}$").score == 1.0, key
        if other.reference["answer"] != key:
            wrong = scorer.score(item.reference, f"\\boxed{{{other.reference['answer']}}}")
            assert wrong.score == 0.0, (key, other.reference["answer"])
