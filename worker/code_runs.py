"""Running a code benchmark's programs in the sandbox and scoring an answer from them: the one
path the worker's scorer, the executed unit tests and ``itas benchmarks check`` share.

Runs go in parallel through a thread pool; :mod:`worker.sandbox` bounds how many run at once
in the process (its slots, sized from the cores), so a layer's LLM calls, which wait on the
network in their own threads, are never held up by them.

Runs of the same code come as a *group* (an answer's tests; a candidate's generated tests).
A group's first run goes first; when it times out, the group's other runs are not started and
count as failed (status ``skipped``). A program that hangs (an infinite loop is a common wrong
answer) would otherwise hold a sandbox slot, and a core, for its whole timeout once per test;
an answer with one failed run scores 0 whatever the others do, and a candidate that hangs on
a test is rightly ranked below those that finish.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.base import Scored
from benchmarks.code.base import CodeBenchmark, ProgramRun, RunOutcome
from worker import sandbox

__all__ = ["SKIPPED", "run_groups", "run_programs", "score_code_answer"]

#: The outcome of a run not started because an earlier run of its group timed out.
SKIPPED = RunOutcome(status="skipped", stdout="",
                     stderr="not run: an earlier run of the same code timed out", seconds=0.0)


def _run_one(run: ProgramRun, unsafe: bool) -> RunOutcome:
    result = sandbox.run(run.source, stdin=run.stdin, timeout=run.timeout_s, unsafe=unsafe)
    return RunOutcome(status=str(result.status), stdout=result.stdout,
                      stderr=result.stderr if result.reason is None else result.reason,
                      seconds=result.seconds, limit=result.limit)


def run_programs(runs: Sequence[ProgramRun], *, unsafe: bool = False) -> list[RunOutcome]:
    """Each run's outcome, in the order of ``runs`` (all of them run)."""
    if not runs:
        return []
    with ThreadPoolExecutor(max_workers=min(len(runs), sandbox.slots()),
                            thread_name_prefix="itas-sandbox") as pool:
        return list(pool.map(lambda r: _run_one(r, unsafe), runs))


def run_groups(groups: Sequence[Sequence[ProgramRun]], *,
               unsafe: bool = False) -> list[list[RunOutcome]]:
    """Each group's outcomes, in order: every group's first run, in parallel, then the other
    runs of the groups whose first run did not time out (the module docstring says why)."""
    firsts = run_programs([g[0] for g in groups if g], unsafe=unsafe)
    heads = iter(firsts)
    outcomes: list[list[RunOutcome]] = [[next(heads)] if g else [] for g in groups]
    rest = [(i, run) for i, g in enumerate(groups)
            if g and outcomes[i][0].status != "timeout" for run in g[1:]]
    for (i, _), outcome in zip(rest, run_programs([r for _, r in rest], unsafe=unsafe),
                               strict=True):
        outcomes[i].append(outcome)
    for i, group in enumerate(groups):
        outcomes[i].extend([SKIPPED] * (len(group) - len(outcomes[i])))
    return outcomes


def score_code_answer(benchmark: CodeBenchmark, reference: Mapping[str, Any], reply: str, *,
                      unsafe: bool = False) -> Scored:
    """The answer's score: its code extracted, the benchmark's runs executed (as one group),
    read by the benchmark (pass@1, with each run's result in ``details``)."""
    code = benchmark.extract(reference, reply)
    runs = benchmark.program_runs(reference, code) if code is not None else []
    return benchmark.score_runs(reference, code, runs, run_groups([runs], unsafe=unsafe)[0])
