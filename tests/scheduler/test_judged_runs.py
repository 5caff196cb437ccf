"""Judged benchmarks end to end on the simulated fleet: `itas run --judge`, a search job with a
``benchmark_judge``, and `itas benchmarks score --predictions --judge`, through real worker
processes, the simulator's judge over HTTP and PostgreSQL.

What a user would notice: an architecture that generates five answers, ranks and fuses them
scores above its generator alone (the paper's effect, as the judge sees it); the judge's calls
are counted apart from the architecture's and cost what they cost; an answer judged once is
never judged again (a rerun pays no judge call); a search finds an architecture above the best
single LLM of its power ranking, and its status and report count the judge's calls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine import Engine, datasets
from tests.scheduler.test_run import single

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    datasets() is None, reason="the public datasets are absent (set ITAS_DATASETS to the "
    "folder holding mt_bench/, alpaca_eval/, arena_hard/, mixeval/; ../shared/datasets)")]

#: The simulated judge: the fleet's strongest LLM, which the architectures below do not use.
JUDGE = "sim-frontier"
#: benchmark -> questions of its search split to run on (MT-Bench's have two turns each).
JUDGED = {"mt-bench": 10, "alpaca-eval": 12, "arena-hard": 12, "mixeval": 24,
          "mixeval-hard": 24}
#: Where a search job finds each benchmark's data, under the datasets folder.
DATA = {"mt-bench": "mt_bench", "alpaca-eval": "alpaca_eval", "arena-hard": "arena_hard",
        "mixeval": "mixeval", "mixeval-hard": "mixeval_hard"}


def generate5_rank_fuse(tmp_path: Path, llm: str) -> str:
    """Five samples of ``llm``, ranked, the best three fused: Archon's basic stack."""
    component = {"model": llm, "model_type": "OpenAI_API", "temperature": 0.7,
                 "max_tokens": 2048}
    path = tmp_path / f"{llm}-g5-rank-fuse.json"
    path.write_text(json.dumps({"name": f"{llm} x5, rank, fuse", "layers": [
        [{"type": "generator", **component, "samples": 5}],
        [{"type": "ranker", **component, "samples": 1, "top_k": 3}],
        [{"type": "fuser", **component, "samples": 1}]]}))
    return str(path)


def run(engine: Engine, arch: str, benchmark: str, *options: str) -> dict[str, Any]:
    return engine.run_json(arch, "--benchmark", benchmark, "--limit", str(JUDGED[benchmark]),
                           "--judge", JUDGE, *options)


@pytest.mark.parametrize("benchmark", list(JUDGED))
def test_generate_rank_fuse_beats_its_generator_and_a_rerun_judges_nothing_again(
        engine: Engine, tmp_path: Path, benchmark: str) -> None:
    alone = run(engine, single(tmp_path, "sim-medium"), benchmark)
    stacked = run(engine, generate5_rank_fuse(tmp_path, "sim-medium"), benchmark)
    for out in (alone, stacked):
        judged = out["judged"]
        assert out["failed_questions"] == 0 and judged is not None
        # Scores come from verdicts: judge calls were made and read.
        assert out["judge_calls"] >= 1 and judged["n"] >= JUDGED[benchmark] - 1
        assert judged["score"] is not None and out["score"] is not None
        assert out["judge_cost_usd"] > 0 and out["judge_cost_usd"] <= out["cost_usd"]
    assert stacked["score"] > alone["score"], (alone["judged"], stacked["judged"])
    print(f"{benchmark}: alone {alone['judged']}, stacked {stacked['judged']}")

    again = run(engine, generate5_rank_fuse(tmp_path, "sim-medium"), benchmark)
    assert again["judge_calls"] == stacked["judge_calls"]
    assert again["judge_provider_calls"] == 0 and again["provider_calls"] == 0
    assert again["score"] == stacked["score"]


def test_mixeval_multiple_choice_asks_the_judge_only_where_the_rule_reads_no_option(
        engine: Engine, tmp_path: Path) -> None:
    part = ("--option", "parts=[multiple_choice]")
    alone = run(engine, single(tmp_path, "sim-small"), "mixeval-hard", *part)
    stacked = run(engine, generate5_rank_fuse(tmp_path, "sim-small"), "mixeval-hard", *part)
    for out in (alone, stacked):
        judged = out["judged"]
        assert judged["figures"]["multiple_choice_n"] == JUDGED["mixeval-hard"]
        assert judged["figures"]["free_form_n"] == 0
        # The rule reads most replies' option; the judge extracts it from the others only.
        assert out["judge_calls"] < JUDGED["mixeval-hard"]
    assert stacked["score"] > alone["score"], (alone["judged"], stacked["judged"])


