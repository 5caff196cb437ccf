"""Search jobs end to end: `itas submit`, `itas scheduler` (killed and restarted), budgets.

Real parts throughout: PostgreSQL, Redis, worker processes, the simulator over HTTP, Optuna's
RDB storage in the same database."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import optuna
import psycopg
import pytest
import yaml

from scheduler.processes import ITAS
from scheduler.study import storage as study_storage
from tests.engine import Engine
from tests.services import RunServices

pytestmark = pytest.mark.slow

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
            optuna.trial.TrialState.FAIL)


def job_file(tmp_path: Path, **overrides: Any) -> Path:
    job = {
        "name": "test-search", "benchmark": "synth-math", "questions": 12,
        "final_questions": 10, "final_top_k": 2,
        "llms": ["sim-large", "sim-medium", "sim-small"], "judge_llm": "sim-critic",
        "space": {"generators": [1, 2], "samples": [1, 3], "fusion_layers": [0, 1],
                  "fusers_per_layer": [1], "critic": [False], "ranker": [False, True],
                  "ranker_top_k": [3], "final_check": ["none"], "temperature": [0.7],
                  "max_tokens": [512]},
        "sampler": "random", "pruner": "none", "rungs": [0.5, 1.0],
        "trials": 6, "parallel_trials": 2, "seed": 3,
    }
    job.update(overrides)
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    return path


def submit(engine: Engine, path: Path) -> int:
    done = engine.itas("submit", str(path))
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def start_scheduler(engine: Engine, job_id: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")} | engine.env
    with log.open("ab") as out:
        return subprocess.Popen([*ITAS, "scheduler", "--once", "--job", str(job_id),
                                 "--lease", "3", "--stale", "30", "--poll", "0.2"],
                                env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def run_scheduler(engine: Engine, job_id: int, log: Path, timeout: float) -> int:
    """`itas scheduler --once` on the job to its end: its exit code. Killed (and reaped,
    or its Popen warns in another test's setup) when it is still running at ``timeout``."""
    scheduler = start_scheduler(engine, job_id, log)
    try:
        return scheduler.wait(timeout)
    finally:
        if scheduler.poll() is None:
            os.killpg(scheduler.pid, signal.SIGKILL)
            scheduler.wait(30)


def trials_of(services: RunServices, job_id: int) -> list[optuna.trial.FrozenTrial]:
    """The job's trials as Optuna stores them ([] before the study exists)."""
    with psycopg.connect(services.database_url) as conn:
        row = conn.execute("SELECT study_name FROM search_jobs WHERE id = %s",
                           (job_id,)).fetchone()
    assert row is not None
    storage = study_storage(services.database_url)  # the locked first build, as itas does
    try:
        return optuna.load_study(study_name=row[0], storage=storage).get_trials()
    except KeyError:
        return []
    finally:
        storage.engine.dispose()


def job_state(services: RunServices, job_id: int) -> str:
    with psycopg.connect(services.database_url) as conn:
        row = conn.execute("SELECT status, error FROM search_jobs WHERE id = %s",
                           (job_id,)).fetchone()
    assert row is not None
    assert row[1] is None, row[1]
    return str(row[0])


def test_scheduler_killed_mid_job_and_restarted_finishes_exactly_n_trials(
    engine: Engine, services: RunServices, tmp_path: Path
) -> None:
    job_id = submit(engine, job_file(tmp_path))
    log = tmp_path / "scheduler.log"
    first = start_scheduler(engine, job_id, log)
    try:
        deadline = time.monotonic() + 120
        while True:  # kill it with trials both finished and in flight
            states = [t.state for t in trials_of(services, job_id)]
            if sum(s in FINISHED for s in states) >= 1 and \
                    optuna.trial.TrialState.RUNNING in states:
                break
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            assert first.poll() is None, log.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    assert job_state(services, job_id) == "running"

    second = start_scheduler(engine, job_id, log)  # claims the job once the lease expires
    try:
        second.wait(240)
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
    assert second.returncode == 0, log.read_text()[-3000:]
    assert job_state(services, job_id) == "completed"
    assert ": resumed" in log.read_text()  # the second picked up the trials left RUNNING

    trials = trials_of(services, job_id)
    assert len(trials) == 6
    assert all(t.state in FINISHED for t in trials)
    assert all(t.user_attrs.get("outcome") in ("completed", "pruned", "infeasible", "failed")
               for t in trials)
    with psycopg.connect(services.database_url) as conn:
        duplicates = conn.execute(
            "SELECT a.evaluation_id, a.question_id FROM answers a JOIN evaluations e "
            "ON e.id = a.evaluation_id WHERE e.job_id = %s GROUP BY 1, 2 HAVING count(*) > 1",
            (job_id,)).fetchall()
        unanswered = conn.execute(
            "SELECT count(*) FROM evaluations WHERE job_id = %s AND status <> 'finished'",
            (job_id,)).fetchone()
        finals = conn.execute("SELECT count(*) FROM evaluations WHERE job_id = %s AND "
                              "purpose = 'final'", (job_id,)).fetchone()
    assert duplicates == []
    assert unanswered == (0,)
    assert finals is not None and 1 <= finals[0] <= 2


def test_an_over_budget_architecture_never_reaches_a_worker(
    engine: Engine, services: RunServices, tmp_path: Path
) -> None:
    # A grid over 8 architectures, half of them over a per-question budget of 4 calls.
    path = job_file(tmp_path, sampler="grid", trials=8, parallel_trials=4, rungs=[1.0],
                    questions=6, final_top_k=1, final_questions=5,
                    space={"generators": [1, 2], "samples": [1, 3], "fusion_layers": [0],
                           "ranker": [False, True], "fusers_per_layer": [1],
                           "critic": [False], "ranker_top_k": [3], "final_check": ["none"],
                           "temperature": [0.7], "max_tokens": [512]},
                    budget={"calls_per_question": 4})
    job_id = submit(engine, path)
    done = engine.itas("scheduler", "--once", "--job", str(job_id), "--poll", "0.2",
                       timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert job_state(services, job_id) == "completed"
    trials = trials_of(services, job_id)
    # 8 trials of an 8-point grid: each point once, none left out.
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 8
    infeasible = [t for t in trials if t.user_attrs.get("outcome") == "infeasible"]
    assert infeasible, "the budget should exclude some architectures"
    assert all("calls_per_question" in t.user_attrs["infeasible_reason"] for t in infeasible)
    # Read from Optuna's own storage, as optuna-dashboard reads it: an architecture that never
    # ran has no value there (no 0.0 drawn as a score), and a grid point is still used once.
    assert all(t.state is optuna.trial.TrialState.FAIL and t.values is None
               for t in infeasible)
    with psycopg.connect(services.database_url) as conn:
        for trial in infeasible:
            queued = conn.execute(
                "SELECT count(*) FROM evaluations WHERE job_id = %s AND trial_number = %s",
                (job_id, trial.number)).fetchone()
            assert queued == (0,), f"trial {trial.number} was queued"
        names = {t.user_attrs["architecture_name"] for t in infeasible}
        evaluated = {r[0] for r in conn.execute(
            "SELECT architecture->>'name' FROM evaluations WHERE job_id = %s", (job_id,))}
    assert not names & evaluated


def test_a_trial_left_half_suggested_by_a_dead_scheduler_is_finished(
    engine: Engine, services: RunServices, tmp_path: Path
) -> None:
    from scheduler.study import open_study

    job_id = submit(engine, job_file(tmp_path, trials=3, questions=6))
    with psycopg.connect(services.database_url) as conn:
        row = conn.execute("SELECT study_name FROM search_jobs WHERE id = %s",
                           (job_id,)).fetchone()
    assert row is not None
    # What a scheduler killed inside `suggest` leaves: a RUNNING trial with some params only.
    study = open_study(services.database_url, study_name=row[0],
                       sampler=optuna.samplers.RandomSampler(seed=0),
                       pruner=optuna.pruners.NopPruner(), sampler_name="random")
    half = study.ask()
    half.suggest_categorical("generators", [1, 2])
    study._storage._backend.engine.dispose()  # type: ignore[attr-defined]
    done = engine.itas("scheduler", "--once", "--job", str(job_id), "--poll", "0.2",
                       timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert job_state(services, job_id) == "completed"
    trials = trials_of(services, job_id)
    assert len(trials) == 3 and all(t.state in FINISHED for t in trials)
    assert trials[half.number].user_attrs.get("outcome") in ("completed", "pruned", "infeasible")
    assert trials[half.number].params["generators"] == half.params["generators"]


@pytest.mark.parametrize("benchmark", ["math", "mixeval-hard-mc"])
def test_a_search_job_runs_on_other_kinds_of_benchmark(
    engine: Engine, services: RunServices, tmp_path: Path, benchmark: str
) -> None:
    extra: dict[str, Any] = {}
    if benchmark == "mixeval-hard-mc":
        datasets = os.environ.get("ITAS_DATASETS")
        if not datasets or not (Path(datasets) / "mixeval_hard").is_dir():
            pytest.skip("mixeval-hard-mc needs the public datasets: set ITAS_DATASETS to the "
                        "folder holding mixeval_hard/ (../shared/datasets here)")
        extra["data"] = str(Path(datasets) / "mixeval_hard")
    job_id = submit(engine, job_file(tmp_path, benchmark=benchmark, questions=6,
                                     final_questions=6, trials=3, rungs=[1.0], **extra))
    log = tmp_path / "scheduler.log"
    assert run_scheduler(engine, job_id, log, 240) == 0, log.read_text()[-3000:]
    assert job_state(services, job_id) == "completed"
    trials = trials_of(services, job_id)
    assert len(trials) == 3 and all(t.state in FINISHED for t in trials)
    with psycopg.connect(services.database_url) as conn:
        scored = conn.execute(
            "SELECT count(*), count(a.final_answer) FROM answers a JOIN evaluations e "
            "ON e.id = a.evaluation_id WHERE e.job_id = %s AND e.benchmark = %s",
            (job_id, benchmark)).fetchone()
    assert scored is not None and scored[0] > 0
    assert scored[1] >= scored[0] * 0.8  # scores come from answers the benchmark could read


def test_pruner_wilcoxon_stops_a_trial_worse_question_by_question(
    engine: Engine, services: RunServices, tmp_path: Path
) -> None:
    from scheduler.reports import close_storages, job_report

    # The best LLM's own answer against that answer rewritten by the weakest LLM as fuser:
    # worse on the questions answered, so stopped before all of them once a trial of the
    # first kind has completed (one trial at a time; in the grid's order for seed 3 one does).
    path = job_file(tmp_path, sampler="grid", pruner="wilcoxon", trials=4, parallel_trials=1,
                    rungs=[0.34, 0.67, 1.0], questions=60, final_top_k=1, final_questions=5,
                    llms=["sim-frontier", "sim-tiny"], fuser_llm="sim-tiny",
                    space={"generators": [1], "samples": [1, 3], "fusion_layers": [0, 1],
                           "ranker": [False], "fusers_per_layer": [1],
                           "critic": [False], "ranker_top_k": [3], "final_check": ["none"],
                           "temperature": [0.7], "max_tokens": [512]})
    job_id = submit(engine, path)
    done = engine.itas("scheduler", "--once", "--job", str(job_id), "--poll", "0.2",
                       timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert job_state(services, job_id) == "completed"
    try:
        report = job_report(services.database_url, job_id)
    finally:
        close_storages()
    outcomes = {row.number: row for row in report.leaderboard}
    pruned = [r for r in outcomes.values() if r.outcome == "pruned"]
    completed = [r for r in outcomes.values() if r.outcome == "completed"]
    assert pruned and completed, [(r.number, r.architecture_name, r.outcome, r.score)
                                  for r in outcomes.values()]
    for row in pruned:  # stopped before all 60 questions, its score their mean
        assert row.questions is not None and row.questions < 60
        assert row.score is not None and row.score < max(r.score or 0.0 for r in completed)
    # Only a trial that answered every question reaches the final ranking.
    assert {e.trial_number for e in report.final_ranking} <= {r.number for r in completed}
