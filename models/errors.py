"""The one exception hierarchy of itas.

    ItasError
    ├── UserError                 bad input from a person: the CLI prints it on one line, exits 2
    │   ├── ConfigError           a setting, an environment variable or a config file is wrong
    │   ├── InvalidArchitecture   an architecture breaks the rules; ``details`` lists every error
    │   └── InvalidSearchJob      a search job file is wrong; ``details`` lists every error
    ├── ServiceUnavailable        PostgreSQL, Redis or the broker does not answer (transient:
    │   │                         a worker's layer task retries it with backoff)
    │   ├── RateLimiterUnavailable  the limiter's Redis does not answer: no call goes out
    │   ├── CacheUnavailable      the cache's Redis does not answer
    │   ├── DatabaseUnavailable   PostgreSQL does not answer (or dropped the connection)
    │   ├── BrokerUnavailable     the broker does not take a message
    │   └── SharedCallTimeout     an identical call another process is making did not finish
    ├── LayerTimeout              a layer's calls outlived the task's soft time limit (retried)
    ├── InfrastructureFailure     work stopped by services down past every retry (not a score)
    ├── EmbeddedServiceError      an embedded PostgreSQL/Redis could not be started or stopped
    └── EndpointError             an LLM endpoint's answer, mapped at the client boundary
        ├── RetryableEndpointError    worth another try, after a pause
        │   ├── RateLimited           429; carries retry_after_s when the provider said
        │   │   └── AcquireTimeout    our own limiter could not admit the call in time; nothing sent
        │   ├── EndpointTimeout       no answer within the timeout
        │   └── EndpointUnavailable   5xx, connection refused or reset, truncated body
        └── FatalEndpointError        another try would fail the same way
            ├── BadRequest            4xx other than 401/403/404/429: the request is wrong
            │   └── QuestionRefused   the provider refuses this question's prompt (over the
            │                         context window, content policy): the answer is `refused`
            ├── SetupError            every call of this LLM would fail: the run stops
            │   ├── AuthenticationFailed  401/403: the key is wrong (its value is never shown)
            │   ├── ModelNotFound     404: the endpoint does not serve the model
            │   └── ParameterRefused  a 400 that is not the question's (a parameter the model
            │                         refuses); also a BadRequest
            ├── InvalidResponse       2xx whose body is not the wire format, or empty
            └── JudgeRefused          a judged benchmark's judge refused a judge call for good:
                                      the question fails with the cause (never a score)

Lower-level errors (pydantic, psycopg, redis-py, subprocess) are translated into these at exactly
one boundary each, with `raise Mapped(...) from exc`, so callers never catch library types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class ItasError(Exception):
    """Root of every error itas raises on purpose."""


class UserError(ItasError):
    """Something a person gave us is wrong; the message says what and where."""


class ConfigError(UserError):
    """A setting is malformed or missing. The message names the variable or file."""


class InvalidArchitecture(UserError):
    """An architecture breaks rules; each line names file, layer, component and field.

    ``details`` holds every error, one line each (all of them, not just the first). ``str()``
    is the summary followed by the details, indented, so the CLI prints them all.
    """

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        self.summary = message
        self.details = list(details)
        super().__init__("\n".join([message, *(f"  {line}" for line in self.details)]))

    def __reduce__(self) -> tuple[type[InvalidArchitecture], tuple[str, list[str]]]:
        # Pickled across processes (Celery results) with its details intact.
        return (type(self), (self.summary, self.details))


class InvalidSearchJob(UserError):
    """A search job file is wrong; each line names the file, the path inside it
    (``space.samples[2]``, ``budget.usd_per_question``) and what was expected.

    Like :class:`InvalidArchitecture`: ``details`` holds every error, ``str()`` shows them all.
    """

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        self.summary = message
        self.details = list(details)
        super().__init__("\n".join([message, *(f"  {line}" for line in self.details)]))

    def __reduce__(self) -> tuple[type[InvalidSearchJob], tuple[str, list[str]]]:
        return (type(self), (self.summary, self.details))


class ServiceUnavailable(ItasError):
    """A service the command needs (PostgreSQL, Redis) does not answer.

    The message says which service, at which address, and how to start it.
    """


class EmbeddedServiceError(ItasError):
    """An embedded PostgreSQL or Redis could not be started or stopped."""


class RateLimiterUnavailable(ServiceUnavailable):
    """The rate limiter cannot reach Redis. It fails closed: no request is sent."""


class CacheUnavailable(ServiceUnavailable):
    """The response cache's Redis does not answer (refused, reset, or past its socket timeout)."""


