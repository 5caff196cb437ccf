"""`itas run` (evaluate an architecture on a benchmark) and `itas ask` (one question)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from benchmarks.base import BenchmarkError, Item
from benchmarks.registry import load_questions
from models.errors import (
    ConfigError,
    InfrastructureFailure,
    InvalidArchitecture,
    ItasError,
    UserError,
)
from models.settings import load_settings, resolve_service_urls
from scheduler.evaluations import STALE_S, failure_of, queue_evaluation, summarize, wait_for
from scheduler.judges import BenchmarkJudge

console = Console(stderr=True)


def checked_architecture(path: Path, judge: BenchmarkJudge | None = None, *,
                         code: bool = False, unsafe: bool = False
                         ) -> tuple[dict[str, Any], str, list[str]]:
    """Validate structure and LLMs before anything is queued; returns (json, hash, warnings).
    ``code``: the benchmark is a code benchmark (its code runs in the workers' sandbox, which
    the preflight checks, unless ``unsafe``); otherwise executed unit tests are refused."""
    from models.architecture import architecture_hash, check_llms, load_architecture
    from models.endpoints import load_registry
    from scheduler.preflight import llms_of_architecture, preflight, probes_of_architecture

    settings = load_settings()
    architecture, warnings = load_architecture(path)
    executed = next((architecture.path_of(i, j) for i, layer in enumerate(architecture.layers)
                     for j, c in enumerate(layer) if c.execute_tests), None)
    if executed is not None and not code:
        raise ConfigError(f"{path}: {executed}.execute_tests: runs unit tests as code, which "
                          "only a code benchmark's questions can (humaneval, mbpp, "
                          "code-contests); set it false or run on one of those")
    registry = load_registry(settings.endpoints_file, simulator_url=settings.simulator_url)
    errors = check_llms(architecture, registry)
    if errors:
        raise InvalidArchitecture(f"{path}: " + "; ".join(errors))
    # Before anything is stored or queued; the benchmark's judge is an LLM the workers call too.
    judge_llm = judge.llm if judge else None
    preflight(list(dict.fromkeys([*llms_of_architecture(architecture),
                                  *([judge_llm] if judge_llm else [])])),
              probes_of_architecture(architecture, judge_llm), sandbox=code and not unsafe)
    return architecture.model_dump(mode="json"), architecture_hash(architecture), warnings


def _evaluate(path: Path, benchmark: str, questions: list[Item], split: str,
              timeout: float, quiet: bool, purpose: str = "run",
              stale: float = STALE_S, judge: BenchmarkJudge | None = None,
              code: bool = False, unsafe: bool = False) -> tuple[int, dict[str, Any]]:
    """Queue and wait; returns the evaluation id and the architecture as stored."""
    arch_json, arch_hash, warnings = checked_architecture(path, judge, code=code,
                                                          unsafe=unsafe)
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    database_url = resolve_service_urls(load_settings()).database_url
    evaluation_id = queue_evaluation(database_url, architecture=arch_json, arch_hash=arch_hash,
                                     benchmark=benchmark, split=split, questions=questions,
                                     purpose=purpose, judge=judge,
                                     unsafe_no_sandbox=code and unsafe)
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                  disable=quiet) as progress:
        bar = progress.add_task(f"evaluation {evaluation_id}", total=len(questions))
        finished = wait_for(database_url, evaluation_id, len(questions), timeout_s=timeout,
                            on_progress=lambda n: progress.update(bar, completed=n),
                            stale_s=stale)
    if not finished:
        raise ItasError(f"evaluation {evaluation_id} not finished after {timeout:.0f}s; it "
                        "goes on in the workers (is one running? `itas worker`)")
    failure = failure_of(database_url, evaluation_id)
    if failure:  # no score from an error: the run stops with the cause
        raise InfrastructureFailure(f"could not be evaluated: {failure}")
    return evaluation_id, arch_json


def run(
    architecture: Path = typer.Argument(..., help="Architecture file (Archon JSON)."),
    benchmark: str = typer.Option(..., "--benchmark",
                                  help="A benchmark of `itas benchmarks list`."),
    data: Path | None = typer.Option(
        None, help="The benchmark's data file or folder (default: under $ITAS_DATASETS)."),
    limit: int | None = typer.Option(None, help="Only the first N questions of the split."),
    split: str = typer.Option("search", help="search (20%), test (80%) or all."),
    as_json: bool = typer.Option(False, "--json", help="Last line: one JSON object."),
    timeout: float = typer.Option(3600.0, help="Seconds to wait for the workers."),
    stale: float = typer.Option(STALE_S, help="Re-send work that made no progress this long "
                                "(lost in a broker restart, say); above the longest layer."),
    judge: str | None = typer.Option(None, "--judge", help="The LLM that judges a judged "
                                     "benchmark's answers (mt-bench, alpaca-eval, arena-hard, "
                                     "mixeval, mixeval-hard): an LLM of `itas llms`."),
    option: list[str] = typer.Option([], "--option", help="A benchmark option, KEY=VALUE "
                                     "(VALUE in YAML); repeatable."),
    baseline_architecture: Path | None = typer.Option(
        None, "--baseline-architecture", help="A pairwise judged benchmark's baseline made by "
        "this architecture (Archon JSON), instead of the benchmark's baseline answers file: "
        "it answers the same questions first, then the judge compares with its answers."),
    unsafe_no_sandbox: bool = typer.Option(
        False, "--unsafe-no-sandbox", help="A code benchmark's code (answers, executed unit "
        "tests) runs as bare subprocesses on the workers, without the sandbox: only where "
        "none can be set up and you trust the code; recorded with the run."),
) -> None:
    """Evaluate an architecture on a benchmark through the workers; print its figures."""
    from benchmarks.registry import get_judged
    from scheduler.baselines import PURPOSE as BASELINE_PURPOSE
    from scheduler.baselines import check_baselines, read_baseline, with_baseline
    from scheduler.cli.benchmarks import parse_options
    from scheduler.judges import benchmark_judge, judged_summary

    if not math.isfinite(stale) or stale <= 0:
        raise UserError(f"--stale: expected a number of seconds > 0, got {stale:g}")
    options = parse_options(option)
    try:
        questions = load_questions(benchmark, data=data, split=split, limit=limit,
                                   options=options)
    except BenchmarkError as exc:
        raise ConfigError(str(exc)) from exc
    from benchmarks.code.base import is_code
    from benchmarks.registry import get as get_benchmark

    code = is_code(get_benchmark(benchmark))
    if unsafe_no_sandbox and not code:
        raise ConfigError(f"--unsafe-no-sandbox: {benchmark} runs no code; leave it out")
    if unsafe_no_sandbox:
        console.print("[yellow]warning:[/] --unsafe-no-sandbox: the code runs on the workers "
                      "without isolation (recorded with the run)")
    the_judge = benchmark_judge(benchmark, judge, data=data, options=options)
    baseline_id = None
    if the_judge is None and baseline_architecture is not None:
        raise ConfigError(f"--baseline-architecture: {benchmark} is scored without a judge; "
                          "leave it out")
    if the_judge is not None:
        judged = get_judged(benchmark)
        assert judged is not None
        check_baselines(benchmark, judged, the_judge.definition, questions,
                        architecture_given=baseline_architecture is not None)
    if baseline_architecture is not None:  # its answers first, then judged against them
        from models.architecture import load_architecture

        load_architecture(architecture)  # a wrong file stops here, before the baseline runs
        baseline_id, _ = _evaluate(baseline_architecture, benchmark, questions, split, timeout,
                                   as_json, purpose=BASELINE_PURPOSE, stale=stale)
        questions = with_baseline(questions, read_baseline(
            resolve_service_urls(load_settings()).database_url, baseline_id, questions))
    evaluation_id, _ = _evaluate(architecture, benchmark, questions, split, timeout, as_json,
                                 stale=stale, judge=the_judge, code=code,
                                 unsafe=unsafe_no_sandbox)
    database_url = resolve_service_urls(load_settings()).database_url
    summary = summarize(database_url, evaluation_id).as_dict()
    if the_judge is not None:
        figures = judged_summary(database_url, evaluation_id)
        summary["judged"] = figures.to_json() if figures else None
        summary["baseline_evaluation_id"] = baseline_id
    if as_json:
        typer.echo(json.dumps({"evaluation_id": evaluation_id, **summary}))
        return
    for key, value in {"evaluation_id": evaluation_id, **summary}.items():
        typer.echo(f"{key:>16}: {value}")


def ask(
    architecture: Path = typer.Argument(..., help="Architecture file (Archon JSON)."),
    question: str = typer.Argument(..., help="The question."),
    timeout: float = typer.Option(600.0, help="Seconds to wait for the workers."),
) -> None:
    """Answer one question with an architecture, through the same workers and cache."""
    from worker.evaluation_steps import layer_state

    if not question.strip():
        raise InvalidArchitecture("question: expected a non-empty question")
    question_id = "ask-" + hashlib.sha256(question.strip().encode()).hexdigest()[:16]
    asked = [Item(question_id, (question.strip(),), None, {})]
    evaluation_id, arch_json = _evaluate(architecture, "ask", asked, "all", timeout, True,
                                         purpose="ask")
    database_url = resolve_service_urls(load_settings()).database_url
    last_layer = len(arch_json["layers"]) - 1
    state = layer_state(database_url, evaluation_id, question_id, last_layer)
    candidates = (state or {}).get("candidates") or []
    if not candidates:
        raise ItasError("no answer: every call of the last layer failed (see `itas run --json`)")
    typer.echo(candidates[0]["text"])
