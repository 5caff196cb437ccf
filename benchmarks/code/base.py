"""What a code benchmark is: the code read from a reply, the runs that test it, and the score
read from the runs' outcomes.

The flow, for one answer (the worker, or the CLI for ``itas benchmarks check``/``score``)::

    code = benchmark.extract(reference, reply)             # None: the reply holds no code
    runs = benchmark.program_runs(reference, code)         # pure: sources, stdin, expectations
    outcomes = [<worker.sandbox.run(run.source, stdin=run.stdin, timeout=run.timeout_s)>]
    scored = benchmark.score_runs(reference, code, runs, outcomes)

Contracts:

- ``extract`` never raises: it takes the last complete fenced code block, or the whole reply
  when there is none, and strips what the benchmark's harness adds itself (a repeated function
  signature for HumanEval). None only for an empty reply.
- ``program_runs`` is deterministic; each run is a whole Python program. A run passes when it
  exits 0 and, where ``expected_stdout`` is set, prints what the benchmark's comparison rule
  accepts (:meth:`CodeBenchmark.output_matches`).
- ``score_runs`` is pass@1 of the answer: 1.0 when every run passed, else 0.0; ``details``
  holds each run's result (:func:`run_detail`), stored beside the answer.
- ``reference_solutions`` are the dataset's own correct programs, as replies (``itas
  benchmarks check`` runs them to prove a sandbox works); ``incorrect_solutions`` are
  known-wrong ones, as replies (the dataset's, or a right one made to return wrong values),
  which must fail (``itas benchmarks check --incorrect``).
- ``generated_test_runs`` turns tests an LLM wrote (Python ``assert`` lines for a function,
  input/expected-output pairs for a program reading stdin) into runs against ``code``; a test
  it cannot read is left out and named in the returned list of problems.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from benchmarks.base import Benchmark, Scored

__all__ = ["CodeBenchmark", "ProgramRun", "RunOutcome", "is_code", "run_detail"]


@dataclass(frozen=True)
class ProgramRun:
    """One run of an answer's code: a whole program, its standard input, its time limit, and,
    for stdin/stdout problems, the output it must print."""

    name: str
    source: str
    timeout_s: float
    stdin: str = ""
    expected_stdout: str | None = None


@dataclass(frozen=True)
class RunOutcome:
    """What the sandbox reported of one run (worker/sandbox's Result, as plain values)."""

    #: ok, error, timeout, killed, refused (the sandbox); skipped (worker/code_runs.py)
    status: str
    stdout: str
    stderr: str
    seconds: float
    limit: str | None = None


def run_detail(run: ProgramRun, outcome: RunOutcome, passed: bool) -> dict[str, Any]:
    """One run's result as stored beside the answer (``answers.test_results``)."""
    detail: dict[str, Any] = {"name": run.name, "passed": passed, "status": outcome.status,
                              "seconds": round(outcome.seconds, 4)}
    if outcome.limit:
        detail["limit"] = outcome.limit
    if not passed and outcome.stderr:
        detail["stderr"] = outcome.stderr[-500:]
    return detail


class CodeBenchmark(Benchmark, Protocol):
    """A benchmark of kind ``code`` (contracts: module docstring)."""

    def extract(self, reference: Mapping[str, Any], reply: str) -> str | None: ...

    def program_runs(self, reference: Mapping[str, Any], code: str) -> list[ProgramRun]: ...

    def output_matches(self, expected: str, actual: str) -> bool: ...

    def score_runs(self, reference: Mapping[str, Any], code: str | None,
                   runs: Sequence[ProgramRun], outcomes: Sequence[RunOutcome]) -> Scored: ...

    def reference_solutions(self, reference: Mapping[str, Any]) -> list[str]: ...

    def incorrect_solutions(self, reference: Mapping[str, Any]) -> list[str]: ...

    def generated_test_runs(self, reference: Mapping[str, Any], code: str,
                            tests: Sequence[str]) -> tuple[list[ProgramRun], list[str]]: ...


def is_code(benchmark: Benchmark) -> bool:
    """Whether ``benchmark`` is scored by running code."""
    return benchmark.kind == "code"
