"""How much a search saves: shared calls across trials, and TPE + pruning against exhaustive.

Issue 5's criteria, measured on a fresh stack (own database and Redis namespace, the simulator
at zero latency, two worker processes):

A. sharing — a search's provider calls (power ranking and trials; the cache shared by all)
   against the same trials' calls with no cache and no pruning (issue 12's baseline: every
   evaluated trial paying for all of its own calls on all the search questions; a trial's
   rungs ask disjoint questions, so this is the LLM calls of its evaluations, cache hits
   included, a pruned trial's extrapolated to all the questions). Criterion: ratio <= 1/3
   at 8 trials, <= 0.2 at 20. Also printed: with the power ranking in the baseline too.
B. convergence — a space of 36 points (at most 40) is evaluated exhaustively (grid sampler, no
   pruning, all search questions: synth-math's search split, 200 questions, by default); then
   TPE with successive halving over the job's default rungs (11%, 33%, 100% of the questions,
   reduction factor 3) runs with 10 seeds on the same, now cached, space. Per seed: the best
   score found (an architecture that answered all the questions) against the optimum, and the
   LLM calls the search's trials need (each distinct architecture on the questions it
   reached, whether the cache answered or not) against the exhaustive evaluation's.
   Criterion: >= 9 of 10 seeds within 1 point of the optimum with <= 40% of the calls.
   With --questions 40, one question is 2.5 points, so "within 1 point" means the optimum
   itself.

    .venv/bin/python -u bench/search_efficiency.py [--part AB] [--seeds 10] [--trials 20]
                        [--questions 200] [--parallel 2] [--sharing-trials 20]

Needs PostgreSQL and Redis (ITAS_DATABASE_URL / ITAS_REDIS_URL, or `itas services up`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ITAS, REPO, fresh_stack  # noqa: E402
from bench.results import figure, write_figures  # noqa: E402
from models.search_job import SearchJob  # noqa: E402

COMMAND = ".venv/bin/python -u bench/search_efficiency.py"
SMALL_SPACE = {  # 3 x 3 x 2 x 2 = 36 points
    "generators": [1, 2, 3], "samples": [1, 3, 5], "fusion_layers": [0, 1], "ranker": [False, True],
    "critic": [False], "fusers_per_layer": [1], "ranker_top_k": [3], "final_check": ["none"],
    "temperature": [0.7], "max_tokens": [512],
}
SMALL_JOB = {
    "name": "bench-small", "benchmark": "synth-math", "final_top_k": 1, "final_questions": 5,
    "llms": ["sim-large", "sim-medium", "sim-small", "sim-tiny"], "judge_llm": "sim-critic",
    "space": SMALL_SPACE,
}


def run_job(env: dict[str, str], work: Path, job: dict[str, Any]) -> int:
    path = work / f"{job['name']}.yaml"
    path.write_text(yaml.safe_dump(job))
    done = subprocess.run([*ITAS, "submit", str(path)], env=env, capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    job_id = int(done.stdout.strip().splitlines()[-1])
    done = subprocess.run([*ITAS, "scheduler", "--once", "--job", str(job_id), "--poll", "0.2"],
                          env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return job_id


def trial_rows(database_url: str, job_id: int) -> list[tuple[int, str, int, float, int]]:
    """Per evaluated trial: (trial, architecture hash, questions answered over all its rungs,
    mean score over them, LLM calls of its evaluations, cache hits included)."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT e.trial_number, min(e.architecture_hash), "
            "(SELECT count(*) FROM answers a JOIN evaluations f ON f.id = a.evaluation_id "
            " WHERE f.job_id = e.job_id AND f.purpose = 'trial' "
            " AND f.trial_number = e.trial_number), "
            "(SELECT avg(a.score) FROM answers a JOIN evaluations f ON f.id = a.evaluation_id "
            " WHERE f.job_id = e.job_id AND f.purpose = 'trial' "
            " AND f.trial_number = e.trial_number), "
            "(SELECT count(*) FROM llm_calls c JOIN evaluations f ON f.id = c.evaluation_id "
            " WHERE f.job_id = e.job_id AND f.purpose = 'trial' "
            " AND f.trial_number = e.trial_number) "
            "FROM evaluations e WHERE e.job_id = %s AND e.purpose = 'trial' "
            "GROUP BY e.job_id, e.trial_number ORDER BY e.trial_number", (job_id,)).fetchall()


