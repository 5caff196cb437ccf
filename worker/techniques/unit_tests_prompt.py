"""Prompts and parsers of the unit-test generator and the unit-test evaluator.

Generator — asked: exactly ``unit_test_cap`` tests (a short list when no cap is set), one
checkable sentence each, one per line, numbered. Read: numbered lines (``1.``, ``1)``,
``Test 1:``, ``**1.**``), else bulleted lines, else a list of strings (``['...', '...']``, the
form Archon asks for).

Evaluator — asked: reasoning, then one line per test ``Test N: pass`` or ``Test N: fail``.
Read: the reply is cut at lines that name a test (``Test 2: PASS``, ``Unit Test #2: [Passed]``,
``- Test 2 - fails``, ``2. Pass``); a test's result is the last pass or fail word in its part,
which may sit on the next line (a small real model wrote ``Test 1: <the test>`` then
``- Passed``). Every test must have one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

from worker.techniques.base import Candidate, ReplyError
from worker.techniques.conversation import Conversation, Messages

GENERATOR_SYSTEM_PROMPT = "You write unit tests that check whether a response is right."
EVALUATOR_SYSTEM_PROMPT = "You check a response against unit tests, one test at a time."

_NUMBERED = re.compile(
    r"^[ \t>*_-]*(?:(?:unit\s+)?test\s*#?\s*)?(\d+)[ \t*_]*[.):][ \t*_]*(\S.*?)\s*$",
    re.IGNORECASE | re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*[-*•][ \t]+(\S.*?)\s*$", re.MULTILINE)
_TEST_MARK = re.compile(
    r"^[ \t>*_#-]*(?:(?:unit\s+)?test\s*#?\s*(\d+)|(\d+)[.)])", re.IGNORECASE | re.MULTILINE)
_OUTCOME = re.compile(r"\b(pass(?:ed|es)?|fail(?:ed|s|ure)?)\b", re.IGNORECASE)


def generator_messages(conversation: Conversation, cap: int | None, *,
                       no_system: bool) -> Messages:
    how_many = (f"Write exactly {cap} unit test{'s' if cap != 1 else ''}" if cap
                else "Write a short list of unit tests")
    prompt = (
        f"Request:\n{conversation.query_text()}\n\n"
        f"{how_many} that a correct and complete response to this request must pass. Each "
        "test is one sentence stating something checkable about the response, such as a "
        "fact it must state, a result it must reach, or something it must include or avoid, "
        "with the expected outcome. Write one test per line, numbered from 1, and nothing "
        "else: no heading, no explanation."
    )
    return conversation.asking(GENERATOR_SYSTEM_PROMPT, prompt, no_system=no_system)


def parse_tests(text: str, cap: int | None) -> list[str]:
    """The tests, in order, the first ``cap`` of them. Raises ReplyError when there are none,
    or fewer than ``cap``."""
    tests = _read_tests(text)
    if not tests:
        raise ReplyError("no numbered unit tests in the reply")
    if cap and len(tests) < cap:
        raise ReplyError(f"{len(tests)} unit tests in the reply, {cap} were asked for")
    return tests[:cap] if cap else tests


def read_tests_leniently(text: str, cap: int | None) -> list[str]:
    """What tests can be read, for the generator's rule after the last attempt."""
    tests = _read_tests(text)
    return tests[:cap] if cap else tests


def _read_tests(text: str) -> list[str]:
    numbered = [body.strip("*_ ") for _, body in _NUMBERED.findall(text)]
    if numbered:
        return [t for t in numbered if t]
    bullets = [b.strip("*_ ") for b in _BULLET.findall(text)]
    if bullets:
        return bullets
    start, end = text.find("["), text.rfind("]")
    if 0 <= start < end:
        try:
            listed = ast.literal_eval(text[start:end + 1])
        except (ValueError, SyntaxError):
            return []
        if isinstance(listed, list) and all(isinstance(t, str) for t in listed):
            return [t.strip() for t in listed if t.strip()]
    return []


def evaluator_messages(conversation: Conversation, candidate: Candidate,
                       tests: Sequence[str], *, remove_tests_from_query: bool,
                       no_system: bool) -> Messages:
    listed = "\n".join(f"Test {i}: {t}" for i, t in enumerate(tests, start=1))
    query = conversation.query_text(with_unit_tests=not remove_tests_from_query)
    prompt = (
        f"Request:\n{query}\n\n"
        f"Response:\n{candidate.text.strip()}\n\n"
        f"Unit tests:\n{listed}\n\n"
        "Decide for each unit test whether the response passes it. Reason about the tests "
        f"first. Then finish with {len(tests)} line{'s' if len(tests) != 1 else ''}, one per "
        "test and in order, each giving the test's number and the word pass or fail, in the "
        "form 'Test 1: pass' or 'Test 1: fail'."
    )
    return conversation.asking(EVALUATOR_SYSTEM_PROMPT, prompt, no_system=no_system)


def parse_results(text: str, count: int) -> list[bool]:
    """Pass (True) or fail (False) for tests 1..count. Raises ReplyError unless every test
    has a result."""
    seen = read_results_leniently(text, count)
    missing = [n for n in range(1, count + 1) if n not in seen]
    if missing:
        raise ReplyError(f"no pass/fail for test{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(map(str, missing))}")
    return [seen[n] for n in range(1, count + 1)]


def read_results_leniently(text: str, count: int) -> dict[int, bool]:
    """The results that can be read (the last one given for each test)."""
    seen: dict[int, bool] = {}
    marks = list(_TEST_MARK.finditer(text))
    for i, mark in enumerate(marks):
        number = int(mark.group(1) or mark.group(2))
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        outcomes = _OUTCOME.findall(text[mark.end():end])
        if 1 <= number <= count and outcomes:
            seen[number] = outcomes[-1].lower().startswith("pass")
    return seen
