"""One HTTP exchange with an endpoint, and the one boundary where its errors are mapped.

:func:`send_chat` is the only function in itas that talks HTTP to an LLM endpoint. Everything
that can go wrong there leaves it as one of :mod:`models.errors`:

=====================================================  =========================================
what happened                                           raised
=====================================================  =========================================
no answer within the endpoint's ``timeout_s``           EndpointTimeout
connection refused/reset, protocol error, body cut      EndpointUnavailable
HTTP 5xx (incl. Anthropic's 529)                        EndpointUnavailable
HTTP 408                                                EndpointTimeout (the server timed out)
HTTP 429                                                RateLimited(retry_after_s from headers)
HTTP 401/403                                            AuthenticationFailed (names the variable)
HTTP 404                                                ModelNotFound (the model, or base_url, is
                                                        wrong: every call would fail the same)
HTTP 400 refusing max_tokens/temperature (OpenAI's      resent once in reasoning form, then as
reasoning-model refusal)                                any other answer (worker/clients/reasoning)
4xx refusing the question (context window, content    QuestionRefused(reason); which answers
policy; 400, 413, 422 on the chat route)                are is worker/clients/refusals.py's
other 400 on the chat route                             ParameterRefused (every call would be)
other 4xx, 3xx, or a request the format can't express  BadRequest
2xx: not JSON at all, or an empty body                 EndpointUnavailable (garbled in transit)
2xx: JSON without the format's fields, empty content   InvalidResponse
API key variable not set                                ConfigError
=====================================================  =========================================

A 2xx answer without the log-probabilities a request asked for is no error: its
``top_logprobs`` are empty, and the caller reads the text (see :mod:`worker.clients.openai`).

AuthenticationFailed, ModelNotFound and ParameterRefused are
:class:`~models.errors.SetupError`: they stop the run instead of failing question after
question. :func:`list_models` (the preflight's one cheap, unpaid request,
``GET {base_url}/models``) maps its errors the same way.

A 2xx body that is not JSON (cut at its end, broken in the middle, or empty) was damaged on
its way (a proxy, a reset stream): another try gets a whole one, so it is EndpointUnavailable
and retried. A body that *is* JSON but not the wire format is InvalidResponse: the endpoint
speaks another format, and another try would fail the same way.

**The API key.** Its value is read from ``keys_env`` here, at send time, stripped of
surrounding whitespace, put in a header, and dropped. It is never stored, logged, put in a
message or a repr; a lower-level error whose text contains it is not chained (``from None``),
and providers' error messages are scrubbed of it. 401/403 messages name the variable only.

**The connection pools.** One ``httpx.Client`` per thread: a thread makes one call at a time
and keeps its connections for its next calls. Not one client shared by the threads, because
httpcore's pool (1.0.9, and its master as of 2026-09) can close a connection it has just given
to another thread's request (encode/httpcore#1110, open): the socket is closed under a thread
waiting for its reply, which then hangs until the read timeout or fails with EBADF. That
happened to about one call in 20,000 at 128 in flight (bench/README.md), and to 8 of about
6,000 calls where connections expire every few milliseconds (tests/worker/test_http_pool.py).
A thread's own pool has no other thread to race with. It is also cheap: the shared pool's
bookkeeping walks every connection, per idle connection, on every request and reply, under one
lock; a thread's pool holds a few. The threads share one TLS context (the CA bundle is loaded
once per process). After a fork the child drops the parent's clients without closing them
(closing would shut the parent's sockets' TLS sessions) and makes its own.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import httpx

from models.errors import (
    AuthenticationFailed,
    BadRequest,
    ConfigError,
    EndpointError,
    EndpointTimeout,
    EndpointUnavailable,
    InvalidResponse,
    ModelNotFound,
    ParameterRefused,
    QuestionRefused,
    RateLimited,
)
from worker.clients import reasoning
from worker.clients.anthropic import ANTHROPIC
from worker.clients.base import (
    HEADER_PREFIXES_OF_INTEREST,
    HEADERS_OF_INTEREST,
    ChatRequest,
    ChatResponse,
    EndpointConfig,
    TopLogprobs,
    WireFormat,
)
from worker.clients.openai import OPENAI
from worker.clients.refusals import question_refusal
from worker.clients.rerank import RERANK
from worker.clients.retry_after import retry_after_s

__all__ = ["endpoint_url", "http_client", "list_models", "read_api_key", "reset_http_client",
           "send_chat", "wire_format"]

_KINDS: dict[str, WireFormat] = {
    "openai": OPENAI,
    "openai-compatible": OPENAI,
    "anthropic": ANTHROPIC,
    "rerank": RERANK,
}
_MESSAGE_LIMIT = 300

#: Endpoints a thread keeps a connection to: its calls go to whichever endpoint the next call
#: needs, so it keeps one to each of a few, and makes a new one (with a real provider, a TLS
#: handshake) only past that. Bounds a worker's sockets at threads x this
#: (worker/concurrency.open_files_needed).
KEPT_PER_THREAD = 4
#: Seconds an idle connection is kept (httpx's default): a connection idle longer is closed by
#: its thread's next call rather than risk a server that already dropped it.
KEEPALIVE_S = 5.0

_lock = threading.Lock()
_local = threading.local()
_generation = 0
_tls: ssl.SSLContext | None = None


class _ThreadClient:
    """A thread's client. When the thread ends, threading.local drops this and the client is
    closed with it (a short-lived thread leaves no connection open behind it); in a forked
    child, which only forgets it, it is left alone."""

    def __init__(self, client: httpx.Client, generation: int) -> None:
        self.client, self.generation, self.pid = client, generation, os.getpid()

    def __del__(self) -> None:
        if os.getpid() == self.pid:
            self.client.close()


#: Every thread's client of this process, so that a reset closes them all; ``_generation``
#: tells a thread that its client was closed by a reset.
_clients: weakref.WeakSet[_ThreadClient] = weakref.WeakSet()


def new_client() -> httpx.Client:
    """A client for one thread (tests route it through a transport double by replacing this)."""
    global _tls
    with _lock:
        if _tls is None:
            _tls = httpx.create_ssl_context()
        tls = _tls
    return httpx.Client(
        verify=tls,
        limits=httpx.Limits(max_connections=KEPT_PER_THREAD,
                            max_keepalive_connections=KEPT_PER_THREAD,
                            keepalive_expiry=KEEPALIVE_S),
        follow_redirects=False,  # a redirect means a wrong base_url: say so
        headers={"user-agent": "itas"},
    )


def http_client() -> httpx.Client:
    """This thread's connection pool (made on its first call; used by this thread only)."""
    mine: _ThreadClient | None = getattr(_local, "mine", None)
    if mine is None or mine.generation != _generation:
        mine = _ThreadClient(new_client(), _generation)
        with _lock:
            _clients.add(mine)
        _local.mine = mine
    return mine.client


