"""Reading the code out of an LLM's reply.

The rule (issue 25): the last *complete* fenced code block, else the whole reply; None only
for a reply with nothing in it. In detail:

- Line endings are normalised (CRLF, CR -> LF) first.
- Reasoning is not the answer: ``<think>...</think>`` sections are dropped; a reply that opens
  a ``<think>`` it never closes (cut off while thinking) keeps only what came before it; a
  reply with a lone ``</think>`` (the template opened the section) keeps what follows it.
- A fence is a line that starts (after any spaces: models indent blocks inside list items)
  with three or more backticks or tildes, followed by an optional info string (``python``,
  ``py``, ``python3``, ``text``...). It is closed by a line of the same character, at least as
  long, with nothing else on it (CommonMark's rule; a ````` ```python ````` line inside a
  ````` ```` ````` block is content). The opening fence's indentation is removed from the
  block's lines, as CommonMark does, so that code in a list item is not indented.
  A block whose closing fence never comes (the reply was cut off) is not complete and is not
  taken.
- A benchmark may say which blocks can hold the answer (``wanted``): HumanEval and MBPP ask
  for the block that defines the function the tests call, so that a trailing usage example
  (```` ```python\\nprint(f(3))\\n``` ````) does not win over the solution above it;
  CodeContests prefers Python blocks over sample input/output blocks. Without such a block
  the last complete block is taken, as the issue says.
- No complete block: the whole reply (after the reasoning is dropped), stripped of blank
  lines around it. Prose around unfenced code is not removed: it will fail to run, which is
  the reply's fault, not something to guess around.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CodeBlock", "drop_reasoning", "extract_code", "fenced_blocks"]

_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_THINK_SECTION = re.compile(r"<think>.*?</think>", re.IGNORECASE | re.DOTALL)
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*?)[ \t]*$")


@dataclass(frozen=True)
class CodeBlock:
    """One complete fenced block: its info string's first word, lower-cased (``""`` when
    none), and its text (ending with a newline unless empty)."""

    language: str
    code: str


def drop_reasoning(reply: str) -> str:
    """``reply`` with line endings normalised and its ``<think>`` sections removed."""
    text = reply.replace("\r\n", "\n").replace("\r", "\n")
    text = _THINK_SECTION.sub("", text)
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:  # a close with no open: the chat template opened the section before the reply
        text = text[closes[-1].end():]
    opened = _THINK_OPEN.search(text)
    if opened:  # opened and never closed: everything after it is unfinished reasoning
        text = text[:opened.start()]
    return text


def fenced_blocks(text: str) -> list[CodeBlock]:
    """The complete fenced blocks of ``text`` (already normalised), in order."""
    blocks: list[CodeBlock] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        # A backtick fence's info string may not hold a backtick (CommonMark): "```a```" is
        # inline code, not a fence.
        if not opening or (opening["fence"][0] == "`" and "`" in opening["info"]):
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        body: list[str] = []
        for end in range(index + 1, len(lines)):
            closing = _FENCE.match(lines[end])
            if closing and not closing["info"] and closing["fence"][0] == fence[0] \
                    and len(closing["fence"]) >= len(fence):
                words = opening["info"].split()
                code = "\n".join(body)
                blocks.append(CodeBlock(words[0].lower() if words else "",
                                        code + "\n" if code else ""))
                index = end + 1
                break
            line = lines[end]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
        else:
            return blocks  # never closed: the reply was cut off inside this block
    return blocks


def extract_code(reply: str, wanted: Callable[[CodeBlock], bool] | None = None) -> str | None:
    """The code of ``reply`` by the rule of the module docstring; None for an empty reply."""
    text = drop_reasoning(reply)
    blocks = [block for block in fenced_blocks(text) if block.code.strip()]
    if blocks:
        chosen = [block for block in blocks if wanted(block)] if wanted else []
        return (chosen or blocks)[-1].code
    whole = text.strip("\n")
    return whole + "\n" if whole.strip() else None
