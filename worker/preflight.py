"""The worker's side of the preflight: can *this* worker call these LLMs?

``itas submit``, ``itas run``/``ask`` and the scheduler ask every worker, before anything is
queued or paid, through Celery's remote control (:func:`itas_preflight`, a control command:
a broadcast over the broker that every worker answers from its main process, whatever queues
it consumes, without a result backend). Each worker answers from its own environment and
endpoints registry, because the keys live only there (the CLI's host may hold none), and
checks, for each LLM:

1. the LLM is in the worker's registry;
2. at least one of its endpoint's key variables is set (the reply names the variables set
   and unset, never a value);
3. with each key that is set, ``GET /v1/models`` answers (the endpoint is up; a 401/403 names
   the variable whose key was refused) and lists the LLM's wire model.

The model list is not a completion: nothing is paid, nothing enters the rate limiter. An
endpoint without a model list (404) leaves the model unchecked (``unchecked`` in the reply).
When every worker passed, one of them sends the *probes* (:func:`itas_preflight_probe`,
:func:`probe_llms`): one tiny real completion per distinct (LLM, parameters) of the run, so that
a parameter the model refuses, a key or a model is found before anything is queued. What the
preflight cannot see coming (a key revoked later) stops the run at its first call.

The reply is plain JSON; :mod:`scheduler.preflight` reads it and prints the one line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from celery.worker.control import control_command

from models.endpoints import Endpoint, load_registry
from models.errors import AuthenticationFailed, EndpointError, ItasError
from models.settings import load_settings

#: Name of the control command (the CLI sends it by name).
COMMAND = "itas_preflight"
#: Changes when the reply's shape does, so an old worker is told apart from a failing one.
REPLY_VERSION = 1


def shown_url(url: str) -> str:
    """The endpoint's address as it may be printed: scheme, host and path, no credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_llms(llms: Sequence[str]) -> dict[str, Any]:
    """This process's answer for ``llms``: per LLM its endpoint, key variables and problem.

    ``{"version", "registry", "llms": {name: {"endpoint", "url", "keys_set", "keys_unset",
    "problem", "variable", "unchecked"}}}``; ``problem`` is None when the LLM can be called.
    """
    settings = load_settings()
    registry = load_registry(settings.endpoints_file, simulator_url=settings.simulator_url)
    results: dict[str, dict[str, Any]] = {}
    listings: dict[tuple[str, str | None], Any] = {}
    for name in llms:
        llm = registry.llms.get(name)
        if llm is None:
            results[name] = {"endpoint": None, "url": None, "keys_set": [], "keys_unset": [],
                             "problem": f"not in the worker's endpoints registry "
                                        f"({registry.source})",
                             "variable": None, "unchecked": False}
            continue
        endpoint = registry.endpoints[llm.endpoint]
        keys = endpoint.keys_set(os.environ)
        results[name] = {"endpoint": endpoint.name, "url": shown_url(endpoint.base_url),
                         "keys_set": [k for k, v in keys.items() if v],
                         "keys_unset": [k for k, v in keys.items() if not v],
                         "problem": None, "variable": None, "unchecked": False}
        if endpoint.api_key_envs and not any(keys.values()):
            results[name]["problem"] = "none of its key variables is set"
            results[name]["variable"] = ", ".join(endpoint.api_key_envs)
            continue
        set_keys: list[str | None] = [k for k, v in keys.items() if v]
        for key_env in set_keys or [None]:
            listings.setdefault((endpoint.name, key_env), endpoint)
    # Every (endpoint, key) once, all at once: the control command must answer promptly.
    with ThreadPoolExecutor(max(1, min(16, len(listings)))) as pool:
        fetched = dict(zip(listings, pool.map(lambda item: _listing(*item),
                                              [(e, k) for (_, k), e in listings.items()]),
                           strict=True))
    for name, result in results.items():
        if result["problem"] is not None or result["endpoint"] is None:
            continue
        wire = registry.llms[name].wire_model
        for key_env in result["keys_set"] or [None]:
            problem, models = fetched[(result["endpoint"], key_env)]
            if problem is not None:
                result["problem"] = problem.replace("{key}", key_env or "(no key)")
                result["variable"] = key_env
                break
            if models is None:
                result["unchecked"] = True
            elif wire not in models:
                result["problem"] = (f"the endpoint does not serve model {wire!r} (GET "
                                     f"/v1/models lists {len(models)}; check wire_model in "
                                     f"{registry.source})")
                break
    return {"version": REPLY_VERSION, "registry": registry.source, "llms": results}


def _listing(endpoint: Endpoint, key_env: str | None) -> tuple[str | None, list[str] | None]:
    """(problem, models) of one endpoint asked with one key."""
    from worker.clients.transport import list_models

    try:
        return None, list_models(endpoint, key_env=key_env, keys_env=os.environ)
    except AuthenticationFailed as exc:
        return f"the endpoint refused the key in {{key}} (HTTP {exc.status})", None
    except EndpointError as exc:
        return f"the endpoint does not answer as expected: {exc}", None
    except ItasError as exc:
        return str(exc), None


