"""The preflight: a worker that cannot call an LLM stops `itas submit`, `itas run` and the
scheduler before anything is queued or paid, with one line naming the LLM, the endpoint and
the variable (or the model). Then what the preflight cannot see coming: a key refused or a
model unknown during a run stops the evaluation (no score from it), and a broker lost while
`itas run` sends its questions leaves nothing half-queued.

Real parts: worker processes started without keys, with a wrong key, or with a registry naming
a model the simulator does not serve; the simulator over HTTP, which counts every completion
it answers (none may be made); PostgreSQL, where nothing may be queued. Each test has its own
Redis prefix, so only its own workers answer the broadcast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from scheduler.processes import ITAS, stop
from tests.engine import CANARY_KEYS, start_cache_redis, start_simulator
from tests.services import RunServices
from tests.workers import WorkerPool

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DEMO_JOB = str(REPO / "examples" / "search-demo.yaml")
QUICKSTART = str(REPO / "examples" / "architectures" / "generate10-rank5-fuse.json")


@dataclass
class Rig:
    simulator_url: str
    database_url: str
    directory: Path
    redis_prefix: str

    def fresh_prefix(self) -> str:
        """A broker and cache prefix of one test, under the run's own: the run's clean-up
        deletes its keys (a prefix of its own left them in the machine's Redis)."""
        return f"{self.redis_prefix}pf-{uuid.uuid4().hex[:6]}:"

    def env(self, prefix: str, **extra: str) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
        return {**clean, "ITAS_DATABASE_URL": self.database_url,
                "ITAS_REDIS_URL": os.environ["ITAS_REDIS_URL"], "ITAS_REDIS_PREFIX": prefix,
                "ITAS_SIMULATOR_URL": self.simulator_url, **extra}

    def completions(self) -> dict[str, int]:
        """Completions the simulator answered, by status (the model list is not counted)."""
        return dict(httpx.get(f"{self.simulator_url}/health").json()["responses"])

    def count(self, table: str) -> int:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture(scope="module")
def rig(services: RunServices, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    directory = tmp_path_factory.mktemp("preflight")
    simulator, url = start_simulator(directory)
    try:
        yield Rig(url, services.database_url, directory, services.redis_prefix)
    finally:
        stop(simulator)


def itas(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ITAS, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def start_worker(rig: Rig, prefix: str, **extra: str) -> WorkerPool:
    """A worker with the simulator's key variables as ``extra`` says (none unless given)."""
    pool = WorkerPool({}, rig.directory)
    pool.env = rig.env(prefix, **extra)  # rig.env drops every ITAS_* of this process
    pool.start(concurrency=1)
    return pool


def test_a_worker_without_keys_stops_submit_run_and_the_scheduler(rig: Rig) -> None:
    prefix = rig.fresh_prefix()
    pool = start_worker(rig, prefix)  # the new user's mistake: no ITAS_SIM_KEY_* set
    env = rig.env(prefix)
    jobs_before, evaluations_before = rig.count("search_jobs"), rig.count("evaluations")
    try:
        done = itas(env, "submit", DEMO_JOB, "--trials", "8")
        assert done.returncode == 2, done.stderr
        line = one_line(done)
        assert line.startswith("itas: error: preflight: LLM sim-frontier")
        assert "endpoint simulator" in line and "ITAS_SIM_KEY_1" in line
        assert "nothing was queued" in line
        assert rig.count("search_jobs") == jobs_before

        done = itas(env, "run", QUICKSTART, "--benchmark", "synth-math", "--limit", "3")
        assert done.returncode == 2, done.stderr
        assert "none of its key variables ITAS_SIM_KEY_1, ITAS_SIM_KEY_2 is set" in one_line(done)
        assert rig.count("evaluations") == evaluations_before

        # Queued without the check, the job is failed by the scheduler's own preflight, and
        # `itas status` says why.
        done = itas(env, "submit", DEMO_JOB, "--trials", "8", "--no-preflight")
        assert done.returncode == 0, done.stderr
        job_id = done.stdout.strip().splitlines()[-1]
        done = itas(env, "scheduler", "--once", "--job", job_id, timeout=180)
        assert done.returncode == 0, done.stderr
        status = json.loads(itas(env, "status", job_id, "--json").stdout.splitlines()[-1])
        assert status["state"] == "failed"
        assert "preflight: LLM sim-frontier" in status["error"]
        assert "ITAS_SIM_KEY_1" in status["error"]
        assert rig.count("evaluations") == evaluations_before
        assert rig.completions() == {}  # not one provider call
    finally:
        pool.stop_all()


def test_a_wrong_key_is_named_by_its_variable(rig: Rig) -> None:
    prefix = rig.fresh_prefix()
    pool = start_worker(rig, prefix, ITAS_SIM_KEY_1=CANARY_KEYS[0],
                        ITAS_SIM_KEY_2="not-the-simulators-key")
    evaluations_before = rig.count("evaluations")
    try:
        done = itas(rig.env(prefix), "run", QUICKSTART, "--benchmark", "synth-math",
                    "--limit", "3")
        assert done.returncode == 2, done.stderr
        line = one_line(done)
        assert "the endpoint refused the key in ITAS_SIM_KEY_2 (HTTP 401)" in line
        assert "LLM sim-" in line and "endpoint simulator" in line
        assert "not-the-simulators-key" not in done.stderr + done.stdout
        assert rig.count("evaluations") == evaluations_before
        assert rig.completions() == {}
    finally:
        pool.stop_all()


def test_an_unknown_model_is_named(rig: Rig, tmp_path: Path) -> None:
    registry = tmp_path / "endpoints.yaml"
    registry.write_text(
        "endpoints:\n  simulator:\n    kind: openai\n    base_url: ${ITAS_SIMULATOR_URL}/v1\n"
        "    api_key_envs: [ITAS_SIM_KEY_1]\n    model_types: [OpenAI_API]\n"
        "llms:\n  sim-typo: {endpoint: simulator, wire_model: sim-lagre, "
        "price_in_per_mtok: 1, price_out_per_mtok: 1}\n")
    arch = tmp_path / "typo.json"
    arch.write_text(json.dumps({"name": "typo", "layers": [[{
        "type": "generator", "model": "sim-typo", "model_type": "OpenAI_API",
        "samples": 1, "temperature": 0.7, "max_tokens": 256}]]}))
    prefix = rig.fresh_prefix()
    pool = start_worker(rig, prefix, ITAS_SIM_KEY_1=CANARY_KEYS[0],
                        ITAS_ENDPOINTS_FILE=str(registry))
    try:
        done = itas(rig.env(prefix, ITAS_ENDPOINTS_FILE=str(registry)), "run", str(arch),
                    "--benchmark", "synth-math", "--limit", "3")
        assert done.returncode == 2, done.stderr
        line = one_line(done)
        assert "LLM sim-typo on endpoint simulator" in line
        assert "does not serve model 'sim-lagre'" in line
        assert rig.completions() == {}
    finally:
        pool.stop_all()


def test_no_worker_is_its_own_error_after_the_documented_wait(rig: Rig) -> None:
    prefix = rig.fresh_prefix()  # nobody listens on this broker prefix
    started = time.monotonic()
    done = itas(rig.env(prefix, ITAS_PREFLIGHT_WAIT_S="4"), "submit", DEMO_JOB)
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started >= 4
    waiting, error = done.stderr.strip().splitlines()
    assert "waiting up to 4 s for a worker" in waiting
    assert "no worker answered within 4s" in error and "Traceback" not in done.stderr


def test_submit_right_after_starting_a_worker_waits_for_it_and_succeeds(rig: Rig) -> None:
    prefix = rig.fresh_prefix()
    env = rig.env(prefix, ITAS_SIM_KEY_1=CANARY_KEYS[0], ITAS_SIM_KEY_2=CANARY_KEYS[1])
    log = rig.directory / f"worker-{prefix.rstrip(':').rsplit(':', 1)[-1]}.log"
    with log.open("wb") as out:
        worker = subprocess.Popen([*ITAS, "worker", "--concurrency", "1"], env=env,
                                  stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        done = itas(env, "submit", DEMO_JOB, "--trials", "2")  # at once: it is still starting
        assert done.returncode == 0, done.stderr + log.read_text(errors="replace")[-2000:]
        assert done.stdout.strip().splitlines()[-1].isdigit()  # the job's id
        done = itas(env, "cancel", done.stdout.strip().splitlines()[-1])
        assert done.returncode == 0, done.stderr
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=60)


# -- during a run: a refused key or an unknown model stops the evaluation ----------------------

QUEUE_AND_WAIT = """
import json, sys
from benchmarks.registry import load_questions
from models.architecture import architecture_hash, parse_architecture
from models.errors import ItasError
from models.settings import load_settings, resolve_service_urls
from scheduler.evaluations import queue_evaluation, wait_for

# What `itas run` does after its preflight: as if the key were revoked right after it.
parsed, _ = parse_architecture(json.loads(sys.argv[1]))
questions = load_questions("synth-math", split="search", limit=6)
url = resolve_service_urls(load_settings()).database_url
evaluation = queue_evaluation(url, architecture=parsed.model_dump(mode="json"),
                              arch_hash=architecture_hash(parsed), benchmark="synth-math",
                              split="search", questions=questions)
try:
    wait_for(url, evaluation, len(questions), timeout_s=90)
    print(json.dumps({"evaluation": evaluation, "error": None}))
except ItasError as exc:
    print(json.dumps({"evaluation": evaluation, "error": str(exc)}))
"""


@pytest.mark.parametrize("setup", ["refused key", "unknown model", "refused parameter"])
def test_a_setup_error_during_a_run_stops_the_evaluation_without_a_score(
    rig: Rig, tmp_path: Path, setup: str
) -> None:
    prefix = rig.fresh_prefix()
    max_tokens = 256
    if setup == "refused parameter":  # sim-short-context takes max_tokens up to 1,024
        extra = {"ITAS_SIM_KEY_1": CANARY_KEYS[0]}
        llm, max_tokens = "sim-short-context", 4096
        expected = "ParameterRefused: endpoint simulator: HTTP 400: max_tokens is too large"
    elif setup == "refused key":
        extra = {"ITAS_SIM_KEY_1": "revoked-key"}
        llm, expected = "sim-small", "AuthenticationFailed: endpoint simulator: HTTP 401, the " \
            "API key in ITAS_SIM_KEY_1 was refused"
    else:
        registry = tmp_path / "endpoints.yaml"
        registry.write_text(
            "endpoints:\n  simulator:\n    kind: openai\n    base_url: ${ITAS_SIMULATOR_URL}/v1"
            "\n    api_key_envs: [ITAS_SIM_KEY_1]\n    model_types: [OpenAI_API]\n"
            "llms:\n  sim-typo: {endpoint: simulator, wire_model: sim-lagre, "
            "price_in_per_mtok: 1, price_out_per_mtok: 1}\n")
        extra = {"ITAS_SIM_KEY_1": CANARY_KEYS[0], "ITAS_ENDPOINTS_FILE": str(registry)}
        llm, expected = "sim-typo", "ModelNotFound: endpoint simulator: model 'sim-lagre' not found"
    arch = {"name": "one", "layers": [[{"type": "generator", "model": llm,
                                        "model_type": "OpenAI_API", "samples": 1,
                                        "temperature": 0.7, "max_tokens": max_tokens}]]}
    pool = start_worker(rig, prefix, **extra)  # one process: the questions run one by one
    before = rig.completions()
    try:
        done = subprocess.run([sys.executable, "-c", QUEUE_AND_WAIT, json.dumps(arch)],
                              env=rig.env(prefix, **extra), capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
        assert outcome["error"] is not None and expected in outcome["error"]
        with psycopg.connect(rig.database_url) as conn:
            status, error = conn.execute("SELECT status, error FROM evaluations WHERE id = %s",
                                         (outcome["evaluation"],)).fetchone() or (None, None)
            answers = conn.execute("SELECT count(*) FROM answers WHERE evaluation_id = %s",
                                   (outcome["evaluation"],)).fetchone()
        assert status == "stopped" and expected in error
        assert answers == (0,)  # no question scored from the error
        # The first question's call met the error; the five others made none.
        after = rig.completions()
        refused = {"refused key": "401", "unknown model": "404"}.get(setup, "400")
        assert after.get(refused, 0) - before.get(refused, 0) == 1
        assert "revoked-key" not in json.dumps(outcome) + (error or "")
    finally:
        pool.stop_all()


# -- the broker goes down while `itas run` sends its questions ---------------------------------


def test_a_broker_lost_while_itas_run_sends_leaves_nothing_half_queued(
    rig: Rig, tmp_path: Path
) -> None:
    broker, broker_url = start_cache_redis(tmp_path)  # a broker of its own, to kill
    prefix = rig.fresh_prefix()
    extra = {"ITAS_BROKER_URL": broker_url, "ITAS_SIM_KEY_1": CANARY_KEYS[0],
             "ITAS_SIM_KEY_2": CANARY_KEYS[1]}
    arch = tmp_path / "one.json"
    arch.write_text(json.dumps({"name": "one", "layers": [[{
        "type": "generator", "model": "sim-small", "model_type": "OpenAI_API", "samples": 1,
        "temperature": 0.7, "max_tokens": 256}]]}))
    pool = start_worker(rig, prefix, **extra)
    try:
        with psycopg.connect(rig.database_url, autocommit=True) as conn:
            last = conn.execute("SELECT coalesce(max(id), 0) FROM evaluations").fetchone()
            run = subprocess.Popen(
                [*ITAS, "run", str(arch), "--benchmark", "synth-math", "--split", "all"],
                env=rig.env(prefix, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)
            # The broker dies once 100 of the 1,000 questions are in its queue: mid-sending.
            queued = redis.Redis.from_url(broker_url)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and queued.llen(f"{prefix}itas.layers") < 100:
                time.sleep(0.001)
            broker.kill()
            _, err = run.communicate(timeout=180)
            row = conn.execute("SELECT status, error, jsonb_array_length(question_ids) FROM "
                               "evaluations WHERE id > %s", last).fetchone()
        assert run.returncode == 1, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        sent = int(err.split("messages after ")[1].split(" of ")[0])
        assert 100 <= sent < 1000, err
        assert "of 1000 questions of evaluation" in err and "marked stopped" in err
        assert row is not None and row[0] == "stopped" and row[2] == 1000
        assert "the broker stopped taking messages" in row[1]
    finally:
        pool.stop_all()
        stop(broker)
