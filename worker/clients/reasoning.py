"""Learning from a provider's 400 that an LLM is a reasoning model.

A reasoning model (OpenAI's o-series, GPT-5 class) refuses ``max_tokens`` and any
``temperature`` but its default, with a 400 such as::

    {"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this
     model. Use 'max_completion_tokens' instead.", "type": "invalid_request_error",
     "param": "max_tokens", "code": "unsupported_parameter"}}

The registry can say so (``reasoning: true``, models/endpoints.py). When it does not,
:func:`worker.clients.transport.send_chat` resends a request refused this way once in
reasoning form (worker/clients/openai.py), and when that one is not refused the same way, the
(endpoint, LLM) is remembered here: its later requests go in reasoning form from the start.
Any other 400 is left as it is (a BadRequest with the provider's message).

**Why the process's memory is enough.** Not knowing costs, per worker process and LLM, one
refused request for each call in flight before the first resend came back (a few, at most the
worker's concurrency): a 400 is not billed, uses no tokens, and the limiter gives its token
estimate back. Sharing it through Redis would add a round trip to every call to save a few
free requests; the registry's ``reasoning: true`` is the lasting way to say it, and the
warning logged when it is learnt says so.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import replace
from typing import Any

from worker.clients.base import ChatRequest

__all__ = ["forget", "in_known_form", "learn", "refuses_classic_form"]

log = logging.getLogger(__name__)

#: (param, code) of OpenAI's refusals of the classic form.
_REFUSALS = {("max_tokens", "unsupported_parameter"), ("temperature", "unsupported_value")}
#: The same refusal said only in words (a proxy that drops ``param`` and ``code``).
_WORDS = re.compile(r"Unsupported (?:parameter|value): '(?:max_tokens|temperature)'")

_lock = threading.Lock()
_learned: set[tuple[str, str]] = set()


def refuses_classic_form(status: int, body: Any) -> bool:
    """Whether a response (``status``, parsed JSON ``body``) refuses ``max_tokens`` or a
    ``temperature`` the way OpenAI refuses them for a reasoning model."""
    if status != 400 or not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return False
    error = body["error"]
    if (error.get("param"), error.get("code")) in _REFUSALS:
        return True
    return bool(_WORDS.match(str(error.get("message", ""))))


def in_known_form(endpoint: str, request: ChatRequest) -> ChatRequest:
    """``request`` in reasoning form when its LLM was learnt to need it on ``endpoint``."""
    if request.reasoning:
        return request
    with _lock:
        known = (endpoint, request.llm) in _learned
    return replace(request, reasoning=True) if known else request


def learn(endpoint: str, llm: str) -> None:
    """Remember that ``llm`` on ``endpoint`` takes requests in reasoning form only."""
    with _lock:
        new = (endpoint, llm) not in _learned
        _learned.add((endpoint, llm))
    if new:
        log.warning("endpoint %s: %s refused max_tokens/temperature as a reasoning model "
                    "does; sending it max_completion_tokens and no temperature from now on "
                    "(mark it reasoning: true in the endpoints registry to skip the refusal)",
                    endpoint, llm)


def forget() -> None:
    """Forget everything learnt (tests)."""
    with _lock:
        _learned.clear()
