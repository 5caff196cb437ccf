"""Search settings compared on many seeds, by replaying the search over a known space.

`search_efficiency.py` runs the real scheduler, ten seeds in about ten minutes. To choose
defaults (rungs, reduction factor, trials, parallel trials) one wants hundreds of seeds per
setting. This script evaluates the 36-point space of `search_efficiency.py` exhaustively once,
through the real stack (`--save TABLE`), keeping each architecture's score, LLM calls and the
calls' cache identities per question (and the power ranking's); then it replays the
scheduler's loop (scheduler/search.py) over that table in memory, with the scheduler's own
sampler, pruner, rung sizes and search space, for many seeds. Calls are counted as if each
architecture paid for its own; `--to-optimum` also gives the provider calls of a search whose
trials share the cache (the distinct identities evaluated).

The replay is an approximation of a live search in one respect: the order in which parallel
trials finish. It takes each rung's time as its LLM calls times the trials in flight (workers
shared evenly); a live search's order also depends on latencies and queueing. Same criterion
as `search_efficiency.py` B: best score within 1 point of the optimum, with at most 40% of the
exhaustive evaluation's LLM calls (each distinct architecture counted on the questions it
reached).

    .venv/bin/python -u bench/search_replay.py --save /tmp/space200.json [--questions 200]
    .venv/bin/python -u bench/search_replay.py --table /tmp/space200.json [--seeds 200]
                                               [--first 40]

`--save` needs PostgreSQL and Redis, like the other benches (about 3 minutes for 200
questions); `--table` needs nothing.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import fresh_stack  # noqa: E402
from bench.results import figure, write_figures  # noqa: E402
from bench.search_efficiency import SMALL_JOB, SMALL_SPACE, run_job  # noqa: E402
from models.errors import ConfigError  # noqa: E402
from models.search_job import SearchJob, SearchSpace  # noqa: E402
from scheduler.search_context import rung_sizes  # noqa: E402
from scheduler.search_space import suggest  # noqa: E402
from scheduler.study import (  # noqa: E402
    ask_seed,
    make_pruner,
    make_sampler,
    open_study,
    reports_per_question,
)

#: (label, rungs, reduction factor, trials, parallel trials[, pruner]); successive halving
#: where no pruner is named.
SETTINGS: list[tuple[Any, ...]] = [
    ("rungs 25/50/100%, factor 2 (the previous default)", [0.25, 0.5, 1.0], 2, 20, 2),
    ("rungs 25/50/100%, factor 2 (the previous default)", [0.25, 0.5, 1.0], 2, 24, 4),
    ("rungs 11/33/100%, factor 3 (the default rungs)", [0.11, 0.33, 1.0], 3, 20, 2),
    ("rungs 11/33/100%, factor 3 (the default rungs)", [0.11, 0.33, 1.0], 3, 24, 4),
    ("rungs 11/33/100%, factor 3 (the default rungs)", [0.11, 0.33, 1.0], 3, 16, 2),
    ("rungs 11/33/100%, factor 3 (the default rungs)", [0.11, 0.33, 1.0], 3, 30, 4),
    ("rungs 6/25/100%, factor 4", [0.0625, 0.25, 1.0], 4, 20, 2),
    ("pruner wilcoxon (the default), rungs 11/33/100%", [0.11, 0.33, 1.0], 3, 20, 2, "wilcoxon"),
    ("no pruning", [1.0], 3, 20, 2, "none"),
]


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def save_table(path: Path, questions: int) -> None:
    """Evaluate the space exhaustively on a fresh stack; write per-question scores and calls."""
    with fresh_stack(latency_scale=0.0) as (env, work):
        job_id = run_job(env, work, {**SMALL_JOB, "name": "replay-table", "questions": questions,
                                     "sampler": "grid", "pruner": "none", "rungs": [1.0],
                                     "trials": 36, "parallel_trials": 4})
        database_url = env["ITAS_DATABASE_URL"]
        with psycopg.connect(database_url) as conn:
            study_name = conn.execute("SELECT study_name FROM search_jobs WHERE id = %s",
                                      (job_id,)).fetchone()[0]
            rows = conn.execute(
                "SELECT e.trial_number, e.architecture_hash, e.question_ids, "
                "(SELECT json_object_agg(a.question_id, a.score) FROM answers a "
                " WHERE a.evaluation_id = e.id), "
                "(SELECT json_object_agg(c.question_id, c.n) FROM (SELECT question_id, "
                " count(*) AS n FROM llm_calls WHERE evaluation_id = e.id GROUP BY 1) c) "
                "FROM evaluations e WHERE e.job_id = %s AND e.purpose = 'trial'",
                (job_id,)).fetchall()
            # Each call's cache identity, per (evaluation, question): what a search with the
            # shared cache pays for is the distinct identities of what it evaluated.
            keys: dict[str, int] = {}
            identities: dict[tuple[str, int | None, str], list[int]] = {}
            for purpose, evaluation, question, digest in conn.execute(
                    "SELECT e.purpose, e.id, c.question_id, c.request_hash FROM llm_calls c "
                    "JOIN evaluations e ON e.id = c.evaluation_id WHERE e.job_id = %s "
                    "AND e.purpose IN ('trial', 'power_ranking')", (job_id,)):
                identities.setdefault(
                    (purpose, evaluation if purpose == "trial" else None, question), []
                ).append(keys.setdefault(digest, len(keys)))
            trial_evaluations: dict[int, int] = dict(conn.execute(
                "SELECT trial_number, id FROM evaluations WHERE job_id = %s "
                "AND purpose = 'trial'", (job_id,)).fetchall())
        study = open_study(database_url, study_name=study_name,
                           sampler=optuna.samplers.RandomSampler(),
                           pruner=optuna.pruners.NopPruner(), sampler_name="grid")
        params = {t.number: t.params for t in study.trials}
    table = {_key(params[number]): {
        "hash": digest, "scores": [scores[q] for q in question_ids],
        "calls": [calls.get(q, 0) for q in question_ids],
        "identities": [sorted(set(identities.get(("trial", trial_evaluations[number], q), [])))
                       for q in question_ids]}
        for number, digest, question_ids, scores, calls in rows}
    question_ids = rows[0][2]
    ranking = [sorted(set(identities.get(("power_ranking", None, q), []))) for q in question_ids]
    path.write_text(json.dumps({"questions": questions, "space": SMALL_SPACE, "table": table,
                                "power_ranking": ranking}))
    print(f"{len(table)} points, {len({r['hash'] for r in table.values()})} distinct "
          f"architectures, {questions} questions -> {path}")


@dataclass
class Outcome:
    best: float  # best score of an architecture that answered every question
    calls: int   # each distinct architecture's calls on the questions it reached
    #: the calls (counted the same way) when an architecture within 1 point of ``optimum``
    #: first answered every question; None if none did
    calls_to_optimum: int | None = None
    #: the same moment's provider calls with the search's shared cache: the distinct call
    #: identities of the power ranking and of every architecture on the questions it reached
    paid_to_optimum: int | None = None


def paid_calls(by_hash: dict[str, Any], reached: dict[str, int],
               ranking: list[list[int]]) -> int | None:
    """Distinct call identities of the power ranking (all questions) and of each architecture
    on the questions it reached; None for a table saved without identities."""
    if not ranking:
        return None
    paid = {key for question in ranking for key in question}
    for digest, questions in reached.items():
        for question in by_hash[digest]["identities"][:questions]:
            paid.update(question)
    return len(paid)


def replay(table: dict[str, Any], space: SearchSpace, *, questions: int, rungs: list[float],
           reduction_factor: int, trials: int, parallel: int, seed: int,
           sampler: str = "tpe", pruner: str = "successive_halving",
           optimum: float | None = None, ranking: list[list[int]] | None = None) -> Outcome:
    """The scheduler's search loop, in memory: ask, rung by rung, report, prune, tell."""
    sizes = rung_sizes(questions, rungs)
    study = optuna.create_study(direction="maximize", pruner=make_pruner(pruner, rung_sizes=sizes,
                                                   reduction_factor=reduction_factor))
    by_hash = {row["hash"]: row for row in table.values()}
    to_optimum: int | None = None
    paid_to_optimum: int | None = None
    clock, order = 0.0, 0
    finishing: list[tuple[float, int, int]] = []  # (time, tie-break, trial number)
    inflight: dict[int, tuple[optuna.trial.Trial, dict[str, Any], int]] = {}
    reached: dict[str, int] = {}
    complete: dict[str, float] = {}
    finished = 0

    def queue_rung(number: int, row: dict[str, Any], rung: int) -> None:
        nonlocal order
        added = row["calls"][sizes[rung - 1] if rung else 0:sizes[rung]]
        heapq.heappush(finishing, (clock + sum(added) * len(inflight), order, number))
        order += 1

    while True:
        while len(inflight) < parallel and finished + len(inflight) < trials:
            # Seeded before each ask as the scheduler does (SearchContext.reseed_sampler).
            study.sampler = make_sampler(sampler, seed=ask_seed(seed, len(study.trials)))
            trial = study.ask()
            row = table[_key(suggest(trial, space))]
            inflight[trial.number] = (trial, row, 0)
            queue_rung(trial.number, row, 0)
        if not inflight:
            break
        clock, _, number = heapq.heappop(finishing)
        trial, row, rung = inflight[number]
        reached[row["hash"]] = max(reached.get(row["hash"], 0), sizes[rung])
        score = sum(row["scores"][:sizes[rung]]) / sizes[rung]
        if reports_per_question(pruner):  # as scheduler/trials.py reports
            for index in range(sizes[rung - 1] if rung else 0, sizes[rung]):
                trial.report(row["scores"][index], step=index)
        else:
            trial.report(score, step=sizes[rung])
        if rung + 1 == len(sizes):
            study.tell(trial, score)
            complete[row["hash"]] = score
            if to_optimum is None and optimum is not None and score >= optimum - 0.01:
                to_optimum = sum(sum(by_hash[h]["calls"][:q]) for h, q in reached.items())
                paid_to_optimum = paid_calls(by_hash, reached, ranking or [])
                break  # what follows changes nothing of this figure (and GP's asks are slow)
        elif trial.should_prune():
            if reports_per_question(pruner):  # its mean so far, as the scheduler tells it
                study.tell(trial, score)
            else:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            inflight[number] = (trial, row, rung + 1)
            queue_rung(number, row, rung + 1)
            continue
        del inflight[number]
        finished += 1
    return Outcome(best=max(complete.values(), default=0.0),
                   calls=sum(sum(by_hash[h]["calls"][:q]) for h, q in reached.items()),
                   calls_to_optimum=to_optimum, paid_to_optimum=paid_to_optimum)


