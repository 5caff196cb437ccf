"""`make compose-check`: the docker compose deployment, run for real in compose-lab.

    python compose/check.py [--trials N] [--workers N] [--keep]

compose-lab (../shared/tools/compose-lab, or COMPOSE_LAB) runs dockerd in a network namespace
with local stand-ins for the base images. Steps, each timed and printed:

1. write compose/.env (random passwords, canary API keys) and a simulator fleet that accepts
   only the canary keys, so every LLM call of the run carries a canary;
2. `lab up`; `compose config` must fail naming each missing required variable;
3. `compose up -d --build --wait --scale worker=N`;
4. submit examples/search-demo.yaml from the host side (`compose exec`), wait for the job, check
   every trial is accounted for, fetch `itas report --html` out of the deployment;
4b. a code job: `itas run` of examples/architectures/generate5-tests-run.json on code-contests
   (its packaged problems): the workers run the generated tests and score each answer by
   running its code in their sandbox (bubblewrap, non-root, under the compose file's seccomp
   profile), every answer with its test results, none unsafe;
5. Flower answers 401 without the login and lists the job's run_layer tasks with their
   labelled arguments with it; optuna-dashboard lists the job's study;
6. grep the canaries in Flower's pages and API, the dashboard, the report, every service's
   logs, both Redis (dump and append-only file) and PostgreSQL (pg_dump): zero hits;
7. always, even after a failure or Ctrl-C: `compose down -v`, `lab down`, remove what step 1
   wrote. A failure prints the services' last log lines first.

Exit 0 when every check holds, 1 otherwise (the reason is printed). It needs only the stdlib
and PyYAML (make runs it with the project's venv); the HTTP checks run curl inside the lab's
network namespace, where the published ports are.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE_DIR = REPO / "compose"
ENV_FILE = COMPOSE_DIR / ".env"
FLEET_NAME = "compose-check-fleet.yaml"
FLEET_FILE = COMPOSE_DIR / "config" / FLEET_NAME
SHIPPED_FLEET = REPO / "simulator" / "fleet.yaml"
MARKER = "# written by compose/check.py; deleted when it ends"
LAB = Path(os.environ.get("COMPOSE_LAB", REPO.parent / "shared" / "tools" / "compose-lab" / "lab"))
OUT = REPO / ".itas" / "compose-check"
# A project name of its own: the check's `down -v` never touches a deployment named itas.
COMPOSE = ["compose", "-p", "itas-compose-check", "-f", "compose/docker-compose.yml"]
FLOWER = "http://127.0.0.1:5555"
DASHBOARD = "http://127.0.0.1:8080"
REQUIRED_VARIABLES = ("POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH")


class CheckFailed(Exception):
    """A check did not hold; the message says which and what was seen."""


def step(title: str) -> float:
    print(f"\n== {title}", flush=True)
    return time.monotonic()


def done(t0: float, note: str = "") -> None:
    print(f"   ok in {time.monotonic() - t0:.0f} s{': ' + note if note else ''}", flush=True)


def lab(*args: str, timeout: float, check: bool = True, env: dict[str, str] | None = None,
        quiet: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `lab ARGS` from the repository root; CheckFailed on a non-zero exit or a timeout."""
    cmd = [str(LAB), *args]
    try:
        # errors="replace": a Redis dump is binary; the canaries are ASCII either way.
        done_ = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, errors="replace",
                               timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        raise CheckFailed(f"`lab {shlex.join(args)}` did not finish in {timeout:.0f} s") from exc
    if not quiet and done_.stderr.strip():
        print(indent(done_.stderr), flush=True)
    if check and done_.returncode != 0:
        raise CheckFailed(f"`lab {shlex.join(args)}` exited {done_.returncode}: "
                          f"{(done_.stderr or done_.stdout).strip()[-1500:]}")
    return done_


def compose(*args: str, timeout: float = 60, check: bool = True,
            quiet: bool = False) -> subprocess.CompletedProcess[str]:
    return lab(*COMPOSE, *args, timeout=timeout, check=check, quiet=quiet)


