"""What every endpoint kind shares: the request and response value objects, the endpoint
contract, and the interface a wire format implements.

A *wire format* (``openai``, ``anthropic``) only turns a :class:`ChatRequest` into a body and a
body back into a :class:`ChatResponse`. It does no I/O and never sees the API key: headers with
the key are added at the one boundary in :mod:`worker.clients.transport`, which also maps every
error. Its parser raises plain ``ValueError``/``KeyError``/``TypeError`` on a body that is not
the format; the boundary turns those into :class:`~models.errors.InvalidResponse`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "ChatRequest",
    "ChatResponse",
    "EndpointConfig",
    "TopLogprobs",
    "WireFormat",
    "estimate_tokens",
]

#: One output token's most likely tokens with their log-probabilities, best first:
#: ``(("m", -0.02), ("M", -3.9))``. Empty when they were not asked for or not given.
TopLogprobs = tuple[tuple[str, float], ...]

#: Response headers a caller may want to see or record (rate-limit state, request ids).
HEADERS_OF_INTEREST = ("retry-after", "retry-after-ms", "request-id", "x-request-id")
HEADER_PREFIXES_OF_INTEREST = ("x-ratelimit-", "anthropic-ratelimit-")


class EndpointConfig(Protocol):
    """What the clients need to know of an endpoint; ``models.endpoints.Endpoint`` has it.

    Read-only, so a frozen pydantic model or dataclass matches. ``api_key_envs`` holds the
    *names* of environment variables with the API keys (empty: a local server without auth).
    """

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def api_key_envs(self) -> Sequence[str]: ...
    @property
    def requests_per_min(self) -> int | None: ...
    @property
    def tokens_per_min(self) -> int | None: ...
    @property
    def max_in_flight(self) -> int | None: ...
    @property
    def timeout_s(self) -> float: ...


@dataclass(frozen=True)
class ChatRequest:
    """One chat call. ``llm`` is the name the endpoint knows the LLM by (its wire name).

    Usage::

        ChatRequest(llm="sim-small", messages=[{"role": "user", "content": "2+2?"}])
        ChatRequest(llm="claude-x", messages=[{"role": "system", "content": "Be brief."},
                                              {"role": "user", "content": "Hi"}], max_tokens=64)

    ``n`` > 1 asks an OpenAI-compatible endpoint for several choices in one call (Anthropic has
    no such parameter). ``seed`` goes to endpoints that take one; it is part of the cache key
    either way. ``top_logprobs`` > 0 asks for the first output token's ``top_logprobs`` most
    likely tokens where the format can say it (OpenAI's ``logprobs``/``top_logprobs``);
    Anthropic's API has no log-probabilities, and its requests go without.

    ``reasoning`` asks for a reasoning model's form of the request (OpenAI's o-series and
    GPT-5 class: ``max_completion_tokens`` for ``max_tokens``, no ``temperature``);
    ``reasoning_effort`` (``minimal``, ``low``, ``medium``, ``high``) is sent where the format
    has it, whenever set. Anthropic's format ignores both.
    """

    llm: str
    messages: Sequence[Mapping[str, str]]
    temperature: float = 0.7
    max_tokens: int = 2048
    seed: int | None = None
    n: int = 1
    stop: Sequence[str] | None = None
    top_p: float | None = None
    #: Only for a reward model's rerank endpoint: the texts to score against the last user
    #: message (worker/clients/rerank.py). Chat formats ignore it.
    documents: Sequence[str] = ()
    top_logprobs: int = 0
    reasoning: bool = False
    reasoning_effort: str | None = None

    def __post_init__(self) -> None:
        if not self.messages:
            raise ValueError("ChatRequest.messages: expected at least one message")
        for i, message in enumerate(self.messages):
            if not isinstance(message.get("role"), str) or not isinstance(
                message.get("content"), str
            ):
                raise ValueError(f"ChatRequest.messages[{i}]: expected {{role, content}} strings")
        if self.max_tokens < 1 or self.n < 1:
            raise ValueError("ChatRequest: max_tokens and n must be positive")
        if self.top_logprobs < 0:
            raise ValueError("ChatRequest.top_logprobs: expected 0 (none) or more")


@dataclass(frozen=True)
class ChatResponse:
    """An endpoint's answer. ``texts`` has one entry per choice; ``text`` is the first.

    ``tokens_in``/``tokens_out`` are the provider's reported usage; ``latency_s`` is the HTTP
    exchange only (not time spent waiting for the rate limiter); ``headers`` keeps the
    rate-limit and request-id headers. ``key_env`` names the environment variable of the key
    that was used (never its value); ``attempts`` counts HTTP exchanges, retries included.
    ``top_logprobs`` is the first choice's first-token log-probabilities; ``choices_top_logprobs``
    has one entry per text when the request asked for them (an entry is empty where the
    endpoint gave none), and is empty when it did not ask.
    """

    text: str
    finish_reason: str
    tokens_in: int
    tokens_out: int
    latency_s: float
    llm: str = ""
    texts: tuple[str, ...] = ()
    #: One per text (``finish_reason`` is the first's).
    finish_reasons: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    key_env: str = ""
    attempts: int = 1
    top_logprobs: TopLogprobs = ()
    choices_top_logprobs: tuple[TopLogprobs, ...] = ()

    @property
    def tokens_total(self) -> int:
        return self.tokens_in + self.tokens_out


class WireFormat(Protocol):
    """One endpoint kind's wire format: pure functions over bodies, no I/O, no key."""

    #: The operation appended to the endpoint's base URL (``/chat/completions``): the base
    #: URL carries the rest of the path (transport.endpoint_url).
    path: str

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        """Headers that carry the key (called at the boundary only, at send time)."""
        ...

    def body(self, request: ChatRequest) -> dict[str, Any]:
        """The JSON body of ``request``. Raises ValueError for what the format cannot say."""
        ...

    def parse(self, body: Any) -> tuple[tuple[str, ...], tuple[str, ...], int, int, str]:
        """(texts, finish_reasons, tokens_in, tokens_out, llm) of a 2xx body: one text and one
        finish reason per choice; the tokens are the request's (all choices together).

        Raises ValueError, KeyError or TypeError when the body is not the format or empty.
        """
        ...

    def top_logprobs(self, body: Any) -> tuple[TopLogprobs, ...]:
        """The first output token's top log-probabilities of each choice of a 2xx body (in
        the order of :meth:`parse`'s texts), best first; () where the format has none.

        Never raises: a body without them, or with a shape it does not know, gives empty
        entries (a caller that wanted them falls back on the text).
        """
        ...

    def error_message(self, body: Any) -> str:
        """The provider's own error message in an error body, or ''."""
        ...


def estimate_tokens(request: ChatRequest) -> int:
    """Tokens to reserve before the call: prompt (4 characters a token, plus a few per
    message for the chat template) and the most the answer can use. Deliberately on the high
    side; :meth:`worker.ratelimit.Permit.release` corrects it with the reported usage."""
    prompt = sum((len(m["content"]) + 3) // 4 + 4 for m in request.messages)
    prompt += sum((len(d) + 3) // 4 for d in request.documents)
    return prompt + request.max_tokens * request.n