def provider_calls(database_url: str, job_id: int, purposes: tuple[str, ...]) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM llm_calls c JOIN evaluations e ON e.id = c.evaluation_id "
            "WHERE e.job_id = %s AND e.purpose = ANY(%s) AND NOT c.cache_hit",
            (job_id, list(purposes))).fetchone()
    return int(row[0]) if row else 0


def llm_calls(database_url: str, job_id: int, purpose: str) -> int:
    """LLM calls of the job's evaluations for ``purpose``, cache hits included: what they
    would have paid without a cache."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM llm_calls c JOIN evaluations e ON e.id = c.evaluation_id "
            "WHERE e.job_id = %s AND e.purpose = %s", (job_id, purpose)).fetchone()
    return int(row[0]) if row else 0


def uncached_figure(database_url: str, job_id: int, *, trials: int, questions: int,
                    command: str) -> dict[str, Any]:
    """`search_calls_vs_uncached_{trials}_trials`: the search's provider calls (power ranking
    and trials, the cache shared by all) ÷ the same trials' calls with no cache and no pruning
    (issue 12), i.e. every evaluated trial paying for all its calls on all ``questions``, as
    Archon's search runs them. A pruned trial's calls on the questions it never reached are
    extrapolated from its calls per question so far (a stack's calls per question vary only by
    its re-asks). The note gives the ratio with the power ranking counted on both sides (an
    Archon search ranks its LLMs too) and the previous baseline (pruned trials counted on the
    questions they reached)."""
    rows = trial_rows(database_url, job_id)
    paid = provider_calls(database_url, job_id, ("power_ranking", "trial"))
    as_run = sum(r[4] for r in rows)
    unpruned = round(sum(r[4] * questions / r[2] for r in rows if r[2]))
    ranking = llm_calls(database_url, job_id, "power_ranking")
    pruned = sum(1 for r in rows if r[2] < questions)
    print(f"   provider calls of the search (power ranking + trials): {paid}")
    print(f"   the {len(rows)} evaluated trials without a cache and without pruning: {unpruned} "
          f"({pruned} pruned, extrapolated); as run (pruned trials on their rungs): {as_run}; "
          f"the power ranking without a cache: {ranking}")
    print(f"   ratio: {paid / unpruned:.3f}; with the power ranking on both sides "
          f"{paid / (unpruned + ranking):.3f}; against the trials as run {paid / as_run:.3f}",
          flush=True)
    goal = "<= 0.33" if trials <= 8 else "<= 0.2" if trials >= 20 else None
    return figure(
        f"search_calls_vs_uncached_{trials}_trials", paid / unpruned, "ratio", goal=goal,
        command=command,
        baseline=f"{unpruned} calls: each of {len(rows)} evaluated trials paying for all its "
                 f"calls on all {questions} questions (no cache, no pruning; {pruned} pruned "
                 f"trials extrapolated); the search (power ranking + trials) paid {paid}",
        note=f"with the power ranking's {ranking} uncached calls in the baseline too (an "
             f"Archon search ranks its LLMs as well): {paid / (unpruned + ranking):.3f}; "
             f"against the trials' calls as run (pruned trials only on the questions they "
             f"reached, the baseline before): {paid / as_run:.3f}")


def sharing(env: dict[str, str], work: Path, trials: int) -> dict[str, Any]:
    demo = yaml.safe_load((REPO / "examples" / "search-demo.yaml").read_text())
    demo["trials"] = trials
    started = time.monotonic()
    job_id = run_job(env, work, demo)
    print(f"A. sharing: search-demo, {demo['trials']} trials, "
          f"{time.monotonic() - started:.0f} s")
    return uncached_figure(env["ITAS_DATABASE_URL"], job_id, trials=trials,
                           questions=demo["questions"],
                           command=f"{COMMAND} --part A --sharing-trials {trials}")


def convergence(env: dict[str, str], work: Path, *, seeds: int, trials: int, questions: int,
                parallel: int) -> None:
    database_url = env["ITAS_DATABASE_URL"]
    small = {**SMALL_JOB, "questions": questions}
    started = time.monotonic()
    exhaustive_job = run_job(env, work, {**small, "name": "bench-exhaustive",
                                          "sampler": "grid", "pruner": "none", "rungs": [1.0],
                                          "trials": 36, "parallel_trials": 4})
    full = {}
    for _, digest, _, score, calls in trial_rows(database_url, exhaustive_job):
        full[digest] = (float(score), int(calls))
    optimum = max(score for score, _ in full.values())
    exhaustive_calls = sum(calls for _, calls in full.values())
    print(f"B. convergence: {len(full)} distinct architectures in a 36-point space, "
          f"{questions} questions; optimum {optimum:.3f}; within 1 point: "
          f"{sum(s >= optimum - 0.01 for s, _ in full.values())}; exhaustive evaluation "
          f"{exhaustive_calls} LLM calls ({time.monotonic() - started:.0f} s)")
    defaults = SearchJob.model_fields
    print(f"   TPE (constant liar) + successive halving, the job defaults: rungs "
          f"{defaults['rungs'].get_default(call_default_factory=True)}, reduction factor "
          f"{defaults['reduction_factor'].default}; {trials} trials, {parallel} in parallel")
    hits = 0
    for seed in range(seeds):
        job_id = run_job(env, work, {**small, "name": f"bench-tpe-{seed}", "sampler": "tpe",
                                     "pruner": "successive_halving", "trials": trials,
                                     "parallel_trials": parallel, "seed": seed})
        rows = trial_rows(database_url, job_id)
        largest: dict[str, tuple[int, float, int]] = {}
        for _, digest, answered, score, calls in rows:
            if digest not in largest or answered > largest[digest][0]:
                largest[digest] = (answered, float(score), int(calls))
        complete = [s for q, s, _ in largest.values() if q == questions]
        best = max(complete, default=0.0)
        calls = sum(c for _, _, c in largest.values())
        ok = best >= optimum - 0.01 and calls <= 0.4 * exhaustive_calls
        hits += ok
        near = "within 1 point of" if best >= optimum - 0.01 else "below"
        print(f"   seed {seed}: best {best:.3f} ({near} the optimum), {len(largest)} "
              f"architectures tried, calls {calls} = {calls / exhaustive_calls:.0%} of "
              f"exhaustive {'ok' if ok else 'MISS'}")
    print(f"   {hits}/{seeds} seeds within 1 point of the optimum with <= 40% of the calls "
          "(criterion >= 9/10)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=20, help="TPE trials per seed (B)")
    parser.add_argument("--questions", type=int, default=200, help="search questions (B)")
    parser.add_argument("--parallel", type=int, default=2, help="parallel trials (B)")
    parser.add_argument("--sharing-trials", type=int, nargs="+", default=[20],
                        help="trials of part A (several: one search each, on its own stack)")
    parser.add_argument("--part", choices=("A", "B", "AB"), default="AB")
    parser.add_argument("--json-out", type=Path, help="write part A's figures here (JSON)")
    args = parser.parse_args()
    figures = []
    if "A" in args.part:
        for trials in args.sharing_trials:
            # A fresh stack per search: nothing cached by the one before.
            with fresh_stack(latency_scale=0.0) as (env, work):
                figures.append(sharing(env, work, trials))
        write_figures(args.json_out, figures)
    if "B" in args.part:
        with fresh_stack(latency_scale=0.0) as (env, work):
            convergence(env, work, seeds=args.seeds, trials=args.trials,
                        questions=args.questions, parallel=args.parallel)


if __name__ == "__main__":
    main()