def compare(path: Path, seeds: int, first: int | None = None) -> None:
    """Replay every setting of SETTINGS; ``first``: only the table's first questions."""
    saved = json.loads(path.read_text())
    table, questions = saved["table"], min(first or saved["questions"], saved["questions"])
    table = {key: {**row, "scores": row["scores"][:questions], "calls": row["calls"][:questions]}
             for key, row in table.items()}
    space = SearchSpace(**saved["space"])
    by_hash = {row["hash"]: row for row in table.values()}
    scores = [sum(row["scores"]) / questions for row in by_hash.values()]
    optimum, exhaustive = max(scores), sum(sum(row["calls"]) for row in by_hash.values())
    print(f"{len(by_hash)} architectures, {questions} questions: optimum {optimum:.3f}, "
          f"{sum(s >= optimum - 0.01 for s in scores)} within 1 point; exhaustive "
          f"{exhaustive} LLM calls; {seeds} seeds per setting")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    for label, rungs, factor, trials, parallel, *pruner in SETTINGS:
        found = met = 0
        shares = []
        for seed in range(seeds):
            out = replay(table, space, questions=questions, rungs=rungs,
                         reduction_factor=factor, trials=trials, parallel=parallel, seed=seed,
                         pruner=pruner[0] if pruner else "successive_halving")
            near = out.best >= optimum - 0.01
            found += near
            met += near and out.calls <= 0.4 * exhaustive
            shares.append(out.calls / exhaustive)
        shares.sort()
        print(f"  {label}, {trials} trials, {parallel} in parallel: within 1 point "
              f"{found}/{seeds}; and <= 40% of the calls {met}/{seeds} ({met / seeds:.0%}); "
              f"calls median {shares[seeds // 2]:.0%}, largest {shares[-1]:.0%}")


