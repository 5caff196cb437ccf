"""Reading and stopping search jobs: `itas status`, `watch`, `report`, `best`, `cancel`.

JOB is a job's id or its name (a name several jobs share means the newest of them); an unknown
JOB is a user error (exit 2, one line). `itas report JOB` prints the leaderboard and writes the
HTML report to ``--html FILE``, by default ``ITAS_HOME/reports/<job name>-<id>.html``; with
``--json`` and no ``--html`` it writes no file and prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from models.settings import load_settings, resolve_service_urls
from scheduler.report_rows import judged_cell
from scheduler.reports import (
    FINAL_STATES,
    EvaluationRow,
    JobReport,
    JobStatus,
    TrialRow,
    best_architecture,
    cancel_job,
    job_ids,
    job_report,
    job_status,
    open_study,
    resolve_job,
)

console = Console()
if not console.is_terminal and "COLUMNS" not in os.environ:
    # Piped or captured: rich would assume 80 columns and wrap the names inside the tables.
    console.width = 160
JOB = typer.Argument(..., help="The job's id or name.", show_default=False)


def _database_url() -> str:
    return resolve_service_urls(load_settings()).database_url


def status(
    job: str | None = typer.Argument(None, help="The job's id or name; none: every job."),
    as_json: bool = typer.Option(False, "--json", help="Last line: one JSON object."),
) -> None:
    """State of a search job: trials by outcome, best so far, calls, cache hits, dollars."""
    database_url = _database_url()
    if job is None:
        statuses = [job_status(database_url, i) for i in job_ids(database_url)]
        if as_json:
            typer.echo(json.dumps({"jobs": [s.as_dict() for s in statuses]}))
        else:
            console.print(_jobs_table(statuses))
        return
    state = job_status(database_url, resolve_job(database_url, job))
    if as_json:
        typer.echo(json.dumps(state.as_dict()))
        return
    console.print(_status_view(state))


def watch(
    job: str = JOB,
    interval: float = typer.Option(2.0, "--interval", min=0.1, help="Seconds between polls."),
) -> None:
    """Follow a search job live until it is completed, failed or cancelled."""
    database_url = _database_url()
    job_id = resolve_job(database_url, job)
    state = job_status(database_url, job_id)
    try:
        with Live(_status_view(state), console=console, refresh_per_second=4) as live:
            while state.state not in FINAL_STATES:
                time.sleep(interval)
                state = job_status(database_url, job_id)
                live.update(_status_view(state))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    console.print(f"`itas report {job_id}` for the leaderboard and plots")


def report(
    job: str = JOB,
    html: Path | None = typer.Option(None, "--html", help="Write the HTML report here."),
    as_json: bool = typer.Option(False, "--json", help="Last line: one JSON object."),
) -> None:
    """Leaderboard, rankings and best architecture; the HTML report with Optuna's plots."""
    database_url = _database_url()
    result = job_report(database_url, resolve_job(database_url, job))
    path = html
    if path is None and not as_json:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", result.status.name).strip("-") or "job"
        path = load_settings().home.resolve() / "reports" / f"{safe}-{result.status.job_id}.html"
    if path is not None:
        from scheduler.report_html import write_html  # plotly: only when a report is written

        write_html(result, open_study(database_url, result.study_name), path)
    if as_json:
        typer.echo(json.dumps({**result.as_dict(), "html": None if path is None else str(path)}))
        return
    _print_report(result)
    if path is not None:
        console.print(f"report: {path}")


def best(job: str = JOB) -> None:
    """The best architecture so far as Archon JSON (`itas validate` and `itas run` take it)."""
    database_url = _database_url()
    typer.echo(json.dumps(best_architecture(database_url, resolve_job(database_url, job)),
                          indent=2))


def cancel(job: str = JOB) -> None:
    """Cancel a queued or running job: the scheduler stops queuing trials for it."""
    database_url = _database_url()
    job_id = resolve_job(database_url, job)
    typer.echo(f"search job {job_id}: {cancel_job(database_url, job_id)}")


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"



def _bar(done: int, total: int, label: str, width: int) -> Table:
    # A grid row of its own: a bare ProgressBar does not end its line inside a Group.
    grid = Table.grid(padding=(0, 1))
    grid.add_row(ProgressBar(total=max(total, 1), completed=done, width=width), Text(label))
    return grid


