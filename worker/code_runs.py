"""Running a code benchmark's programs in the sandbox and scoring an answer from them: the one
path the worker's scorer, the executed unit tests and ``itas benchmarks check`` share.

Runs of one answer go in parallel through a thread pool; :mod:`worker.sandbox` bounds how many
run at once in the process (its slots, sized from the cores), so a layer's LLM calls, which
wait on the network in their own threads, are never held up by them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.base import Scored
from benchmarks.code.base import CodeBenchmark, ProgramRun, RunOutcome
from worker import sandbox

__all__ = ["run_programs", "score_code_answer"]


def _run_one(run: ProgramRun, unsafe: bool) -> RunOutcome:
    result = sandbox.run(run.source, stdin=run.stdin, timeout=run.timeout_s, unsafe=unsafe)
    return RunOutcome(status=str(result.status), stdout=result.stdout,
                      stderr=result.stderr if result.reason is None else result.reason,
                      seconds=result.seconds, limit=result.limit)


def run_programs(runs: Sequence[ProgramRun], *, unsafe: bool = False) -> list[RunOutcome]:
    """Each run's outcome, in the order of ``runs``."""
    if not runs:
        return []
    with ThreadPoolExecutor(max_workers=min(len(runs), sandbox.slots()),
                            thread_name_prefix="itas-sandbox") as pool:
        return list(pool.map(lambda r: _run_one(r, unsafe), runs))


def score_code_answer(benchmark: CodeBenchmark, reference: Mapping[str, Any], reply: str, *,
                      unsafe: bool = False) -> Scored:
    """The answer's score: its code extracted, every run of the benchmark executed, read by
    the benchmark (pass@1, with each run's result in ``details``)."""
    code = benchmark.extract(reference, reply)
    runs = benchmark.program_runs(reference, code) if code is not None else []
    return benchmark.score_runs(reference, code, runs, run_programs(runs, unsafe=unsafe))
