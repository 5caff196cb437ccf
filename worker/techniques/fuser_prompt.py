"""The fuser's prompt: the candidates (each with its critique when a critic wrote one) and a
request for one new response to the conversation, in free text. The answer format is the
query's own: the fuser is told to follow every instruction of the request, which carries the
benchmark's framing. ``length_control`` adds Archon's limit (no longer than the longest
candidate)."""

from __future__ import annotations

from collections.abc import Sequence

from worker.techniques.base import Candidate
from worker.techniques.conversation import Conversation, Messages
from worker.techniques.listing import any_critique, list_responses

SYSTEM_PROMPT = "You are a helpful assistant who combines several answers into one better answer."


def messages(conversation: Conversation, candidates: Sequence[Candidate], *,
             length_control: bool, no_system: bool) -> Messages:
    critiques = any_critique(candidates)
    count = len(candidates)
    query = conversation.query_text()
    prompt = (
        f"Here is the latest request in this conversation:\n\n{query}\n\n"
        f"Below are {count} responses to it from different assistants"
        + (", each followed by a critique of its strengths and weaknesses" if critiques else "")
        + ". Some of them may be wrong, incomplete or biased.\n\n"
        f"{list_responses(candidates, with_critiques=critiques)}\n\n"
        "Write one new, high-quality response to the request. Weigh the responses"
        + (" and their critiques" if critiques else "") + " critically: keep what is right, "
        "correct what is wrong, and do not simply copy one of them. Answer the request "
        "directly, without mentioning that other responses exist, and follow every "
        "instruction the request gives, including how it asks for the final answer."
    )
    if length_control:
        prompt += " Make your response no longer than the longest of the responses above."
    return conversation.asking(SYSTEM_PROMPT, prompt, no_system=no_system)
