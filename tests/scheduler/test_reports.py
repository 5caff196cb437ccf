"""Reading a search's results: `itas status`, `watch`, `report`, `best`, `cancel`.

The data is built the way the scheduler writes it: a ``search_jobs`` row, an Optuna study in
RDB storage on the test database (trials completed, pruned, infeasible, failed and one left
running), evaluations for the power and final rankings, and a few ``llm_calls`` rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState

from models.db import session_scope, sqlalchemy_url
from models.tables import Answer, Evaluation, LLMCall, SearchJob
from scheduler.processes import ITAS
from scheduler.reports import best_architecture, cancel_job, close_storages, job_report
from tests.services import RunServices

DISTRIBUTIONS = {"generators": IntDistribution(1, 3), "samples": IntDistribution(1, 10)}


def architecture(name: str, generator: str = "sim-large", samples: int = 10) -> dict[str, Any]:
    """Archon's quick start (examples/architectures/generate10-rank5-fuse.json), renamed."""
    def component(kind: str, llm: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "model": llm, "model_type": "OpenAI_API", "temperature": 0.7,
                "max_tokens": 2048, **fields}
    return {"name": name, "layers": [
        [component("generator", generator, samples=samples)],
        [component("ranker", "sim-critic", top_k=min(5, samples))],
        [component("fuser", "sim-frontier", samples=1)]]}


@dataclass
class Job:
    id: int
    name: str
    study_name: str


def make_job(database_url: str, *, status: str = "running", sampler: str = "tpe",
             trials: int = 8) -> Job:
    name = f"search-{uuid.uuid4().hex[:6]}"
    with session_scope(database_url) as session:
        job = SearchJob(name=name, study_name=f"itas-{name}", status=status, spec={
            "name": name, "benchmark": "synth-math", "trials": trials, "sampler": sampler,
            "final_top_k": 2})
        session.add(job)
        session.flush()
        assert job.id is not None
        return Job(job.id, name, job.study_name)


