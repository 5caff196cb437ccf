"""The simulator's HTTP server: OpenAI- and Anthropic-compatible endpoints over the fleet.

Routes: ``POST /v1/chat/completions`` (OpenAI; also under ``/v1beta/openai``, Gemini's
OpenAI-compatible path), ``POST /v1/messages`` (Anthropic),
``POST /v1/rerank`` and ``/rerank`` (a reward model's scores, simulator/rerank.py),
``GET /v1/models`` (OpenAI list, or Anthropic's when the request has ``anthropic-version``),
``GET /health`` (no auth; readiness, the bench's baseline, the number of requests in flight now
and at the peak since start, how many prompts held no question the simulator knows, and how
many judged answers the simulator did not write).

A request goes through, in order: API key (401) -> body validation (400, unknown LLM 404) ->
the LLM's context window and output limit (400, :func:`check_context_window`,
:func:`check_max_output_tokens`) ->
rate limits of the key (429 + retry-after) -> fault draw (see simulator/faults.py) -> simulated
latency -> the reply (simulator/roles.py). Test headers:

* ``x-sim-fault: 429=0.1,500=0.05,...`` replaces the fleet's fault rates for this request.
* ``x-sim-request-id: ID`` makes the fault draw a hash of ID (replayable faults).
* ``x-sim-latency-scale: 0`` multiplies the simulated latency (times the fleet's scale);
  ``x-sim-latency-ms: 1000`` replaces it by a fixed value.
* ``x-sim-seed: N`` the seed for ``/v1/messages`` (Anthropic has no seed field; a ``seed`` in
  the body is honoured too).

A request without a seed is a fresh sample (random seed), as with a real provider, unless the
fleet file sets ``default_seed``.

API keys are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from simulator import reasoning, rerank, roles
from simulator.answer_keys import KeyStore
from simulator.faults import pick_fault
from simulator.fleet import Fleet, FleetError, LLMSpec, parse_fault_rates
from simulator.ratelimit import Decision, RateLimiter
from simulator.reading import read_request
from simulator.skill import Sampler, draw
from simulator.text import content_text, normalize_question
from simulator.wire import ANTHROPIC, OPENAI, Choice, Dialect, count_tokens, token_logprobs

__all__ = ["GEMINI_OPENAI_PATH", "Simulator", "build_app"]

log = logging.getLogger("simulator")
_DEFAULT_MAX_TOKENS = 256  # what a request without max_tokens reserves against tokens/min
#: Gemini's OpenAI-compatible base path (generativelanguage.googleapis.com/v1beta/openai).
GEMINI_OPENAI_PATH = "/v1beta/openai"


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, code: str | None = None,
                 param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param


@dataclass(frozen=True)
class _Call:
    llm: LLMSpec
    messages: list[dict[str, Any]]
    max_tokens: int | None
    n: int
    seed: int
    temperature: float
    #: OpenAI's ``logprobs: true``: the number of ``top_logprobs`` asked (0..20); None: not asked.
    logprobs: int | None = None
    #: A reasoning model's ``reasoning_effort`` (None: its default); see simulator/reasoning.py.
    reasoning_effort: str | None = None

    @property
    def prompt_tokens(self) -> int:
        return sum(count_tokens(content_text(m.get("content"))) + 4 for m in self.messages)


@dataclass(frozen=True)
class _Work:
    """A parsed request: who answers, the tokens it reserves, and how to answer it.

    ``answer(empty)`` returns the response body and its output tokens (for the latency);
    ``empty`` is the "empty" fault (a 200 with nothing in it).
    """

    llm: LLMSpec
    reserve: int
    answer: Callable[[bool], tuple[dict[str, Any], int]]


def check_context_window(llm: LLMSpec, prompt_tokens: int, dialect: Dialect) -> None:
    """Refuse a prompt longer than the LLM's context window, as the providers do: OpenAI's
    400 ``context_length_exceeded`` (param ``messages``), Anthropic's 400 "prompt is too long".

    Only the *messages* count. ``max_tokens`` is not added to them, although OpenAI's own
    check does: Archon's configs ask max_tokens 200000, which a real provider caps at what is
    left of the window, and they must run on the simulator.
    """
    window = llm.context_window
    if window is None or prompt_tokens <= window:
        return
    if dialect is ANTHROPIC:
        raise _BadRequest(400, f"prompt is too long: {prompt_tokens} tokens > {window} maximum")
    raise _BadRequest(
        400, f"This model's maximum context length is {window} tokens. However, your messages "
        f"resulted in {prompt_tokens} tokens. Please reduce the length of the messages.",
        "context_length_exceeded", "messages")


def check_max_output_tokens(llm: LLMSpec, max_tokens: int | None, dialect: Dialect) -> None:
    """Refuse a max_tokens above the LLM's ``max_output_tokens`` (unset: any is taken), with
    OpenAI's 400 ``invalid_value`` on param ``max_tokens`` (Anthropic's wording on its route).
    Every call asking that much is refused alike: a refused parameter, not a question."""
    limit = llm.max_output_tokens
    if limit is None or max_tokens is None or max_tokens <= limit:
        return
    if dialect is ANTHROPIC:
        raise _BadRequest(400, f"max_tokens: {max_tokens} > {limit}, which is the maximum "
                          f"allowed number of output tokens for {llm.name}")
    raise _BadRequest(
        400, f"max_tokens is too large: {max_tokens}. This model supports at most {limit} "
        f"completion tokens, whereas you provided {max_tokens}.", "invalid_value", "max_tokens")


def _finite(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


class _TruncatedResponse(Response):
    """Declares the full Content-Length, sends half the body, then drops the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send(
            {
                "type": "http.response.body",
                "body": self.body[: len(self.body) // 2],
                "more_body": True,
            }
        )
        # Returning now makes the server close the connection mid-body, as a dying proxy does.


class _QuietIncomplete(logging.Filter):
    """Drop the server's complaint about the truncated responses we send on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


class Simulator:
    """The fleet, its answer keys and its rate limiter, answering requests."""

    def __init__(self, fleet: Fleet, keys: KeyStore) -> None:
        self.fleet, self.keys = fleet, keys
        self.limiter = RateLimiter(fleet.keys.values())
        self.in_flight = 0  # requests being handled now; /health reports it and its peak
        self.peak_in_flight = 0
        #: Completion responses by HTTP status, for benchmarks (e.g. how many 429s a client
        #: caused); /health reports it.
        self.status_counts: dict[int, int] = {}
        #: Answered prompts in which no known question was found (/health: "unplaced").
        self.unplaced = 0
        #: Answers judged (benchmark judge roles) that the simulator did not write: they get
        #: the default quality of simulator/quality.py (/health: "judged_foreign").
        self.judged_foreign = 0
        self._seeds = random.Random()
        #: One queue per LLM with a server_concurrency: asyncio's semaphore wakes waiters
        #: first come first served, as a server's request queue does.
        self._slots = {
            name: asyncio.Semaphore(spec.server_concurrency)
            for name, spec in fleet.llms.items() if spec.server_concurrency
        }

    def _server_slot(self, llm: LLMSpec) -> AbstractAsyncContextManager[Any]:
        """Where a completion waits for the simulated server to run it (no wait: unbounded)."""
        return self._slots.get(llm.name) or contextlib.nullcontext()

    # -- request parsing -------------------------------------------------------------------

    def _api_key(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        key = key or request.headers.get("x-api-key")
        return key if key in self.fleet.keys else None

    def _seed(self, value: Any) -> int:
        """The seed of a request: its own, else the fleet's default_seed, else a fresh one."""
        if value is None:
            if self.fleet.default_seed is not None:
                return self.fleet.default_seed
            return self._seeds.getrandbits(31)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _BadRequest(400, "seed: expected an integer") from None

    def _llm(self, body: Any, kind: str) -> LLMSpec:
        if not isinstance(body, dict):
            raise _BadRequest(400, "the request body must be a JSON object")
        name = body.get("model")
        llm = self.fleet.llms.get(name) if isinstance(name, str) else None
        if llm is None:
            raise _BadRequest(404, f"The model `{name}` does not exist", "model_not_found")
        if llm.kind != kind:
            route = "POST /v1/rerank" if llm.kind == "reward" else "the chat routes"
            raise _BadRequest(
                400, f"`{name}` is a simulated {llm.kind} model: use {route}", "wrong_model_kind"
            )
        return llm

    def _parse(self, body: Any, request: Request, dialect: Dialect) -> _Call:
        llm = self._llm(body, "chat")
        if body.get("stream"):
            raise _BadRequest(400, "the simulator does not stream; send stream=false")
        messages = body.get("messages")
        if (
            not isinstance(messages, list)
            or not messages
            or not all(isinstance(m, dict) and "role" in m for m in messages)
        ):
            raise _BadRequest(400, "messages: expected a non-empty list of {role, content}")
        if dialect is ANTHROPIC:
            system = body.get("system")
            if system:
                messages = [{"role": "system", "content": system}, *messages]
            max_tokens = body.get("max_tokens")
            if not isinstance(max_tokens, int):
                raise _BadRequest(400, "max_tokens: Field required")
            n = 1
            seed = body.get("seed", request.headers.get("x-sim-seed"))
        else:
            self._reasoning_refusal(body, llm)
            max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
            n = body.get("n") or 1
            seed = body.get("seed")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise _BadRequest(400, "max_tokens: expected a positive integer")
        if not isinstance(n, int) or not 1 <= n <= 128:
            raise _BadRequest(400, "n: expected an integer between 1 and 128")
        logprobs = None
        if dialect is OPENAI and body.get("logprobs") is not None:
            if not isinstance(body["logprobs"], bool):
                raise _BadRequest(400, "logprobs: expected true or false")
            top = body.get("top_logprobs")
            if top is not None and (isinstance(top, bool) or not isinstance(top, int)
                                    or not 0 <= top <= 20):
                raise _BadRequest(400, "top_logprobs: expected an integer between 0 and 20")
            if top is not None and not body["logprobs"]:
                raise _BadRequest(400, "top_logprobs: logprobs must be true to use it")
            logprobs = (top or 0) if body["logprobs"] else None
        elif body.get("top_logprobs") is not None and dialect is OPENAI:
            raise _BadRequest(400, "top_logprobs: logprobs must be true to use it")
        temperature = body.get("temperature", 1.0)
        if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
            raise _BadRequest(400, "temperature: expected a number between 0 and 2")
        return _Call(llm, messages, max_tokens, n, self._seed(seed), float(temperature), logprobs,
                     body.get("reasoning_effort") if dialect is OPENAI else None)

    @staticmethod
    def _reasoning_refusal(body: dict[str, Any], llm: LLMSpec) -> None:
        """OpenAI's 400 for what a reasoning model (or a model that is not one) refuses."""
        refused = reasoning.refusal(body, llm.reasoning)
        if refused is not None:
            raise _BadRequest(400, refused.message, refused.code, refused.param)

    # -- answering -------------------------------------------------------------------------

    def choices(self, call: _Call) -> list[Choice]:
        """The n choices of a call: choice 0 is the sample of ``seed``, others derived seeds."""
        reading = read_request(call.messages, self.keys)
        if reading.placement is None:
            self.unplaced += 1
        prompt_id = "\n".join(
            f"{m['role']}:{normalize_question(content_text(m.get('content')))}"
            for m in call.messages
        )
        out = []
        for i in range(call.n):
            seed = call.seed if i == 0 else int(draw("choice", call.seed, i) * 2**31)
            sampler = Sampler.for_request(call.llm.name, prompt_id, seed, call.temperature)
            said = roles.reply(
                call.llm, reading, sampler, seed=seed, temperature=call.temperature
            )
            self.judged_foreign += said.foreign
            choice = Choice(said.text, call.max_tokens)
            if call.logprobs is not None:
                choice.logprobs = token_logprobs(choice.text, said.label_probs, call.logprobs)
            out.append(choice)
        return out

    def _latency(self, request: Request, llm: LLMSpec, tokens: int) -> float:
        """Seconds to wait: lognormal time to first token plus tokens at the LLM's speed."""
        fixed = request.headers.get("x-sim-latency-ms")
        if fixed is not None:
            return max(0.0, float(fixed)) / 1000
        scale = self.fleet.latency_scale * float(request.headers.get("x-sim-latency-scale", 1))
        if scale <= 0:
            return 0.0
        sigma = math.log(llm.ttft_p95_s / llm.ttft_median_s) / 1.645 if llm.ttft_median_s else 0
        ttft = llm.ttft_median_s * math.exp(sigma * random.gauss(0, 1))
        return scale * (ttft + tokens / llm.tokens_per_s)

    def _chat_work(self, body: Any, request: Request, dialect: Dialect) -> _Work:
        call = self._parse(body, request, dialect)
        prompt_tokens = call.prompt_tokens
        check_context_window(call.llm, prompt_tokens, dialect)
        check_max_output_tokens(call.llm, call.max_tokens, dialect)

        def answer(empty: bool) -> tuple[dict[str, Any], int]:
            choices = self.choices(call)
            if empty:
                for c in choices:
                    c.text, c.tokens, c.truncated = "", 0, False
                c.logprobs = [] if c.logprobs is not None else None
            body = dialect.completion(call.llm.name, choices, prompt_tokens)
            thought = 0
            if call.llm.reasoning and dialect is OPENAI:
                thought = reasoning.reasoning_tokens(call.reasoning_effort, len(choices))
                reasoning.add_reasoning_usage(body, thought)
            return body, max(c.tokens for c in choices) + thought // len(choices)

        reserve = prompt_tokens + (call.max_tokens or _DEFAULT_MAX_TOKENS) * call.n
        return _Work(call.llm, reserve, answer)

    def _rerank_work(self, body: Any, request: Request, dialect: Dialect) -> _Work:
        llm = self._llm(body, "reward")
        try:
            call = rerank.parse(body)
        except ValueError as exc:
            raise _BadRequest(400, str(exc)) from None

        def answer(empty: bool) -> tuple[dict[str, Any], int]:
            placement = self.keys.place(call.query)
            if placement is None:
                self.unplaced += 1
            scores = [] if empty else rerank.scores(llm, call, placement)
            return rerank.response(llm.name, call, scores), 0

        return _Work(llm, call.tokens, answer)

    async def handle(self, request: Request, dialect: Dialect, route: str = "chat") -> Response:
        """Answer one request (the order of checks is in the module docstring)."""
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            build = self._rerank_work if route == "rerank" else self._chat_work
            response = await self._handle(request, dialect, build)
            self.status_counts[response.status_code] = \
                self.status_counts.get(response.status_code, 0) + 1
            return response
        finally:
            self.in_flight -= 1

    async def _handle(
        self,
        request: Request,
        dialect: Dialect,
        build: Callable[[Any, Request, Dialect], _Work],
    ) -> Response:
        key = self._api_key(request)
        if key is None:
            status, message = 401, "Incorrect or missing API key (Bearer or x-api-key)."
            return Response(
                dialect.error(status, message, "invalid_api_key"),
                status,
                media_type="application/json",
            )
        try:
            try:
                body = json.loads(await request.body())
            except ValueError:
                raise _BadRequest(400, "the request body is not valid JSON") from None
            work = build(body, request, dialect)
            header = request.headers.get("x-sim-fault")
            rates = parse_fault_rates(header) if header is not None else self.fleet.faults
            for name in ("x-sim-latency-scale", "x-sim-latency-ms"):
                if (value := request.headers.get(name)) is not None and not _finite(value):
                    raise _BadRequest(400, f"{name}: expected a number, got {value!r}")
        except _BadRequest as exc:
            return Response(
                dialect.error(exc.status, exc.message, exc.code, exc.param),
                exc.status,
                media_type="application/json",
            )
        except (FleetError, ValueError) as exc:
            return Response(dialect.error(400, str(exc)), 400, media_type="application/json")

        decision = self.limiter.admit(key, work.reserve)
        headers = dialect.limit_headers(decision) if self.fleet.keys[key].limit_headers else {}
        if not decision.allowed:
            return self._rate_limited(dialect, decision, headers)

        fault = pick_fault(rates, request.headers.get("x-sim-request-id"))
        if fault == "429":
            headers.update({"retry-after": "1", "retry-after-ms": "1000"})
            return Response(
                dialect.error(429, "The simulated LLM is overloaded (fault)."),
                429,
                headers=headers,
                media_type="application/json",
            )
        if fault in ("500", "503"):
            await asyncio.sleep(self._latency(request, work.llm, 0))
            return Response(
                dialect.error(int(fault), "Simulated server error (fault)."),
                int(fault),
                headers=headers,
                media_type="application/json",
            )
        if fault == "hang":
            await asyncio.sleep(self.fleet.hang_seconds)
            return Response(
                dialect.error(504, "Simulated hang (fault)."),
                504,
                headers=headers,
                media_type="application/json",
            )

        body, output_tokens = work.answer(fault == "empty")
        async with self._server_slot(work.llm):
            await asyncio.sleep(self._latency(request, work.llm, output_tokens))
        payload = json.dumps(body)
        if fault == "malformed":
            payload = payload.replace('"model":', '"model" ', 1)  # valid length, invalid JSON
        if fault == "truncated":
            return _TruncatedResponse(payload, 200, headers=headers, media_type="application/json")
        return Response(payload, 200, headers=headers, media_type="application/json")

    def _rate_limited(self, dialect: Dialect, d: Decision, headers: dict[str, str]) -> Response:
        if d.too_large:
            message = (
                f"Request too large: it needs more tokens than the key's limit of "
                f"{d.limit_tokens} tokens/min."
            )
            return Response(
                dialect.error(400, message), 400, headers=headers, media_type="application/json"
            )
        wait = max(d.retry_after_s, 0.001)
        headers.update(
            {"retry-after": str(math.ceil(wait)), "retry-after-ms": str(math.ceil(wait * 1000))}
        )
        message = f"Rate limit reached for this key; retry after {wait:.2f}s."
        return Response(
            dialect.error(429, message, "rate_limit_exceeded"),
            429,
            headers=headers,
            media_type="application/json",
        )

    async def models(self, request: Request) -> Response:
        anthropic = "anthropic-version" in request.headers
        dialect = ANTHROPIC if anthropic else OPENAI
        if self._api_key(request) is None:
            return Response(
                dialect.error(401, "Incorrect or missing API key."),
                401,
                media_type="application/json",
            )
        pricing = {
            n: {"input": s.input_per_mtok, "output": s.output_per_mtok}
            for n, s in self.fleet.llms.items()
        }
        return JSONResponse(dialect.models(list(self.fleet.llms), pricing))


def build_app(simulator: Simulator) -> Starlette:
    """The ASGI app serving ``simulator``."""
    logging.getLogger("uvicorn.error").addFilter(_QuietIncomplete())

    async def chat(request: Request) -> Response:
        return await simulator.handle(request, OPENAI)

    async def messages(request: Request) -> Response:
        return await simulator.handle(request, ANTHROPIC)

    async def rerank_route(request: Request) -> Response:
        return await simulator.handle(request, OPENAI, "rerank")

    async def health(request: Request) -> Response:
        body = {
            "status": "ok",
            "in_flight": simulator.in_flight,
            "peak_in_flight": simulator.peak_in_flight,
            "responses": {str(k): v for k, v in sorted(simulator.status_counts.items())},
            "unplaced": simulator.unplaced,
            "judged_foreign": simulator.judged_foreign,
        }
        return Response(json.dumps(body), media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/messages", messages, methods=["POST"]),
            Route("/v1/rerank", rerank_route, methods=["POST"]),
            Route("/rerank", rerank_route, methods=["POST"]),
            Route("/v1/models", simulator.models, methods=["GET"]),
            # The same OpenAI routes where Gemini serves its OpenAI-compatible API: a client
            # whose base URL carries another path than /v1 can be tried against it.
            Route(f"{GEMINI_OPENAI_PATH}/chat/completions", chat, methods=["POST"]),
            Route(f"{GEMINI_OPENAI_PATH}/models", simulator.models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
