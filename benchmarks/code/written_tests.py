"""Reading tests an LLM wrote (Archon's unit-test generator) into something that can run.

Two forms, one per kind of problem:

- a function's test is Python ending in (or made of) ``assert`` statements, possibly over
  several lines, possibly in a fenced block, possibly numbered (``1.``, ``2)``, ``-``,
  ``Test 3:``) or wrapped in single backticks: :func:`read_assert_test` returns the Python to
  run after the solution, or None when no assert can be read;
- a stdin/stdout problem's test is an input and the output it must give, each after its label
  (``Input:`` and ``Output:`` or ``Expected output:``), in fenced blocks or as plain lines:
  :func:`read_io_test` returns the pair, or None.

A test that cannot be read is never guessed at: the caller leaves it out and names it.
"""

from __future__ import annotations

import ast
import re
import textwrap

from benchmarks.code.extract import drop_reasoning, fenced_blocks

__all__ = ["read_assert_test", "read_io_test"]

_ENUMERATION = re.compile(
    r"^[ \t]*(?:\d+[.)]|[-*•]|(?:unit\s+)?test(?:\s+case)?\s*#?\d*\s*[:.)-])[ \t]*(?=`*assert\b)",
    re.IGNORECASE | re.MULTILINE)
_INLINE_TICKS = re.compile(r"^([ \t]*)`+(assert\b[^`\n]*)`+[ \t]*$", re.MULTILINE)
_ASSERT_LINE = re.compile(r"^[ \t]*assert\b", re.MULTILINE)
_IO = re.compile(r"\binput\b[^\n:]{0,40}:?(?P<input>.*?)\b(?:expected\s+)?output\b[^\n:]{0,40}:?"
                 r"(?P<output>.*)", re.IGNORECASE | re.DOTALL)
_EXPLANATION = re.compile(r"\n\s*\n|\n\s*(?:explanation|because|note)\b", re.IGNORECASE)


def _has_assert(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(node, ast.Assert) for node in ast.walk(tree))


def read_assert_test(test: str) -> str | None:
    """The Python of one written function test, or None (rule: module docstring)."""
    text = drop_reasoning(test)
    blocks = [block.code for block in fenced_blocks(text) if block.code.strip()]
    text = "\n".join(blocks) if blocks else text
    text = _INLINE_TICKS.sub(r"\1\2", _ENUMERATION.sub("", text))
    text = textwrap.dedent(text).strip("\n")
    if _has_assert(text):
        return text + "\n"
    first = _ASSERT_LINE.search(text)
    if first is None:
        return None
    # Prose before the first assert, or after the last line that parses, is dropped: the
    # longest run of lines from the first assert that is Python holding an assert is the test.
    lines = textwrap.dedent(text[first.start():]).split("\n")
    for end in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:end]).strip("\n")
        if _has_assert(candidate):
            return candidate + "\n"
    return None


def _part(text: str, *, is_output: bool) -> str | None:
    blocks = fenced_blocks(text)
    if blocks:
        return blocks[0].code
    text = text.lstrip(" \t")
    if is_output:  # plain output ends at a blank line or an explanation
        cut = _EXPLANATION.search(text.lstrip("\n"))
        text = text.lstrip("\n")[:cut.start()] if cut else text
    value = text.strip().strip("`").strip()
    return value + "\n" if value else None


def read_io_test(test: str) -> tuple[str, str] | None:
    """(stdin, expected stdout) of one written stdin/stdout test, or None."""
    text = drop_reasoning(test)
    match = _IO.search(text)
    if match is None:
        return None
    given, expected = (_part(match["input"], is_output=False),
                       _part(match["output"], is_output=True))
    if given is None or expected is None:
        return None
    return given, expected
