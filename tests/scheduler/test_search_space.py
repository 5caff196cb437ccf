"""The search space: every trial becomes a valid Archon architecture in the paper's order, its
cost per question is counted as the techniques would spend it, and a budget excludes it with a
reason. Pure: no service, no LLM call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pytest

from models.architecture import Architecture, architecture_hash, parse_architecture
from models.call_plan import INSTRUCTION_TOKENS, LISTING_TOKENS, MAX_ATTEMPTS
from models.endpoints import Registry, load_registry, parse_registry
from models.search_job import Budget, SearchJob
from models.search_job_reader import load_search_job, parse_search_job
from scheduler.search_space import (
    AXES,
    CostEstimate,
    build_architecture,
    estimate_cost,
    grid_points,
    grid_space,
    model_type_for,
    over_budget,
    space_size,
    suggest,
    survey,
)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "search-demo.yaml"
EXAMPLES = ROOT / "examples" / "architectures"
FLEET = ["sim-frontier", "sim-large", "sim-critic", "sim-medium", "sim-small", "sim-tiny"]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(None, simulator_url="http://127.0.0.1:8300")


def default_job(registry: Registry, **fields: Any) -> SearchJob:
    job, _ = parse_search_job({"name": "t", "benchmark": "synth-math", "llms": FLEET, **fields},
                              registry=registry)
    return job


def params(**picked: Any) -> dict[str, Any]:
    base = {"generators": 1, "samples": 1, "fusion_layers": 0, "fusers_per_layer": 1,
            "critic": False, "ranker": False, "ranker_top_k": 5, "final_check": "none",
            "temperature": 0.7, "max_tokens": 1024}
    return {**base, **picked}


def types(arch: Architecture | dict[str, Any]) -> list[str]:
    layers = arch.layers if isinstance(arch, Architecture) else arch["layers"]
    return [_kind(layer) for layer in layers]


def _kind(layer: list[Any]) -> str:
    kinds = {c.type.value if not isinstance(c, dict) else c["type"] for c in layer}
    assert len(kinds) == 1, kinds
    return kinds.pop()


def every_architecture(job: SearchJob, registry: Registry) -> list[tuple[dict[str, Any],
                                                                         Architecture]]:
    built = []
    for point in grid_points(job.space):
        arch, _ = parse_architecture(build_architecture(point, job.llms, job, registry=registry),
                                     source=json.dumps(point))
        built.append((point, arch))
    return built


def test_every_architecture_of_the_default_grid_is_valid(registry: Registry) -> None:
    job = default_job(registry)
    built = every_architecture(job, registry)  # parse_architecture raises on any error
    assert len(built) == space_size(job.space) == 1620
    hashes = {architecture_hash(arch) for _, arch in built}
    names = {arch.name for _, arch in built}
    assert len(hashes) == len(names) == 882  # a distinct name for each distinct stack


def test_every_architecture_of_the_demo_grid_is_valid(registry: Registry) -> None:
    job, _ = load_search_job(DEMO, registry=registry)
    assert len(every_architecture(job, registry)) == space_size(job.space) == 432


def test_an_explicit_fuser_llm_and_wide_layers_stay_valid(registry: Registry) -> None:
    job = default_job(registry, fuser_llm="sim-large", judge_llm="sim-critic",
                      space={"fusers_per_layer": [4], "samples": [5], "ranker_top_k": [1, 9]})
    for _, arch in every_architecture(job, registry):
        fusers = [c for layer in arch.layers for c in layer if c.type.value == "fuser"]
        assert {c.model for c in fusers} <= {"sim-large"}
        judges = [c for layer in arch.layers for c in layer
                  if c.type.value not in ("fuser", "generator")]
        assert {c.model for c in judges} <= {"sim-critic"}


def test_the_ordering_rules_hold_over_the_whole_grid(registry: Registry) -> None:
    job = default_job(registry)
    for point, arch in every_architecture(job, registry):
        kinds = types(arch)
        if point["final_check"] == "unit_tests":
            assert kinds[:2] == ["unit_test_generator", "generator"]
            kinds = kinds[1:]
        assert kinds[0] == "generator" and "generator" not in kinds[1:]
        assert "unit_test_generator" not in kinds
        stages = _stages(kinds[1:])
        assert len(stages) == max(point["fusion_layers"], 1)
        for i, stage in enumerate(stages):
            last = i == len(stages) - 1
            order = ["critic", "ranker", "verifier", "unit_test_evaluator", "fuser"]
            assert stage == sorted(stage, key=order.index), stage  # critic < ranker < ... fuser
            assert stage.count("fuser") == (1 if point["fusion_layers"] else 0)
            assert ("critic" in stage) == point["critic"]
            checks = {"verifier", "unit_test_evaluator"} & set(stage)
            assert not checks or last  # verifier and unit tests only before the last fuser
        if point["fusion_layers"]:
            last_fusers = arch.layers[-1]
            assert len(last_fusers) == 1 and last_fusers[0].samples == 1  # one answer


def _stages(kinds: list[str]) -> list[list[str]]:
    stages: list[list[str]] = [[]]
    for kind in kinds:
        stages[-1].append(kind)
        if kind == "fuser":
            stages.append([])
    return [s for s in stages if s] or [[]]


def test_suggest_with_a_fixed_trial_gives_the_documented_architecture(
        registry: Registry) -> None:
    job = default_job(registry, judge_llm="sim-critic")
    picked = params(generators=3, samples=5, fusion_layers=1, critic=True, ranker=True,
                    final_check="verifier")
    trial_params = suggest(optuna.trial.FixedTrial(picked), job.space)
    assert trial_params == picked
    arch = build_architecture(trial_params, ["sim-large", "sim-frontier", "sim-medium",
                                             "sim-small"], job, registry=registry)
    assert arch["name"] == "3g x5 > critic > rank5 > verify > fuse"
    assert types(arch) == ["generator", "critic", "ranker", "verifier", "fuser"]
    assert [c["model"] for c in arch["layers"][0]] == ["sim-large", "sim-frontier",
                                                       "sim-medium"]
    assert all(c["samples"] == 5 and c["temperature"] == 0.7 and c["max_tokens"] == 1024
               for c in arch["layers"][0])
    assert arch["layers"][2][0] == {
        "type": "ranker", "model": "sim-critic", "model_type": "OpenAI_API",
        "temperature": 0.7, "max_tokens": 1024, "top_k": 5, "use_critiques": True}
    assert arch["layers"][4][0]["model"] == "sim-large"  # fuser: the best-ranked LLM


@pytest.mark.parametrize(("picked", "name", "kinds"), [
    (params(), "1g x1", ["generator"]),
    (params(generators=2, samples=3), "2g x3 > first", ["generator"]),
    (params(generators=2, samples=3, ranker=True), "2g x3 > rank1", ["generator", "ranker"]),
    (params(generators=2, samples=3, ranker=True, final_check="verifier"),
     "2g x3 > rank5 > verify", ["generator", "ranker", "verifier"]),
    (params(samples=5, final_check="unit_tests"), "tests > 1g x5 > test1",
     ["unit_test_generator", "generator", "unit_test_evaluator"]),
    (params(samples=3, fusion_layers=2, fusers_per_layer=3, ranker=True),
     "1g x3 > rank3 > 3 fusers > rank3 > fuse",
     ["generator", "ranker", "fuser", "ranker", "fuser"]),
    (params(fusion_layers=1, ranker=True), "1g x1 > fuse", ["generator", "fuser"]),
    (params(samples=5, fusion_layers=1, final_check="unit_tests", ranker_top_k=2),
     "tests > 1g x5 > test2 > fuse",
     ["unit_test_generator", "generator", "unit_test_evaluator", "fuser"]),
])
def test_rules_of_thumb_for_small_stacks(picked: dict[str, Any], name: str, kinds: list[str],
                                         registry: Registry) -> None:
    job = default_job(registry)
    arch = build_architecture(picked, FLEET, job, registry=registry)
    assert (arch["name"], types(arch)) == (name, kinds)
    parse_architecture(arch)


def test_fusers_are_the_best_ranked_llms_wrapping_around(registry: Registry) -> None:
    job = default_job(registry, llms=["sim-large", "sim-tiny"])
    arch = build_architecture(params(fusion_layers=2, fusers_per_layer=3), ["sim-tiny",
                                                                            "sim-large"], job)
    assert [(c["model"], c["samples"]) for c in arch["layers"][1]] == [("sim-tiny", 2),
                                                                       ("sim-large", 1)]
    assert [(c["model"], c["samples"]) for c in arch["layers"][2]] == [("sim-tiny", 1)]


def test_temperature_and_max_tokens_are_named_when_the_space_varies_them(
        registry: Registry) -> None:
    job = default_job(registry, space={"temperature": [0.2, 0.7], "max_tokens": [512, 1024]})
    arch = build_architecture(params(temperature=0.2, max_tokens=512), FLEET, job)
    assert arch["name"] == "1g x1 @t0.2 512tok"


def test_model_type_follows_what_the_endpoint_serves() -> None:
    registry = parse_registry({
        "endpoints": {"together": {"kind": "openai", "base_url": "https://t.example/v1",
                                   "model_types": ["Together_API"]},
                      "any": {"kind": "openai", "base_url": "https://a.example/v1"}},
        "llms": {"qwen": {"endpoint": "together", "price_in_per_mtok": 1,
                          "price_out_per_mtok": 1},
                 "local": {"endpoint": "any", "price_in_per_mtok": 0, "price_out_per_mtok": 0}},
    }, "r.yaml", simulator_url=None)
    assert model_type_for("qwen", registry) == "Together_API"
    assert model_type_for("local", registry) == "OpenAI_API"
    job, _ = parse_search_job({"name": "t", "benchmark": "synth-math",
                               "llms": ["qwen", "local"]}, registry=registry)
    arch = build_architecture(params(generators=2, fusion_layers=1), ["qwen", "local"], job,
                              registry=registry)
    assert [c["model_type"] for c in arch["layers"][0]] == ["Together_API", "OpenAI_API"]


def test_params_missing_an_axis_are_refused(registry: Registry) -> None:
    picked = params()
    del picked["critic"]
    with pytest.raises(KeyError, match="critic"):
        build_architecture(picked, FLEET, default_job(registry))


# -- cost -------------------------------------------------------------------------------------

def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


def test_generate10_rank5_fuse_is_12_calls_at_most_3_attempts_each_priced_by_the_registry(
        registry: Registry) -> None:
    cost = estimate_cost(_example("generate10-rank5-fuse"), registry, prompt_tokens=100)
    shown = 2048 + LISTING_TOKENS  # a candidate of max_tokens 2048, numbered in the prompt
    # Every call asked 3 times and writing max_tokens (2048):
    # generator x10: 100 in on sim-large ($2/$6 per Mtok);
    # ranker: 100 + 10 candidates in on sim-critic ($1/$3);
    # fuser: 100 + the 5 ranked best in on sim-frontier ($5/$15).
    # (each call also reads the technique's own instructions, INSTRUCTION_TOKENS)
    gen_in, rank_in, fuse_in = (p + INSTRUCTION_TOKENS for p in
                                (100, 100 + 10 * shown, 100 + 5 * shown))
    assert (cost.calls, cost.tokens_in, cost.tokens_out) == (
        36, 3 * (10 * gen_in + rank_in + fuse_in), 36 * 2048)
    assert cost.usd == pytest.approx(3 * (
        10 * (gen_in * 2 + 2048 * 6) + (rank_in * 1 + 2048 * 3) + (fuse_in * 5 + 2048 * 15)
    ) / 1e6)


@pytest.mark.parametrize(("example", "calls"), [
    # 3 generators x3 = 9, critic 1, ranker 1, fuser x3 = 3, verifier 1 per fused = 3; the
    # verifier's first_k 1 hands on one candidate, which the last ranker does not call for
    ("generate-critique-rank-fuse-verify", 17),
    # unit_test_generator 1, generator x5 = 5, unit_test_evaluator 1 per candidate = 5
    ("unit-tests-first", 11),
    # 4 generators, 2 fusers, 1 fuser
    ("legacy-moa", 7),
])
def test_calls_are_counted_as_the_techniques_plan_them(example: str, calls: int,
                                                       registry: Registry) -> None:
    cost = estimate_cost(_example(example), registry, prompt_tokens=10)
    assert cost.calls == calls * MAX_ATTEMPTS
    # A two-turn question (MT-Bench) runs the architecture once per turn.
    assert estimate_cost(_example(example), registry, prompt_tokens=10, turns=2).calls \
        == 2 * calls * MAX_ATTEMPTS


def test_critiques_shown_to_a_fuser_and_output_capped_by_max_tokens(registry: Registry) -> None:
    def comp(kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "model": "sim-tiny", "model_type": "OpenAI_API",
                "temperature": 0.7, "max_tokens": 30, **fields}
    arch = {"name": "t", "layers": [[comp("generator", samples=2)], [comp("critic")],
                                    [comp("ranker", top_k=1)], [comp("fuser")]]}
    cost = estimate_cost(arch, registry, prompt_tokens=100)
    item = 30 + LISTING_TOKENS  # a candidate (at most max_tokens 30) as listed in a prompt
    critiques = 30 + LISTING_TOKENS  # the critic's one reply (30), a header per candidate
    # generator 2 x 100; critic 100 + 2 candidates; the ranker shows the critiques whenever a
    # critic wrote some (use_critiques or not): 100 + 2 candidates + critiques; fuser 100 +
    # 1 candidate + critiques. Every call asked 3 times, writing max_tokens 30.
    assert cost.calls == 5 * 3
    assert cost.tokens_in == 3 * (200 + (100 + 2 * item) + (100 + 2 * item + critiques + 16)
                                  + (100 + item + critiques) + 5 * INSTRUCTION_TOKENS)
    assert cost.tokens_out == 15 * 30
    single = {"name": "t", "layers": [[comp("generator")], [comp("ranker", top_k=1)]]}
    assert estimate_cost(single, registry, prompt_tokens=1).calls == 1 * 3


def test_over_budget_names_the_limit_and_the_figures() -> None:
    estimate = CostEstimate(calls=12, tokens_in=1950, tokens_out=600, usd=0.00825)
    assert over_budget(estimate, Budget(), 100) is None
    assert over_budget(estimate, Budget(calls_per_question=12, usd_per_question=0.01),
                       100) is None
    assert over_budget(estimate, Budget(calls_per_question=10), 100) == (
        "budget.calls_per_question: estimated 12 per question, limit 10")
    assert over_budget(estimate, Budget(usd_per_question=0.005), 1) == (
        "budget.usd_per_question: estimated $0.0083 per question, limit $0.0050")
    assert over_budget(estimate, Budget(tokens_per_question=2000), 1) == (
        "budget.tokens_per_question: estimated 2,550 per question, limit 2,000")
    assert over_budget(estimate, Budget(total_usd=0.5), 100) == (
        "budget.total_usd: estimated $0.8250 for 100 questions, limit $0.5000")
    assert over_budget(estimate, Budget(total_calls=1500), 100) is None
    assert over_budget(estimate, Budget(total_calls=1500), 100,
                       spent=CostEstimate(calls=400)) == (
        "budget.total_calls: estimated 1,600 for 100 questions (400 already spent), "
        "limit 1,500")


def test_the_demo_budget_excludes_some_architectures_but_not_most(registry: Registry) -> None:
    job, _ = load_search_job(DEMO, registry=registry)
    found = survey(job, registry)
    assert found is not None and found.points == 432
    assert 0 < found.over_budget < found.distinct / 2
    assert found.example_reason is not None and "budget." in found.example_reason
    assert found.usd_range is not None and found.usd_range[0] < 0.55 < found.usd_range[1]


# -- samplers ---------------------------------------------------------------------------------

def test_grid_sampler_visits_every_point_once(registry: Registry) -> None:
    job = default_job(registry, space={"generators": [1, 2], "samples": [1, 3],
                                       "fusion_layers": [0, 1], "fusers_per_layer": [1],
                                       "final_check": ["none", "verifier"]})
    assert grid_space(job.space).keys() == set(AXES)
    size = space_size(job.space)
    assert size == 2 * 2 * 2 * 2 * 2 * 2 == len(list(grid_points(job.space)))
    study = optuna.create_study(sampler=optuna.samplers.GridSampler(grid_space(job.space),
                                                                    seed=0))
    seen: set[str] = set()

    def objective(trial: optuna.Trial) -> float:
        picked = suggest(trial, job.space)
        seen.add(json.dumps(picked, sort_keys=True))
        parse_architecture(build_architecture(picked, job.llms, job))
        return 0.0

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=size + 5)
    assert len(study.trials) == size == len(seen)


@pytest.mark.parametrize("sampler", [optuna.samplers.TPESampler(seed=0),
                                     optuna.samplers.RandomSampler(seed=0)])
def test_other_samplers_propose_valid_architectures(sampler: optuna.samplers.BaseSampler,
                                                    registry: Registry) -> None:
    job = default_job(registry)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=sampler)
    for _ in range(15):
        trial = study.ask()
        arch, _ = parse_architecture(build_architecture(suggest(trial, job.space), job.llms,
                                                        job, registry=registry))
        study.tell(trial, -estimate_cost(arch, registry, prompt_tokens=100).usd)
    assert len(study.trials) == 15


def test_a_judged_benchmarks_judge_calls_count_in_the_estimate_and_the_budget(
        registry: Registry, tmp_path: Path) -> None:
    from scheduler.cost_estimate import job_estimate

    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"question_id": 1, "category": "writing", "turns": ["a", "b"]}\n')
    judged = default_job(registry, benchmark="mt-bench", data=str(questions),
                         benchmark_judge="sim-frontier")
    arch = build_architecture(params(), judged.llms, judged, registry=registry)
    own = estimate_cost(arch, registry, prompt_tokens=judged.estimate.prompt_tokens, turns=2)
    with_judge = job_estimate(arch, registry, judged)
    # MT-Bench: one grade per turn, each shown the question and the answer (and a reference),
    # each asked up to 3 times (a verdict that cannot be read is asked again).
    assert with_judge.calls == own.calls + 2 * 3 and with_judge.usd > own.usd
    assert job_estimate(arch, registry, default_job(registry)) == estimate_cost(
        arch, registry, prompt_tokens=judged.estimate.prompt_tokens)  # one turn, no judge
    # A per-question limit between the two: the judge's calls tip the architecture over it.
    limit = (own.usd + with_judge.usd) / 2
    over = default_job(registry, benchmark="mt-bench", data=str(questions),
                       benchmark_judge="sim-frontier", budget={"usd_per_question": limit})
    assert survey(over, registry).over_budget > 0  # type: ignore[union-attr]