@pytest.fixture(scope="module")
def storage(database_url: str) -> Iterator[optuna.storages.RDBStorage]:
    """Optuna's storage on the test database, as the scheduler opens it."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    opened = optuna.storages.RDBStorage(sqlalchemy_url(database_url))
    yield opened
    opened.engine.dispose()
    close_storages()  # those the report functions opened in this process


def make_study(storage: optuna.storages.RDBStorage, job: Job,
               directions: list[str]) -> optuna.Study:
    return optuna.create_study(study_name=job.study_name, directions=directions,
                               storage=storage, sampler=optuna.samplers.RandomSampler(seed=1))


def ask(study: optuna.Study, params: dict[str, int], arch: dict[str, Any]) -> optuna.Trial:
    study.enqueue_trial(params)
    trial = study.ask(DISTRIBUTIONS)
    trial.set_user_attr("architecture", arch)
    trial.set_user_attr("architecture_name", arch["name"])
    return trial


def settle(trial: optuna.Trial, outcome: str, *, cost_per_question: float, questions: int,
           calls: int) -> None:
    for key, value in {"outcome": outcome, "cost_per_question_usd": cost_per_question,
                       "cost_usd": cost_per_question * questions, "llm_calls": calls,
                       "cache_hits": calls // 4, "provider_calls": calls - calls // 4,
                       "tokens_in": 100 * calls, "tokens_out": 20 * calls,
                       "questions": questions}.items():
        trial.set_user_attr(key, value)


def evaluation(database_url: str, job: Job, arch: dict[str, Any], *, split: str,
               trial_number: int | None, score: float | None, questions: int = 10,
               answered: int = 10, calls: list[tuple[str, bool, float]] = ()) -> int:
    """An evaluation row with ``answered`` answers and one llm_calls row per (llm, cache hit,
    dollars) in ``calls``."""
    with session_scope(database_url) as session:
        row = Evaluation(job_id=job.id, trial_number=trial_number, rung=None, split=split,
                         benchmark="synth-math", architecture=arch,
                         architecture_hash=uuid.uuid4().hex,
                         question_ids=[f"q{i}" for i in range(questions)],
                         status="running" if score is None else "finished", score=score)
        session.add(row)
        session.flush()
        assert row.id is not None
        for i in range(answered):
            session.add(Answer(evaluation_id=row.id, question_id=f"q{i}", score=1.0))
        for i, (llm, hit, cost) in enumerate(calls):
            session.add(LLMCall(request_hash=uuid.uuid4().hex, endpoint="simulator",
                                llm_name=llm, evaluation_id=row.id, question_id=f"q{i}",
                                layer_index=0, tokens_in=100, tokens_out=50,
                                cost_usd=0.0 if hit else cost, cache_hit=hit))
        return row.id


@pytest.fixture(scope="module")
def searched(database_url: str, storage: optuna.storages.RDBStorage) -> Job:
    """A running tpe search: three completed trials, one pruned, one infeasible, one failed,
    one running; power ranking of two LLMs; final ranking of the top two trials."""
    job = make_job(database_url)
    study = make_study(storage, job, ["maximize"])
    scored = [({"generators": 1, "samples": 5}, "one LLM x5 -> rank -> fuse", 0.6, 0.001),
              ({"generators": 3, "samples": 10}, "three LLMs x10 -> rank -> fuse", 0.8, 0.004),
              ({"generators": 2, "samples": 3}, "two LLMs x3 -> rank -> fuse", 0.7, 0.0005)]
    for params, name, score, cost in scored:  # trials 0, 1, 2
        trial = ask(study, params, architecture(name, samples=params["samples"]))
        trial.report(score - 0.05, step=1)
        trial.report(score, step=2)
        settle(trial, "completed", cost_per_question=cost, questions=20, calls=40)
        study.tell(trial, score)
    pruned = ask(study, {"generators": 1, "samples": 1}, architecture("pruned arch", samples=1))
    pruned.report(0.2, step=1)
    settle(pruned, "pruned", cost_per_question=0.0002, questions=10, calls=10)
    study.tell(pruned, state=TrialState.PRUNED)  # trial 3
    infeasible = ask(study, {"generators": 3, "samples": 9}, architecture("too dear arch"))
    infeasible.set_user_attr("outcome", "infeasible")
    infeasible.set_user_attr("infeasible_reason", "over the budget of $0.01 per question")
    study.tell(infeasible, state=TrialState.FAIL)  # trial 4: infeasible, told FAIL (no value)
    failed = ask(study, {"generators": 2, "samples": 7}, architecture("failing arch"))
    failed.set_user_attr("outcome", "failed")
    study.tell(failed, state=TrialState.FAIL)  # trial 5
    ask(study, {"generators": 2, "samples": 2}, architecture("running arch", samples=2))  # 6
    evaluation(database_url, job, architecture("running arch", samples=2), split="search",
               trial_number=6, score=None, answered=3)
    evaluation(database_url, job, architecture("sim-large alone"), split="search",
               trial_number=None, score=0.55,
               calls=[("sim-large", False, 0.01), ("sim-large", True, 0.0),
                      ("sim-large", False, 0.01)])
    evaluation(database_url, job, architecture("sim-small alone", "sim-small"), split="search",
               trial_number=None, score=0.3)
    # On held-out questions trial 2 beats trial 1: the final ranking decides the best.
    evaluation(database_url, job, architecture(scored[1][1]), split="test", trial_number=1,
               score=0.72, calls=[("sim-frontier", False, 0.02)])
    evaluation(database_url, job, architecture(scored[2][1], samples=3), split="test",
               trial_number=2, score=0.75, calls=[("sim-frontier", False, 0.02)])
    # A call of another job (or of `itas run`) must not count towards this one.
    other = make_job(database_url, status="completed")
    evaluation(database_url, other, architecture("elsewhere"), split="search", trial_number=None,
               score=0.1, calls=[("sim-large", False, 5.0)])
    return job


def itas(services: RunServices, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
    return subprocess.run([*ITAS, *args], env={**clean, **services.env(), "ITAS_HOME": str(home)},
                          capture_output=True, text=True, timeout=60)


def last_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_status_counts_trials_by_outcome(services: RunServices, searched: Job,
                                         tmp_path: Path) -> None:
    status = last_json(itas(services, tmp_path, "status", searched.name, "--json"))
    assert status["state"] == "running"
    assert status["trials"] == {"completed": 3, "pruned": 1, "infeasible": 1, "running": 1,
                                "failed": 1}
    assert status["trials_finished"] == 6 and status["trials_planned"] == 8
    assert status["best"]["architecture_name"] == "two LLMs x3 -> rank -> fuse"
    assert status["best"]["source"] == "final"
    [running] = status["running"]
    assert (running["number"], running["answered"], running["questions"]) == (6, 3, 10)
    assert status["totals"] == {"llm_calls": 5, "cache_hits": 1, "provider_calls": 4,
                                "tokens_in": 400, "tokens_out": 200, "cost_usd": 0.06,
                                "judge_calls": 0, "judge_provider_calls": 0,
                                "judge_cost_usd": 0.0, "unjudged_answers": 0,
                                "no_answer_answers": 0, "refused_answers": 0}

    text = itas(services, tmp_path, "status", str(searched.id))
    assert text.returncode == 0, text.stderr
    assert "6/8 finished" in text.stdout and "1 infeasible" in text.stdout


def test_status_without_a_job_lists_every_job(services: RunServices, searched: Job,
                                              database_url: str, tmp_path: Path) -> None:
    queued = make_job(database_url, status="queued")  # no study yet: nothing to count
    jobs = {j["name"]: j for j in last_json(itas(services, tmp_path, "status", "--json"))["jobs"]}
    assert jobs[searched.name]["trials"]["completed"] == 3
    assert jobs[queued.name]["state"] == "queued"
    assert jobs[queued.name]["trials_finished"] == 0 and jobs[queued.name]["best"] is None
    table = itas(services, tmp_path, "status")
    assert table.returncode == 0 and queued.name in table.stdout


def test_report_html_is_one_file_that_opens_offline(services: RunServices, searched: Job,
                                                    tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.html"
    done = itas(services, tmp_path, "report", searched.name, "--html", str(path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert str(path) in done.stdout
    page = path.read_text()
    for name in ("three LLMs x10 -&gt; rank -&gt; fuse", "pruned arch", "too dear arch",
                 "failing arch", "running arch", "sim-small alone",
                 "over the budget of $0.01 per question"):
        assert name in page
    assert "<script src" not in page.replace(" ", "")
    assert page.count("* plotly.js v") == 1  # the library, inline, once
    # A trial's parameters fold under one line (the name says what it is), each on its own.
    assert ('<details class="params"><summary>2 parameters</summary>'
            "<div>generators=3</div><div>samples=10</div></details>") in page
    for title in ("Optimization History Plot", "score vs cost (Pareto front highlighted)",
                  "Hyperparameter Importances", "Intermediate Values Plot", "simulated LLMs"):
        assert title in page


def test_report_json_and_default_html_path(services: RunServices, searched: Job,
                                           tmp_path: Path) -> None:
    report = last_json(itas(services, tmp_path, "report", searched.name, "--json"))
    assert report["html"] is None and not (tmp_path / "reports").exists()
    board = [(row["number"], row["outcome"]) for row in report["leaderboard"]]
    assert board == [(1, "completed"), (2, "completed"), (0, "completed"), (3, "pruned"),
                     (4, "infeasible"), (6, "running"), (5, "failed")]
    # The infeasible trial was never evaluated: no score.
    scores = {row["number"]: row["score"] for row in report["leaderboard"]}
    assert scores[4] is None and scores[3] == 0.2 and scores[1] == 0.8
    assert [e["score"] for e in report["final_ranking"]] == [0.75, 0.72]
    assert [e["architecture_name"] for e in report["power_ranking"]] == [
        "sim-large alone", "sim-small alone"]

    done = itas(services, tmp_path, "report", str(searched.id))
    assert done.returncode == 0, done.stderr[-3000:]
    default = tmp_path / "reports" / f"{searched.name}-{searched.id}.html"
    assert default.exists() and str(default) in done.stdout.replace("\n", "")
    assert "three LLMs x10" in done.stdout


def test_plots_draw_only_evaluated_trials(database_url: str, searched: Job) -> None:
    """The infeasible trial 4 (FAIL) and the failed one are drawn nowhere as a score, and the
    trials keep their numbers."""
    from scheduler.report_html import plots
    from scheduler.reports import open_study

    study = open_study(database_url, searched.study_name)
    assert study is not None
    drawn = {title: figure for title, figure, _ in plots(job_report(database_url, searched.id),
                                                        study)}
    history = drawn["Optimization history"]
    assert history is not None
    [points] = [trace for trace in history.data if trace.name == "score"]
    assert sorted(zip(points.x, points.y, strict=True)) == [(0, 0.6), (1, 0.8), (2, 0.7)]
    assert drawn["Parameter importances"] is not None  # from the three completed trials
    rungs = drawn["Intermediate values (score at each rung)"]
    assert rungs is not None and {trace.name for trace in rungs.data} >= {
        "Trial0", "Trial1", "Trial2", "Trial3"}


def test_a_trial_wilcoxon_stopped_is_drawn_as_pruned() -> None:
    """Under pruner wilcoxon a stopped trial is told COMPLETE with its mean so far: in the
    plots it is a pruned trial with its per-question reports, not a finished score."""
    from scheduler.reports import evaluated_view

    study = optuna.create_study(direction="maximize")
    for outcome, reports in (("completed", [1.0, 1.0, 0.0]), ("pruned", [0.0, 0.0])):
        trial = study.ask(DISTRIBUTIONS)
        for step, score in enumerate(reports):
            trial.report(score, step=step)
        trial.set_user_attr("outcome", outcome)
        study.tell(trial, sum(reports) / len(reports))
    view = evaluated_view(study)
    assert [(t.number, t.state, t.values) for t in view.trials] == [
        (0, TrialState.COMPLETE, [2 / 3]), (1, TrialState.PRUNED, None)]
    assert view.trials[1].intermediate_values == {0: 0.0, 1: 0.0}
    assert view.best_value == 2 / 3


def test_best_is_an_architecture_validate_accepts(services: RunServices, searched: Job,
                                                  tmp_path: Path) -> None:
    done = itas(services, tmp_path, "best", searched.name)
    assert done.returncode == 0, done.stderr
    best = json.loads(done.stdout)
    assert best["name"] == "two LLMs x3 -> rank -> fuse"  # the final ranking's winner
    path = tmp_path / "best.json"
    path.write_text(done.stdout)
    checked = itas(services, tmp_path, "validate", "--structure-only", str(path))
    assert checked.returncode == 0, checked.stderr
    assert "ok" in checked.stdout


def test_cancel_stops_a_running_job_and_refuses_a_finished_one(
        services: RunServices, database_url: str, tmp_path: Path) -> None:
    running = make_job(database_url, status="running")
    done = itas(services, tmp_path, "cancel", running.name)
    assert done.returncode == 0, done.stderr
    assert "cancelled" in done.stdout
    assert last_json(itas(services, tmp_path, "status", running.name, "--json"))[
        "state"] == "cancelled"
    assert cancel_job(database_url, running.id) == "cancelled"  # again: harmless

    completed = make_job(database_url, status="completed")
    refused = itas(services, tmp_path, "cancel", str(completed.id))
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1
    assert completed.name in refused.stderr and "completed" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize("command", ["status", "watch", "report", "best", "cancel"])
def test_unknown_job_is_named_in_one_line(services: RunServices, searched: Job,
                                          tmp_path: Path, command: str) -> None:
    done = itas(services, tmp_path, command, "no-such-search")
    assert done.returncode == 2
    assert "no-such-search" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_job_not_started_yet_reports_without_a_best(
        services: RunServices, database_url: str, tmp_path: Path) -> None:
    queued = make_job(database_url, status="queued")  # the scheduler has no study for it yet
    done = itas(services, tmp_path, "best", queued.name)
    assert done.returncode == 2 and "no completed trial" in done.stderr
    assert "Traceback" not in done.stderr
    path = tmp_path / "queued.html"
    done = itas(services, tmp_path, "report", queued.name, "--html", str(path))
    assert done.returncode == 0, done.stderr[-3000:]
    page = path.read_text()
    assert "no trial yet" in page and "needs at least 2 completed trials" in page


def test_watch_follows_a_job_until_it_is_cancelled(
        services: RunServices, searched: Job, database_url: str, tmp_path: Path) -> None:
    job = make_job(database_url, status="running")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
    watcher = subprocess.Popen([*ITAS, "watch", str(job.id), "--interval", "0.2"],
                               env={**clean, **services.env()}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)
        assert watcher.poll() is None, "watch must go on while the job runs"
        cancel_job(database_url, job.id)
        out, err = watcher.communicate(timeout=20)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, err
    assert "cancelled" in out and f"itas report {job.id}" in out


def test_two_objectives_draw_the_pareto_front_and_pick_its_best_score(
        database_url: str, storage: optuna.storages.RDBStorage, tmp_path: Path) -> None:
    from scheduler.report_html import write_html
    from scheduler.reports import open_study

    job = make_job(database_url, sampler="nsga2", status="completed", trials=3)
    study = make_study(storage, job, ["maximize", "minimize"])
    for params, name, score, cost in [
            ({"generators": 1, "samples": 1}, "cheap", 0.5, 0.0001),
            ({"generators": 3, "samples": 10}, "strong", 0.9, 0.01),
            ({"generators": 3, "samples": 9}, "dominated", 0.6, 0.02)]:
        trial = ask(study, params, architecture(name, samples=params["samples"]))
        settle(trial, "completed", cost_per_question=cost, questions=10, calls=10)
        study.tell(trial, [score, cost])
    assert best_architecture(database_url, job.id)["name"] == "strong"
    report = job_report(database_url, job.id)
    assert report.directions == ["maximize", "minimize"]
    page = write_html(report, open_study(database_url, job.study_name),
                      tmp_path / "nsga2.html").read_text()
    assert "Pareto-front Plot" in page and "Optimization History Plot" in page


def test_refused_and_unanswered_questions_show_in_status_and_report(
        services: RunServices, database_url: str, tmp_path: Path) -> None:
    """A question a provider refused (over the context window) is counted apart from a
    wrong answer in `itas status` and in the report's header, never hidden in a plain 0."""
    job = make_job(database_url, status="queued")
    evaluation_id = evaluation(database_url, job, architecture("short window"), split="search",
                               trial_number=None, score=0.5, questions=4, answered=2)
    with session_scope(database_url) as session:
        session.add(Answer(evaluation_id=evaluation_id, question_id="q2", score=0.0,
                           status="refused", error="This model's maximum context length is "
                           "2048 tokens. However, your messages resulted in 3012 tokens."))
        session.add(Answer(evaluation_id=evaluation_id, question_id="q3", score=0.0,
                           status="no_answer"))
    status = last_json(itas(services, tmp_path, "status", job.name, "--json"))
    assert (status["totals"]["refused_answers"], status["totals"]["no_answer_answers"]) == (1, 1)
    path = tmp_path / "refused.html"
    done = itas(services, tmp_path, "report", job.name, "--html", str(path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 no_answer · <b>1 refused</b> by a provider" in path.read_text()
