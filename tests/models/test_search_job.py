"""Search job files: the example loads; every broken file is refused with the path of each
error, all errors at once; typos are warnings naming the intended key. Pure: no service."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.endpoints import Registry, load_registry
from models.errors import InvalidSearchJob, UserError
from models.search_job import (
    Benchmark,
    FinalCheck,
    Pruner,
    Sampler,
    SearchJob,
)
from models.search_job_reader import load_search_job, parse_search_job

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "search-demo.yaml"
FLEET = ["sim-frontier", "sim-large", "sim-critic", "sim-medium", "sim-small", "sim-tiny"]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(None, simulator_url="http://127.0.0.1:8300")


def job(**fields: Any) -> dict[str, Any]:
    return {"name": "t", "benchmark": "synth-math", "llms": FLEET[:3], **fields}


def errors_of(data: Any, registry: Registry, **kw: Any) -> list[str]:
    with pytest.raises(InvalidSearchJob) as caught:
        parse_search_job(data, "job.yaml", registry=registry, **kw)
    exc = caught.value
    lines = exc.details or [exc.summary]
    assert all(line.startswith("job.yaml: ") for line in lines)
    return [line.removeprefix("job.yaml: ") for line in lines]


def test_the_demo_file_loads_without_errors_or_warnings(registry: Registry) -> None:
    loaded, warnings = load_search_job(DEMO, registry=registry)
    assert warnings == []
    assert loaded.name == "search-demo" and loaded.benchmark is Benchmark.SYNTH_MATH
    assert loaded.llms == FLEET and loaded.judge_llm == "sim-critic"
    assert loaded.questions == 40 and loaded.trials == 8 and loaded.parallel_trials == 4
    assert loaded.sampler is Sampler.TPE and loaded.pruner is Pruner.SUCCESSIVE_HALVING
    assert loaded.space.generators == [1, 2, 3]
    assert loaded.space.final_check == [FinalCheck.NONE, FinalCheck.VERIFIER]
    assert loaded.budget.usd_per_question == 0.55 and loaded.budget.total_tokens is None


def test_defaults_are_the_papers(registry: Registry) -> None:
    loaded, warnings = parse_search_job(
        {"name": "d", "benchmark": "synth-math", "llms": FLEET}, registry=registry)
    assert warnings == []
    assert loaded.search_fraction == 0.2 and loaded.final_top_k == 3
    assert loaded.space.generators == [1, 2, 3, 4, 5]  # 1..len(llms), capped at 5
    assert loaded.space.samples == [1, 3, 5] and loaded.space.fusion_layers == [0, 1, 2]
    assert loaded.space.fusers_per_layer == [1, 2, 3] and loaded.space.ranker_top_k == [5]
    assert loaded.space.critic == [False, True] and loaded.space.ranker == [False, True]
    assert loaded.space.final_check == list(FinalCheck)
    assert loaded.rungs == [0.11, 0.33, 1.0] and loaded.reduction_factor == 3
    assert loaded.trials == 20 and loaded.seed == 0
    assert loaded.sampler is Sampler.TPE and loaded.pruner is Pruner.WILCOXON
    assert loaded.judge(["sim-large", "sim-frontier"]) == "sim-large"  # best-ranked
    few, _ = parse_search_job(job(llms=["sim-large", "sim-tiny"]), registry=registry)
    assert few.space.generators == [1, 2]


MALFORMED: list[tuple[str, dict[str, Any], list[str]]] = [
    ("not a mapping at the top", ["name"], ["(top level): expected a mapping"]),
    ("name missing", {"benchmark": "synth-math", "llms": ["sim-large"]},
     ["name: required, expected a non-empty string"]),
    ("empty name", job(name=""), ['name: expected a non-empty string (at most 100 characters), '
                                  'got ""']),
    ("unknown benchmark", job(benchmark="mmlu"),
     # a prefix: the judged benchmarks of issue 23 follow mt-bench in the list
     ["benchmark: expected one of synth-math, gsm8k, math, mixeval-hard-mc, mixeval-hard-free, "
      "mt-bench, "]),
    ("gsm8k without data", job(benchmark="gsm8k"), ["data: required for gsm8k"]),
    ("split out of range", job(search_fraction=1.5),
     ["search_fraction: expected a number between 0 and 1 (exclusive), got 1.5"]),
    ("no LLMs", job(llms=[]), ["llms: expected a non-empty list of LLM names"]),
    ("unknown LLM", job(llms=["sim-large", "sim-larg"]),
     ["llms[1]: unknown LLM 'sim-larg' (close matches: sim-large"]),
    ("LLM twice", job(llms=["sim-large", "sim-tiny", "sim-large"]),
     ["llms[2]: 'sim-large' is already llms[0]"]),
    ("unknown judge", job(judge_llm="gpt-5-judge"), ["judge_llm: unknown LLM 'gpt-5-judge'"]),
    ("samples not counts", job(space={"samples": [1, 0, "3"]}),
     ["space.samples[1]: expected an integer from 1 to 10000, got 0",
      "space.samples[2]: expected an integer from 1 to 10000, got \"3\""]),
    ("choices above the limits", job(space={"samples": [1, 10_001], "max_tokens": [2_000_001],
                                            "ranker_top_k": [5000]}),
     ["space.samples[1]: expected an integer from 1 to 10000, got 10001",
      "space.ranker_top_k[0]: expected an integer from 1 to 1000, got 5000",
      "space.max_tokens[0]: expected an integer from 1 to 2000000, got 2000001"]),
    ("trials above the limits", job(trials=10001, parallel_trials=65),
     ["trials: expected an integer from 1 to 10000, got 10001",
      "parallel_trials: expected an integer from 1 to 64, got 65"]),
    ("more generators than LLMs", job(space={"generators": [1, 4]}),
     ["space.generators[1]: expected at most 3 (the LLMs in llms), got 4"]),
    ("an empty axis", job(space={"critic": []}),
     ["space.critic: expected a non-empty list of true/false, got an empty list"]),
    ("unknown final check", job(space={"final_check": ["none", "verify"]}),
     ["space.final_check[1]: expected one of none, verifier, unit_tests, got \"verify\""]),
    ("duplicate choice", job(space={"samples": [1, 3, 3]}),
     ["space.samples[2]: 3 is already a choice"]),
    ("temperature out of range", job(space={"temperature": [0.7, 2.5]}),
     ["space.temperature[1]: expected a number from 0 to 2, got 2.5"]),
    ("negative dollars", job(budget={"usd_per_question": -1}),
     ["budget.usd_per_question: expected a number of dollars > 0, got -1"]),
    ("a number YAML read as text", job(budget={"total_usd": "1e-2"}),
     ['budget.total_usd: expected a number of dollars > 0, got "1e-2" (a string: YAML reads '
      "1e-2 as text, write 0.01 or 1.0e-2)"]),
    ("budget not a mapping", job(budget=5), ["budget: expected a mapping of calls_per_question"]),
    ("unknown sampler", job(sampler="cmaes"),
     ["sampler: expected one of tpe, gp, random, grid, nsga2, got \"cmaes\""]),
    ("unknown pruner", job(pruner="asha"), ["pruner: expected one of successive_halving"]),
    ("rungs shrinking", job(rungs=[0.5, 0.25, 1.0]),
     ["rungs[1]: expected more than 0.5 (rungs grow), got 0.25"]),
    ("rungs not ending at 1", job(rungs=[0.25, 0.5]),
     ["rungs[1]: the last rung must be 1.0 (all the search questions), got 0.5"]),
    ("reduction factor of one", job(reduction_factor=1),
     ["reduction_factor: expected an integer >= 2, got 1"]),
    ("pruning a multi-objective study", job(sampler="nsga2", pruner="median"),
     ["pruner: nsga2 searches score and cost together"]),
    ("zero trials, a boolean seed", job(trials=0, seed=True),
     ["trials: expected an integer from 1 to 10000, got 0",
      "seed: expected an integer >= 0, got true"]),
]


@pytest.mark.parametrize(("data", "expected"), [(d, e) for _, d, e in MALFORMED],
                         ids=[name for name, _, _ in MALFORMED])
def test_malformed_job_is_refused_with_the_path_of_each_error(
        data: Any, expected: list[str], registry: Registry) -> None:
    errors = errors_of(data, registry)
    assert len(errors) == len(expected), errors
    for line, start in zip(errors, expected, strict=True):
        assert line.startswith(start), (line, start)


def test_every_error_is_reported_at_once(registry: Registry) -> None:
    errors = errors_of(job(llms=["sim-large", "nope"], space={"samples": [0]},
                           budget={"total_usd": 0}, trials=-1, rungs=[2.0]), registry)
    assert [line.split(": ")[0] for line in errors] == [
        "space.samples[0]", "budget.total_usd", "rungs[0]", "trials", "llms[1]"]


def test_structure_only_skips_the_registry() -> None:
    loaded, _ = parse_search_job(job(llms=["my-own-llm"]), structure_only=True)
    assert loaded.llms == ["my-own-llm"]


def test_unknown_keys_are_warnings_naming_the_nearest_key(registry: Registry) -> None:
    loaded, warnings = parse_search_job(
        job(triials=3, space={"fusion_layer": [1]}, budget={"usd_per_qestion": 1.0}),
        registry=registry)
    assert warnings == [
        "triials: unknown key, ignored; did you mean trials?",
        "space.fusion_layer: unknown key, ignored; did you mean fusion_layers?",
        "budget.usd_per_qestion: unknown key, ignored; did you mean usd_per_question?"]
    assert loaded.trials == 20 and loaded.budget.usd_per_question is None


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("name: t\nbenchmark: synth-math\nllms: [sim-large\ntrials: 3\n")
    with pytest.raises(InvalidSearchJob) as caught:
        load_search_job(path, registry=registry)
    assert str(caught.value).startswith(f"{path}: line 4, column 7: not valid YAML")


def test_a_key_given_twice_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("name: t\nbenchmark: synth-math\ntrials: 3\nllms: [a]\ntrials: 4\n")
    with pytest.raises(InvalidSearchJob, match=r"line 5, column 1: .*'trials' is given twice "
                                               r"\(first on line 3\)"):
        load_search_job(path, structure_only=True)


def test_gsm8k_data_is_relative_to_the_job_file(tmp_path: Path, registry: Registry) -> None:
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "test.jsonl").write_text("{}\n")
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job(benchmark="gsm8k", data="gsm8k")))
    loaded, _ = load_search_job(path, registry=registry)
    assert loaded.data == tmp_path / "gsm8k"
    path.write_text(yaml.safe_dump(job(benchmark="gsm8k", data="missing")))
    with pytest.raises(InvalidSearchJob, match=r"data: .*missing does not exist"):
        load_search_job(path, registry=registry)


def test_nsga2_without_a_pruner_by_default(registry: Registry) -> None:
    loaded, _ = parse_search_job(job(sampler="nsga2"), registry=registry)
    assert loaded.pruner is Pruner.NONE


def test_warnings_for_settings_that_cannot_all_take_effect(registry: Registry) -> None:
    _, warnings = parse_search_job(
        job(sampler="grid", trials=50, parallel_trials=60, final_top_k=60, data="x",
            space={"generators": [1], "samples": [1, 3], "fusion_layers": [0],
                   "fusers_per_layer": [1], "critic": [False], "ranker": [False, True],
                   "final_check": ["none"]}),
        registry=registry)
    assert [w.split(":")[0] for w in warnings] == [
        "data", "trials", "parallel_trials", "final_top_k"]
    assert "the grid has 4 points" in warnings[1]


def test_rungs_that_successive_halving_would_not_check_are_warned_about(
        registry: Registry) -> None:
    _, warnings = parse_search_job(job(rungs=[0.25, 0.5, 1.0], reduction_factor=3,
                                       pruner="successive_halving"), registry=registry)
    assert warnings == [
        "rungs[1]: the pruner does not check at 0.5 with reduction_factor 3 (it checks once a "
        "trial has answered 0.25 x 3^k of the questions); make the rungs grow by the reduction "
        "factor"]
    for fine in (job(rungs=[0.25, 0.5, 1.0], reduction_factor=2, pruner="successive_halving"),
                 job(rungs=[0.1, 0.2, 0.5, 1.0], reduction_factor=2,
                     pruner="successive_halving"),
                 job(rungs=[0.25, 0.5, 1.0], reduction_factor=3),  # the default, wilcoxon
                 job(rungs=[0.25, 0.5, 1.0], reduction_factor=3, pruner="median")):
        assert parse_search_job(fine, registry=registry)[1] == []


def test_the_error_is_a_user_error_that_survives_pickling(registry: Registry) -> None:
    with pytest.raises(UserError) as caught:
        parse_search_job(job(trials=0, seed=-1), "job.yaml", registry=registry)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(copy, InvalidSearchJob) and copy.details == caught.value.details
    assert str(copy) == str(caught.value)


def test_the_job_is_frozen(registry: Registry) -> None:
    loaded, _ = parse_search_job(job(), registry=registry)
    assert isinstance(loaded, SearchJob)
    with pytest.raises(ValueError, match="frozen"):
        loaded.trials = 3  # type: ignore[misc]


def test_a_judged_benchmark_is_searched_with_its_judge_named(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("name: j\nbenchmark: mt-bench\ndata: q.jsonl\nllms: [sim-large]\n")
    (tmp_path / "q.jsonl").write_text('{"question_id": 1, "category": "x", "turns": ["a", "b"]}\n')
    with pytest.raises(InvalidSearchJob, match="benchmark_judge: mt-bench is scored by an LLM "
                       "judge; name it"):
        load_search_job(path, structure_only=True)
    path.write_text(path.read_text() + "benchmark_judge: sim-frontier\n")
    loaded, _ = load_search_job(path, structure_only=True)
    assert loaded.benchmark_judge == "sim-frontier" and loaded.judge_llm is None
