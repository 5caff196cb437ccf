"""What a simulated LLM writes for a code problem: a solution, and executable tests.

**A solution** (the generate role, and a fuser that finds no candidate convincing) is written
as chat models write one: a sentence, the program in a ```` ```python ```` block, sometimes a
sentence after it. The program is the reference (right with the skill model's P(right),
simulator/skill.py) or one of its mutations (simulator/mutations.py): one of the problem's
distractors, picked with the skill model's distractor weights (the first the most common). For
HumanEval the program repeats the prompt's signature, with the docstring in 70% of samples.
The draws depend on (LLM, problem, seed, temperature) only, not on the prompt's framing.

**Executable tests** (the write-tests role when the prompt asks for runnable tests: Python
``assert`` lines for a function, ``Input:`` / ``Output:`` blocks for a program reading standard
input) come from the problem's own tests: HumanEval's ``check`` asserts calling the entry point,
MBPP's asserts, CodeContests' public, private and generated input/output pairs, in an order
drawn per sample (cycled when more are asked than the problem has). Each test is truthful with
probability insight (simulator/skill.py); otherwise, with probability 1/2, its expected value
is wrong (a literal changed, an expected output token changed), as an unskilled writer's is.
"""

from __future__ import annotations

import ast
import re

from simulator.answer_keys import AnswerKey
from simulator.code_keys import REFERENCE
from simulator.code_problem import CodeProblem, fenced
from simulator.fleet import LLMSpec
from simulator.mutations import mutations
from simulator.skill import DISTRACTOR_WEIGHTS, Sampler, p_correct

__all__ = ["code_sampler", "program", "solution_reply", "tests_reply", "written_value"]

_OPENERS_FUNCTION = (
    "Here is a Python implementation of `{name}`:",
    "Sure! Here's a solution to the problem:",
    "This can be solved directly. Here is the completed function:",
)
_OPENERS_PROGRAM = (
    "Here is a Python 3 program that reads the input from standard input and prints the "
    "answer:",
    "Sure! The following solution reads everything from standard input:",
    "Here is my solution in Python 3:",
)
_CLOSERS = (
    "It handles the edge cases described in the problem.",
    "The solution works in a single pass over the input where possible.",
    "Let me know if you would like a version with more comments.",
)


def code_sampler(llm: LLMSpec, key: AnswerKey, seed: int, temperature: float) -> Sampler:
    """The draws of one sample's program: the LLM, problem, seed and temperature only."""
    return Sampler.for_request(llm.name, f"code\x1f{key.question}", seed, temperature)


def written_value(llm: LLMSpec, key: AnswerKey, sampler: Sampler, temperature: float) -> str:
    """Which program one sample writes: ``reference`` with the skill model's P(right), else one
    of the problem's mutations, the more common kinds of mistake the likelier (every code
    mistake is drawn from the problem's shared list: there is no slip of a sample alone)."""
    if sampler.chance(p_correct(llm, key.difficulty, temperature), "right") or (
            not key.distractors):
        return REFERENCE
    return sampler.pick(key.distractors, DISTRACTOR_WEIGHTS, "distractor")


def program(problem: CodeProblem, value: str) -> str:
    """The program of ``value``: the reference, or the mutation with that label."""
    if value == REFERENCE:
        return problem.reference
    for mutation in mutations(problem.reference, problem.entry_point):
        if mutation.label == value:
            return mutation.source
    return problem.reference


def _without_docstring(code: str, entry: str) -> str:
    pattern = re.compile(
        rf"(^def[ \t]+{re.escape(entry)}\b[^\n]*(?:\n[^\n]*)*?:[ \t]*\n)"
        r"[ \t]*(?:\"\"\"|''')[\s\S]*?(?:\"\"\"|''')[ \t]*\n", re.MULTILINE)
    return pattern.sub(r"\1", code, count=1)


def solution_reply(problem: CodeProblem, value: str, sampler: Sampler) -> str:
    """The reply of a sample whose program is ``value`` (see the module docstring)."""
    code = program(problem, value)
    if problem.entry_point and problem.header and sampler.chance(0.3, "no-docstring"):
        code = _without_docstring(code, problem.entry_point)
    openers = _OPENERS_PROGRAM if problem.reads_stdin else _OPENERS_FUNCTION
    opener = openers[int(sampler.uniform("opener") * len(openers))]
    text = f"{opener.format(name=problem.entry_point)}\n\n{fenced(code)}"
    if sampler.chance(0.5, "closer"):
        text += "\n\n" + _CLOSERS[int(sampler.uniform("closer-text") * len(_CLOSERS))]
    return text


def _wrong_literal(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x" if value else "x"
    if isinstance(value, list | tuple):
        return type(value)(value[:-1]) if value else type(value)([0])
    return 0 if value is None else None


def _wrong_assert(test: str) -> str:
    """``test`` with a wrong expected value (or negated when it compares with no literal)."""
    statement = ast.parse(test).body[0]
    assert isinstance(statement, ast.Assert)
    check = statement.test
    if isinstance(check, ast.Compare) and len(check.ops) == 1 and isinstance(check.ops[0], ast.Eq):
        expected = check.comparators[0]
        try:
            value = ast.literal_eval(expected)
        except ValueError:
            value = None
        else:
            start, end = expected.col_offset, expected.end_col_offset
            encoded = test.encode()
            return (encoded[:start].decode() + repr(_wrong_literal(value))
                    + encoded[end:].decode())
    return f"assert not ({ast.get_source_segment(test, check)})"


def _wrong_output(output: str) -> str:
    tokens = output.split()
    for i, token in enumerate(tokens):
        if re.fullmatch(r"-?\d+", token):
            tokens[i] = str(int(token) + 1)
            return "\n".join(tokens)
        if token.upper() in ("YES", "NO"):
            tokens[i] = "NO" if token.upper() == "YES" else "YES"
            return "\n".join(tokens)
    return "\n".join([*tokens, "0"])


#: The longest test (characters, input and output) a simulated LLM writes out.
_LONGEST_TEST = 300


def tests_reply(problem: CodeProblem, count: int, level: float, sampler: Sampler) -> str:
    """``count`` executable tests in the form the problem calls for (module docstring)."""
    tests = problem.io_tests if problem.reads_stdin else problem.asserts
    # A model writes tests it can type out: a problem's stress tests (a thousand numbers on a
    # line) are never among them, and would not fit in a reply's max_tokens.
    pool = [i for i, test in enumerate(tests) if len(str(test)) <= _LONGEST_TEST] \
        or sorted(range(len(tests)), key=lambda i: len(str(tests[i])))[:1]
    if not pool:
        return "I cannot write executable tests for this problem without an example."
    order = sampler.shuffle(pool, "test-order")
    picked = [order[i % len(order)] for i in range(count)]
    wrong = [not sampler.chance(level, "test", i) and sampler.chance(0.5, "wrong-expected", i)
             for i in range(count)]
    if not problem.reads_stdin:
        lines = [_wrong_assert(problem.asserts[t]) if bad else problem.asserts[t]
                 for t, bad in zip(picked, wrong, strict=True)]
        return (f"Here are {count} tests for `{problem.entry_point}`:\n\n"
                + fenced("\n".join(lines)))
    blocks = []
    for number, (t, bad) in enumerate(zip(picked, wrong, strict=True), start=1):
        given, expected = problem.io_tests[t]
        expected = _wrong_output(expected) if bad else expected
        blocks.append(f"Test {number}\nInput:\n{fenced(given, '')}\nOutput:\n"
                      f"{fenced(expected, '')}")
    return "\n\n".join(blocks)
