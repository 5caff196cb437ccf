"""Reading runs' outcomes into an answer's score (shared by the three code benchmarks).

pass@1 of the final answer: 1.0 when every run passed, else 0.0. A run passes when it exited
0 (status ``ok``) and, where it has an ``expected_stdout``, its output matches under the
benchmark's comparison rule. A run the sandbox *refused* says nothing about the code: the
answer is then not scored (``score`` None, the reason in ``note``), never counted as wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from benchmarks.base import Scored
from benchmarks.code.base import ProgramRun, RunOutcome, run_detail

__all__ = ["NO_CODE", "score_outcomes"]

NO_CODE = "the reply holds no code"


def _passed(run: ProgramRun, outcome: RunOutcome, matches: Callable[[str, str], bool]) -> bool:
    if outcome.status != "ok":
        return False
    return run.expected_stdout is None or matches(run.expected_stdout, outcome.stdout)


def _why(run: ProgramRun, outcome: RunOutcome) -> str:
    if outcome.status == "ok":
        return f"{run.name}: wrong output"
    if outcome.status == "killed":
        return f"{run.name}: killed ({outcome.limit or 'a limit'})"
    if outcome.status == "timeout":
        return f"{run.name}: timed out after {run.timeout_s:g} s"
    lines = [line for line in outcome.stderr.strip().splitlines() if line.strip()]
    return f"{run.name}: {lines[-1].strip()[:160] if lines else 'exited non-zero'}"


def score_outcomes(code: str | None, runs: Sequence[ProgramRun],
                   outcomes: Sequence[RunOutcome],
                   matches: Callable[[str, str], bool]) -> Scored:
    """The answer's :class:`Scored` from its runs (rule: module docstring)."""
    if code is None:
        return Scored(None, 0.0, NO_CODE)
    if len(runs) != len(outcomes):
        raise ValueError(f"{len(runs)} runs but {len(outcomes)} outcomes")
    if not runs:
        return Scored(code, None, "not scored: the benchmark gave no test to run")
    refused = [o for o in outcomes if o.status == "refused"]
    if refused:
        return Scored(code, None, f"not scored: the sandbox refused to run the tests "
                                  f"({refused[0].stderr.strip() or 'no reason given'})")
    verdicts = [_passed(r, o, matches) for r, o in zip(runs, outcomes, strict=True)]
    details = [run_detail(r, o, ok) for r, o, ok in zip(runs, outcomes, verdicts, strict=True)]
    failed = [(r, o) for (r, o), ok in zip(zip(runs, outcomes, strict=True), verdicts,
                                           strict=True) if not ok]
    if not failed:
        return Scored(code, 1.0, None, details)
    note = f"failed {len(failed)} of {len(runs)} runs; first: {_why(*failed[0])}"
    return Scored(code, 0.0, note, details)
