"""`itas benchmarks score NAME --predictions FILE --judge LLM`: a judged benchmark's answers
made anywhere, judged through the workers (scheduler/judge_answers.py), with the benchmark's
own statistics and the judge's calls and dollars."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from benchmarks.judged.answer_files import read_answers
from benchmarks.registry import load_questions
from models.errors import InfrastructureFailure, ItasError
from models.settings import load_settings, resolve_service_urls

console = Console(stderr=True)


def score_with_judge(name: str, predictions: Path, *, data: Path | None,
                     options: dict[str, Any], judge: str | None, as_json: bool,
                     timeout: float) -> None:
    """Judge ``predictions`` and print per item and in total (see the module docstring).
    Raises BenchmarkError / ConfigError for bad input before anything is queued."""
    from scheduler.evaluations import failure_of, summarize, wait_for
    from scheduler.judge_answers import queue_answers
    from scheduler.judges import benchmark_judge, judged_summary
    from scheduler.preflight import judge_probe, preflight

    items = load_questions(name, data=data, split="all", options=options)
    the_judge = benchmark_judge(name, judge, data=data, options=options)
    assert the_judge is not None  # benchmark_judge refuses a judged benchmark without one
    answers = read_answers(predictions, items)
    preflight([the_judge.llm], [judge_probe(the_judge.llm)])
    database_url = resolve_service_urls(load_settings()).database_url
    evaluation_id, judged_items = queue_answers(
        database_url, path=predictions, benchmark=name, items=items, answers=answers,
        judge=the_judge, warn=lambda m: console.print(f"[yellow]warning:[/] {m}"))
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                  disable=as_json) as progress:
        bar = progress.add_task(f"judging (evaluation {evaluation_id})",
                                total=len(judged_items))
        finished = wait_for(database_url, evaluation_id, len(judged_items), timeout_s=timeout,
                            on_progress=lambda n: progress.update(bar, completed=n))
    if not finished:
        raise ItasError(f"evaluation {evaluation_id} not finished after {timeout:.0f}s; it "
                        "goes on in the workers (is one running? `itas worker`)")
    failure = failure_of(database_url, evaluation_id)
    if failure:
        raise InfrastructureFailure(f"could not be judged: {failure}")
    summary = summarize(database_url, evaluation_id).as_dict()
    judged = judged_summary(database_url, evaluation_id)
    rows = _per_item(database_url, evaluation_id)
    out = {"benchmark": name, "evaluation_id": evaluation_id, "predictions": len(answers),
           "judge": the_judge.llm, "judged": judged.to_json() if judged else None,
           "judge_calls": summary["judge_calls"],
           "judge_provider_calls": summary["judge_provider_calls"],
           "judge_cost_usd": summary["judge_cost_usd"],
           "unjudged": summary["unjudged_questions"], "items": rows}
    if as_json:
        typer.echo(json.dumps(out))
        return
    width = max((len(r["id"]) for r in rows), default=2)
    for r in rows:
        shown = "-" if r["score"] is None else f"{r['score']:.3g}"
        typer.echo(f"{r['id'].ljust(width)}  {shown:>5}  {r['verdicts']}")
    typer.echo("")
    if judged is not None:
        interval = ("" if judged.ci_low is None or judged.ci_high is None
                    else f" (95% CI {judged.ci_low:.2f} to {judged.ci_high:.2f})")
        score = "-" if judged.score is None else f"{judged.score:.2f}"
        typer.echo(f"{name}: {score}{interval} over {judged.n} judged; {judged.unparsed} "
                   "verdict(s) could not be read and are left out")
        for key, value in judged.figures.items():
            typer.echo(f"  {key}: {value if value is None else round(value, 4)}")
    typer.echo(f"judge {the_judge.llm}: {out['judge_calls']} calls, "
               f"{out['judge_provider_calls']} paid, ${out['judge_cost_usd']:.4f}")


def _per_item(database_url: str, evaluation_id: int) -> list[dict[str, Any]]:
    from sqlalchemy import text

    from models.db import session_scope

    with session_scope(database_url) as session:
        found = session.execute(text(
            "SELECT question_id, score, judgment FROM answers WHERE evaluation_id = :e "
            "ORDER BY id"), {"e": evaluation_id}).all()
    return [{"id": str(qid), "score": score,
             "verdicts": " ".join(f"{v['key']}={v['label'] if v['value'] is not None else 'unread'}"
                                  for v in (judgment or {}).get("verdicts", []))}
            for qid, score, judgment in found]