#: The job's defaults (models/search_job.py), which the figure's numerator runs.
_DEFAULT = SearchJob.model_fields
DEFAULT_PRUNER: str = _DEFAULT["pruner"].default.value
DEFAULT_RUNGS: list[float] = _DEFAULT["rungs"].default_factory()
DEFAULT_FACTOR: int = _DEFAULT["reduction_factor"].default

#: (label, sampler, pruner, rungs, reduction factor, trials, parallel trials): TPE as the job
#: defaults run it ("tpe": its pruner, rungs and factor), against random search and Optuna's
#: GP sampler (the paper's Bayesian optimisation) each evaluating every trial on all the
#: questions, as the paper's searches do. The labels with a trial count compare at equal
#: trials; also TPE without pruning and with successive halving (the default before
#: 2026-12-03).
TO_OPTIMUM: list[tuple[str, str, str, list[float], int, int, int]] = [
    ("tpe", "tpe", DEFAULT_PRUNER, DEFAULT_RUNGS, DEFAULT_FACTOR, 20, 2),
    ("random", "random", "none", [1.0], 3, 36, 2),
    ("gp", "gp", "none", [1.0], 3, 36, 2),
    ("tpe-36", "tpe", DEFAULT_PRUNER, DEFAULT_RUNGS, DEFAULT_FACTOR, 36, 2),
    ("tpe-unpruned-20", "tpe", "none", [1.0], 3, 20, 2),
    ("tpe-unpruned-36", "tpe", "none", [1.0], 3, 36, 2),
    ("random-20", "random", "none", [1.0], 3, 20, 2),
    ("gp-20", "gp", "none", [1.0], 3, 20, 2),
    ("tpe-halving", "tpe", "successive_halving", [0.11, 0.33, 1.0], 3, 20, 2),
    ("tpe-halving-36", "tpe", "successive_halving", [0.11, 0.33, 1.0], 3, 36, 2),
]


