"""The preflight: before anything is queued or paid, every LLM a job or an architecture can use
must be callable by the workers.

``itas submit``, ``itas run``, ``itas ask`` and the scheduler (when it takes a job) call
:func:`preflight`. It asks the workers through the broker (Celery's remote control, see
:mod:`worker.preflight`, which says why the check runs on the workers): first who is there
(``ping``), then every worker of the layers queue checks the LLMs with its own keys: each
is in its registry, a key variable is set, the endpoint answers ``GET /v1/models`` with every
key and lists the model. Nothing is paid and nothing enters the rate limiter.

For a code benchmark run without ``--unsafe-no-sandbox`` each worker also says whether it can
set up the sandbox its code runs in (:func:`worker.test_runs.sandbox_problem`): one that cannot
stops the run here, with its reason and what to change.

A problem is raised as one :class:`~models.errors.ConfigError` line naming the LLM, the
endpoint and the variable (or the model), so the CLI exits 2 with nothing queued and a job is
failed for good with it (a user error). No worker answering is a
:class:`~models.errors.ServiceUnavailable` (exit 1; a service to start, not a user error).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

from benchmarks.judged.base import JudgeCall
from models.errors import ConfigError, ServiceUnavailable
from models.settings import load_settings
from worker.celery_app import LAYERS_QUEUE, app

COMMAND = "itas_preflight"  # worker.preflight.COMMAND (not imported: no worker code here)
PROBE_COMMAND = "itas_preflight_probe"  # worker.preflight.PROBE_COMMAND
#: Seconds one ping waits for workers; pings repeat until one answers or the setting
#: ``preflight_wait_s`` (ITAS_PREFLIGHT_WAIT_S, 30 s by default) has passed: a worker just
#: started takes several seconds to connect (a busy machine, longer). A ping always waits its
#: whole timeout (how many workers will answer is unknown), so the first is short: workers
#: that are up answer within milliseconds, and every `itas run` pays it.
FIRST_PING_TIMEOUT_S = 1.0
PING_TIMEOUT_S = 2.0
#: Seconds the workers have to check: above the model list's own timeout (10 s).
CHECK_TIMEOUT_S = 20.0
#: Seconds the probing worker has for its completions (sent at once, each cut at 30 s by
#: worker.preflight.PROBE_TIMEOUT_S and then left unchecked).
PROBE_TIMEOUT_S = 60.0


def llms_of_job(job: Any) -> list[str]:
    """Every LLM a search job can use: its ``llms`` (power ranking, generators, fusers and
    judges by default), its ``judge_llm``, ``fuser_llm`` and ``benchmark_judge`` (a judged
    benchmark's judge), in that order, once each."""
    names = [*job.llms, job.judge_llm, job.fuser_llm, getattr(job, "benchmark_judge", None)]
    return list(dict.fromkeys(n for n in names if n))


def needs_sandbox(benchmark: str, unsafe_no_sandbox: bool) -> bool:
    """Whether a run of ``benchmark`` runs code in the workers' sandbox: a code benchmark,
    unless the user gave ``--unsafe-no-sandbox``."""
    from benchmarks.code.base import is_code
    from benchmarks.registry import BENCHMARKS

    known = BENCHMARKS.get(benchmark)
    return known is not None and is_code(known) and not unsafe_no_sandbox


def llms_of_architecture(architecture: Any) -> list[str]:
    """Every LLM the components of a (parsed) architecture name, once each."""
    return list(dict.fromkeys(c.model for layer in architecture.layers for c in layer
                              if getattr(c, "model", None)))


def probes_of_architecture(architecture: Any, judge_llm: str | None = None
                           ) -> list[dict[str, Any]]:
    """One probe per distinct (LLM, temperature, max_tokens, reasoning_effort) of the
    architecture's components, and its benchmark judge's when there is one."""
    probes = [probe(c.model, c.temperature, c.max_tokens, getattr(c, "reasoning_effort", None))
              for layer in architecture.layers for c in layer if getattr(c, "model", None)]
    if judge_llm:
        probes.append(judge_probe(judge_llm))
    return _distinct(probes)


def probes_of_job(job: Any) -> list[dict[str, Any]]:
    """One probe per LLM of the job (:func:`llms_of_job`) with each temperature and
    max_tokens of its search space (the benchmark judge with its own parameters)."""
    judge = getattr(job, "benchmark_judge", None)
    probes = [probe(name, t, m) for name in llms_of_job(job) if name != judge
              for t in job.space.temperature for m in job.space.max_tokens]
    if judge:
        probes.append(judge_probe(judge))
    return _distinct(probes)


def probe(llm: str, temperature: float, max_tokens: int,
          reasoning_effort: str | None = None) -> dict[str, Any]:
    """A probe as the workers read it (plain JSON, through the broker)."""
    return {"llm": llm, "temperature": float(temperature), "max_tokens": int(max_tokens),
            "reasoning_effort": reasoning_effort}


def judge_probe(llm: str) -> dict[str, Any]:
    """A benchmark judge's probe: it is called with JudgeCall's parameters."""
    return probe(llm, JudgeCall.temperature, JudgeCall.max_tokens)


def _distinct(probes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list({tuple(p.values()): p for p in probes}.values())


def preflight(llms: Sequence[str], probes: Sequence[dict[str, Any]] = (), *,
              sandbox: bool = False) -> None:
    """Raise unless every worker of the layers queue can call every LLM of ``llms`` (and,
    with ``sandbox``, can set up the sandbox that a code benchmark's code runs in), and
    one of them got an answer to each of ``probes``: one real completion per distinct
    (LLM, parameters), sent as the run will send its calls, so that a parameter the model
    refuses, a refused key or an unknown model stop the run here, with the provider's
    message, before anything is queued (see :func:`worker.preflight.probe_llms`)."""
    if not llms:
        return
    hosts = _ping()
    replies = _broadcast(hosts, list(llms), sandbox)
    line = problem_line(replies, list(llms), sandbox=sandbox)
    if line is not None:
        raise ConfigError(f"preflight: {line}; nothing was queued")
    if probes:
        line = _probe(_prober(replies), list(probes))
        if line is not None:
            raise ConfigError(f"preflight: {line}; nothing was queued")


def _prober(replies: dict[str, dict[str, Any]]) -> str:
    """The worker that sends the probes: one is enough (each probe is a paid call), and
    any worker of the layers queue can (problem_line found none failing)."""
    return sorted(h for h, r in replies.items()
                  if LAYERS_QUEUE in r.get("queues", [LAYERS_QUEUE]))[0]


def _probe(host: str, probes: list[dict[str, Any]]) -> str | None:
    """The one line naming the first probe a provider refused (and how many more), or None.
    A worker that cannot probe (an older itas, a broken registry) is named with its error."""
    try:
        answers = app.control.broadcast(PROBE_COMMAND, arguments={"probes": probes},
                                        destination=[host], reply=True,
                                        timeout=PROBE_TIMEOUT_S, limit=1)
    except Exception as exc:
        raise ServiceUnavailable(f"preflight: the broker does not answer "
                                 f"({type(exc).__name__}: {_first_line(exc)})") from exc
    reply = next((r for answer in answers or [] for h, r in answer.items() if h == host), None)
    if reply is None:
        raise ServiceUnavailable(f"preflight: worker {host} did not answer the probes within "
                                 f"{PROBE_TIMEOUT_S:g}s; nothing was queued")
    if "error" in reply and not reply.get("probes"):
        return f"worker {host}: {reply['error']}"
    refused = [p for p in reply.get("probes", []) if p.get("problem")]
    if not refused:
        return None
    first = refused[0]
    more = f" (and {len(refused) - 1} more probe{'s' if len(refused) > 2 else ''})" \
        if len(refused) > 1 else ""
    effort = f", reasoning_effort {first['reasoning_effort']}" \
        if first.get("reasoning_effort") else ""
    return (f"LLM {first['llm']} refused a probe call (temperature {first['temperature']:g}, "
            f"max_tokens {first['max_tokens']}{effort}): {first['problem']}{more}")


def _ping() -> list[str]:
    """The workers that answer a ping, waiting up to ``preflight_wait_s`` for the first."""
    wait_s = load_settings().preflight_wait_s
    deadline = time.monotonic() + wait_s
    said = False
    try:
        while True:
            timeout = FIRST_PING_TIMEOUT_S if not said else PING_TIMEOUT_S
            answers = app.control.ping(timeout=min(timeout, wait_s))
            if answers:
                return sorted(h for answer in answers for h in answer)
            if time.monotonic() >= deadline:
                break
            if not said:  # on stderr: a --json caller's stdout stays one JSON object
                print(f"preflight: no worker answered yet; waiting up to {wait_s:g} s for a "
                      "worker (ITAS_PREFLIGHT_WAIT_S) ...", file=sys.stderr, flush=True)
                said = True
    except Exception as exc:  # kombu and redis-py errors of an unreachable broker
        raise ServiceUnavailable(f"preflight: the broker does not answer "
                                 f"({type(exc).__name__}: {_first_line(exc)})") from exc
    raise ServiceUnavailable(
        f"preflight: no worker answered within {wait_s:g}s through the broker; "
        "start one (`itas worker`) with the LLMs' key variables set; nothing was queued")


def _broadcast(hosts: list[str], llms: list[str], sandbox: bool
               ) -> dict[str, dict[str, Any]]:
    # "sandbox" only when asked: a worker of an itas before code benchmarks takes no such
    # argument, and need not for runs without code.
    arguments: dict[str, Any] = {"llms": llms, **({"sandbox": True} if sandbox else {})}
    try:
        answers = app.control.broadcast(COMMAND, arguments=arguments, destination=hosts,
                                        reply=True, timeout=CHECK_TIMEOUT_S, limit=len(hosts))
    except Exception as exc:
        raise ServiceUnavailable(f"preflight: the broker does not answer "
                                 f"({type(exc).__name__}: {_first_line(exc)})") from exc
    replies = {host: reply for answer in answers or [] for host, reply in answer.items()}
    if not replies:
        raise ServiceUnavailable(
            f"preflight: workers {', '.join(hosts)} answered a ping but not the check within "
            f"{CHECK_TIMEOUT_S:g}s; nothing was queued")
    return replies


#: Said with a worker's sandbox problem: what else the user can do.
UNSAFE_HINT = ("or pass --unsafe-no-sandbox (a job file: unsafe_no_sandbox: true) to run the "
               "code without isolation, recorded with the run")


def problem_line(replies: dict[str, dict[str, Any]], llms: list[str], *,
                 sandbox: bool = False) -> str | None:
    """The one line that says what is wrong in the workers' ``replies``, or None.

    The first problem found is named in full (LLM, endpoint, variable or model, worker); the
    LLMs sharing it are counted, and other problems only counted. With ``sandbox``, a worker
    that cannot set up the code sandbox is a problem of its own, named first.
    """
    callers = {host: r for host, r in replies.items()
               if LAYERS_QUEUE in r.get("queues", [LAYERS_QUEUE])}
    if not callers:
        return (f"no worker consumes the {LAYERS_QUEUE} queue (answering: "
                f"{', '.join(sorted(replies))}); start one with `itas worker`")
    if sandbox:
        for host, reply in sorted(callers.items()):
            if "error" in reply:
                continue  # named below, with the LLMs' problems
            problem = reply.get("sandbox", "it does not report a sandbox (an older itas?)")
            if problem:
                return (f"worker {host} cannot run code in a sandbox: {problem}; fix that, "
                        f"{UNSAFE_HINT}")
    problems: dict[tuple[str, ...], list[str]] = {}
    for host, reply in sorted(callers.items()):
        if "error" in reply or "llms" not in reply:
            what = reply.get("error") or "it does not know the preflight (an older itas?)"
            problems.setdefault(("", f"worker {host}: {what}"), [])
            continue
        several = len(callers) > 1
        for name in llms:
            result = reply["llms"].get(name)
            if result is None or result.get("problem") is None:
                continue
            problems.setdefault(_key(host if several else "", result), []).append(name)
    if not problems:
        return None
    (first, *rest) = problems.items()
    line = _describe(*first)
    more = len(rest)
    return line + (f" (and {more} other problem{'s' if more > 1 else ''})" if more else "")


def _key(host: str, result: dict[str, Any]) -> tuple[str, ...]:
    return (host, str(result["problem"]), str(result.get("endpoint") or ""),
            str(result.get("url") or ""), str(result.get("variable") or ""))


def _describe(key: tuple[str, ...], names: list[str]) -> str:
    if len(key) == 2:
        return key[1]
    host, problem, endpoint, url, variable = key
    who = f"LLM {names[0]}" + (f" (and {_count(names[1:])})" if len(names) > 1 else "")
    worker = f" on worker {host}" if host else ""
    if not endpoint:
        return f"{who}: {problem}{worker}"
    where = f"endpoint {endpoint} at {url}"
    if problem == "none of its key variables is set":
        return (f"{who} on {where}: none of its key variables {variable} is set{worker}; set "
                "one in the workers' environment")
    return f"{who} on {where}: {problem}{worker}"


def _count(names: Iterable[str]) -> str:
    names = list(names)
    return f"{len(names)} more: {', '.join(names)}" if len(names) <= 3 else \
        f"{len(names)} more: {', '.join(names[:3])}, ..."


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
