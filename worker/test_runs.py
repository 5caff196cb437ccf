"""The question's :class:`~worker.techniques.base.CodeTestRunner`: generated unit tests run
against candidates' code through the code benchmark and the sandbox (worker/code_runs.py).

Built by the layer task for a question of a code benchmark and injected into the executed
unit-test evaluator, which so never imports the sandbox. Also the guard that a sandbox can be
set up before anything runs (:func:`require_sandbox`), shared with the scorer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.code.base import CodeBenchmark, ProgramRun, RunOutcome
from models.errors import SetupError
from worker import sandbox
from worker.code_runs import run_groups
from worker.techniques.base import CodeTestReport

__all__ = ["BenchmarkTestRunner", "outcome_word", "require_sandbox", "sandbox_problem"]

#: Said with every sandbox problem: what the user can do about it.
UNSAFE_HINT = ("or run with --unsafe-no-sandbox (a job file: unsafe_no_sandbox: true) to run "
               "the code without isolation")


def sandbox_problem() -> str | None:
    """Why no sandbox can be set up on this worker (one line), or None when one can."""
    try:
        return sandbox.availability()
    except NotImplementedError as exc:  # an itas whose sandbox is not built in
        return f"this itas has no sandbox ({exc})"


def require_sandbox(unsafe: bool) -> None:
    """Raise SetupError (the evaluation stops with the line, never a score) when the code of
    a run that is not ``unsafe`` cannot be sandboxed here."""
    if unsafe:
        return
    problem = sandbox_problem()
    if problem is not None:
        raise SetupError(f"no sandbox on this worker: {problem}; {UNSAFE_HINT}")


def refused(outcomes: Sequence[RunOutcome]) -> RunOutcome | None:
    """The first run the sandbox would not start: a setup problem, not the code's."""
    return next((o for o in outcomes if o.status == "refused"), None)


def outcome_word(benchmark: CodeBenchmark, run: ProgramRun, outcome: RunOutcome) -> str:
    """``pass``, or why a run did not pass (CodeTestReport's outcomes)."""
    if outcome.status != "ok":
        return outcome.status
    if run.expected_stdout is not None and not benchmark.output_matches(run.expected_stdout,
                                                                        outcome.stdout):
        return "wrong_output"
    return "pass"


class BenchmarkTestRunner:
    """Runs generated tests for one question of a code benchmark (see the module docstring).

    Every candidate's runs go to the sandbox together, so they run in parallel within its
    slots (a candidate whose first test timed out is not run on the others, which count as
    ``skipped``: worker/code_runs.py); a candidate whose reply holds no code gets ``no_code``
    for every test."""

    def __init__(self, benchmark: CodeBenchmark, reference: Mapping[str, Any], *,
                 unsafe: bool) -> None:
        self.benchmark = benchmark
        self.reference = reference
        self.unsafe = unsafe

    def run_tests(self, replies: Sequence[str], tests: Sequence[str]) -> CodeTestReport:
        require_sandbox(self.unsafe)
        per_candidate: list[list[ProgramRun] | None] = []
        unreadable: list[str] = []
        for reply in replies:
            code = self.benchmark.extract(self.reference, reply)
            if code is None:
                per_candidate.append(None)
                continue
            runs, problems = self.benchmark.generated_test_runs(self.reference, code, tests)
            per_candidate.append(runs)
            unreadable = unreadable or list(problems)
        grouped = run_groups([runs or [] for runs in per_candidate], unsafe=self.unsafe)
        outcomes = [o for group in grouped for o in group]
        stopped = refused(outcomes)
        if stopped is not None:
            raise SetupError(f"the sandbox refused to run a test: {stopped.stderr.strip()}; "
                             f"{UNSAFE_HINT}")
        runnable = max((len(r) for r in per_candidate if r is not None),
                       default=max(0, len(tests) - len(unreadable)))
        rows: list[list[str]] = []
        position = 0
        for candidate_runs in per_candidate:
            if candidate_runs is None:
                rows.append(["no_code"] * runnable)
                continue
            done = outcomes[position:position + len(candidate_runs)]
            position += len(candidate_runs)
            words = [outcome_word(self.benchmark, r, o)
                     for r, o in zip(candidate_runs, done, strict=True)]
            rows.append(words + ["unreadable"] * (runnable - len(words)))
        return CodeTestReport(rows, runnable, unreadable)
