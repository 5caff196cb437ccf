"""`itas benchmarks check NAME`: a code benchmark's reference solutions run through the sandbox
and the scorer, the user's proof that their sandbox works; and the code path of
`itas benchmarks score` (predictions run likewise).

Both go through :func:`worker.code_runs.score_code_answer`, the worker's own scorer. Answers
are scored in parallel (a pool as wide as the sandbox's slots; the sandbox bounds how many
programs run at once). ``--incorrect`` runs known-wrong solutions instead, which must all fail.

Exit status of ``check``: 0 when every solution did what it should (references passed,
known-wrong ones failed), 1 otherwise, 2 for a user error (an unknown benchmark, bad data, no
sandbox here without ``--unsafe-no-sandbox``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import typer

from benchmarks.base import BenchmarkError, Item, Scored
from benchmarks.code.base import CodeBenchmark, is_code
from benchmarks.registry import get, load_questions
from models.errors import ConfigError

__all__ = ["check", "require_sandbox", "score_answers"]


def require_sandbox(unsafe: bool) -> None:
    """Raise a user error, in one line, when no sandbox can run code here (unless ``unsafe``:
    the user's explicit ``--unsafe-no-sandbox``)."""
    from worker import sandbox

    if unsafe:
        return
    try:
        reason = sandbox.availability()
    except NotImplementedError:
        reason = "this version of itas has no sandbox yet"
    if reason:
        raise ConfigError(f"cannot run code safely here: {reason}; pass --unsafe-no-sandbox "
                          "to run it without isolation (only on a machine you do not mind "
                          "the code damaging)")


def score_answers(benchmark: CodeBenchmark, answers: Sequence[tuple[Mapping[str, Any], str]],
                  *, unsafe: bool) -> list[Scored]:
    """Each (reference, reply)'s score, by running its code, in the order given."""
    from worker import sandbox
    from worker.code_runs import score_code_answer

    def one(answer: tuple[Mapping[str, Any], str]) -> Scored:
        return score_code_answer(benchmark, answer[0], answer[1], unsafe=unsafe)

    if not answers:
        return []
    with ThreadPoolExecutor(max_workers=min(len(answers), sandbox.slots()),
                            thread_name_prefix="itas-check") as pool:
        return list(pool.map(one, answers))


def _solutions(benchmark: CodeBenchmark, incorrect: bool) -> Callable[[Item], list[str]]:
    if incorrect:
        return lambda item: benchmark.incorrect_solutions(item.reference)
    return lambda item: benchmark.reference_solutions(item.reference)[:1]


def check(
    name: str = typer.Argument(..., help="A code benchmark: humaneval, mbpp, code-contests."),
    data: Path | None = typer.Option(None, "--data", help="The benchmark's data file or folder "
                                     "(default: under $ITAS_DATASETS, or packaged)."),
    limit: int | None = typer.Option(None, "--limit", help="Check the first N problems only."),
    incorrect: bool = typer.Option(False, "--incorrect", help="Run known-wrong solutions "
                                   "instead (the dataset's, or the reference made to return "
                                   "wrong values): every one must fail."),
    unsafe: bool = typer.Option(False, "--unsafe-no-sandbox", help="Run the code as bare "
                                "subprocesses, without the sandbox's isolation."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Run a code benchmark's reference solutions through the sandbox and the scorer; print
    passed and total (exit 0 only when all passed)."""
    try:
        benchmark = get(name)
        if not is_code(benchmark):
            raise ConfigError(f"{name} is not a code benchmark (kind {benchmark.kind}); check "
                              "takes humaneval, mbpp or code-contests")
        items = load_questions(name, data=data, split="all", limit=limit)
    except BenchmarkError as exc:
        raise ConfigError(str(exc)) from exc
    require_sandbox(unsafe)
    code_benchmark = cast(CodeBenchmark, benchmark)
    solutions = _solutions(code_benchmark, incorrect)
    answers = [(item, reply) for item in items for reply in solutions(item)]
    without = [item.item_id for item in items if not solutions(item)]
    started = time.monotonic()
    scored = score_answers(code_benchmark, [(item.reference, reply) for item, reply in answers],
                           unsafe=unsafe)
    seconds = time.monotonic() - started
    not_run = [(item.item_id, s.note or "") for (item, _), s in zip(answers, scored, strict=True)
               if s.score is None]
    wanted = 0.0 if incorrect else 1.0
    as_expected = [item.item_id for (item, _), s in zip(answers, scored, strict=True)
                   if s.score == wanted]
    unexpected = [(item.item_id, s.note or "") for (item, _), s in
                  zip(answers, scored, strict=True) if s.score is not None and s.score != wanted]
    summary: dict[str, Any] = {
        "benchmark": name, "solutions": "incorrect" if incorrect else "reference",
        "sandbox": "none (--unsafe-no-sandbox)" if unsafe else "bubblewrap",
        "failed" if incorrect else "passed": len(as_expected), "total": len(answers),
        "passed_but_wrong" if incorrect else "failed_ids": [i for i, _ in unexpected],
        "not_run": [i for i, _ in not_run], "without_solution": without,
        "seconds": round(seconds, 1)}
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        for item_id, note in unexpected:
            typer.echo(f"{'PASSED' if incorrect else 'FAILED'} {item_id}: {note}")
        for item_id, note in not_run:
            typer.echo(f"NOT RUN {item_id}: {note}")
        if without:
            typer.echo(f"no {'known-wrong' if incorrect else 'Python 3 reference'} solution: "
                       f"{len(without)} problems ({', '.join(without[:5])}"
                       f"{', ...' if len(without) > 5 else ''})")
        verb = "failed (as they should)" if incorrect else "passed"
        typer.echo(f"{verb} {len(as_expected)}")
        typer.echo(f"total {len(answers)}")
        typer.echo(f"{name}: {len(answers)} {'known-wrong' if incorrect else 'reference'} "
                   f"solutions in {seconds:.1f} s, sandbox: {summary['sandbox']}")
    if unexpected or not_run:
        raise typer.Exit(1)