def itas(*args: str, timeout: float = 180) -> str:
    """`itas ARGS` inside the scheduler container (from the host side, as a user would). The
    timeout is generous: on a loaded 2-core host a `compose exec` and itas's start took over
    60 s once, while the job itself went on."""
    return compose("exec", "-T", "scheduler", "itas", *args, timeout=timeout, quiet=True).stdout


def curl(url: str, *, login: str | None = None) -> tuple[int, str]:
    """GET url inside the lab's namespace: (status, body)."""
    cmd = ["exec", "curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}", url]
    if login:
        cmd += ["-u", login]
    out = lab(*cmd, timeout=30, quiet=True).stdout
    body, _, code = out.rpartition("\n")
    return int(code), body


def indent(text: str) -> str:
    return "\n".join("   | " + line for line in text.strip().splitlines())


# --- 1. what the run is given -------------------------------------------------------------------

def write_inputs(run_id: str) -> dict[str, str]:
    """compose/.env and the canary fleet; returns the canaries by name."""
    if ENV_FILE.exists() and MARKER not in ENV_FILE.read_text():
        raise CheckFailed(f"{ENV_FILE} exists and is not the check's: the check writes its own "
                          "(random passwords, canary keys) and deletes it; move yours aside")
    canaries = {name: f"canary-{name.lower().replace('_', '-')}-{run_id}"
                for name in ("ITAS_SIM_KEY_1", "ITAS_SIM_KEY_2", "OPENAI_API_KEY")}
    # Characters that break a password written into a URL: the deployment must not care.
    password = f"pw@{secrets.token_hex(6)}:/#?%"
    env = {
        "POSTGRES_PASSWORD": password,
        "FLOWER_BASIC_AUTH": f"check:{secrets.token_hex(12)}",
        "COMPOSE_PROFILES": "simulator",
        "SIMULATOR_FLEET": f"/etc/itas/{FLEET_NAME}",
        **canaries,
    }
    ENV_FILE.write_text(MARKER + "\n" + "".join(f"{k}='{v}'\n" for k, v in env.items()))
    ENV_FILE.chmod(0o600)
    fleet = yaml.safe_load(SHIPPED_FLEET.read_text())
    # Only the canaries open the simulated fleet, so a completed job proves every call carried
    # one; latencies are scaled down as in `itas demo`.
    limits = {"requests_per_min": 600000, "tokens_per_min": 500000000}
    fleet["keys"] = [{"key": canaries["ITAS_SIM_KEY_1"], **limits},
                     {"key": canaries["ITAS_SIM_KEY_2"], **limits}]
    fleet["latency_scale"] = 0.1
    FLEET_FILE.write_text(f"{MARKER}\n{yaml.safe_dump(fleet)}")
    FLEET_FILE.chmod(0o644)  # read by the simulator's non-root user
    return {**canaries, "FLOWER_BASIC_AUTH": env["FLOWER_BASIC_AUTH"]}


def remove_inputs() -> None:
    for path in (ENV_FILE, FLEET_FILE):
        if path.exists() and MARKER in path.read_text():
            path.unlink()


# --- 2. required variables ----------------------------------------------------------------------

def check_required_variables() -> None:
    """`compose config` fails naming each required variable that is unset, and passes with all."""
    scrubbed = {k: v for k, v in os.environ.items()
                if k not in REQUIRED_VARIABLES and not k.startswith("COMPOSE_")}
    for missing in REQUIRED_VARIABLES:
        given = OUT / f"without-{missing}.env"
        given.write_text("".join(f"{v}=x:y\n" for v in REQUIRED_VARIABLES if v != missing))
        out = lab(*COMPOSE, "--env-file", str(given), "config", "--quiet", timeout=60,
                  check=False, env=scrubbed, quiet=True)
        if out.returncode == 0 or missing not in out.stderr:
            raise CheckFailed(f"compose config without {missing}: exit {out.returncode}, "
                              f"expected a failure naming it: {out.stderr.strip()[-500:]}")
        print(f"   without {missing}: {out.stderr.strip().splitlines()[-1]}")
    compose("config", "--quiet", timeout=60)


# --- 4. the search job --------------------------------------------------------------------------