def _status_view(s: JobStatus) -> RenderableType:
    t = s.totals
    planned = s.trials_planned or max(s.trials_finished + len(s.running), 1)
    counts = ", ".join(f"{n} {outcome}" for outcome, n in s.trials.items())
    lines: list[RenderableType] = [
        Text.from_markup(f"[bold]search job {s.job_id}[/] {s.name}: [bold]{s.state}[/] "
                         f"({s.benchmark}, sampler {s.sampler})"),
        _bar(s.trials_finished, planned, f"trials {s.trials_finished}/{planned} finished "
             f"({counts})", 40),
    ]
    if s.best is not None:
        where = "final ranking" if s.best.source == "final" else "search split"
        lines.append(Text(f"best so far: {s.best.architecture_name} (trial "
                          f"{s.best.trial_number}), score {_score(s.best.score)} on the {where}"))
    for run in s.running:
        rung = "" if run.rung is None else f", rung {run.rung}"
        lines.append(_bar(run.answered, run.questions, f"trial {run.number} "
                          f"{run.architecture_name}{rung}: {run.answered}/{run.questions} "
                          "questions", 20))
    lines.append(Text(f"LLM calls {t.llm_calls}, cache hits {t.cache_hits}, provider calls "
                      f"{t.provider_calls}, tokens {t.tokens_in} in / {t.tokens_out} out, "
                      f"${t.cost_usd:.4f}"))
    if t.judge_calls:
        lines.append(Text(f"of which the benchmark's judge: {t.judge_calls} calls, "
                          f"{t.judge_provider_calls} paid, ${t.judge_cost_usd:.4f}; "
                          f"{t.unjudged_answers} answer(s) with no readable verdict (left "
                          "out of the scores)"))
    if t.no_answer_answers or t.refused_answers:
        lines.append(Text(f"answers scored as an empty reply: {t.no_answer_answers} "
                          f"no_answer, {t.refused_answers} refused by a provider (the prompt "
                          "over the LLM's context window, say)", style="yellow"))
    if s.error:
        lines.append(Text(f"error: {s.error}", style="red"))
    return Group(*lines)


def _jobs_table(statuses: list[JobStatus]) -> Table:
    table = Table(title="search jobs")
    for column in ("id", "name", "state", "benchmark", "trials", "best score", "calls", "$"):
        table.add_column(column, justify="left" if column in {"name", "state"} else "right")
    for s in statuses:
        planned = f"/{s.trials_planned}" if s.trials_planned else ""
        table.add_row(str(s.job_id), s.name, s.state, s.benchmark or "",
                      f"{s.trials_finished}{planned}",
                      _score(s.best.score if s.best else None), str(s.totals.llm_calls),
                      f"{s.totals.cost_usd:.4f}")
    return table


def _trials_table(rows: list[TrialRow]) -> Table:
    table = Table(title="leaderboard (search split)")
    judged = any(r.judged_score is not None for r in rows)
    columns = ("trial", "architecture", "outcome", "score",
               *(("judged [95% CI]",) if judged else ()), "$/question", "calls")
    for column in columns:
        table.add_column(column, justify="left" if column in {"architecture", "outcome"}
                         else "right")
    for r in rows:
        table.add_row(str(r.number), r.architecture_name, r.outcome, _score(r.score),
                      *((judged_cell(r),) if judged else ()),
                      "-" if r.cost_per_question_usd is None else f"{r.cost_per_question_usd:.6f}",
                      "-" if r.llm_calls is None else str(r.llm_calls))
    return table


def _ranking_table(title: str, rows: list[EvaluationRow]) -> Table:
    table = Table(title=title)
    judged = any(e.judged_score is not None for e in rows)
    for column in ("rank", "architecture", "trial", "score",
                   *(("judged [95% CI]",) if judged else ()), "answered", "calls"):
        table.add_column(column, justify="left" if column == "architecture" else "right")
    for i, e in enumerate(rows):
        table.add_row(str(i + 1), e.architecture_name,
                      "-" if e.trial_number is None else str(e.trial_number), _score(e.score),
                      *((judged_cell(e),) if judged else ()),
                      f"{e.answered}/{e.questions}", str(e.llm_calls))
    return table


def _print_report(r: JobReport) -> None:
    console.print(_status_view(r.status))
    if r.simulated:
        console.print(f"LLMs: {', '.join(r.llms)} (simulated LLMs, the itas simulator)")
    console.print(_trials_table(r.leaderboard))
    if r.final_ranking:
        console.print(_ranking_table("final ranking (held-out test split)", r.final_ranking))
    if r.power_ranking:
        console.print(_ranking_table("power ranking (each LLM alone)", r.power_ranking))
