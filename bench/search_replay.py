"""Search settings compared on many seeds, by replaying the search over a known space.

`search_efficiency.py` runs the real scheduler, ten seeds in about ten minutes. To choose
defaults (rungs, reduction factor, trials, parallel trials) one wants hundreds of seeds per
setting. This script evaluates the 36-point space of `search_efficiency.py` exhaustively once,
through the real stack (`--save TABLE`), keeping each architecture's score and LLM calls per
question; then it replays the scheduler's loop (scheduler/search.py) over that table in
memory, with the scheduler's own sampler, pruner, rung sizes and search space, for many seeds.

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
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import fresh_stack  # noqa: E402
from bench.search_efficiency import SMALL_JOB, SMALL_SPACE, run_job  # noqa: E402
from models.search_job import SearchSpace  # noqa: E402
from scheduler.search_context import rung_sizes  # noqa: E402
from scheduler.search_space import suggest  # noqa: E402
from scheduler.study import make_pruner, make_sampler, open_study  # noqa: E402

#: (label, rungs, reduction factor, trials, parallel trials)
SETTINGS: list[tuple[str, list[float], int, int, int]] = [
    ("rungs 25/50/100%, factor 2 (the previous default)", [0.25, 0.5, 1.0], 2, 20, 2),
    ("rungs 25/50/100%, factor 2 (the previous default)", [0.25, 0.5, 1.0], 2, 24, 4),
    ("rungs 11/33/100%, factor 3 (the default)", [0.11, 0.33, 1.0], 3, 20, 2),
    ("rungs 11/33/100%, factor 3 (the default)", [0.11, 0.33, 1.0], 3, 24, 4),
    ("rungs 11/33/100%, factor 3 (the default)", [0.11, 0.33, 1.0], 3, 16, 2),
    ("rungs 11/33/100%, factor 3 (the default)", [0.11, 0.33, 1.0], 3, 30, 4),
    ("rungs 6/25/100%, factor 4", [0.0625, 0.25, 1.0], 4, 20, 2),
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
        study = open_study(database_url, study_name=study_name,
                           sampler=optuna.samplers.RandomSampler(),
                           pruner=optuna.pruners.NopPruner(), sampler_name="grid")
        params = {t.number: t.params for t in study.trials}
    table = {_key(params[number]): {
        "hash": digest, "scores": [scores[q] for q in question_ids],
        "calls": [calls.get(q, 0) for q in question_ids]}
        for number, digest, question_ids, scores, calls in rows}
    path.write_text(json.dumps({"questions": questions, "space": SMALL_SPACE, "table": table}))
    print(f"{len(table)} points, {len({r['hash'] for r in table.values()})} distinct "
          f"architectures, {questions} questions -> {path}")


@dataclass
class Outcome:
    best: float  # best score of an architecture that answered every question
    calls: int   # each distinct architecture's calls on the questions it reached


def replay(table: dict[str, Any], space: SearchSpace, *, questions: int, rungs: list[float],
           reduction_factor: int, trials: int, parallel: int, seed: int) -> Outcome:
    """The scheduler's search loop, in memory: ask, rung by rung, report, prune, tell."""
    sizes = rung_sizes(questions, rungs)
    study = optuna.create_study(direction="maximize", sampler=make_sampler("tpe", seed=seed),
                                pruner=make_pruner("successive_halving", rung_sizes=sizes,
                                                   reduction_factor=reduction_factor))
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
        trial.report(score, step=sizes[rung])
        if rung + 1 == len(sizes):
            study.tell(trial, score)
            complete[row["hash"]] = score
        elif trial.should_prune():
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            inflight[number] = (trial, row, rung + 1)
            queue_rung(number, row, rung + 1)
            continue
        del inflight[number]
        finished += 1
    by_hash = {row["hash"]: row for row in table.values()}
    return Outcome(best=max(complete.values(), default=0.0),
                   calls=sum(sum(by_hash[h]["calls"][:q]) for h, q in reached.items()))


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
    for label, rungs, factor, trials, parallel in SETTINGS:
        found = met = 0
        shares = []
        for seed in range(seeds):
            out = replay(table, space, questions=questions, rungs=rungs,
                         reduction_factor=factor, trials=trials, parallel=parallel, seed=seed)
            near = out.best >= optimum - 0.01
            found += near
            met += near and out.calls <= 0.4 * exhaustive
            shares.append(out.calls / exhaustive)
        shares.sort()
        print(f"  {label}, {trials} trials, {parallel} in parallel: within 1 point "
              f"{found}/{seeds}; and <= 40% of the calls {met}/{seeds} ({met / seeds:.0%}); "
              f"calls median {shares[seeds // 2]:.0%}, largest {shares[-1]:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--save", type=Path, help="evaluate the space and write the table")
    parser.add_argument("--questions", type=int, default=200, help="search questions (--save)")
    parser.add_argument("--table", type=Path, help="replay the settings over this table")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first", type=int, help="replay on the table's first N questions")
    args = parser.parse_args()
    if args.save:
        save_table(args.save, args.questions)
    if args.table or args.save:
        compare(args.table or args.save, args.seeds, args.first)
    else:
        parser.error("give --save TABLE (evaluate the space first) or --table TABLE")


if __name__ == "__main__":
    main()
