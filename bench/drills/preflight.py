"""A missing key, a wrong key, an unknown model: the job must fail at preflight.

Intended behaviour (issue 10): `itas run` and `itas submit` check every LLM the job can use
before anything is queued, and stop with exit 2 and one line naming the LLM, the endpoint and
(for a key) the variable; zero provider calls, nothing queued. There is no clean run to
compare with: the checks are those of the intended behaviour.

- missing key: the workers (and the CLI) have neither ITAS_SIM_KEY_1 nor ITAS_SIM_KEY_2;
- wrong key: both are set to keys the simulator refuses (401);
- unknown model: the registry has an LLM `sim-retired` on the simulator, which does not know
  it (404 model_not_found).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import redis
import yaml

from bench.drills.harness import Context, DrillResult, stack
from bench.drills.services import PrivateServices
from bench.drills.stack import KEYS, Stack, StackOptions

NAME = "preflight"
FAULT = "a missing key, a wrong key, an unknown model: exit 2 at preflight, zero provider calls"
JOBS = Path(__file__).with_name("jobs")
RETIRED = {"endpoint": "simulator", "price_in_per_mtok": 1.0, "price_out_per_mtok": 1.0}
CASES: dict[str, tuple[dict[str, str], str]] = {
    "missing-key": ({}, "sim-small"),
    "wrong-key": ({"ITAS_SIM_KEY_1": "wrong-key-1", "ITAS_SIM_KEY_2": "wrong-key-2"},
                  "sim-small"),
    "unknown-model": (KEYS, "sim-retired"),
}


def _count(url: str, table: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            return int(row[0]) if row else 0
    except psycopg.errors.UndefinedTable:
        return 0


def _queued(run: Stack) -> int:
    client = redis.Redis.from_url(run.services.broker.url())
    try:
        return int(client.llen(f"{run.prefix}itas.layers"))  # type: ignore[arg-type]
    finally:
        client.close()


def _files(run: Stack, llm: str) -> tuple[Path, Path]:
    arch = json.loads((JOBS / "single.json").read_text())
    arch["layers"][0][0]["model"] = llm
    arch_path = run.work / "single.json"
    arch_path.write_text(json.dumps(arch))
    job = yaml.safe_load((JOBS / "preflight-search.yaml").read_text())
    job["llms"] = [llm]
    job_path = run.work / "search.yaml"
    job_path.write_text(yaml.safe_dump(job))
    return arch_path, job_path


def _check(case: str, command: str, done: Any, llm: str, key_case: bool) -> list[str]:
    text = (done.stdout + done.stderr).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    problems = []
    if done.returncode != 2:
        problems.append(f"exit {done.returncode}, not 2")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines of output, not one")
    wanted = [llm, "simulator"] + (["ITAS_SIM_KEY_"] if key_case else [])
    missing = [w for w in wanted if w not in text]
    if missing:
        problems.append(f"the message does not name {missing}")
    if problems:
        shown = lines[-1][:110] if lines else ""
        return [f"{case}: `itas {command}`: {'; '.join(problems)} (last line: {shown!r})"]
    return []


def run(ctx: Context) -> DrillResult:
    result = DrillResult(NAME, FAULT)
    calls: dict[str, int] = {}
    with PrivateServices() as services:
        for case, (keys, llm) in CASES.items():
            options = StackOptions(latency_scale=0.05,
                                   extra_llms={"sim-retired": RETIRED})
            with stack(services, ctx, f"{NAME}-{case}", options) as run:
                run.start_worker(concurrency=4, pool="threads", keys=keys)
                arch, job = _files(run, llm)
                ran = run.itas("run", str(arch), "--benchmark", "synth-math", "--limit", "4",
                               "--json", "--timeout", "60", timeout=120, keys=keys)
                result.reasons += _check(case, "run", ran, llm, case != "unknown-model")
                submitted = run.itas("submit", str(job), timeout=120, keys=keys)
                result.reasons += _check(case, "submit", submitted, llm,
                                         case != "unknown-model")
                url = run.database_url()
                # Chat and rerank requests of any outcome (a 401 is a request too); the
                # simulator does not count GET /v1/models, which a preflight may use.
                replies = run.simulator_counts()
                paid = sum(replies.values())
                recorded = _count(url, "llm_calls")
                evaluations, jobs = _count(url, "evaluations"), _count(url, "search_jobs")
                queued = _queued(run)
                calls[case] = paid
                result.events.append(
                    f"{case}: run exit {ran.returncode} "
                    f"{(ran.stdout + ran.stderr).strip().splitlines()[-1:]!r}; submit exit "
                    f"{submitted.returncode}; provider replies {replies}; "
                    f"llm_calls rows {recorded}; evaluations {evaluations}; search jobs "
                    f"{jobs}; broker messages {queued}")
                if paid or recorded:
                    result.reasons.append(f"{case}: {paid} provider requests {replies}, "
                                          f"{recorded} llm_calls rows (expected none)")
                if evaluations or jobs or queued:
                    result.reasons.append(f"{case}: queued anyway: {evaluations} evaluations, "
                                          f"{jobs} search jobs, {queued} broker messages")
    result.duplicates = {"provider_calls": sum(calls.values())}
    result.passed = not result.reasons
    return result