def median_or_none(values: list[int | None]) -> float | None:
    """The median, a seed that never got there counting as infinitely many calls; None when
    that puts the median at infinity (half the seeds or more never got there)."""
    middle = statistics.median(float("inf") if v is None else float(v) for v in values)
    return None if math.isinf(middle) else middle


def calls_to_optimum(path: Path, seeds: int, samplers: list[str]) -> dict[str, Any]:
    """Per setting of TO_OPTIMUM: median LLM calls until the optimum is first reached, and
    the share of seeds that reach it within the setting's trials."""
    saved = json.loads(path.read_text())
    table, questions = saved["table"], saved["questions"]
    space = SearchSpace(**saved["space"])
    by_hash = {row["hash"]: row for row in table.values()}
    optimum = max(sum(row["scores"]) / questions for row in by_hash.values())
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    out: dict[str, Any] = {"optimum": optimum, "questions": questions,
                           "exhaustive": sum(sum(r["calls"]) for r in by_hash.values()),
                           "exhaustive_paid": paid_calls(
                               by_hash, dict.fromkeys(by_hash, questions),
                               saved.get("power_ranking", []))}
    for label, sampler, pruner, rungs, factor, trials, parallel in TO_OPTIMUM:
        if label not in samplers:
            continue
        started = time.monotonic()
        found: list[int | None] = []
        paid: list[int | None] = []
        try:
            for seed in range(seeds):
                outcome = replay(table, space, questions=questions, rungs=rungs,
                                 reduction_factor=factor, trials=trials, parallel=parallel,
                                 seed=seed, sampler=sampler, pruner=pruner, optimum=optimum,
                                 ranking=saved.get("power_ranking"))
                found.append(outcome.calls_to_optimum)
                paid.append(outcome.paid_to_optimum)
        except (ImportError, ConfigError) as exc:  # the GP sampler without torch or scipy
            print(f"  {label}: not measured ({exc})", flush=True)
            out[label] = {"error": str(exc)}
            continue
        reached = sum(v is not None for v in found)
        out[label] = {"median": median_or_none(found), "reached": reached, "seeds": seeds,
                      "trials": trials, "seconds": time.monotonic() - started,
                      "paid_median": median_or_none(paid)}  # None without identities
        print(f"  {label} ({pruner}, {trials} trials, {parallel} in parallel): median calls "
              f"to the optimum {out[label]['median']} (with the shared cache, power ranking "
              f"included: {out[label]['paid_median']}), {reached}/{seeds} seeds reach it "
              f"({out[label]['seconds']:.0f} s)", flush=True)
    return out


