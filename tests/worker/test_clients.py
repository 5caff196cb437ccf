"""Endpoint clients: what a caller of call_llm/send_chat notices.

Parser and error-mapping edge cases go through httpx.MockTransport (a transport-level double);
retries, backoff, pauses shared between limiter instances, timeouts and cut bodies go over real
sockets to a small HTTP server started here, with the real Redis of the run behind the limiter.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import redis

from models.errors import (
    AuthenticationFailed,
    BadRequest,
    ConfigError,
    EndpointTimeout,
    EndpointUnavailable,
    InvalidResponse,
    ModelNotFound,
    ParameterRefused,
    QuestionRefused,
    RateLimited,
    RateLimiterUnavailable,
)
from tests.services import RunServices
from worker.clients import ChatRequest, RetryPolicy, call_llm, send_chat
from worker.clients import transport as transport_module
from worker.clients.retry_after import parse_duration, retry_after_s
from worker.clients.transport import list_models
from worker.ratelimit import AcquireTimeout, Limits, RateLimiter

KEY_ENV = "ITAS_TEST_KEY_1"
OTHER_KEY_ENV = "ITAS_TEST_KEY_2"
FAST = RetryPolicy(max_attempts=4, max_total_s=20, base_s=0.05, cap_s=0.2)


@dataclass
class Endpoint:
    """Has the attributes of models.endpoints.Endpoint that the clients read."""

    name: str = "test-ep"
    kind: str = "openai"
    base_url: str = "http://mock"
    api_key_envs: list[str] = field(default_factory=lambda: [KEY_ENV])
    requests_per_min: int | None = None
    tokens_per_min: int | None = None
    max_in_flight: int | None = None
    timeout_s: float = 5.0


def request(**overrides: Any) -> ChatRequest:
    fields: dict[str, Any] = {
        "llm": "sim-small",
        "messages": [{"role": "user", "content": "What is 2+3?"}],
        "max_tokens": 32,
        "seed": 7,
    }
    return ChatRequest(**{**fields, **overrides})


def openai_body(content: str = "Answer: 5", **usage: int) -> dict[str, Any]:
    return {
        "model": "sim-small",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": usage.get("prompt", 12), "completion_tokens":
                  usage.get("completion", 3)},
    }


def anthropic_body(text: str = "Answer: 5") -> dict[str, Any]:
    return {
        "type": "message", "model": "claude-sim", "role": "assistant",
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 20, "output_tokens": 4},
    }


# -- transport-level double ------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


# The mock_http fixture (tests/worker/conftest.py) routes the clients through a Handler.


def send(kind: str = "openai", key: str = "sk-test", **overrides: Any) -> Any:
    return send_chat(Endpoint(kind=kind), request(**overrides), key_env=KEY_ENV,
                     keys_env={KEY_ENV: key})


def reply(status: int, body: Any = None, *, raw: bytes | None = None,
          headers: dict[str, str] | None = None) -> Handler:
    content = raw if raw is not None else json.dumps(body).encode()
    return lambda req: httpx.Response(status, content=content, headers=headers)


def raising(exc: type[httpx.HTTPError]) -> Handler:
    def handler(req: httpx.Request) -> httpx.Response:
        raise exc("simulated", request=req)
    return handler


FULL = json.dumps(openai_body()).encode()

MAPPING = [
    # (what, kind, handler, expected error, expected status)
    ("429 with retry-after", "openai",
     reply(429, {"error": {"message": "slow down"}}, headers={"retry-after": "3"}),
     RateLimited, 429),
    ("401", "openai", reply(401, {"error": {"message": "bad key"}}), AuthenticationFailed, 401),
    ("403", "anthropic", reply(403, {"type": "error", "error": {"message": "no"}}),
     AuthenticationFailed, 403),
    ("400", "openai", reply(400, {"error": {"message": "max_tokens too big"}}),
     ParameterRefused, 400),
    ("400 context window", "openai", reply(400, {"error": {
        "message": "This model's maximum context length is 2048 tokens. However, your messages "
        "resulted in 3012 tokens.", "type": "invalid_request_error", "param": "messages",
        "code": "context_length_exceeded"}}), QuestionRefused, 400),
    ("400 anthropic prompt too long", "anthropic", reply(400, {"type": "error", "error": {
        "type": "invalid_request_error", "message": "prompt is too long: 3012 tokens > 2048 "
        "maximum"}}), QuestionRefused, 400),
    ("400 content filter", "openai", reply(400, {"error": {"message": "The response was "
     "filtered", "code": "content_filter"}}), QuestionRefused, 400),
    ("400 vllm context", "openai", reply(400, {"object": "error", "message": "This model's "
     "maximum context length is 4096 tokens. However, you requested 5000 tokens (4900 in the "
     "messages, 100 in the completion).", "type": "BadRequestError", "code": 400}),
     QuestionRefused, 400),
    ("400 vllm max_tokens too large", "openai", reply(400, {"object": "error", "message":
     "'max_tokens' or 'max_completion_tokens' is too large: 200000. This model's maximum "
     "context length is 32768 tokens and your request has 50 input tokens",
     "type": "BadRequestError", "code": 400}), ParameterRefused, 400),
    ("400 llama.cpp context", "openai", reply(400, {"error": {"code": 400, "message": "the "
     "request exceeds the available context size, try increasing it", "type":
     "exceed_context_size_error"}}), QuestionRefused, 400),
    ("422 tgi context", "openai", reply(422, {"error": "Input validation error: `inputs` tokens "
     "+ `max_new_tokens` must be <= 4096. Given: 5000 `inputs` tokens and 16 `max_new_tokens`",
     "error_type": "validation"}), QuestionRefused, 422),
    ("400 unsupported parameter", "openai", reply(400, {"error": {"message": "Unsupported "
     "parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' "
     "instead.", "type": "invalid_request_error", "param": "max_tokens", "code":
     "unsupported_parameter"}}), ParameterRefused, 400),
    ("404 unknown model", "openai", reply(404, {"error": "model not found"}), ModelNotFound,
     404),
    ("422", "openai", reply(422, raw=b"Unprocessable"), BadRequest, 422),
    ("408", "openai", reply(408, raw=b""), EndpointTimeout, 408),
    ("500", "openai", reply(500, {"error": {"message": "oops"}}), EndpointUnavailable, 500),
    ("502 html", "openai", reply(502, raw=b"<html>Bad Gateway</html>"), EndpointUnavailable,
     502),
    ("503", "anthropic", reply(503, {"error": {"message": "busy"}}), EndpointUnavailable, 503),
    ("529 overloaded", "anthropic", reply(529, {"type": "error", "error": {"type":
     "overloaded_error", "message": "Overloaded"}}), EndpointUnavailable, 529),
    ("301 redirect", "openai", reply(301, raw=b"", headers={"location": "https://x/v1"}),
     BadRequest, 301),
    ("200 malformed JSON", "openai",
     reply(200, raw=FULL.replace(b'"model":', b'"model" ', 1)), EndpointUnavailable, 200),
    ("200 cut off JSON", "openai", reply(200, raw=FULL[: len(FULL) // 2]),
     EndpointUnavailable, 200),
    ("200 cut inside a string", "openai", reply(200, raw=FULL[:30]), EndpointUnavailable, 200),
    ("200 empty body", "openai", reply(200, raw=b""), EndpointUnavailable, 200),
    ("200 missing usage", "openai",
     reply(200, {k: v for k, v in openai_body().items() if k != "usage"}), InvalidResponse, 200),
    ("200 no choices", "openai", reply(200, {**openai_body(), "choices": []}),
     InvalidResponse, 200),
    ("200 empty content", "openai", reply(200, openai_body(content="")), InvalidResponse, 200),
    ("200 null content", "openai", reply(200, {**openai_body(), "choices": [
        {"index": 0, "message": {"role": "assistant", "content": None}}]}), InvalidResponse, 200),
    ("200 a list", "openai", reply(200, [1, 2]), InvalidResponse, 200),
    ("200 anthropic no text", "anthropic", reply(200, {**anthropic_body(), "content": []}),
     InvalidResponse, 200),
    ("200 anthropic as openai", "anthropic", reply(200, openai_body()), InvalidResponse, 200),
    ("connect refused", "openai", raising(httpx.ConnectError), EndpointUnavailable, None),
    ("reset", "openai", raising(httpx.ReadError), EndpointUnavailable, None),
    ("remote protocol", "openai", raising(httpx.RemoteProtocolError), EndpointUnavailable, None),
    ("read timeout", "openai", raising(httpx.ReadTimeout), EndpointTimeout, None),
    ("connect timeout", "openai", raising(httpx.ConnectTimeout), EndpointTimeout, None),
    ("pool timeout", "anthropic", raising(httpx.PoolTimeout), EndpointTimeout, None),
]


@pytest.mark.parametrize(("what", "kind", "handler", "expected", "status"), MAPPING,
                         ids=[m[0] for m in MAPPING])
def test_every_failure_becomes_one_error_of_the_hierarchy(
    mock_http: Callable[[Handler], list[httpx.Request]], what: str, kind: str,
    handler: Handler, expected: type[Exception], status: int | None,
) -> None:
    mock_http(handler)
    with pytest.raises(expected) as raised:
        send(kind)
    assert type(raised.value) is expected, what
    assert raised.value.endpoint == "test-ep"  # type: ignore[attr-defined]
    if status is not None:
        assert raised.value.status == status  # type: ignore[attr-defined]
    if isinstance(raised.value, RateLimited):
        assert raised.value.retry_after_s == 3
    if isinstance(raised.value, AuthenticationFailed):
        assert KEY_ENV in str(raised.value)
    if isinstance(raised.value, QuestionRefused):  # the provider's own words, for the user
        assert raised.value.reason and raised.value.reason in str(raised.value)


def test_provider_error_messages_are_kept_for_the_user(
    mock_http: Callable[[Handler], list[httpx.Request]],
) -> None:
    mock_http(reply(400, {"error": {"message": "max_tokens: must be <= 4096"}}))
    with pytest.raises(BadRequest, match=r"test-ep: HTTP 400: max_tokens: must be <= 4096"):
        send()


def test_a_request_the_format_cannot_express_is_refused_before_sending(
    mock_http: Callable[[Handler], list[httpx.Request]],
) -> None:
    seen = mock_http(reply(200, anthropic_body()))
    with pytest.raises(BadRequest, match="n=1"):
        send("anthropic", n=2)
    with pytest.raises(BadRequest, match="role 'tool'"):
        send("anthropic", messages=[{"role": "tool", "content": "x"}])
    with pytest.raises(ConfigError, match="endpoint kind 'gemini'"):
        send_chat(Endpoint(kind="gemini"), request(), key_env=KEY_ENV, keys_env={KEY_ENV: "k"})
    with pytest.raises(ConfigError, match=f"{KEY_ENV} is not set"):
        send_chat(Endpoint(), request(), key_env=KEY_ENV, keys_env={})
    assert seen == []


def test_openai_request_and_usage(mock_http: Callable[[Handler], list[httpx.Request]]) -> None:
    two = {**openai_body(prompt=40, completion=9), "choices": [
        {"index": 1, "message": {"content": "Answer: 6"}, "finish_reason": "stop"},
        {"index": 0, "message": {"content": "Answer: 5"}, "finish_reason": "length"},
    ]}
    headers = {"x-ratelimit-remaining-requests": "9", "x-request-id": "r1", "server": "x"}
    seen = mock_http(reply(200, two, headers=headers))
    response = send_chat(
        Endpoint(base_url="http://mock/v1/"), request(n=2, stop=["\n\n"], temperature=0.3),
        key_env=KEY_ENV, keys_env={KEY_ENV: "sk-test"})
    (sent,) = seen
    assert str(sent.url) == "http://mock/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert json.loads(sent.content) == {
        "model": "sim-small", "messages": [{"role": "user", "content": "What is 2+3?"}],
        "temperature": 0.3, "max_tokens": 32, "n": 2, "stream": False, "seed": 7,
        "stop": ["\n\n"]}
    assert response.texts == ("Answer: 5", "Answer: 6") and response.text == "Answer: 5"
    assert (response.tokens_in, response.tokens_out, response.tokens_total) == (40, 9, 49)
    assert response.finish_reason == "length" and response.llm == "sim-small"
    assert response.headers == {"x-ratelimit-remaining-requests": "9", "x-request-id": "r1"}
    assert response.key_env == KEY_ENV and response.latency_s >= 0


def test_anthropic_takes_the_system_prompt_apart(
    mock_http: Callable[[Handler], list[httpx.Request]],
) -> None:
    seen = mock_http(reply(200, anthropic_body()))
    response = send_chat(
        Endpoint(kind="anthropic"),
        request(llm="claude-sim", temperature=1.5, messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Question one."},
            {"role": "user", "content": "Question two."},
            {"role": "assistant", "content": "Noted."},
            {"role": "system", "content": "Answer with a number."},
            {"role": "user", "content": "Go."},
        ]),
        key_env=KEY_ENV, keys_env={KEY_ENV: "sk-ant-test"})
    (sent,) = seen
    assert str(sent.url) == "http://mock/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-test"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    body = json.loads(sent.content)
    assert body["system"] == "You are terse.\n\nAnswer with a number."
    assert body["messages"] == [
        {"role": "user", "content": "Question one.\n\nQuestion two."},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": "Go."},
    ]
    assert body["temperature"] == 1.0 and body["max_tokens"] == 32 and "seed" not in body
    assert (response.text, response.tokens_in, response.tokens_out) == ("Answer: 5", 20, 4)
    assert response.finish_reason == "end_turn"


# -- retry-after ---------------------------------------------------------------------------

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after": "2"}, 2.0),
    ({"retry-after": "0.5"}, 0.5),
    ({"retry-after": format_datetime(NOW + timedelta(seconds=30), usegmt=True)}, 30.0),
    ({"retry-after": format_datetime(NOW - timedelta(seconds=30), usegmt=True)}, 0.0),
    ({"retry-after-ms": "1500", "retry-after": "2"}, 1.5),
    ({"retry-after": "soon"}, None),
    ({"x-ratelimit-reset-requests": "1m30s", "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-tokens": "2s", "x-ratelimit-remaining-tokens": "500"}, 90.0),
    ({"x-ratelimit-reset-requests": "120ms", "x-ratelimit-remaining-requests": "3",
      "x-ratelimit-reset-tokens": "6m0s", "x-ratelimit-remaining-tokens": "0"}, 360.0),
    ({"x-ratelimit-reset-requests": "0.5s", "x-ratelimit-reset-tokens": "1.25s"}, 1.25),
    ({"anthropic-ratelimit-requests-reset": (NOW + timedelta(seconds=12)).isoformat(),
      "anthropic-ratelimit-requests-remaining": "0"}, 12.0),
    ({}, None),
])
def test_retry_after_is_read_from_whatever_the_provider_sent(
    headers: dict[str, str], expected: float | None,
) -> None:
    assert retry_after_s(headers, now=NOW) == expected


def test_durations() -> None:
    assert parse_duration("6m0s") == 360 and parse_duration("1h2m3.5s") == 3723.5
    assert parse_duration("250ms") == 0.25 and parse_duration("7") == 7
    assert parse_duration("7 parsecs") is None and parse_duration("") is None


# -- the API key never shows ----------------------------------------------------------------

def all_text_of(exc: BaseException) -> str:
    return repr(exc) + str(exc) + "".join(traceback.format_exception(exc))


CANARY_CASES = [
    ("401 quoting the key", reply(401, {"error": {"message": "Incorrect API key: {KEY}"}})),
    ("400 quoting the key", reply(400, {"error": {"message": "bad header {KEY}"}})),
    ("429 quoting the key", reply(429, {"error": {"message": "limit for {KEY}"}})),
    ("refused", raising(httpx.ConnectError)),
    ("timeout", raising(httpx.ReadTimeout)),
]


@pytest.mark.parametrize(("what", "handler"), CANARY_CASES, ids=[c[0] for c in CANARY_CASES])
def test_the_key_never_appears_in_errors(
    mock_http: Callable[[Handler], list[httpx.Request]], what: str, handler: Handler,
) -> None:
    canary = f"sk-CANARY-{uuid.uuid4().hex}"

    def echoing(req: httpx.Request) -> httpx.Response:
        response = handler(req)
        return httpx.Response(response.status_code, headers=response.headers,
                              content=response.content.replace(b"{KEY}", canary.encode()))

    seen = mock_http(echoing)
    with pytest.raises(Exception) as raised:
        send(key=canary)
    assert seen[0].headers["authorization"] == f"Bearer {canary}"  # it was sent...
    assert canary not in all_text_of(raised.value), what  # ...and is shown nowhere


def test_a_key_that_breaks_the_header_is_not_quoted_by_the_error() -> None:
    transport_module.reset_http_client()  # the real client: h11 refuses the header itself
    canary = f"sk-CANARY-{uuid.uuid4().hex}\nX-Injected: 1"
    with LocalServer(lambda seen, n: ok()) as server:
        with pytest.raises(BadRequest) as raised:
            send_chat(Endpoint(base_url=server.url), request(), key_env=KEY_ENV,
                      keys_env={KEY_ENV: canary})
        assert server.seen == []
    assert "sk-CANARY" not in all_text_of(raised.value)
    assert raised.value.__cause__ is None  # the lower-level error quoted it: not chained
    transport_module.reset_http_client()


# -- over real sockets -----------------------------------------------------------------------

@dataclass
class Seen:
    at: float
    path: str
    key: str
    body: dict[str, Any]


Behaviour = Callable[[Seen, int], tuple[int, dict[str, str], bytes] | str]


class LocalServer:
    """A real HTTP server in a thread. ``behaviour(seen, n)`` answers the n-th request (from 0)
    with (status, headers, body), or "hang" (sleep 2 s, then 200) / "cut" (half a body)."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                key = self.headers.get("x-api-key") or self.headers.get(
                    "authorization", "").removeprefix("Bearer ")
                with server.lock:
                    seen = Seen(time.monotonic(), self.path, key, body)
                    server.seen.append(seen)
                    n = len(server.seen) - 1
                action = server.behaviour(seen, n)
                if action == "hang":
                    time.sleep(2)
                    action = (200, {}, json.dumps(openai_body()).encode())
                if action == "cut":
                    payload = json.dumps(openai_body()).encode()
                    self.send_response(200)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                assert not isinstance(action, str)
                status, headers, payload = action
                self.send_response(status)
                for name, value in {**headers, "content-length": str(len(payload))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def ok() -> tuple[int, dict[str, str], bytes]:
    return 200, {}, json.dumps(openai_body()).encode()


def too_many(retry_after: str) -> tuple[int, dict[str, str], bytes]:
    return 429, {"retry-after": retry_after}, b'{"error": {"message": "rate limited"}}'


@pytest.fixture
def limiter(services: RunServices) -> Iterator[RateLimiter]:
    client = redis.Redis.from_url(services.redis_url)
    yield RateLimiter(client, services.redis_prefix)
    client.close()
    transport_module.reset_http_client()


KEYS = {KEY_ENV: "key-one", OTHER_KEY_ENV: "key-two"}


def endpoint_at(server: LocalServer, **overrides: Any) -> Endpoint:
    fields: dict[str, Any] = {"name": f"ep-{uuid.uuid4().hex[:8]}", "base_url": server.url}
    return Endpoint(**{**fields, **overrides})


@pytest.mark.slow
def test_a_429_pauses_the_key_for_every_worker_then_the_call_succeeds(
    limiter: RateLimiter, services: RunServices,
) -> None:
    with LocalServer(lambda seen, n: too_many("2") if n == 0 else ok()) as server:
        endpoint = endpoint_at(server)
        result: list[Any] = []
        caller = threading.Thread(target=lambda: result.append(
            call_llm(endpoint, request(), limiter=limiter, keys_env=KEYS, policy=FAST)))
        caller.start()
        while not server.seen:
            time.sleep(0.01)
        # Another worker (its own Redis connection, its own limiter) is held back too.
        other_client = redis.Redis.from_url(services.redis_url)
        other = RateLimiter(other_client, services.redis_prefix)
        deadline = time.monotonic() + 2
        while other.status(endpoint.name, KEY_ENV)[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert other.status(endpoint.name, KEY_ENV)[0] > 1.0
        with pytest.raises(AcquireTimeout):
            other.acquire(endpoint.name, KEY_ENV, Limits(), 1, timeout_s=0.5)
        other_client.close()
        caller.join(10)
    (response,) = result
    assert response.attempts == 2 and response.text == "Answer: 5"
    first, second = server.seen
    assert 1.8 <= second.at - first.at <= 3.5  # the provider's retry-after, honoured


def test_a_providers_retry_after_is_capped(limiter: RateLimiter) -> None:
    """An hour's retry-after would stall every worker: the key pauses at most max_pause_s."""
    with LocalServer(lambda seen, n: too_many("3600")) as server:
        endpoint = endpoint_at(server)
        with pytest.raises(RateLimited):
            call_llm(endpoint, request(), limiter=limiter, keys_env=KEYS,
                     policy=RetryPolicy(max_attempts=1, max_total_s=5, max_pause_s=2))
        paused_s, _ = limiter.status(endpoint.name, KEY_ENV)
    assert 0 < paused_s <= 2


def test_a_failed_call_gives_its_token_estimate_back(limiter: RateLimiter) -> None:
    """tokens/min fits one call's estimate: were a refused call's estimate kept, the next
    call would wait a minute for it; it goes at once."""
    replies = iter([(500, {}, b'{"error": {"message": "down"}}'), ok()])
    with LocalServer(lambda seen, n: next(replies)) as server:
        endpoint = endpoint_at(server, tokens_per_min=700)
        once = RetryPolicy(max_attempts=1, max_total_s=1)
        with pytest.raises(EndpointUnavailable):
            call_llm(endpoint, request(max_tokens=600), limiter=limiter, keys_env=KEYS,
                     policy=once)
        started = time.monotonic()
        response = call_llm(endpoint, request(max_tokens=600), limiter=limiter, keys_env=KEYS,
                            policy=once)
    assert response.text == "Answer: 5" and time.monotonic() - started < 1


def test_a_429_rotates_to_the_other_key_at_once(limiter: RateLimiter) -> None:
    def behaviour(seen: Seen, n: int) -> tuple[int, dict[str, str], bytes]:
        return too_many("30") if seen.key == "key-one" else ok()

    with LocalServer(behaviour) as server:
        endpoint = endpoint_at(server, api_key_envs=[KEY_ENV, OTHER_KEY_ENV])
        started = time.monotonic()
        responses = [call_llm(endpoint, request(), limiter=limiter, keys_env=KEYS, policy=FAST)
                     for _ in range(4)]
        elapsed = time.monotonic() - started
    assert [r.key_env for r in responses] == [OTHER_KEY_ENV] * 4
    assert [s.key for s in server.seen].count("key-one") == 1  # then skipped: it is paused
    assert elapsed < 2


def test_unset_key_variables_are_left_out_and_none_set_is_a_config_error(
    limiter: RateLimiter, caplog: pytest.LogCaptureFixture,
) -> None:
    with LocalServer(lambda seen, n: ok()) as server:
        endpoint = endpoint_at(server, api_key_envs=[OTHER_KEY_ENV, KEY_ENV])
        responses = [call_llm(endpoint, request(), limiter=limiter,
                              keys_env={KEY_ENV: "key-one"}, policy=FAST) for _ in range(3)]
        assert [r.key_env for r in responses] == [KEY_ENV] * 3
        assert f"{OTHER_KEY_ENV} is not set" in caplog.text
        with pytest.raises(ConfigError, match=f"{OTHER_KEY_ENV}, {KEY_ENV}"):
            call_llm(endpoint, request(), limiter=limiter, keys_env={}, policy=FAST)
        assert len(server.seen) == 3


def test_unavailable_is_retried_with_backoff_and_fatal_errors_are_not(
    limiter: RateLimiter,
) -> None:
    failures: list[tuple[str, str]] = []
    with LocalServer(lambda seen, n: (503, {}, b"busy") if n < 2 else ok()) as server:
        response = call_llm(endpoint_at(server), request(), limiter=limiter, keys_env=KEYS,
                            policy=FAST,
                            on_failed_attempt=lambda e, k: failures.append((type(e).__name__, k)))
    assert response.attempts == 3
    assert failures == [("EndpointUnavailable", KEY_ENV)] * 2

    with LocalServer(lambda seen, n: (400, {}, b'{"error": "no"}')) as server:
        with pytest.raises(BadRequest):
            call_llm(endpoint_at(server), request(), limiter=limiter, keys_env=KEYS, policy=FAST)
        assert len(server.seen) == 1


def test_gives_up_after_max_attempts_with_the_last_error(limiter: RateLimiter) -> None:
    with LocalServer(lambda seen, n: "cut") as server:
        with pytest.raises(EndpointUnavailable, match="cut off|RemoteProtocolError"):
            call_llm(endpoint_at(server), request(), limiter=limiter, keys_env=KEYS,
                     policy=RetryPolicy(max_attempts=3, base_s=0.01, cap_s=0.05))
        assert len(server.seen) == 3


@pytest.mark.slow
def test_a_hung_endpoint_times_out(limiter: RateLimiter) -> None:
    with LocalServer(lambda seen, n: "hang") as server:
        started = time.monotonic()
        with pytest.raises(EndpointTimeout, match="within 0.3s"):
            call_llm(endpoint_at(server, timeout_s=0.3), request(), limiter=limiter,
                     keys_env=KEYS, policy=RetryPolicy(max_attempts=2, base_s=0.01, cap_s=0.05))
        assert time.monotonic() - started < 1.5
        assert len(server.seen) == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_without_redis_nothing_is_sent() -> None:
    # retry=None: fail at once instead of redis-py's own reconnect backoff (seconds)
    dead = RateLimiter(redis.Redis(port=_closed_port(), retry=None), "itas:")
    with LocalServer(lambda seen, n: ok()) as server:
        with pytest.raises(RateLimiterUnavailable):
            call_llm(endpoint_at(server, requests_per_min=60), request(), limiter=dead,
                     keys_env=KEYS, policy=FAST)
        assert server.seen == []


def test_the_key_shows_nowhere_across_a_whole_call(
    limiter: RateLimiter, services: RunServices, caplog: pytest.LogCaptureFixture,
) -> None:
    canary = f"sk-CANARY-{uuid.uuid4().hex}"
    keys = {KEY_ENV: canary}

    def behaviour(seen: Seen, n: int) -> tuple[int, dict[str, str], bytes]:
        if seen.key != canary:
            return 401, {}, json.dumps({"error": {"message": f"wrong key {seen.key}"}}).encode()
        if n == 0:
            return 500, {}, json.dumps({"error": {"message": f"boom {seen.key}"}}).encode()
        if n == 1:
            return too_many("0.1")
        return ok()

    caplog.set_level(logging.DEBUG)
    with LocalServer(behaviour) as server:
        endpoint = endpoint_at(server, requests_per_min=600, tokens_per_min=100_000,
                               max_in_flight=2)
        response = call_llm(endpoint, request(), limiter=limiter, keys_env=keys, policy=FAST)
        with pytest.raises(AuthenticationFailed) as refused:
            send_chat(endpoint, request(), key_env=KEY_ENV,
                      keys_env={KEY_ENV: canary + "-wrong"})
    assert [s.key for s in server.seen] == [canary] * 3 + [canary + "-wrong"]
    assert response.attempts == 3
    assert any("retrying" in r.getMessage() for r in caplog.records)
    logged = "".join(r.getMessage() + str(r.exc_text) for r in caplog.records)
    assert canary not in logged + repr(response) + all_text_of(refused.value)
    client = redis.Redis.from_url(services.redis_url)
    stored = [(k, client.dump(k)) for k in client.scan_iter(match=f"{services.redis_prefix}*")]
    client.close()
    assert canary.encode() not in b"".join(k + (v or b"") for k, v in stored)


def test_each_forked_process_gets_its_own_pool() -> None:
    parent = transport_module.http_client()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's client is forgotten, a new one is made on use
        fresh = not transport_module._clients
        fresh = fresh and transport_module.http_client() is not parent
        os.write(write, b"1" if fresh else b"0")
        os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)
    assert transport_module.http_client() is parent  # the parent keeps its own


# -- the preflight's model list ---------------------------------------------------------------


@pytest.mark.parametrize(("what", "handler", "expected"), [
    ("openai list", reply(200, {"object": "list", "data": [{"id": "a"}, {"id": "b"}]}),
     ["a", "b"]),
    ("together's bare list", reply(200, [{"id": "a", "object": "model"}]), ["a"]),
    ("no list route", reply(404, {"error": "Not Found"}), None),
    ("not a list", reply(200, raw=b"<html>hello</html>"), None),
])
def test_the_model_list_is_read_from_what_providers_send(
    mock_http: Callable[[Handler], list[httpx.Request]], what: str, handler: Handler,
    expected: list[str] | None,
) -> None:
    seen = mock_http(handler)
    models = list_models(Endpoint(), key_env=KEY_ENV, keys_env={KEY_ENV: "sk-test"})
    assert models == expected, what
    assert seen[0].method == "GET" and seen[0].url.path == "/v1/models"
    assert seen[0].headers["authorization"] == "Bearer sk-test"


def test_a_refused_key_on_the_model_list_names_its_variable_only(
    mock_http: Callable[[Handler], list[httpx.Request]],
) -> None:
    mock_http(reply(401, {"error": {"message": "Incorrect API key sk-test"}}))
    with pytest.raises(AuthenticationFailed) as refused:
        list_models(Endpoint(), key_env=KEY_ENV, keys_env={KEY_ENV: "sk-test"})
    assert KEY_ENV in str(refused.value) and "sk-test" not in str(refused.value)


# -- first-token log-probabilities (a judge's preference, AlpacaEval) -------------------------

def token(text: str, logprob: float) -> dict[str, Any]:
    return {"token": text, "logprob": logprob, "bytes": list(text.encode())}


def with_logprobs(content: str, first: list[dict[str, Any]], index: int = 0) -> dict[str, Any]:
    """A choice as OpenAI's chat completions sends it with ``logprobs: true, top_logprobs``."""
    chosen = first[0]
    return {"index": index, "message": {"role": "assistant", "content": content,
                                        "refusal": None},
            "logprobs": {"content": [{**chosen, "top_logprobs": first},
                                     {**token("\n", -0.4), "top_logprobs": [token("\n", -0.4)]}],
                         "refusal": None},
            "finish_reason": "length"}


JUDGE_CHOICE = with_logprobs("m", [token("m", -0.0201), token("M", -3.92),
                                   token(" m", -7.5), token("Output", -9.1)])


def test_log_probabilities_are_asked_for_only_when_wanted(
    mock_http: Callable[[Handler], list[httpx.Request]],
) -> None:
    seen = mock_http(reply(200, openai_body()))
    send()
    send(top_logprobs=5)
    plain, asking = (json.loads(r.content) for r in seen)
    assert "logprobs" not in plain and "top_logprobs" not in plain
    assert asking["logprobs"] is True and asking["top_logprobs"] == 5
    # Anthropic's API has none to give: the request goes as without, the answer has none.
    seen = mock_http(reply(200, anthropic_body()))
    response = send("anthropic", llm="claude-sim", top_logprobs=5)
    assert not {"logprobs", "top_logprobs"} & set(json.loads(seen[-1].content))
    assert response.top_logprobs == () and response.text == "Answer: 5"
    with pytest.raises(ValueError, match="top_logprobs"):
        request(top_logprobs=-1)


def test_the_first_tokens_log_probabilities_are_read_best_first(
    mock_http: Callable[[Handler], list[httpx.Request]],
) -> None:
    body = {**openai_body(), "id": "chatcmpl-9", "object": "chat.completion",
            "system_fingerprint": "fp_1", "choices": [JUDGE_CHOICE]}
    mock_http(reply(200, body))
    response = send(top_logprobs=4, max_tokens=1)
    assert response.text == "m"
    assert response.top_logprobs == (("m", -0.0201), ("M", -3.92), (" m", -7.5),
                                     ("Output", -9.1))
    assert response.choices_top_logprobs == (response.top_logprobs,)


def test_each_choice_keeps_its_own_log_probabilities(
    mock_http: Callable[[Handler], list[httpx.Request]],
) -> None:
    # Choices out of order, and a server that does not sort the top tokens.
    second = with_logprobs("M", [token("M", -0.7), token("m", -0.69)], index=1)
    body = {**openai_body(), "choices": [second, JUDGE_CHOICE]}
    mock_http(reply(200, body))
    response = send(n=2, top_logprobs=2)
    assert response.texts == ("m", "M")
    assert response.choices_top_logprobs[0][0] == ("m", -0.0201)
    assert response.choices_top_logprobs[1] == (("m", -0.69), ("M", -0.7))


LEGACY = {"tokens": ["m"], "token_logprobs": [-0.1],
          "top_logprobs": [{"M": -2.4, "m": -0.1}]}
NO_LOGPROBS_CASES = [
    ("no logprobs field", {}),
    ("logprobs null", {"logprobs": None}),
    ("content null", {"logprobs": {"content": None, "refusal": None}}),
    ("content empty", {"logprobs": {"content": []}}),
    ("no top_logprobs", {"logprobs": {"content": [token("m", -0.1)]}}),
    ("top_logprobs null", {"logprobs": {"content": [{**token("m", -0.1),
                                                      "top_logprobs": None}]}}),
    ("not a mapping", {"logprobs": "yes"}),
    ("entries not tokens", {"logprobs": {"content": [{"top_logprobs": [["m", -0.1], 3]}]}}),
]


@pytest.mark.parametrize(("what", "extra"), NO_LOGPROBS_CASES,
                         ids=[c[0] for c in NO_LOGPROBS_CASES])
def test_an_answer_without_log_probabilities_gives_none_and_no_error(
    mock_http: Callable[[Handler], list[httpx.Request]], what: str, extra: dict[str, Any],
) -> None:
    body = openai_body("m")
    body["choices"][0].update(extra)
    mock_http(reply(200, body))
    response = send(top_logprobs=5)
    assert response.text == "m"
    assert response.top_logprobs == () and response.choices_top_logprobs == ((),)


def test_odd_log_probabilities_are_left_out_and_the_legacy_shape_is_read(
    mock_http: Callable[[Handler], list[httpx.Request]],
) -> None:
    odd = [token("m", -0.1), token("M", float("-inf")), {"token": 5, "logprob": -1.0},
           {"token": "x", "logprob": "low"}, {"token": "y", "logprob": True}]
    body = openai_body("m")
    body["choices"][0]["logprobs"] = {"content": [{**token("m", -0.1), "top_logprobs": odd}]}
    # json.dumps writes -Infinity, which Python's parser (and some servers) accept.
    mock_http(reply(200, body))
    assert send(top_logprobs=5).top_logprobs == (("m", -0.1),)
    body["choices"][0]["logprobs"] = LEGACY
    mock_http(reply(200, body))
    assert send(top_logprobs=2).top_logprobs == (("m", -0.1), ("M", -2.4))


def test_log_probabilities_sent_unasked_are_not_kept(
    mock_http: Callable[[Handler], list[httpx.Request]],
) -> None:
    mock_http(reply(200, {**openai_body(), "choices": [JUDGE_CHOICE]}))
    response = send()
    assert response.top_logprobs == () and response.choices_top_logprobs == ()