@control_command(args=[("llms", list), ("sandbox", bool)], signature="<llms> [sandbox]")
def itas_preflight(state: Any, llms: list[str] | None = None,
                   sandbox: bool = False) -> dict[str, Any]:
    """Celery control command: :func:`check_llms` of this worker, with the queues it consumes
    (only a worker of the layers queue makes LLM calls); with ``sandbox`` (a code benchmark's
    run), ``"sandbox"``: why this worker cannot set up the code sandbox, None when it can."""
    try:
        reply = check_llms(list(llms or []))
    except ItasError as exc:  # a broken registry or setting: say it, do not crash the worker
        reply = {"version": REPLY_VERSION, "error": str(exc).splitlines()[0], "llms": {}}
    if sandbox:
        from worker.test_runs import sandbox_problem

        reply["sandbox"] = sandbox_problem()
    consumer = getattr(state, "consumer", None)
    queues = getattr(getattr(consumer, "task_consumer", None), "queues", None) or []
    reply["queues"] = sorted(q.name for q in queues)
    return reply


#: Name of the control command that sends the probes (the CLI sends it by name).
PROBE_COMMAND = "itas_preflight_probe"
#: What a probe asks: the shortest reply a model gives, so a probe costs a few tokens.
PROBE_PROMPT = "Reply with the single word OK."
#: Seconds one probe may take (below the endpoint's own timeout when that is longer): a slow
#: or hanging endpoint proves nothing about the setup, and the control command must answer.
PROBE_TIMEOUT_S = 30.0


def probe_llms(probes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One real completion per probe, sent as the run will send its calls: the probe's
    ``temperature``, ``max_tokens`` and ``reasoning_effort`` (in the reasoning form where the
    registry marks the LLM, or where the provider's 400 teaches it), with the first key set.

    ``{"version", "probes": [{"llm", "temperature", "max_tokens", "reasoning_effort",
    "problem", "unchecked"}]}``; ``problem`` is the provider's refusal (a parameter, the key,
    the model), None when the LLM answered. A reward model (rerank endpoint) is not probed,
    and an answer that proves nothing either way (a 429, a timeout, a 5xx, a refusal of the
    prompt itself) leaves the probe ``unchecked``: the run's own calls retry those.

    The probes go straight to the endpoint, not through the rate limiter: one request per
    distinct (LLM, parameters) of a job is far below any limit, and a preflight must not
    wait behind a busy limiter. They are not recorded in ``llm_calls`` (no evaluation owns
    them) and not cached: what is checked is that the provider accepts the call today.
    """
    settings = load_settings()
    registry = load_registry(settings.endpoints_file, simulator_url=settings.simulator_url)
    with ThreadPoolExecutor(max(1, min(16, len(probes)))) as pool:
        results = list(pool.map(lambda p: _probe(registry, p), probes))
    return {"version": REPLY_VERSION, "probes": results}


def _probe(registry: Any, probe: dict[str, Any]) -> dict[str, Any]:
    from models.errors import BadRequest, QuestionRefused, RetryableEndpointError, SetupError
    from worker.clients.base import ChatRequest
    from worker.clients.transport import new_client, send_chat

    result: dict[str, Any] = {**probe, "problem": None, "unchecked": None}
    llm = registry.llms.get(probe["llm"])
    if llm is None:  # check_llms has named it already
        result["unchecked"] = "not in the worker's endpoints registry"
        return result
    endpoint = registry.endpoints[llm.endpoint]
    if endpoint.kind == "rerank":
        result["unchecked"] = "a reward model: no completion to probe"
        return result
    keys = endpoint.keys_set(os.environ)
    key_env = next((k for k, v in keys.items() if v), None)
    request = ChatRequest(
        llm=llm.wire_model, messages=[{"role": "user", "content": PROBE_PROMPT}],
        temperature=float(probe["temperature"]), max_tokens=int(probe["max_tokens"]),
        reasoning=llm.reasoning,
        reasoning_effort=probe.get("reasoning_effort") or llm.reasoning_effort)
    if endpoint.timeout_s > PROBE_TIMEOUT_S:
        endpoint = endpoint.model_copy(update={"timeout_s": PROBE_TIMEOUT_S})
    try:
        # A client of its own, closed at once: the worker's shared one keeps its connections
        # open, and the probe runs in the worker's main process, not where calls are made.
        with new_client() as client:
            send_chat(endpoint, request, key_env=key_env, keys_env=os.environ, client=client)
    except (SetupError, BadRequest) as exc:
        if isinstance(exc, QuestionRefused):
            result["unchecked"] = f"the provider refused the probe's prompt: {exc}"
        else:
            result["problem"] = str(exc)
    except RetryableEndpointError as exc:  # 429, timeout, 5xx: says nothing of the setup
        result["unchecked"] = str(exc)
    except ItasError as exc:
        result["problem"] = str(exc)
    return result


@control_command(args=[("probes", list)], signature="<probes>")
def itas_preflight_probe(state: Any, probes: list[dict[str, Any]] | None = None
                         ) -> dict[str, Any]:
    """Celery control command: :func:`probe_llms` on this worker."""
    try:
        return probe_llms(list(probes or []))
    except ItasError as exc:
        return {"version": REPLY_VERSION, "error": str(exc).splitlines()[0], "probes": []}
