"""What a run left in its database, and how a faulted run compares with the clean one.

An answer is keyed by (purpose, architecture hash, question id): the same architecture on the
same question must give the same stored answer (``final_text`` and ``score``) in both runs,
whichever trial, rung or evaluation id it came under.

Duplicate provider calls are counted twice, because one count alone can hide them:

- ``duplicate_paid_rows``: paid ``llm_calls`` rows (not a cache hit, not an error) beyond one
  per ``request_hash``. A call paid again at the *same* use (evaluation, question, layer) is
  not recorded twice (the table's unique key), so this misses those;
- ``provider_ok_beyond_distinct``: the simulator's own count of 200 replies minus the distinct
  paid request hashes recorded: every reply the provider sent (and would bill) beyond one per
  recorded request, i.e. paid twice, or paid and never recorded (the process died, or
  PostgreSQL was down, between the reply and its ``llm_calls`` row). Under simulator faults,
  malformed and truncated bodies are 200 replies too, and count here.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

Key = tuple[str, str, str]


@dataclass
class RunOutcome:
    label: str
    duration_s: float
    exit_code: int | None
    output_tail: str
    answers: dict[Key, dict[str, Any]] = field(default_factory=dict)
    evaluations: dict[str, int] = field(default_factory=dict)  # status -> count
    jobs: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    provider: dict[str, int] = field(default_factory=dict)  # simulator replies by status
    #: llm_calls rows with status error, by error class: fatal errors a technique absorbed.
    call_errors: dict[str, int] = field(default_factory=dict)
    expected_answers: int = 0
    answer_rows: int = 0
    #: What a drill adds for the record (a search's trials, say).
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("answers")
        data["answers"] = len(self.answers)
        return data


def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, connect_timeout=5) as conn:
        return list(conn.execute(sql).fetchall())


def expected_answers(url: str) -> int:
    """Questions the run's evaluations asked: each should end with one answer."""
    rows = _query(url, "SELECT coalesce(sum(jsonb_array_length(question_ids)), 0) "
                       "FROM evaluations WHERE purpose <> 'ask'")
    return int(rows[0][0])


def settle(url: str, timeout_s: float) -> bool:
    """Wait until every evaluation has an answer per question (the CLI may have given up
    earlier, or crashed); False if some are still missing after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            missing = _query(url, "SELECT coalesce(sum(jsonb_array_length(e.question_ids)), 0)"
                                  " - (SELECT count(*) FROM answers) FROM evaluations e")[0][0]
            if int(missing) <= 0:
                return True
        except psycopg.Error:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def collect(url: str, outcome: RunOutcome, provider: dict[str, int]) -> RunOutcome:
    rows = _query(url, """
        SELECT e.purpose, e.architecture_hash, a.question_id, a.status, a.error,
               a.final_text, a.final_answer, a.score
        FROM answers a JOIN evaluations e ON e.id = a.evaluation_id ORDER BY a.id""")
    for purpose, arch, question, status, error, text, final, score in rows:
        outcome.answers.setdefault((purpose, arch, question), {
            "status": status, "error": error, "final_text": text, "final_answer": final,
            "score": score})
    outcome.evaluations = dict(_query(url, "SELECT status, count(*) FROM evaluations "
                                           "GROUP BY status"))
    outcome.jobs = dict(_query(url, "SELECT status, count(*) FROM search_jobs GROUP BY status"))
    paid, distinct, errors, hits, total = _query(url, """
        SELECT count(*) FILTER (WHERE NOT cache_hit AND status <> 'error'),
               count(DISTINCT request_hash) FILTER (WHERE NOT cache_hit AND status <> 'error'),
               count(*) FILTER (WHERE status = 'error'),
               count(*) FILTER (WHERE cache_hit), count(*)
        FROM llm_calls""")[0]
    outcome.calls = {"rows": total, "paid_rows": paid, "paid_distinct": distinct,
                     "duplicate_paid_rows": paid - distinct, "error_rows": errors,
                     "cache_hits": hits}
    outcome.provider = provider
    outcome.call_errors = dict(_query(url, "SELECT coalesce(error_class, '?'), count(*) "
                                           "FROM llm_calls WHERE status = 'error' GROUP BY 1"))
    outcome.calls["provider_ok_beyond_distinct"] = provider.get("200", 0) - distinct
    outcome.expected_answers = expected_answers(url)
    outcome.answer_rows = int(_query(url, "SELECT count(*) FROM answers")[0][0])
    return outcome


def _failed(row: dict[str, Any]) -> bool:
    return row["status"] != "ok" or row["error"] is not None


def compare(clean: RunOutcome, faulted: RunOutcome, *, limit: int = 8) -> dict[str, Any]:
    """Every difference between the two runs' answers, by kind; the first ``limit`` keys of
    each kind are listed (question ids), with counts of all."""
    lost = sorted(k for k in clean.answers if k not in faulted.answers)
    extra = sorted(k for k in faulted.answers if k not in clean.answers)
    differ = sorted(k for k in clean.answers if k in faulted.answers and (
        clean.answers[k]["final_text"] != faulted.answers[k]["final_text"]
        or clean.answers[k]["score"] != faulted.answers[k]["score"]))
    failed = sorted(k for k, row in faulted.answers.items() if _failed(row))
    clean_failed = sorted(k for k, row in clean.answers.items() if _failed(row))
    errors: dict[str, int] = {}
    examples: dict[str, str] = {}  # one full message per error class
    for k in failed:
        message = faulted.answers[k]["error"] or faulted.answers[k]["status"]
        kind = message.split(":")[0]
        errors[kind] = errors.get(kind, 0) + 1
        examples.setdefault(kind, message[:200])

    def show(keys: list[Key]) -> list[str]:
        return [f"{k[0]}/{k[1][:8]}/{k[2]}" for k in keys[:limit]]

    return {
        "answers_clean": len(clean.answers), "answers_faulted": len(faulted.answers),
        "unanswered_faulted": max(0, faulted.expected_answers - faulted.answer_rows),
        "lost": len(lost), "lost_keys": show(lost),
        "extra": len(extra), "extra_keys": show(extra),
        "differ": len(differ), "differ_keys": show(differ),
        "differ_in_score": sum(clean.answers[k]["score"] != faulted.answers[k]["score"]
                               for k in differ),
        "failed": len(failed), "failed_keys": show(failed), "failed_errors": errors,
        "failed_examples": list(examples.values()),
        "clean_failed": len(clean_failed),
    }

