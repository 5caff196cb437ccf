"""The verifier's prompt and the parser of its verdict.

Archon asks twice (a reasoning, then a verdict on query, response and reasoning); itas asks once
for both, reasoning first and the verdict last, which is the same order of thought in one call.

Read: the last verdict in the reply — ``Verdict: correct``, ``**Verdict:** Incorrect``,
``Verdict - CORRECT``, Archon's ``[Correct]`` / ``[Incorrect]``, or a last sentence such as
"The response is correct." A verdict line that names both (a copied instruction) is refused.
"""

from __future__ import annotations

import re

from worker.techniques.base import Candidate, ReplyError
from worker.techniques.conversation import Conversation, Messages

SYSTEM_PROMPT = "You are a careful verifier who checks whether answers are correct."

_VERDICT = re.compile(
    r"verdict[\s*_:#-]*(?:is[\s*_:]*)?[\[(\"'`]*\s*(correct|incorrect|right|wrong|true|false)\b"
    r"|\[\s*(correct|incorrect)\s*\]"
    r"|\bresponse\s+is\s+(not\s+)?(?:(?:entirely|fully|completely|mostly)\s+)?"
    r"(correct|incorrect|wrong)\b",
    re.IGNORECASE,
)
_YES = {"correct", "right", "true"}


def messages(conversation: Conversation, candidate: Candidate, *, no_system: bool) -> Messages:
    prompt = (
        f"Request:\n{conversation.query_text()}\n\n"
        f"Response to check:\n{candidate.text.strip()}\n\n"
        "Decide whether this response answers the request correctly and completely. Check "
        "each step of its reasoning and its final result against the request, and explain "
        "what you find. Then end with a line of its own that reads 'Verdict: correct' if the "
        "response is right, or 'Verdict: incorrect' if it is not."
    )
    return conversation.asking(SYSTEM_PROMPT, prompt, no_system=no_system)


def parse(text: str) -> bool:
    """True when the response was judged correct. Raises ReplyError when no verdict is given
    or the last verdict line names both outcomes."""
    found = list(_VERDICT.finditer(text))
    if not found:
        raise ReplyError("no verdict such as 'Verdict: correct' in the reply")
    last = found[-1]
    line_start = text.rfind("\n", 0, last.start()) + 1
    line_end = text.find("\n", last.end())
    line = text[line_start: line_end if line_end >= 0 else len(text)].lower()
    if re.search(r"\bcorrect\b", line) and re.search(r"\bincorrect\b", line) \
            and re.search(r"\bor\b|/", line):
        raise ReplyError(f"the verdict line names both outcomes: {line.strip()!r}")
    said, bracketed, negated, sentence = last.groups()
    word = (said or bracketed or sentence).lower()
    return (word in _YES) != bool(negated)
