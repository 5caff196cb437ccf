"""synth-math: the project's own benchmark, generated from a seed."""

from __future__ import annotations

import re

import pytest

from benchmarks.synth_math import generate


def test_the_same_seed_gives_the_same_problems_and_a_longer_run_extends_a_shorter_one() -> None:
    assert generate(3, 40) == generate(3, 40)
    assert generate(3, 100)[:40] == generate(3, 40)
    assert generate(3, 40) != generate(4, 40)


def test_every_answer_is_an_exact_integer_that_the_worked_steps_reproduce() -> None:
    for problem in generate(0, 300):
        value = None
        for line in problem.solution[1:]:
            m = re.search(r"(\d+) ([-+*/]) (\d+) = (\d+)\.$", line)
            assert m, line
            a, op, b, result = int(m[1]), m[2], int(m[3]), int(m[4])
            assert result == {"+": a + b, "-": a - b, "*": a * b, "/": a // b}[op]
            assert op != "/" or a % b == 0
            value = result
        assert str(value) == problem.answer and int(problem.answer) > 0


def test_levels_cycle_and_higher_levels_take_more_steps() -> None:
    problems = generate(1, 10)
    assert [p.level for p in problems] == [1, 2, 3, 4, 5] * 2
    assert all(len(p.solution) == p.level + 2 for p in problems)
    assert {p.level for p in generate(1, 10, levels=[4])} == {4}


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        generate(0, -1)
    with pytest.raises(ValueError):
        generate(0, 5, levels=[9])
