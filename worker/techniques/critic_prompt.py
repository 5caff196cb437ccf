"""The critic's prompt and the parser of its reply.

Asked: for every response, its identifier on a line, then its strengths, then its weaknesses
(Archon's critic format). Read: the reply is cut at identifiers at the start of a line —
``[2]``, ``**[2]**``, ``### Response 2``, ``Response 2:``, ``Candidate 2`` — and each part
that names both strengths and weaknesses is that response's critique. Critiques of responses
that do not exist are ignored (small real models write them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from worker.techniques.base import Candidate, ReplyError
from worker.techniques.conversation import Conversation, Messages
from worker.techniques.listing import list_responses

SYSTEM_PROMPT = "You are a careful and critical reviewer of answers."

_MARKER = re.compile(
    r"^[ \t>*#_-]*(?:\[(\d+)\]|(?:response|candidate|answer)\s*#?\s*\[?(\d+)\]?)"
    r"[ \t*_]*(?::|\.|\)|$|\s)",
    re.IGNORECASE | re.MULTILINE,
)


def messages(conversation: Conversation, candidates: Sequence[Candidate],
             *, no_system: bool) -> Messages:
    count = len(candidates)
    prompt = (
        f"Below is a request followed by {count} responses to it, each under a numerical "
        "identifier in square brackets.\n\n"
        f"Request:\n{conversation.query_text()}\n\n"
        f"Responses:\n\n{list_responses(candidates, with_critiques=False)}\n\n"
        f"Review each of the {count} responses against the request. Check its reasoning and "
        "its final result, not only its style. For every response, from the first to the "
        "last, write its identifier on a line of its own, then a line starting with "
        "'Strengths:' that says what it does well, then a line starting with 'Weaknesses:' "
        "that says what is wrong or missing. Give both strengths and weaknesses for every "
        "response, even if one list is short. Write nothing before the first critique and "
        "nothing after the last."
    )
    return conversation.asking(SYSTEM_PROMPT, prompt, no_system=no_system)


def parse(text: str, count: int) -> dict[int, str]:
    """Critique text per response number (1-based). Raises ReplyError unless every response
    from 1 to ``count`` has one that names strengths and weaknesses."""
    critiques = _sections(text, count)
    missing = [n for n in range(1, count + 1) if n not in critiques]
    if missing:
        raise ReplyError(
            "no critique with strengths and weaknesses for response"
            f"{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))}")
    return critiques


def parse_partial(text: str, count: int) -> dict[int, str]:
    """The critiques that can be read, for the critic's rule after the last attempt."""
    return _sections(text, count)


def _sections(text: str, count: int) -> dict[int, str]:
    marks = list(_MARKER.finditer(text))
    found: dict[int, str] = {}
    for i, mark in enumerate(marks):
        number = int(mark.group(1) or mark.group(2))
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[mark.end():end].strip()
        lowered = body.lower()
        if not 1 <= number <= count or "strength" not in lowered or "weakness" not in lowered:
            continue
        # A later section for the same response (a model that repeats itself) replaces it.
        found[number] = body
    return found
