"""The benchmark section of a search job: every registered benchmark, its data and its
options, checked by `itas validate` before anything runs. Pure: no service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.registry import BENCHMARKS
from models.errors import InvalidSearchJob
from models.search_job_reader import load_search_job, parse_search_job

#: benchmark -> its data, relative to the datasets folder (None: takes none / packaged)
DATA = {"synth-math": None, "gsm8k": "gsm8k", "math": None,
        "mixeval-hard-mc": "mixeval_hard/multiple-choice.json",
        "mixeval-hard-free": "mixeval_hard", "mt-bench": "mt_bench/questions.jsonl",
        "alpaca-eval": "alpaca_eval/reference_outputs.json",
        "arena-hard": "arena_hard/question.jsonl",
        "mixeval": "mixeval", "mixeval-hard": "mixeval_hard/multiple-choice.json",
        "humaneval": "humaneval/humaneval-python.jsonl", "mbpp": "mbpp/mbpp_test.jsonl",
        "code-contests": None}


def job(**fields: Any) -> dict[str, Any]:
    return {"name": "t", "benchmark": "synth-math", "llms": ["sim-large", "sim-small"],
            **fields}


def errors_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidSearchJob) as caught:
        parse_search_job(data, "job.yaml", structure_only=True)
    lines = caught.value.details or [caught.value.summary]
    assert all(line.startswith("job.yaml: ") for line in lines)
    return [line.removeprefix("job.yaml: ") for line in lines]


def test_every_registered_benchmark_has_a_job() -> None:
    assert list(DATA) == list(BENCHMARKS)


#: Scored by an LLM judge: a search job on one names the judge (benchmark_judge).
JUDGED = {name for name, b in BENCHMARKS.items() if b.kind == "judged"}


@pytest.mark.parametrize("name", list(DATA))
def test_a_job_on_every_benchmark_validates(name: str, datasets: Path, tmp_path: Path) -> None:
    fields: dict[str, Any] = {"benchmark": name}
    if name in JUDGED:
        fields["benchmark_judge"] = "sim-frontier"
    if DATA[name]:
        fields["data"] = str(datasets / str(DATA[name]))
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job(**fields)))
    loaded, warnings = load_search_job(path, structure_only=True)
    assert loaded.benchmark.value == name and warnings == []
    assert loaded.data == (datasets / str(DATA[name]) if DATA[name] else None)
    assert loaded.benchmark_options == {}


@pytest.mark.parametrize("name", sorted(JUDGED))
def test_a_judged_benchmark_needs_its_judge_named_apart_from_judge_llm(
        name: str, datasets: Path) -> None:
    fields: dict[str, Any] = {"benchmark": name, "judge_llm": "sim-critic"}
    if DATA[name]:
        fields["data"] = str(datasets / str(DATA[name]))
    errors = errors_of(job(**fields))
    assert errors == [f"benchmark_judge: {name} is scored by an LLM judge; name it (an LLM of "
                      "`itas llms`; not judge_llm, which is the architecture's critics and "
                      "rankers)"]


def test_a_benchmark_without_a_judge_refuses_one() -> None:
    assert errors_of(job(benchmark_judge="sim-frontier")) == [
        "benchmark_judge: synth-math is scored without a judge; leave benchmark_judge out"]


def test_benchmark_options_are_checked_by_the_benchmark(datasets: Path) -> None:
    loaded, _ = parse_search_job(job(benchmark="mixeval-hard-mc",
                                     data=str(datasets / "mixeval_hard"),
                                     benchmark_options={"subsets": ["MMLU", "ARC"]}),
                                 structure_only=True)
    assert loaded.benchmark_options == {"subsets": ["MMLU", "ARC"]}
    assert errors_of(job(benchmark="mixeval-hard-mc", data=str(datasets / "mixeval_hard"),
                         benchmark_options={"subsets": ["MMLU", "Foo"], "level": 3})) == [
        "benchmark_options.level: unknown option; this benchmark takes subsets",
        "benchmark_options.subsets[1]: expected one of MMLU, AGIEval, HellaSwag, CommonsenseQA,"
        " BoolQ, SIQA, PIQA, OpenBookQA, GPQA, ARC, MBPP, got 'Foo'"]
    assert errors_of(job(benchmark_options={"count": 0})) == [
        "benchmark_options.count: expected an integer >= 1, got 0"]
    assert errors_of(job(benchmark_options=["MMLU"]))[0].startswith(
        "benchmark_options: expected a mapping of the benchmark's options")


@pytest.mark.parametrize(("name", "expected"), [
    ("mixeval-hard-mc", "data: required for mixeval-hard-mc, expected MixEval-Hard's "
                        "multiple-choice.json or the folder holding it"),
])
def test_data_is_required_where_the_benchmark_needs_it(name: str, expected: str) -> None:
    errors = errors_of(job(benchmark=name))
    assert len(errors) == 1 and errors[0].startswith(expected)


def test_data_that_is_not_the_benchmarks_file_is_refused(tmp_path: Path) -> None:
    errors = errors_of(job(benchmark="mixeval-hard-free", data=str(tmp_path)))
    assert errors == [f"data: {tmp_path} holds no free-form.json (expected MixEval-Hard's "
                      "free-form.json or the folder holding it)"]


def test_math_takes_its_packaged_problems_or_a_file(tmp_path: Path) -> None:
    loaded, warnings = parse_search_job(job(benchmark="math"), structure_only=True)
    assert loaded.data is None and warnings == []
    (tmp_path / "mine.jsonl").write_text('{"problem": "p", "solution": "\\\\boxed{1}"}\n')
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job(benchmark="math", data="mine.jsonl")))
    loaded, _ = load_search_job(path, structure_only=True)
    assert loaded.data == tmp_path / "mine.jsonl"