class DatabaseUnavailable(ServiceUnavailable):
    """PostgreSQL does not answer, or dropped the connection mid-statement."""


class BrokerUnavailable(ServiceUnavailable):
    """The Celery broker does not take a message (handing a question on to its next layer)."""


class SharedCallTimeout(ServiceUnavailable):
    """Single flight: the identical call another process leads neither finished nor gave up
    its lease in time. Nothing was sent by us; trying again later is safe."""


class LayerTimeout(ItasError):
    """A layer's calls did not all finish within the task's soft time limit (stuck behind a
    dead single-flight leader, or an endpoint slower than the limit allows). The layer task
    retries it: its finished calls are cached."""


class InfrastructureFailure(ItasError):
    """Work could not be done for a reason that is not the user's nor the LLM's answer (a
    service down past every retry). The run stops with this cause; a search job that fails
    with it is resumed by the next scheduler start."""


class EndpointError(ItasError):
    """An LLM endpoint did not give a usable answer. ``endpoint`` names it (never a key)."""

    def __init__(self, message: str, *, endpoint: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status


class RetryableEndpointError(EndpointError):
    """Transient: the same request may succeed later."""


class RateLimited(RetryableEndpointError):
    """HTTP 429. ``retry_after_s`` is the provider's own pause, when it gave one;
    ``headers`` its rate-limit headers (what the limiter learns from; never a key)."""

    def __init__(self, message: str, *, endpoint: str = "", status: int | None = 429,
                 retry_after_s: float | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, endpoint=endpoint, status=status)
        self.retry_after_s = retry_after_s
        self.headers: Mapping[str, str] = dict(headers or {})


class AcquireTimeout(RateLimited):
    """Our own limiter could not admit the call within its timeout; nothing was sent.

    A :class:`RateLimited` (retryable, ``retry_after_s`` = the limiter's estimate of when a slot
    frees up) but *not* a provider's 429: it must not pause the key again. ``status`` is None
    because no HTTP exchange happened.
    """


class EndpointTimeout(RetryableEndpointError):
    """No (complete) answer within the client's timeout."""


class EndpointUnavailable(RetryableEndpointError):
    """5xx, a refused or reset connection, or a body cut off in transit."""


class FatalEndpointError(EndpointError):
    """Permanent for this request: retrying would fail the same way."""


class BadRequest(FatalEndpointError):
    """The endpoint rejected the request itself (4xx other than 401, 403, 404 and 429)."""


class QuestionRefused(BadRequest):
    """The provider refused the request for what the question put in it, not for how it was
    asked: the prompt is over the LLM's context window, or a content filter refused it
    (worker/clients/refusals.py lists what is read as such). Another question may pass, so
    the run goes on; a question whose answer is missing because its calls were refused is
    recorded ``refused`` with ``reason`` (the provider's words), never a plain 0."""

    def __init__(self, message: str, *, endpoint: str = "", status: int | None = None,
                 reason: str = "") -> None:
        super().__init__(message, endpoint=endpoint, status=status)
        self.reason = reason or message


class SetupError(FatalEndpointError):
    """The setup, not the request, is wrong: every call of this LLM (or with this key) would
    fail the same way. A run that meets one stops with it (its evaluation and job fail with
    the message) instead of failing question after question; it is never a score."""


class AuthenticationFailed(SetupError):
    """401/403. The message names the key's environment variable, never its value."""


class ModelNotFound(SetupError):
    """404 on the chat route: the endpoint does not serve the model (or base_url is wrong)."""


class ParameterRefused(SetupError, BadRequest):
    """A 400 on the chat route that is not a refusal of the question (QuestionRefused): a
    parameter or value the model does not take (OpenAI's ``unsupported_parameter``, an
    out-of-range temperature, a max_tokens above the model's output limit). Every call made
    the same way would get it, so the run stops at the first, with the provider's message.
    Also a :class:`BadRequest`, which it is: code that handles a provider's 400 (the OpenAI
    client resending a reasoning model's request in its form) still catches it."""


class InvalidResponse(FatalEndpointError):
    """A 2xx answer that is not the wire format (malformed JSON, missing fields, empty)."""


class JudgeRefused(FatalEndpointError):
    """A judged benchmark's judge refused a judge call for good, not as a setup error (a 400:
    the prompt over the judge's context, say). The question cannot be judged, so it fails
    with this cause (worker/judging.py) instead of getting a score."""