def reset_http_client() -> None:
    """Close every thread's pool (at shutdown, or in tests); each thread's next call makes a
    new one."""
    global _generation
    with _lock:
        closing = list(_clients)
        _clients.clear()
        _generation += 1
    for mine in closing:
        mine.client.close()


def _forget_after_fork() -> None:
    global _lock, _local, _clients, _generation, _tls
    _lock, _local, _clients, _generation, _tls = (
        threading.Lock(), threading.local(), weakref.WeakSet(), 0, None)


os.register_at_fork(after_in_child=_forget_after_fork)


def wire_format(kind: str) -> WireFormat:
    try:
        return _KINDS[kind]
    except KeyError:
        raise ConfigError(
            f"endpoint kind {kind!r}: expected one of {', '.join(sorted(_KINDS))}"
        ) from None


def read_api_key(endpoint: str, key_env: str | None, keys_env: Mapping[str, str]) -> str | None:
    """The key in variable ``key_env`` (None: no auth). Raises ConfigError naming it if unset."""
    if key_env is None:
        return None
    value = keys_env.get(key_env, "").strip()
    if not value:
        raise ConfigError(f"{key_env} is not set (an API key of endpoint {endpoint})")
    return value


def endpoint_url(base_url: str, operation: str) -> str:
    """``base_url`` with ``operation`` (``/chat/completions``) appended to its path.

    The base URL keeps whatever path it has (``.../v1``, Gemini's ``.../v1beta/openai``,
    Azure's ``.../openai/v1``) and its query string stays at the end. A base URL with no
    path at all means ``/v1``: Anthropic's SDK takes the bare host, and older registries
    wrote ``http://localhost:8000`` for a local server.
    """
    parts = urlsplit(str(base_url))
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path + operation, parts.query, ""))