def _also(result: dict[str, Any]) -> str:
    """The other settings measured in the same run, for the figures' notes."""
    parts = []
    for label, *_rest, trials, _parallel in TO_OPTIMUM[3:]:
        got = result.get(label)
        if got and "error" not in got:
            parts.append(f"{label}: median {got['median']}, {got['reached']}/{got['seeds']} "
                         f"in {trials} trials")
    return f"; also {'; '.join(parts)}" if parts else ""


def _cached(result: dict[str, Any], other: str) -> str:
    """The same race counted in provider calls, the cache shared as in a real search."""
    tpe, base = result["tpe"].get("paid_median"), result[other].get("paid_median")
    if tpe is None or base is None:
        return ""
    return (f"; in provider calls with the search's shared cache (power ranking included; "
            f"the whole space costs {result['exhaustive_paid']}): TPE {tpe}, {other} {base}, "
            f"ratio {tpe / base:.2f}")


def optimum_figures(result: dict[str, Any], command: str) -> list[dict[str, Any]]:
    tpe = result["tpe"]
    figures = []
    for other, goal in (("random", "<= 0.2"), ("gp", None)):
        if other not in result:
            continue
        base = result[other]
        if "error" in base:
            figures.append(figure(f"search_calls_to_optimum_vs_{other}", None, "ratio",
                                  goal=goal, command=command,
                                  baseline=f"{other}: not measured ({base['error']})"))
            continue
        value = (tpe["median"] / base["median"]
                 if tpe["median"] is not None and base["median"] else None)
        figures.append(figure(
            f"search_calls_to_optimum_vs_{other}", value, "ratio", goal=goal, command=command,
            baseline=f"{other}: median {base['median']} calls, {base['reached']}/"
                     f"{base['seeds']} seeds reach the optimum in {base['trials']} trials",
            note=f"TPE with the job defaults (pruner {DEFAULT_PRUNER}, rungs "
                 f"{DEFAULT_RUNGS}; 20 trials, 2 in parallel): median "
                 f"{tpe['median']} calls, {tpe['reached']}/{tpe['seeds']} seeds reach the "
                 f"optimum (goal >= 9/10); {result['questions']} questions, optimum "
                 f"{result['optimum']:.3f}, exhaustive {result['exhaustive']} calls; "
                 f"replayed in memory over the space evaluated once through the stack"
                 f"{_cached(result, other)}{_also(result)}"))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--save", type=Path, help="evaluate the space and write the table")
    parser.add_argument("--questions", type=int, default=200, help="search questions (--save)")
    parser.add_argument("--table", type=Path, help="replay the settings over this table")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first", type=int, help="replay on the table's first N questions")
    parser.add_argument("--to-optimum", nargs="+", choices=[t[0] for t in TO_OPTIMUM],
                        help="instead of the settings: calls until the optimum, per sampler")
    parser.add_argument("--json-out", type=Path, help="write --to-optimum's figures here")
    args = parser.parse_args()
    if args.save:
        save_table(args.save, args.questions)
    if not (args.table or args.save):
        parser.error("give --save TABLE (evaluate the space first) or --table TABLE")
    if args.to_optimum:
        if "tpe" not in args.to_optimum:
            parser.error("--to-optimum: tpe is the figure's numerator; list it")
        result = calls_to_optimum(args.table or args.save, args.seeds, args.to_optimum)
        command = (f".venv/bin/python -u bench/search_replay.py --save TABLE --questions "
                   f"{result['questions']} --seeds {args.seeds} --to-optimum "
                   f"{' '.join(args.to_optimum)}")
        write_figures(args.json_out, optimum_figures(result, command))
    else:
        compare(args.table or args.save, args.seeds, args.first)


if __name__ == "__main__":
    main()