def test_a_judged_run_needs_its_judge(engine: Engine, tmp_path: Path) -> None:
    done = engine.itas("run", single(tmp_path, "sim-medium"), "--benchmark", "mt-bench",
                       "--limit", "2")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "itas: error: mt-bench is scored by an LLM judge: name it with --judge LLM (an LLM "
        "of `itas llms`)")
    done = engine.itas("run", single(tmp_path, "sim-medium"), "--benchmark", "mt-bench",
                       "--limit", "2", "--judge", "gpt-7")
    assert done.returncode == 2 and "--judge: unknown LLM 'gpt-7'" in done.stderr


def search_job(tmp_path: Path, benchmark: str) -> Path:
    job = {
        "name": f"judged-{benchmark}", "benchmark": benchmark, "benchmark_judge": JUDGE,
        "data": str(datasets() / DATA[benchmark]),  # type: ignore[operator]
        "questions": JUDGED[benchmark], "final_questions": 4, "final_top_k": 1,
        "llms": ["sim-medium", "sim-small", "sim-tiny"], "judge_llm": "sim-medium",
        "space": {"generators": [1, 3], "samples": [1, 3], "fusion_layers": [0, 1],
                  "fusers_per_layer": [1], "critic": [False], "ranker": [False, True],
                  "ranker_top_k": [3], "final_check": ["none"], "temperature": [0.7],
                  "max_tokens": [1024]},
        "sampler": "random", "pruner": "none", "rungs": [1.0],
        "trials": 6, "parallel_trials": 3, "seed": 1,
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    return path


@pytest.mark.parametrize("benchmark", list(JUDGED))
def test_a_six_trial_search_beats_the_best_single_llm_and_counts_the_judge(
        engine: Engine, tmp_path: Path, benchmark: str) -> None:
    submitted = engine.itas("submit", str(search_job(tmp_path, benchmark)))
    assert submitted.returncode == 0, submitted.stderr[-2000:]
    job_id = submitted.stdout.strip().splitlines()[-1]
    done = engine.itas("scheduler", "--once", "--job", job_id, "--poll", "0.2", timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]

    status = json.loads(engine.itas("status", job_id, "--json").stdout)
    assert status["state"] == "completed"
    totals = status["totals"]
    assert totals["judge_calls"] > 0 and 0 < totals["judge_cost_usd"] <= totals["cost_usd"]
    text = engine.itas("status", job_id).stdout
    assert f"of which the benchmark's judge: {totals['judge_calls']} calls" in text

    report = json.loads(engine.itas("report", job_id, "--json").stdout)
    singles = [e["score"] for e in report["power_ranking"] if e["score"] is not None]
    trials = [t for t in report["leaderboard"] if t["outcome"] == "completed"]
    assert len(singles) == 3 and len(trials) >= 3
    assert max(t["score"] for t in trials) > max(singles), (singles, trials)
    # Each trial's row carries the benchmark's own figure with its interval.
    best = max(trials, key=lambda t: t["score"])
    assert best["ci_low"] is not None and best["ci_low"] <= best["judged_score"] \
        <= best["ci_high"]
    html = tmp_path / "report.html"
    assert engine.itas("report", job_id, "--html", str(html)).returncode == 0
    page = html.read_text(encoding="utf-8")
    assert "judged [95% CI]" in page
    assert f"of which the benchmark's judge: {totals['judge_calls']} calls" in page


def arena_hard_answers(tmp_path: Path, llm: str, rows: int) -> Path:
    """The first ``rows`` of a real Arena-Hard answers file (arena-hard-auto's format)."""
    source = datasets() / "arena_hard" / "model_answer" / f"{llm}.jsonl"  # type: ignore[operator]
    with source.open(encoding="utf-8") as lines:
        kept = [line for _, line in zip(range(rows), lines, strict=False)]
    path = tmp_path / f"{llm}.jsonl"
    path.write_text("".join(kept), encoding="utf-8")
    return path


def test_real_answer_files_are_judged_through_the_workers_in_the_published_order(
        engine: Engine, tmp_path: Path) -> None:
    """The Arena-Hard answers of gpt-4-0613 and gpt-3.5-turbo-0125 against gpt-4-0314's, by the
    simulated judge: both below the baseline's 50 and in the published order (37.9 > 23.3).
    The simulator did not write these answers: it grades them by length and structure."""
    scores = {}
    for llm in ("gpt-4-0613", "gpt-3.5-turbo-0125"):
        path = arena_hard_answers(tmp_path, llm, 40)
        done = engine.itas("benchmarks", "score", "arena-hard", "--predictions", str(path),
                           "--judge", JUDGE, "--json")
        assert done.returncode == 0, done.stderr[-2000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        judged = out["judged"]
        assert out["judge_calls"] == 80 and judged["n"] == 40 and judged["unparsed"] == 0
        assert judged["ci_low"] <= judged["score"] <= judged["ci_high"]
        scores[llm] = judged["score"]
        again = json.loads(engine.itas("benchmarks", "score", "arena-hard", "--predictions",
                                       str(path), "--judge", JUDGE, "--json"
                                       ).stdout.strip().splitlines()[-1])
        assert again["judge_provider_calls"] == 0 and again["judged"] == judged
    assert 50 > scores["gpt-4-0613"] > scores["gpt-3.5-turbo-0125"], scores


def test_the_same_questions_against_another_baseline_are_judged_against_that_baseline(
        engine: Engine, tmp_path: Path) -> None:
    """A question row is written once, but its baseline is the run's: Arena-Hard against
    gpt-4-0314's answers (the default), then against gpt-3.5-turbo-0125's, then the default
    again. The second makes new judge calls only (other prompts); the third none."""
    arch = single(tmp_path, "sim-medium")
    first = run(engine, arch, "arena-hard")
    other = run(engine, arch, "arena-hard", "--option", "baseline=gpt-3.5-turbo-0125")
    again = run(engine, arch, "arena-hard")
    assert first["judge_provider_calls"] == first["judge_calls"] > 0
    assert other["judge_provider_calls"] == other["judge_calls"] == first["judge_calls"]
    assert again["judge_provider_calls"] == 0 and again["judged"] == first["judged"]
    # A weaker baseline: the same answers win more of their games against it.
    assert other["judged"]["score"] > first["judged"]["score"]


def test_a_baseline_architecture_answers_first_and_the_judge_compares_with_it(
        engine: Engine, tmp_path: Path) -> None:
    """Arena-Hard and MT-Bench's pairwise mode against an architecture instead of an answers
    file: a stronger baseline makes the same architecture score lower, and one equal to the
    architecture makes it score about even."""
    arch = single(tmp_path, "sim-medium")
    weak = run(engine, arch, "arena-hard", "--baseline-architecture",
               single(tmp_path, "sim-tiny"))
    strong = run(engine, arch, "arena-hard", "--baseline-architecture",
                 generate5_rank_fuse(tmp_path, "sim-large"))
    for out in (weak, strong):
        assert out["baseline_evaluation_id"] is not None and out["judged"]["n"] >= 11
    assert weak["judged"]["score"] > 50 > strong["judged"]["score"], (weak, strong)

    pairwise = ("--option", "mode=pairwise")
    even = run(engine, arch, "mt-bench", *pairwise, "--baseline-architecture", arch)
    # Win 1, tie 0.5, loss 0 per turn, the two orders merged: itself as baseline is even
    # but for the judge's noise and position bias.
    assert 0.3 <= even["score"] <= 0.7, even["judged"]
    done = engine.itas("run", arch, "--benchmark", "mt-bench", "--limit", "2", "--judge",
                       JUDGE, *pairwise)
    assert done.returncode == 2
    assert "pairwise judging needs a baseline's answers" in done.stderr
    done = engine.itas("run", arch, "--benchmark", "mt-bench", "--limit", "2", "--judge",
                       JUDGE, "--baseline-architecture", arch)
    assert done.returncode == 2 and "judges each answer on its own" in done.stderr


def test_a_jobs_baseline_architecture_is_made_once_and_reused(
        engine: Engine, tmp_path: Path) -> None:
    baseline = json.loads(Path(single(tmp_path, "sim-small")).read_text())
    path = search_job(tmp_path, "arena-hard")
    job = yaml.safe_load(path.read_text())
    (tmp_path / "baseline.json").write_text(json.dumps(baseline))
    job.update(baseline_architecture="baseline.json", trials=3, final_top_k=1)
    path.write_text(yaml.safe_dump(job))
    submitted = engine.itas("submit", str(path))
    assert submitted.returncode == 0, submitted.stderr[-2000:]
    job_id = submitted.stdout.strip().splitlines()[-1]
    done = engine.itas("scheduler", "--once", "--job", job_id, "--poll", "0.2", timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(engine.itas("status", job_id, "--json").stdout)["state"] == "completed"
    import psycopg

    with psycopg.connect(engine.env["ITAS_DATABASE_URL"]) as conn:
        made = conn.execute(
            "SELECT count(*), max(jsonb_array_length(question_ids)) FROM evaluations "
            "WHERE job_id = %s AND purpose = 'baseline'", (int(job_id),)).fetchone()
        sources = conn.execute(
            "SELECT count(DISTINCT judge_definition ->> 'baseline_source') FROM evaluations "
            "WHERE job_id = %s AND purpose = 'power_ranking'", (int(job_id),)).fetchone()
    # One baseline evaluation, on the search and the held-out questions.
    assert made == (1, JUDGED["arena-hard"] + 4)
    assert sources == (1,)