def send_chat(
    endpoint: EndpointConfig, request: ChatRequest, *, key_env: str | None,
    keys_env: Mapping[str, str], client: httpx.Client | None = None,
) -> ChatResponse:
    """Send ``request`` once with the key in variable ``key_env``; the mapping boundary.

    Raises only :mod:`models.errors` types (see the module's table). Thread-safe. A request
    an OpenAI-compatible endpoint refuses as a reasoning model refuses ``max_tokens`` or
    ``temperature`` is sent once more in reasoning form (worker/clients/reasoning.py).
    ``client`` is the process's shared one unless given (the preflight's probes bring one of
    their own, closed at once, as :func:`list_models` does).
    """
    name = endpoint.name
    wire = wire_format(endpoint.kind)
    if wire is OPENAI:
        request = reasoning.in_known_form(name, request)
    try:
        body = wire.body(request)
    except ValueError as exc:
        raise BadRequest(f"endpoint {name}: {exc}; not sent", endpoint=name) from exc
    api_key = read_api_key(name, key_env, keys_env)
    headers = wire.auth_headers(api_key)
    started = time.perf_counter()
    http = client or http_client()
    response = _exchange(name, endpoint.timeout_s, api_key, lambda: http.post(
        endpoint_url(endpoint.base_url, wire.path), json=body, headers=headers,
        timeout=endpoint.timeout_s))
    latency_s = time.perf_counter() - started
    status = response.status_code
    if wire is OPENAI and not request.reasoning and reasoning.refuses_classic_form(
            status, _json_or_none(response)):
        return _resend_in_reasoning_form(endpoint, request, key_env=key_env,
                                         keys_env=keys_env, client=client)
    if not 200 <= status < 300:
        _raise(_status_error(name, key_env, wire, response, api_key, request.llm), None,
               api_key)
    try:
        payload = json.loads(response.content)
    except ValueError as exc:
        _raise(_undecodable(name, status, response.content, exc), exc, api_key)
    try:
        texts, finishes, tokens_in, tokens_out, llm = wire.parse(payload)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        _raise(InvalidResponse(
            f"endpoint {name}: HTTP {status} but not the {endpoint.kind} format ({what})",
            endpoint=name, status=status), exc, api_key)
    # Read only when asked for (then one entry per text, empty where none came): a server
    # that sends them unasked gives nothing more.
    tops: tuple[TopLogprobs, ...] = ()
    if request.top_logprobs > 0:
        read = wire.top_logprobs(payload)
        tops = tuple(read[i] if i < len(read) else () for i in range(len(texts)))
    return ChatResponse(
        text=texts[0], texts=texts, finish_reason=finishes[0], finish_reasons=finishes,
        tokens_in=tokens_in,
        tokens_out=tokens_out, latency_s=latency_s, llm=llm or request.llm,
        headers=_interesting(response.headers), key_env=key_env or "",
        top_logprobs=tops[0] if tops else (), choices_top_logprobs=tops,
    )


def _resend_in_reasoning_form(
    endpoint: EndpointConfig, request: ChatRequest, *, key_env: str | None,
    keys_env: Mapping[str, str], client: httpx.Client | None,
) -> ChatResponse:
    """The refused ``request`` once more, in reasoning form. Learnt for its LLM unless this
    one is refused too (then the provider's refusal of it is raised, as any BadRequest): a
    timeout or a 5xx says nothing against the form, and the next try uses it."""
    try:
        response = send_chat(endpoint, replace(request, reasoning=True), key_env=key_env,
                             keys_env=keys_env, client=client)
    except BadRequest:
        raise
    except EndpointError:
        reasoning.learn(endpoint.name, request.llm)
        raise
    reasoning.learn(endpoint.name, request.llm)
    return response


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _exchange(name: str, timeout_s: float, api_key: str | None,
              send: Callable[[], httpx.Response]) -> httpx.Response:
    """Make one HTTP exchange; what failed on the way is mapped here, once, for every route
    (the chat call and the model list alike)."""
    try:
        return send()
    except httpx.TimeoutException as exc:
        _raise(EndpointTimeout(
            f"endpoint {name}: no answer within {timeout_s:g}s ({type(exc).__name__})",
            endpoint=name), exc, api_key)
    except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError,
            httpx.DecodingError) as exc:
        _raise(EndpointUnavailable(
            f"endpoint {name}: {type(exc).__name__}: {_scrub(str(exc), api_key)}",
            endpoint=name), exc, api_key)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        _raise(BadRequest(
            f"endpoint {name}: the request could not be sent ({type(exc).__name__}: "
            f"{_scrub(str(exc), api_key)}); check base_url", endpoint=name), exc, api_key)


