"""One LLM call as a layer task makes it: cache, single flight, rate limit, send, record.

    request_hash -> Redis (hot) -> PostgreSQL (durable) -> single flight -> limiter + client
                 -> record the paid call in llm_calls -> Redis

:meth:`LLMCaller.prefetch` first makes the uncached samples of one prompt as one ``n=k``
request where the endpoint takes ``n``; the calls that follow are then cache hits.

Every use is recorded in ``llm_calls`` (a cache hit too, with ``cache_hit``), once per
(request, evaluation, question, layer): a redelivered task re-recording changes nothing. A fatal
endpoint error (bad request, invalid response) is recorded and becomes a failed call the
technique's rule handles (a refusal of the question's prompt keeps the provider's reason, so
that a question left without an answer is recorded ``refused``); a SetupError (refused key,
unknown model, a refused parameter) is recorded and raised, and the layer task stops the
evaluation (models/evaluation_stops.py); a retryable one that outlived the client's retries
propagates, and the task retries the layer later (Celery's retry with backoff).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from models.db import one_statement, session_scope
from models.errors import FatalEndpointError, QuestionRefused, SetupError
from models.tables import LLMCall
from worker.cache import CachedResponse, ResponseCache, request_hash
from worker.sending import reasoning_effort
from worker.techniques.base import CallResult, CallSpec

#: Added to the endpoint's timeout for the single-flight lease: time to record the answer.
LEASE_MARGIN_S = 5.0
_INSERT_CALL = insert(LLMCall).on_conflict_do_nothing()


@dataclass(frozen=True)
class CallSite:
    """Where a call is used: the natural key of its record, besides the request hash."""

    evaluation_id: int | None
    question_id: str | None
    layer_index: int | None


class LLMCaller:
    """Makes CallSpecs into CallResults for one call site. Thread-safe."""

    def __init__(self, *, registry: Any, cache: ResponseCache, database_url: str,
                 send: Any, site: CallSite) -> None:
        self._registry = registry
        self._cache = cache
        self._database_url = database_url
        self._send = send  # (endpoint, llm, spec) -> CachedResponse; raises EndpointError
        self._site = site

    def __call__(self, spec: CallSpec) -> CallResult:
        llm, endpoint = self._registry.resolve(spec.llm, spec.model_type)
        digest = self._digest(endpoint, llm, spec)
        # single_flight looks in the cache itself (in the round trip that takes the lease).
        # The lease of the one process making this call: about one endpoint timeout, so that
        # a leader that died is replaced that soon (it is renewed while the leader lives).
        lease_s = float(endpoint.timeout_s) + LEASE_MARGIN_S
        with self._cache.single_flight(digest, lease_s=lease_s) as answered:
            if answered is not None:
                return self._reuse(digest, endpoint.name, llm, spec, answered)
            try:
                response = self._send(endpoint, llm, spec)
            except FatalEndpointError as exc:
                self._record_failure(digest, endpoint.name, llm, spec, exc)
                if isinstance(exc, SetupError):
                    raise  # every call would fail alike: the task stops the evaluation
                return CallResult(spec, None, error_class=type(exc).__name__,
                                  request_hash=digest,
                                  refusal=exc.reason if isinstance(exc, QuestionRefused)
                                  else None)
            # Durable first: once PostgreSQL has it, no flush of Redis makes us pay again.
            try:
                self._record(digest, endpoint.name, llm, spec, response, cache_hit=False)
            except Exception:
                # PostgreSQL did not take it: keep the paid answer in Redis, marked, so that
                # the layer's retry records it as paid instead of paying for it again.
                self._cache.put_hot(digest, replace(response, unrecorded=True))
                raise
            self._cache.put_hot(digest, response)
            return _result(spec, response, digest)

    def _reuse(self, digest: str, endpoint: str, llm: Any, spec: CallSpec,
               response: CachedResponse) -> CallResult:
        """Record a use of a cached answer; one whose paid call was never recorded (see
        above) is recorded as that paid call, then cached as usual."""
        if response.unrecorded:
            response = replace(response, unrecorded=False)
            self._record(digest, endpoint, llm, spec, response, cache_hit=False)
            self._cache.put_hot(digest, response)
        else:
            self._record(digest, endpoint, llm, spec, response, cache_hit=True)
        return _result(spec, response, digest)

    def prefetch(self, specs: Sequence[CallSpec]) -> None:
        """Make the samples among ``specs`` that are not cached yet as one ``n=k`` request,
        where the endpoint takes ``n`` (``supports_n`` in the registry); a no-op elsewhere.

        Each sample keeps its own identity: its own request hash (with its sample index), its
        own cache entry and its own ``llm_calls`` record (a share of the request's tokens, see
        worker/sending.py), so a later call of sample i alone is a cache hit, and calling
        every spec afterwards (as the layer does) records nothing twice. Only samples of one
        prompt batch together (same LLM, messages and sampling fields and ``top_logprobs``,
        first attempt, no documents; each sample keeps its own choice's log-probabilities):
        the others, and those another caller is already making, are left to their own calls.
        A fatal endpoint error is left to them too (each then records its own failure); a
        retryable one that outlived the client's retries propagates, as for a single call.
        """
        groups: dict[tuple[Any, ...], list[CallSpec]] = {}
        for spec in specs:
            if spec.attempt == 0 and not spec.documents:
                key = (spec.llm, spec.model_type, spec.messages, spec.temperature,
                       spec.max_tokens, spec.role, spec.top_logprobs, spec.reasoning_effort)
                groups.setdefault(key, []).append(spec)
        samples = getattr(self._send, "samples", None)
        for group in groups.values():
            if len(group) < 2 or samples is None:
                continue
            llm, endpoint = self._registry.resolve(group[0].llm, group[0].model_type)
            if not getattr(endpoint, "supports_n", False):
                continue
            digests = {self._digest(endpoint, llm, spec): spec for spec in group}
            with self._cache.lead_many(list(digests),
                                       lease_s=float(endpoint.timeout_s) + LEASE_MARGIN_S) as led:
                if len(led) < 2:
                    continue  # one sample is simply its own call
                batch = [digests[d] for d in led]
                try:
                    responses = samples(endpoint, llm, batch[0], len(batch))
                except FatalEndpointError:
                    continue
                for digest, spec, response in zip(led, batch, responses, strict=True):
                    self._record(digest, endpoint.name, llm, spec, response, cache_hit=False)
                    self._cache.put_hot(digest, response)

    def _digest(self, endpoint: Any, llm: Any, spec: CallSpec) -> str:
        return request_hash(
            endpoint=endpoint.name, llm=llm.wire_model, messages=spec.message_dicts(),
            temperature=spec.temperature, max_tokens=spec.max_tokens,
            sample_index=spec.sample_index,
            # A repeated attempt is another request; attempt 0 keeps the key it always had.
            extra=_extra(spec, reasoning_effort(llm, spec)),
        )

    def _record(self, digest: str, endpoint: str, llm: Any, spec: CallSpec,
                response: CachedResponse, *, cache_hit: bool) -> None:
        cost = 0.0 if cache_hit else llm.cost_usd(response.tokens_in, response.tokens_out)
        self._insert(
            request_hash=digest, endpoint=endpoint, llm_name=llm.name,
            sample_index=spec.sample_index, role=spec.role.value, attempt=spec.attempt,
            finish_reason=response.finish_reason, tokens_in=response.tokens_in,
            tokens_out=response.tokens_out, cost_usd=cost,
            latency_s=0.0 if cache_hit else response.latency_s, status="ok",
            cache_hit=cache_hit, response_text=None if cache_hit else response.text,
            request_messages=None if cache_hit else _sent(spec),
            response_logprobs=None if cache_hit else _logprobs(spec, response),
        )

    def _record_failure(self, digest: str, endpoint: str, llm: Any, spec: CallSpec,
                        exc: Exception) -> None:
        self._insert(request_hash=digest, endpoint=endpoint, llm_name=llm.name,
                     sample_index=spec.sample_index, role=spec.role.value,
                     attempt=spec.attempt, status="error", cache_hit=False,
                     error_class=type(exc).__name__)

    def _insert(self, **values: Any) -> None:
        values.update(evaluation_id=self._site.evaluation_id,
                      question_id=self._site.question_id, layer_index=self._site.layer_index)
        # A plain transaction, not an ORM session, and one statement with the values as
        # parameters, compiled once: this runs for every call, and a session's bookkeeping and
        # compiling the statement anew were half of a call's CPU spent here (measured with
        # bench/pipeline_throughput.py's profile: 1.0 ms -> 0.45 ms an insert).
        with one_statement(self._database_url) as conn:
            conn.execute(_INSERT_CALL, values)

    def mark_unusable(self, result: CallResult) -> None:
        """Record on the call's use that its reply could not be used: ``truncated`` (cut at
        max_tokens) or ``parse_failure`` (it did not give what its prompt asked for)."""
        if result.request_hash is None:
            return
        status = "truncated" if result.finish_reason == "length" else "parse_failure"
        with session_scope(self._database_url) as session:
            session.execute(
                text("UPDATE llm_calls SET status = :s WHERE request_hash = :h "
                     "AND evaluation_id IS NOT DISTINCT FROM :e AND question_id IS NOT "
                     "DISTINCT FROM :q AND layer_index IS NOT DISTINCT FROM :l"),
                {"s": status, "h": result.request_hash, "e": self._site.evaluation_id,
                 "q": self._site.question_id, "l": self._site.layer_index},
            )


def _result(spec: CallSpec, response: CachedResponse, digest: str) -> CallResult:
    return CallResult(spec, response.text, request_hash=digest,
                      finish_reason=response.finish_reason,
                      top_logprobs=response.top_logprobs)


def _extra(spec: CallSpec, effort: str | None) -> dict[str, object] | None:
    """What decides the answer beyond the chat fields: the attempt (a repeated ask is another
    request), a reward model's documents, how many first-token log-probabilities were
    asked for (an answer without them cannot serve a call that wants them), and a reasoning
    model's effort (the one sent: the component's or the registry's). None for a first
    chat ask without any of them, so that its cache key is the one it always had."""
    extra: dict[str, object] = {}
    if spec.attempt:
        extra["attempt"] = spec.attempt
    if spec.documents:
        extra["documents"] = list(spec.documents)
    if spec.top_logprobs > 0:
        extra["top_logprobs"] = spec.top_logprobs
    if effort is not None:
        extra["reasoning_effort"] = effort
    return extra or None


def _logprobs(spec: CallSpec, response: CachedResponse) -> list[list[object]] | None:
    """What a paid call records in ``response_logprobs``: [[token, logprob], ...] when it
    asked for them ([] when the endpoint gave none), NULL when it did not ask."""
    if spec.top_logprobs <= 0:
        return None
    return [[token, logprob] for token, logprob in response.top_logprobs]


def _sent(spec: CallSpec) -> list[dict[str, Any]]:
    """What a paid call sent, for the record (the documents of a reward model as a message)."""
    sent: list[dict[str, Any]] = list(spec.message_dicts())
    if spec.documents:
        sent.append({"role": "documents", "content": list(spec.documents)})
    return sent
