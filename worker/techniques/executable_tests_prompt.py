"""The unit-test generator's prompt and parser when its tests are to be run
(``execute_tests: true``): what the executed unit-test evaluator hands to the code benchmark's
``generated_test_runs`` (benchmarks/code/base.py).

Asked: exactly ``unit_test_cap`` tests in one of two forms, chosen by the model from the
request: for a function, one Python ``assert`` statement per test that calls it; for a program
reading standard input, ``Input:`` and a fenced block with the exact input, then ``Output:``
and a fenced block with the expected output.

Read, tolerant of what models write:

- input/output pairs: ``Input:``/``Output:`` labels (also ``Expected output:``, ``**Input:**``,
  ``Test 2 input:``, numbering or bullets before them), each followed by a fenced block or by
  the value on the label's own line; each pair becomes ``Input:\\n```\\n...```\\nOutput:\\n
  ```\\n...```\\n`` (the form generated_test_runs reads);
- otherwise ``assert`` statements, wherever they are: one per line or several in a fenced
  block, numbered (``1.``, ``Test 1:``), bulleted or in inline backticks; an assert that goes on
  over several lines (open brackets, a backslash) is read until it is a complete statement.

A test that is not one of the forms is not read; fewer than asked is a ReplyError (asked again,
then the generator's rule after the last attempt takes what can be read).
"""

from __future__ import annotations

import ast
import re

from worker.techniques.base import ReplyError
from worker.techniques.conversation import Conversation, Messages

SYSTEM_PROMPT = "You write unit tests that are run against a solution's code."

#: The longest an assert may go on over lines before it is given up as unreadable.
MAX_ASSERT_LINES = 40

# Possessive quantifiers (*+): the decorations around a label are runs of the same few
# characters, and with plain * a long line of spaces or asterisks that is not a label made
# the match backtrack for minutes, holding the GIL (a reply padded with 4,000 spaces hung a
# worker's thread).
_LABEL = re.compile(
    r"^[ \t>*_#-]*+(?:\d++[ \t]*+[.)][ \t]*+)?[*_ \t]*+(?:(?:unit[ \t]++)?test[ \t]*+#?"
    r"[ \t]*+\d*+[ \t]*+[:.-]?[ \t]*+)?[*_ \t]*+(?P<label>input|(?:expected[ \t]++)?output)"
    r"[ \t]*+(?:\d++[ \t]*+)?[*_ \t]*+:?[*_ \t]*+(?P<rest>.*)$", re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_ITEM_PREFIX = re.compile(
    r"^[ \t>]*+(?:[-*•][ \t]++|[*_]*+(?:(?:unit[ \t]++)?test[ \t]*+#?[ \t]*+)?\d++[ \t]*+"
    r"[.):][*_]*+[ \t]*+|(?:unit[ \t]++)?test[ \t]*+#?[ \t]*+\d++[ \t]*+[:.-][ \t]*+)?",
    re.IGNORECASE)


def generator_messages(conversation: Conversation, cap: int | None, *,
                       no_system: bool) -> Messages:
    how_many = (f"Write exactly {cap} unit test{'s' if cap != 1 else ''}" if cap
                else "Write a short list of unit tests")
    prompt = (
        f"Request:\n{conversation.query_text()}\n\n"
        f"{how_many} that a correct solution to this request must pass. The tests will be "
        "run against the solution's code, so write them as code, in one of two forms:\n"
        "- If the request asks for a function, write each test as one Python assert statement "
        "that calls the function and compares its result with the expected value, for "
        "example: assert add(2, 3) == 5\n"
        "- If the request asks for a program that reads standard input, write each test as "
        "'Input:' followed by a fenced code block with the exact input, then 'Output:' "
        "followed by a fenced code block with the exact expected output.\n"
        "Choose the form the request calls for. Number the tests from 1 and write nothing "
        "else: no heading, no explanation."
    )
    return conversation.asking(SYSTEM_PROMPT, prompt, no_system=no_system)


def parse_tests(text: str, cap: int | None) -> list[str]:
    """The tests, in order, the first ``cap`` of them. Raises ReplyError when there are none,
    or fewer than ``cap``."""
    tests = read_tests(text)
    if not tests:
        raise ReplyError("no runnable unit tests in the reply (neither assert statements nor "
                         "Input:/Output: pairs)")
    if cap and len(tests) < cap:
        raise ReplyError(f"{len(tests)} runnable unit tests in the reply, {cap} were asked for")
    return tests[:cap] if cap else tests


def read_tests_leniently(text: str, cap: int | None) -> list[str]:
    """What tests can be read, for the generator's rule after the last attempt."""
    tests = read_tests(text)
    return tests[:cap] if cap else tests


def read_tests(text: str) -> list[str]:
    """Input/output pairs when the reply has any, else its assert statements."""
    return _io_pairs(text) or _asserts(text)


def io_test(stdin: str, expected: str) -> str:
    """One input/expected-output test in the form the code benchmarks read."""
    def block(value: str) -> str:
        return "```\n" + value + ("" if value.endswith("\n") else "\n") + "```\n"
    return f"Input:\n{block(stdin)}Output:\n{block(expected)}"


def _io_pairs(text: str) -> list[str]:
    lines = text.splitlines()
    values: list[tuple[str, str]] = []  # (input | output, value)
    i = 0
    while i < len(lines):
        match = _LABEL.match(lines[i])
        if match is None:
            i += 1
            continue
        kind = "input" if match["label"].lower() == "input" else "output"
        rest = match["rest"].strip()
        i += 1
        if rest and not _FENCE.match(rest):
            values.append((kind, rest.strip("`") + "\n"))
            continue
        while i < len(lines) and not lines[i].strip():
            i += 1
        fence = _FENCE.match(lines[i]) if i < len(lines) else None
        if fence is None:
            continue
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence.group(1)):
            body.append(lines[i])
            i += 1
        i += 1  # past the closing fence
        values.append((kind, "\n".join(body) + "\n" if body else ""))
    pairs = []
    for (first, stdin), (second, expected) in zip(values, values[1:], strict=False):
        if first == "input" and second == "output":
            pairs.append(io_test(stdin, expected))
    return pairs


def _asserts(text: str) -> list[str]:
    tests: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if _FENCE.match(line):
            continue
        start = _assert_start(line)
        if start is not None:
            _close(tests, current)
            current = [start]
        elif current is not None and not _complete(current) \
                and len(current) < MAX_ASSERT_LINES:
            current.append(line.rstrip())
        else:
            _close(tests, current)
            current = None
    _close(tests, current)
    return tests


def _assert_start(line: str) -> str | None:
    """The assert statement a line starts (numbering, bullets and backticks taken off)."""
    body = _ITEM_PREFIX.sub("", line, count=1).strip()
    if body.startswith("`"):  # inline code: the statement ends at its closing backtick
        body = body.strip("`").split("`", 1)[0].strip()
    if re.match(r"assert\b", body):
        return body
    return None


def _complete(lines: list[str]) -> bool:
    try:
        ast.parse("\n".join(lines))
    except SyntaxError:
        return False
    return True


def _close(tests: list[str], current: list[str] | None) -> None:
    if current and _complete(current):
        tests.append("\n".join(current))