def last_json(text: str) -> dict[str, Any]:
    line = text.strip().splitlines()[-1]
    value: dict[str, Any] = json.loads(line)
    return value


def run_job(trials: int, timeout_s: float) -> dict[str, Any]:
    out = itas("submit", "/app/examples/search-demo.yaml", "--trials", str(trials))
    job_id = int(out.strip().splitlines()[-1])
    print(f"   submitted search job {job_id} ({trials} trials)")
    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        status = last_json(itas("status", str(job_id), "--json"))
        line = f"{status['state']}: trials {status['trials']}"
        if line != last:
            print(f"   {time.strftime('%H:%M:%S')} {line}", flush=True)
            last = line
        if status["state"] in {"completed", "failed", "cancelled"}:
            break
        if time.monotonic() > deadline:
            raise CheckFailed(f"job {job_id} not finished after {timeout_s:.0f} s: {line}")
        time.sleep(5)
    if status["state"] != "completed":
        raise CheckFailed(f"job {job_id} ended {status['state']}: {status.get('error')}")
    counts = status["trials"]
    accounted = sum(counts.get(k, 0) for k in ("completed", "pruned", "infeasible"))
    if counts.get("running") or counts.get("failed") or accounted != trials:
        raise CheckFailed(f"job {job_id}: trials {counts}, expected all {trials} completed, "
                          "pruned or infeasible")
    return status


CODE_ARCHITECTURE = "/app/examples/architectures/generate5-tests-run.json"


def run_code_job(questions: int) -> str:
    """A code benchmark through the deployment's workers and sandbox (step 4b); its summary."""
    out = itas("run", CODE_ARCHITECTURE, "--benchmark", "code-contests", "--limit",
               str(questions), "--split", "all", "--json", timeout=300)
    summary = last_json(out)
    if (summary.get("questions") != questions or summary.get("failed_questions")
            or summary.get("unsafe_no_sandbox") or summary.get("score") is None):
        raise CheckFailed(f"code job: expected {questions} questions scored in the sandbox, "
                          f"got {summary}")
    evaluation = int(summary["evaluation_id"])
    counted = compose("exec", "-T", "postgres", "psql", "-U", "itas", "-d", "itas", "-tAc",
                      "SELECT count(*), count(test_results) FROM answers WHERE "
                      f"evaluation_id = {evaluation}", quiet=True).stdout.strip()
    if counted != f"{questions}|{questions}":
        raise CheckFailed(f"code job: answers | with test results: {counted}, expected "
                          f"{questions}|{questions}")
    return (f"code-contests: {questions} questions, score {summary['score']:.2f}, "
            f"every answer's tests run in the workers' sandbox")


def fetch_report(job_id: int) -> str:
    inside = f"/var/lib/itas/reports/compose-check-{job_id}.html"
    itas("report", str(job_id), "--html", inside, timeout=240)
    target = OUT / f"report-{job_id}.html"
    compose("cp", f"scheduler:{inside}", str(target), timeout=60)
    html = target.read_text(errors="replace")
    if len(html) < 10_000 or "<html" not in html.lower() or "search-demo" not in html:
        raise CheckFailed(f"{target}: not the job's HTML report ({len(html)} characters)")
    print(f"   report: {target} ({len(html) // 1024} KiB)")
    return html


# --- 5. Flower and the dashboard ----------------------------------------------------------------

