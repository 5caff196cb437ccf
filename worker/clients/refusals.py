"""Which provider 4xx answers refuse the *question*, not the way it was asked.

A refusal of the question (the prompt is over the LLM's context window, or a content filter
turned it down) belongs to that question: another question may pass, so the run goes on and
the question is recorded ``refused`` (:class:`~models.errors.QuestionRefused`). Any other 400
on the chat route is a refusal every call made the same way would get (a parameter the model
does not take), which stops the run (:class:`~models.errors.ParameterRefused`, decided in
:mod:`worker.clients.transport`). The decision is made here, once, by :func:`question_refusal`.

What is read as a refusal of the question:

- OpenAI (and Groq, Together, Azure in the same shape): ``error.code`` ``context_length_exceeded``,
  ``string_above_max_length`` (a message longer than the API takes), ``content_policy_violation``
  or ``content_filter`` (Azure's content filter);
- Anthropic: the message ``prompt is too long: N tokens > M maximum``, and ``input length and
  `max_tokens` exceed context limit``;
- vLLM: ``This model's maximum context length is N tokens. However, you requested ...`` (and
  OpenAI's own wording, which it copies);
- llama.cpp's server: ``the request exceeds the available context size`` (type
  ``exceed_context_size_error``);
- TGI and Together's TGI: ```inputs` tokens + `max_new_tokens` must be <= N`` and ```inputs`
  must have less than N tokens`` (a 422);
- the words ``exceeds the context window`` / ``context window exceeded`` (Mistral, Gemini's
  OpenAI-compatible endpoint, LiteLLM).

Not a refusal of the question, although it speaks of the context: vLLM's ``'max_tokens' or
'max_completion_tokens' is too large: ...`` names max_tokens itself, which every call made with
it would be refused for (a parameter). A max_tokens over the window that a server reports only
as a sum of both (TGI's ``inputs + max_new_tokens``) cannot be told apart and counts as the
question's.
"""

from __future__ import annotations

from typing import Any

__all__ = ["question_refusal"]

#: OpenAI-style ``error.code`` values of a refused question.
_CODES = frozenset({"context_length_exceeded", "string_above_max_length",
                    "content_policy_violation", "content_filter"})
#: Lower-cased phrases of a refused question in a provider's message (see the docstring).
_PHRASES = (
    "maximum context length",
    "prompt is too long",
    "exceed context limit",
    "exceeds the available context size",
    "exceeds the context window",
    "context window exceeded",
    "context_length_exceeded",
    "`inputs` tokens + `max_new_tokens` must be",
    "`inputs` must have less than",
)
#: Phrases that name max_tokens as the thing refused: every call with it would be (vLLM).
_MAX_TOKENS_PHRASES = ("'max_tokens' or 'max_completion_tokens' is too large",
                       "max_tokens is too large", "'max_tokens' is too large")


def question_refusal(status: int, body: Any, message: str) -> str | None:
    """The provider's reason when a ``status`` answer (with JSON ``body``, None when it is
    not JSON, and ``message``, the error message the wire format read from it) refuses the
    question itself; None when it does not (another 4xx, or a refusal of a parameter).

    Only 400, 413 (payload too large) and 422 (TGI's validation) are read."""
    if status not in (400, 413, 422):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    lowered = message.lower()
    if any(phrase in lowered for phrase in _MAX_TOKENS_PHRASES):
        return None
    if isinstance(code, str) and code in _CODES:
        return message or code
    if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
        return message or "exceed_context_size_error"  # llama.cpp
    if any(phrase.lower() in lowered for phrase in _PHRASES):
        return message
    return None
