"""A code problem as the simulator knows it, and how it reads code out of a reply.

A :class:`CodeProblem` is what an answer key of kind ``code`` (simulator/code_keys.py) carries
beside the usual difficulty and distractors: the reference program, how it is called (a
function's name, or a program reading standard input) and the problem's own tests.

Code in a reply is read as a reader of chat replies reads it: the last fenced block (```` ``` ````,
with or without a language tag), else the whole reply. Two programs are *the same* when their
normalised forms are equal (:func:`normalise_code`): docstrings, comments, blank lines and
indentation do not count, so a reply that repeats HumanEval's signature without the docstring,
or a re-indented one, is still recognised as the reference or as one of its mutations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CodeProblem", "code_block", "fenced", "normalise_code"]


@dataclass(frozen=True)
class CodeProblem:
    """One code problem (see the module docstring).

    ``source``: ``humaneval``, ``mbpp`` or ``code-contests``. ``entry_point``: the function the
    tests call, None for a program that reads standard input. ``reference``: a whole correct
    program (HumanEval: the prompt and the canonical body). ``header``: what the prompt gives
    of the code (HumanEval's signature and docstring), "" otherwise. ``asserts``: one-line
    Python ``assert`` statements that call ``entry_point``; ``io_tests``: (input, expected
    output) pairs, public ones first. ``time_limit_s``: the problem's limit per test.
    """

    source: str
    entry_point: str | None
    reference: str
    header: str = ""
    asserts: tuple[str, ...] = ()
    io_tests: tuple[tuple[str, str], ...] = ()
    time_limit_s: float = 2.0

    @property
    def reads_stdin(self) -> bool:
        return self.entry_point is None


_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[ \t]*\n(.*?)^[ \t]*```[ \t]*$",
                    re.MULTILINE | re.DOTALL)
_DOCSTRING = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'')
_COMMENT = re.compile(r"^\s*#.*$")


def code_block(text: str) -> str:
    """The last complete fenced block of ``text``, else ``text`` itself."""
    blocks = _FENCE.findall(text.replace("\r\n", "\n"))
    return blocks[-1][1] if blocks else text


def normalise_code(code: str) -> str:
    """``code`` with docstrings, comments, blank lines and indentation left out, and runs of
    spaces inside a line collapsed: the identity by which the simulator recognises a program."""
    text = _DOCSTRING.sub("", code.replace("\r\n", "\n").expandtabs(4))
    lines = (" ".join(line.split()) for line in text.splitlines() if not _COMMENT.match(line))
    return "\n".join(line for line in lines if line)


def fenced(code: str, lang: str = "python") -> str:
    """``code`` in a fenced block."""
    return f"```{lang}\n{code.rstrip()}\n```"