def check_flower(login: str, job_id: int) -> list[str]:
    """Returns the texts read (for the canary grep)."""
    for path in ("/", "/tasks", "/api/tasks", "/api/workers"):
        code, _ = curl(FLOWER + path)
        if code != 401:
            raise CheckFailed(f"Flower {path} without a login answered {code}, expected 401")
    code, _ = curl(FLOWER + "/api/tasks", login="check:wrong-password")
    if code != 401:
        raise CheckFailed(f"Flower with a wrong password answered {code}, expected 401")
    print("   Flower: 401 without the login (/, /tasks, /api/tasks, /api/workers) and with a "
          "wrong one")
    evaluations = set(compose(
        "exec", "-T", "postgres", "psql", "-U", "itas", "-d", "itas", "-tAc",
        f"SELECT id FROM evaluations WHERE job_id = {job_id}", quiet=True).stdout.split())
    code, body = curl(FLOWER + "/api/tasks?taskname=worker.tasks.run_layer&limit=100000",
                      login=login)
    if code != 200:
        raise CheckFailed(f"Flower /api/tasks with the login answered {code}")
    tasks = json.loads(body)
    labelled = re.compile(r"^evaluation=(\d+) question=\S+ layer=\d+$")
    mine = [t for t in tasks.values()
            if (m := labelled.match(str(t.get("args", "")))) and m.group(1) in evaluations]
    if not mine:
        sample = list(tasks.values())[:2]
        raise CheckFailed(f"Flower lists no run_layer task of job {job_id}'s evaluations "
                          f"{sorted(evaluations)[:5]}...: {len(tasks)} tasks, e.g. {sample}")
    print(f"   Flower (logged in): {len(mine)} run_layer tasks of the job, e.g. "
          f"{mine[0]['name']}({mine[0]['args']}) {mine[0].get('state')}")
    pages = {"/api/tasks": body}
    for path in ("/", "/tasks", "/workers", "/broker", "/api/workers",
                 "/api/queues/length", f"/task/{mine[0]['uuid']}",
                 f"/api/task/info/{mine[0]['uuid']}"):
        code, page = curl(FLOWER + path, login=login)
        if code != 200:
            raise CheckFailed(f"Flower {path} with the login answered {code}")
        pages[path] = page
    for worker in json.loads(pages["/api/workers"]):  # each worker's page: config, pool, queues
        pages[f"/worker/{worker}"] = curl(f"{FLOWER}/worker/{worker}", login=login)[1]
    return list(pages.values())


def check_dashboard(study_name: str) -> list[str]:
    code, body = curl(DASHBOARD + "/api/studies")
    if code != 200 or study_name not in body:
        raise CheckFailed(f"optuna-dashboard /api/studies answered {code} without the study "
                          f"{study_name}: {body[:300]}")
    studies = json.loads(body)["study_summaries"]
    study_id = next(s["study_id"] for s in studies if s["study_name"] == study_name)
    code, detail = curl(f"{DASHBOARD}/api/studies/{study_id}")
    if code != 200:
        raise CheckFailed(f"optuna-dashboard /api/studies/{study_id} answered {code}")
    trials = len(json.loads(detail).get("trials", []))
    print(f"   optuna-dashboard: study {study_name} with {trials} trials")
    return [body, detail, curl(DASHBOARD + "/dashboard")[1]]


# --- 6. canaries --------------------------------------------------------------------------------

def redis_dump(service: str) -> str:
    """Everything a Redis holds, and what its append-only file ever recorded, as text."""
    script = ("redis-cli config set rdbcompression no >/dev/null && redis-cli save >/dev/null "
              "&& cat /data/dump.rdb && cat /data/appendonlydir/* 2>/dev/null; true")
    return compose("exec", "-T", service, "sh", "-c", script, timeout=120,
                   quiet=True).stdout


def check_canaries(canaries: dict[str, str], texts: dict[str, str]) -> int:
    positive = compose("exec", "-T", "worker", "printenv", "ITAS_SIM_KEY_1", quiet=True)
    if positive.stdout.strip() != canaries["ITAS_SIM_KEY_1"]:
        raise CheckFailed("the workers do not hold the canary key: the grep would prove nothing")
    keys = [v for k, v in canaries.items() if k != "FLOWER_BASIC_AUTH"]
    hits = 0
    for place, text in texts.items():
        found = {k: text.count(k) for k in keys if k in text}
        hits += sum(found.values())
        print(f"   {place:<28} {len(text):>10} chars, canary hits: {sum(found.values())}")
    return hits


def _stopped(*_: object) -> None:
    print("\ncompose-check: FAILED: stopped by SIGTERM (a timeout?); cleaning up",
          file=sys.stderr, flush=True)
    sys.exit(143)