def _status_error(
    name: str, key_env: str | None, wire: WireFormat, response: httpx.Response,
    api_key: str | None, llm: str | None = None,
) -> EndpointError:
    status = response.status_code
    if status in (401, 403):
        # The provider's message is left out: some quote part of the key back.
        return AuthenticationFailed(
            f"endpoint {name}: HTTP {status}, the API key in {key_env or '(none configured)'} "
            "was refused", endpoint=name, status=status)
    payload: Any = None
    try:
        payload = response.json()
        said = wire.error_message(payload)
    except ValueError:
        said = response.text
    said = _scrub(" ".join(said.split())[:_MESSAGE_LIMIT], api_key)
    message = f"endpoint {name}: HTTP {status}" + (f": {said}" if said else "")
    if status == 429:
        wait = retry_after_s(response.headers)
        return RateLimited(message, endpoint=name, status=status, retry_after_s=wait,
                           headers=_interesting(response.headers))
    if status == 408:
        return EndpointTimeout(message, endpoint=name, status=status)
    if status >= 500:
        return EndpointUnavailable(message, endpoint=name, status=status)
    if status == 404 and llm is not None:
        # On the chat route a 404 means the model (OpenAI, vLLM, Groq, Anthropic all say so
        # with a 404) or the route itself is unknown: either way no call of this LLM can work.
        return ModelNotFound(f"endpoint {name}: model {llm!r} not found (HTTP 404"
                             + (f": {said}" if said else "") + "); check the LLM's wire_model "
                             "and the endpoint's base_url", endpoint=name, status=status)
    if 300 <= status < 400:
        message += f" (a redirect to {response.headers.get('location', '?')}: check base_url)"
    if llm is not None:  # the chat route: the question's refusal, or every call's
        reason = question_refusal(status, payload, said)
        if reason is not None:
            return QuestionRefused(message, endpoint=name, status=status, reason=reason)
        if status == 400:
            return ParameterRefused(f"{message} (LLM {llm!r}: every call made so would be "
                                    "refused)", endpoint=name, status=status)
    return BadRequest(message, endpoint=name, status=status)


#: The model list's operation (OpenAI, Anthropic, vLLM, Together, Groq, Ollama, TGI,
#: llama.cpp), appended to the base URL as the chat operation is.
MODELS_PATH = "/models"
#: The list is fetched with at most this timeout: it is a small, unpaid request.
LIST_TIMEOUT_S = 10.0


def list_models(endpoint: EndpointConfig, *, key_env: str | None,
                keys_env: Mapping[str, str]) -> list[str] | None:
    """The model names ``GET {base_url}/models`` lists, asked with the key in ``key_env``.

    Not a completion: providers do not bill it, so the preflight can ask it of every key.
    None when the endpoint has no such list (404/405/501, or a body that is not a list of
    models): the model cannot be checked before the run then (a 404 during the run stops it).
    Errors are mapped as in :func:`send_chat` (a refused key is AuthenticationFailed).
    """
    name = endpoint.name
    wire = wire_format(endpoint.kind)
    api_key = read_api_key(name, key_env, keys_env)
    timeout = min(endpoint.timeout_s, LIST_TIMEOUT_S)
    # A client of its own, closed at once: the preflight asks from short-lived threads, whose
    # pools would otherwise stay open until a reset.
    with new_client() as client:
        response = _exchange(name, timeout, api_key, lambda: client.get(
            endpoint_url(endpoint.base_url, MODELS_PATH), headers=wire.auth_headers(api_key),
            params={"limit": 1000} if endpoint.kind == "anthropic" else None, timeout=timeout))
    if response.status_code in (404, 405, 501):
        return None
    if not 200 <= response.status_code < 300:
        _raise(_status_error(name, key_env, wire, response, api_key), None, api_key)
    try:
        payload = json.loads(response.content)
    except ValueError:
        return None
    # OpenAI and Anthropic: {"data": [{"id": ...}]}; Together: a bare list.
    items = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        return None
    return [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]


def _undecodable(name: str, status: int, content: bytes, exc: ValueError) -> EndpointError:
    text = content.decode("utf-8", "replace").rstrip()
    cut = (
        isinstance(exc, json.JSONDecodeError) and bool(text)
        and (exc.pos >= len(text) or exc.msg.startswith("Unterminated string"))
    )
    if cut:
        what = f"the answer was cut off after {len(content)} bytes"
    elif text:
        what = f"the answer is not JSON ({exc})"
    else:
        what = "an empty answer"
    return EndpointUnavailable(f"endpoint {name}: HTTP {status} but {what}", endpoint=name,
                               status=status)


def _key_forms(api_key: str | None) -> list[str]:
    """The key as it may appear in a message: as is, or escaped inside a str or bytes repr."""
    if not api_key:
        return []
    forms = {api_key, repr(api_key)[1:-1], repr(api_key.encode("utf-8", "replace"))[2:-1]}
    return sorted(forms, key=len, reverse=True)


def _scrub(text: str, api_key: str | None) -> str:
    for form in _key_forms(api_key):
        text = text.replace(form, "***")
    return text


def _raise(mapped: EndpointError, cause: BaseException | None, api_key: str | None) -> NoReturn:
    # Chain the lower-level error (for debugging) unless its text carries the key.
    if cause is not None and _scrub(repr(cause) + str(cause), api_key) != repr(cause) + str(
        cause
    ):
        raise mapped from None
    raise mapped from cause


def _interesting(headers: httpx.Headers) -> dict[str, str]:
    return {
        k: v for k, v in headers.items()
        if k in HEADERS_OF_INTEREST or k.startswith(HEADER_PREFIXES_OF_INTEREST)
    }
