"""The ranker's prompt and the parser of its reply.

Asked: a short explanation, then a last line ``Ranking:`` listing every identifier once, best
first, joined by ``>``. The example in the prompt names one more response than there are, so a
model that copies the example instead of ranking writes an identifier that does not exist, and
the reply is refused rather than read as a ranking.

Read: a chain of at least two identifiers joined by ``>`` — ``[2] > [1] > [3]``, ``Ranking:
3 > 2 > 1``, ``**Answer:** [2] > [3] > [1]``, ``Response 2 > Response 1``: the last one on a
line labelled ``Ranking:`` (or ``Answer:``, Archon's label), else the one chain the reply
gives (several that disagree are refused).
Identifiers must exist and appear once. A chain that names only some responses is accepted
when it names at least as many as the ranker passes on (``needed``): the rest follow in their
input order (Archon appends the missing ones the same way).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from worker.techniques.base import Candidate, ReplyError
from worker.techniques.conversation import Conversation, Messages
from worker.techniques.listing import any_critique, list_responses

SYSTEM_PROMPT = "You are an impartial judge who ranks answers from best to worst."

_ID = r"(?:\[\s*(?:response\s*)?(\d+)\s*\]|(?:response|candidate)?\s*#?\s*(\d+))"
_CHAIN = re.compile(rf"{_ID}(?:[\s*_]*>[\s*_]*{_ID})+", re.IGNORECASE)
_ONE_ID = re.compile(_ID, re.IGNORECASE)
_LABEL = re.compile(r"^[\s*_#>-]*(?:final\s+)?(?:ranking|answer|order)\b", re.IGNORECASE)


def messages(conversation: Conversation, candidates: Sequence[Candidate],
             *, no_system: bool) -> Messages:
    count = len(candidates)
    critiques = any_critique(candidates)
    example = " > ".join(f"[{n}]" for n in _example_order(count + 1))
    prompt = (
        f"Below is a request followed by {count} responses to it, each under a numerical "
        "identifier in square brackets"
        + (", with a critique of its strengths and weaknesses" if critiques else "") + ".\n\n"
        f"Request:\n{conversation.query_text()}\n\n"
        f"Responses:\n\n{list_responses(candidates, with_critiques=critiques)}\n\n"
        f"Rank the {count} responses from best to worst for this request: a correct and "
        "complete response ranks above one that is wrong or incomplete"
        + (", and the critiques can help you judge" if critiques else "") + ". "
        "Explain your judgement briefly. Then write a last line that starts with 'Ranking:' "
        "and lists every identifier exactly once, best first, separated by '>'. For example, "
        f"with {count + 1} responses such a line could read: Ranking: {example}"
    )
    return conversation.asking(SYSTEM_PROMPT, prompt, no_system=no_system)


def _example_order(n: int) -> list[int]:
    # Not the input order, so that it shows a ranking, and deterministic.
    return [n, *range(1, n)] if n > 1 else [1]


def parse(text: str, count: int, needed: int) -> list[int]:
    """Response numbers (1-based), best first, all ``count`` of them (see the module docstring).
    Raises ReplyError when no usable ranking line is found, or when the reply gives several
    rankings that disagree and none is labelled ``Ranking:`` (a small real model wrote
    ``[2] > [1] > [3]`` first and "the correct answer is [3] > [2] > [1]" later)."""
    chains = [(line, m.group(0)) for line in text.splitlines()
              for m in _CHAIN.finditer(line)]
    if not chains:
        raise ReplyError("no ranking such as '[2] > [1] > [3]' in the reply")
    labelled = [chain for line, chain in chains if _LABEL.search(line)]
    # A chain of bracketed identifiers wins over a bare comparison such as "5 > 3".
    bracketed = [chain for _, chain in chains if "[" in chain] or [c for _, c in chains]
    if labelled:
        chosen = labelled[-1]
    else:
        readings = {tuple(_ids(chain)) for chain in bracketed}
        if len(readings) > 1:
            raise ReplyError(f"the reply gives {len(readings)} different rankings and none "
                             "on a line starting with 'Ranking:'")
        chosen = bracketed[-1]
    order = _ids(chosen)
    if any(not 1 <= n <= count for n in order):
        raise ReplyError(f"ranking {order} names a response outside 1..{count}")
    if len(set(order)) != len(order):
        raise ReplyError(f"ranking {order} names a response twice")
    if len(order) < min(needed, count):
        raise ReplyError(f"ranking {order} names {len(order)} responses, {needed} are needed")
    return order + [n for n in range(1, count + 1) if n not in order]


def _ids(chain: str) -> list[int]:
    return [int(a or b) for a, b in _ONE_ID.findall(chain)]