# --- the run ------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--job-timeout", type=float, default=420)
    parser.add_argument("--keep", action="store_true",
                        help="leave the deployment and the lab up (later: compose down -v, "
                        "lab down)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("compose-check: needs root (compose-lab creates a network namespace)",
              file=sys.stderr)
        return 1
    # A SIGTERM (CI's timeout) takes the same way out as a failure: through the finally below.
    signal.signal(signal.SIGTERM, _stopped)
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    deployed = False
    ok = False
    try:
        t = step("1. inputs: compose/.env with canary keys, the simulator's canary fleet")
        canaries = write_inputs(secrets.token_hex(8))
        done(t)
        t = step("2. lab up; compose config names each missing required variable")
        up = lab("up", timeout=600, quiet=True)
        print(indent(up.stdout))
        check_required_variables()
        done(t)
        t = step(f"3. compose up -d --build --wait --scale worker={args.workers}")
        deployed = True
        # Leftovers of an interrupted run would hold the old run's password in their volume.
        compose("down", "-v", "--remove-orphans", timeout=180, quiet=True)
        compose("up", "-d", "--build", "--wait", "--wait-timeout", "300",
                "--scale", f"worker={args.workers}", timeout=600, quiet=True)
        print(indent(compose("ps", "--format", "table {{.Service}}\t{{.Status}}",
                             quiet=True).stdout))
        user = compose("exec", "-T", "worker", "id", quiet=True).stdout.strip()
        if "uid=0(" in user:
            raise CheckFailed(f"the itas image runs as root: {user}")
        done(t, f"itas runs as {user.split()[0]}")
        t = step(f"4. search job: examples/search-demo.yaml, {args.trials} trials")
        status = run_job(args.trials, args.job_timeout)
        job_id = int(status["job_id"])
        report_html = fetch_report(job_id)
        study_name = last_json(itas("report", str(job_id), "--json", timeout=240))["study_name"]
        done(t, f"job {job_id} completed: trials {status['trials']}")
        t = step("4b. code job: code-contests through the workers' sandbox")
        done(t, run_code_job(4))
        t = step("5. Flower behind its login; optuna-dashboard lists the study")
        flower = check_flower(canaries["FLOWER_BASIC_AUTH"], job_id)
        dashboard = check_dashboard(study_name)
        done(t)
        t = step("6. canaries: Flower, dashboard, report, logs, Redis, PostgreSQL")
        logs = compose("logs", "--no-color", "--timestamps", timeout=120, quiet=True)
        texts = {
            "Flower (pages and API)": "\n".join(flower),
            "optuna-dashboard": "\n".join(dashboard),
            "HTML report": report_html,
            "logs of every service": logs.stdout + logs.stderr,
            "Redis (broker)": redis_dump("redis-broker"),
            "Redis (cache)": redis_dump("redis-cache"),
            "PostgreSQL (pg_dump)": compose("exec", "-T", "postgres", "pg_dump", "-U", "itas",
                                            "itas", timeout=180, quiet=True).stdout,
        }
        if "llm_calls" not in texts["PostgreSQL (pg_dump)"]:
            raise CheckFailed("pg_dump holds no llm_calls table: the dump is not itas's database")
        hits = check_canaries(canaries, texts)
        if hits:
            raise CheckFailed(f"{hits} canary hits: an API key leaked (see the places above)")
        done(t, "0 canary hits")
        ok = True
    except Exception as exc:  # a failed check, or a bug of this script: the logs help both
        if not isinstance(exc, CheckFailed):
            traceback.print_exc()
        print(f"\ncompose-check: FAILED: {exc}", file=sys.stderr, flush=True)
        if deployed:
            tail = compose("logs", "--no-color", "--tail", "40", timeout=120, check=False,
                           quiet=True)
            print(indent(tail.stdout[-20000:]), file=sys.stderr)
    finally:
        t = step("7. compose down -v, lab down" + (" (skipped: --keep)" if args.keep else ""))
        if not args.keep:
            for cmd in ([*COMPOSE, "down", "-v", "--remove-orphans", "--timeout", "30"],
                        ["down"]):
                try:
                    lab(*cmd, timeout=240, check=False, quiet=True)
                except CheckFailed as exc:
                    print(f"   {exc}", file=sys.stderr)
            remove_inputs()
        done(t)
    total = time.monotonic() - started
    print(f"\ncompose-check: {'passed' if ok else 'FAILED'} in {total:.0f} s", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
