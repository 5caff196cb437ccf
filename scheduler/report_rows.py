"""What a search job's reports are made of: plain, frozen rows (see :mod:`scheduler.reports`
for where each comes from). ``as_dict`` gives the JSON of `itas status --json` and
`itas report --json`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

STATES = ("queued", "running", "completed", "failed", "cancelled", "interrupted")
FINAL_STATES = ("completed", "failed", "cancelled", "interrupted")
OUTCOMES = ("completed", "pruned", "infeasible", "running", "failed")


@dataclass(frozen=True)
class Totals:
    """What the job's LLM calls cost. Tokens count provider calls only (what was paid);
    ``llm_calls`` counts every call, cache hits included."""

    llm_calls: int = 0
    cache_hits: int = 0
    provider_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    #: A judged benchmark's judge: its share of the calls above, paid calls and dollars.
    judge_calls: int = 0
    judge_provider_calls: int = 0
    judge_cost_usd: float = 0.0
    #: Answers whose verdicts the judge gave could not be read: left out of every score.
    unjudged_answers: int = 0
    #: Answers without the architecture's text (models/tables.py, the statuses): no candidate
    #: came out (``no_answer``), or a provider refused the prompt (``refused``, e.g. over its
    #: context window). Both are scored as an empty reply; counted so that they show.
    no_answer_answers: int = 0
    refused_answers: int = 0


@dataclass(frozen=True)
class TrialRow:
    """One trial as the leaderboard shows it. ``score`` of a pruned trial is its last rung's."""

    number: int
    architecture_name: str
    outcome: str
    score: float | None
    cost_per_question_usd: float | None
    cost_usd: float | None
    llm_calls: int | None
    cache_hits: int | None
    questions: int | None
    params: dict[str, Any] = field(default_factory=dict)
    #: Why it is infeasible (``infeasible_reason``) or failed (``failure``), when known.
    note: str | None = None
    #: A judged benchmark's own figure (MT-Bench's mean grade, a win rate, an Arena-Hard
    #: score, on its scale) with its 95% interval; None elsewhere.
    judged_score: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class EvaluationRow:
    """One evaluation of the job: a power-ranking LLM or a final-ranking architecture."""

    evaluation_id: int
    architecture_name: str
    trial_number: int | None
    status: str
    score: float | None
    questions: int
    answered: int
    llm_calls: int
    cost_usd: float
    #: As TrialRow's: a judged benchmark's own figure with its 95% interval.
    judged_score: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class RunningTrial:
    """A trial in flight and how far its current evaluation (rung) has got."""

    number: int
    architecture_name: str
    rung: int | None
    answered: int
    questions: int


@dataclass(frozen=True)
class Best:
    """The best architecture so far; ``source`` is ``final`` (held-out split) or ``trial``."""

    source: str
    architecture_name: str
    score: float | None
    trial_number: int | None
    cost_per_question_usd: float | None


@dataclass(frozen=True)
class JobStatus:
    job_id: int
    name: str
    state: str
    benchmark: str | None
    sampler: str | None
    trials_planned: int | None
    trials: dict[str, int]
    running: list[RunningTrial]
    best: Best | None
    totals: Totals
    error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def trials_finished(self) -> int:
        return sum(n for outcome, n in self.trials.items() if outcome != "running")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["updated_at"] = self.updated_at.isoformat()
        data["trials_finished"] = self.trials_finished
        return data


@dataclass(frozen=True)
class JobReport:
    status: JobStatus
    study_name: str
    directions: list[str]
    leaderboard: list[TrialRow]
    power_ranking: list[EvaluationRow]
    final_ranking: list[EvaluationRow]
    llms: list[str]
    simulated: bool
    best_architecture: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.as_dict()
        return data


def optional_float(value: Any) -> float | None:
    """A number read from the database or a trial's attrs; None stays None."""
    return None if value is None else float(value)


def optional_int(value: Any) -> int | None:
    """A count read from the database or a trial's attrs; None stays None."""
    return None if value is None else int(value)


def judged_cell(row: TrialRow | EvaluationRow) -> str:
    """A judged benchmark's own figure with its 95% interval: ``62.3 [58.1, 66.0]``."""
    if row.judged_score is None:
        return "-"
    if row.ci_low is None or row.ci_high is None:
        return f"{row.judged_score:.2f}"
    return f"{row.judged_score:.2f} [{row.ci_low:.2f}, {row.ci_high:.2f}]"
