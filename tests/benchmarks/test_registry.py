"""The registry: every benchmark loads from the real files, with stable ids, the paper's
20/80 split (the same split itas has always used), options that filter, and clear errors."""

from __future__ import annotations

import ast
import json
import re
import threading
from pathlib import Path

import pytest

from benchmarks.base import KINDS, BenchmarkError
from benchmarks.free_form import FREE_FORM_FRAMING
from benchmarks.math_style import MATH_FRAMING
from benchmarks.multiple_choice import MC_FRAMING
from benchmarks.numeric import NUMERIC_FRAMING
from benchmarks.registry import BENCHMARKS, get, load_questions, resolve_data
from models.search_job import Benchmark as JobBenchmark

#: benchmark -> (items in all, in the search split, the first search ids)
EXPECTED = {
    "synth-math": (1000, 200, ["s0-6", "s0-21", "s0-25", "s0-29", "s0-34"]),
    "gsm8k": (1319, 264, ["test-11", "test-12", "test-16", "test-19", "test-23"]),
    "math": (50, 10, ["ms-01", "ms-02", "ms-08", "ms-13", "ms-15"]),
    "mixeval-hard-mc": (500, 100, ["mc-1", "mc-15", "mc-17", "mc-22", "mc-24"]),
    "mixeval-hard-free": (500, 100, ["ff-1", "ff-15", "ff-17", "ff-22", "ff-24"]),
    "mt-bench": (80, 16, ["mt-82", "mt-89", "mt-92", "mt-95", "mt-105"]),
    "alpaca-eval": (805, 161, ["ae-30", "ae-34", "ae-35", "ae-45", "ae-52"]),
    "arena-hard": (500, 100, ["ah-b43c07656ead4150b360294ee932b410",
                              "ah-51c444da19ec4cf1a5fc387667e4a7cf",
                              "ah-6b31320632de4e0bbf9b63d3cc78c58e",
                              "ah-2089a27fe9e2495d97a0cf27619d11a3",
                              "ah-9db47b0594014729b777c10678597e7f"]),
    "mixeval": (4000, 800, ["ff-11", "ff-17", "ff-19", "ff-20", "ff-22"]),
    "mixeval-hard": (1000, 200, ["ff-6", "ff-21", "ff-25", "ff-29", "ff-34"]),
    "humaneval": (164, 33, ["Python/1", "Python/2", "Python/6", "Python/9", "Python/14"]),
    "mbpp": (500, 100, ["12", "26", "28", "33", "35"]),
    "code-contests": (20, 4, ["1011_C. Range Sums", "1015_B. Transpose", "1017_B. Median",
                              "1019_B. Savings Growth"]),
}


def test_the_registered_benchmarks_and_the_job_files_names_agree() -> None:
    assert list(BENCHMARKS) == list(EXPECTED)
    assert [b.value for b in JobBenchmark] == list(BENCHMARKS)
    assert all(b.kind in KINDS for b in BENCHMARKS.values())


def test_an_unknown_benchmark_is_named_with_the_known_ones() -> None:
    with pytest.raises(BenchmarkError, match=r"unknown benchmark 'mmlu'; known: synth-math, "
                                             r"gsm8k, math, mixeval-hard-mc"):
        get("mmlu")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_benchmark_loads_its_real_file_with_the_papers_split(
        name: str, datasets: Path) -> None:
    total, searched, first_ids = EXPECTED[name]
    every = load_questions(name, split="all")
    search = load_questions(name, split="search")
    test = load_questions(name, split="test")
    assert len(every) == total and len(search) == searched and len(test) == total - searched
    assert [item.item_id for item in search[:5]] == first_ids
    assert {i.item_id for i in search} | {i.item_id for i in test} == {i.item_id for i in every}
    assert not {i.item_id for i in search} & {i.item_id for i in test}
    assert len({item.item_id for item in every}) == total
    assert load_questions(name, split="search", limit=3) == search[:3]
    for item in every:
        json.dumps(dict(item.reference))  # stored in PostgreSQL as JSON
        assert item.turns and all(turn.strip() for turn in item.turns)
        assert item.system is None


def test_the_search_fraction_changes_the_split_size(datasets: Path) -> None:
    assert len(load_questions("gsm8k", split="search", search_fraction=0.5)) == 660


@pytest.mark.parametrize(("name", "framing"), [
    ("synth-math", NUMERIC_FRAMING), ("gsm8k", NUMERIC_FRAMING), ("math", MATH_FRAMING),
    ("mixeval-hard-mc", MC_FRAMING), ("mixeval-hard-free", FREE_FORM_FRAMING)])
def test_each_question_ends_with_its_framing(name: str, framing: str, datasets: Path) -> None:
    for item in load_questions(name, split="all"):
        assert len(item.turns) == 1 and item.turns[0].endswith(framing)


@pytest.mark.parametrize("framing", [NUMERIC_FRAMING, MATH_FRAMING, MC_FRAMING,
                                     FREE_FORM_FRAMING])
def test_no_framing_has_a_placeholder_a_model_could_copy(framing: str) -> None:
    assert not re.search(r"<[^>]*>|\[[^\]]*\]|\bN\b|\bX\b|\.\.\.", framing), framing
    assert "Final answer:" in framing or "\\boxed{}" in framing


def test_gsm8k_keys_are_the_numbers_after_the_hashes(datasets: Path) -> None:
    first = load_questions("gsm8k", split="all")[0]
    row = json.loads((datasets / "gsm8k" / "test.jsonl").read_text().splitlines()[0])
    assert first.item_id == "test-0" and first.reference == {"answer": "18"}
    assert first.turns[0].startswith(row["question"])


def test_multiple_choice_questions_show_context_and_lettered_options(datasets: Path) -> None:
    items = {i.item_id: i for i in load_questions("mixeval-hard-mc", split="all")}
    rats = items["mc-1"]
    assert rats.turns[0].startswith("rats\n\nThe rats were hiding in the house")
    assert "\nA. sewers\nB. laboratory\nC. basement\nD. clinic\nE. cellar\n" in rats.turns[0]
    assert rats.reference["answer"] == "E" and rats.reference["subset"] == "CommonsenseQA"


def test_options_filter_the_items(datasets: Path) -> None:
    mmlu = load_questions("mixeval-hard-mc", split="all", options={"subsets": ["MMLU"]})
    assert len(mmlu) == 231 and {i.reference["subset"] for i in mmlu} == {"MMLU"}
    trivia = load_questions("mixeval-hard-free", split="all", options={"subsets": ["TriviaQA"]})
    assert len(trivia) == 267
    math_items = load_questions("mt-bench", split="all", options={"categories": ["math"]})
    assert len(math_items) == 10
    hard = load_questions("math", split="all", options={"levels": [5]})
    assert hard and all(i.reference["level"] == 5 for i in hard)
    assert len(load_questions("synth-math", split="all", options={"count": 30})) == 30


@pytest.mark.parametrize(("name", "options", "message"), [
    ("mixeval-hard-mc", {"subsets": ["MMLU", "Foo"]},
     "subsets[1]: expected one of MMLU, AGIEval"),
    ("mixeval-hard-mc", {"subset": ["MMLU"]}, "subset: unknown option; this benchmark takes "
                                              "subsets"),
    ("gsm8k", {"split": "train"}, "split: unknown option; this benchmark takes no options"),
    ("math", {"levels": [0]}, "levels[0]: expected one of 1, 2, 3, 4, 5, got 0"),
    ("synth-math", {"count": "many"}, "count: expected an integer >= 1, got 'many'"),
    ("mt-bench", {"categories": "math"}, "categories: expected a non-empty list"),
])
def test_bad_options_are_named(name: str, options: dict[str, object], message: str,
                               datasets: Path) -> None:
    with pytest.raises(BenchmarkError) as caught:
        load_questions(name, options=options)
    assert message in str(caught.value)


def test_mt_bench_has_two_turns_and_no_deterministic_score(datasets: Path) -> None:
    items = load_questions("mt-bench", split="all")
    assert all(len(item.turns) == 2 for item in items)
    scored = get("mt-bench").score(items[0].reference, "A fine travel blog post.")
    assert scored.score is None and "judge" in (scored.note or "")


def test_data_comes_from_the_option_or_the_environment(
        datasets: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    gsm8k = get("gsm8k")
    assert resolve_data(gsm8k, datasets / "gsm8k") == datasets / "gsm8k" / "test.jsonl"
    assert resolve_data(gsm8k, datasets) == datasets / "gsm8k" / "test.jsonl"
    assert resolve_data(gsm8k, None) == datasets / "gsm8k" / "test.jsonl"
    monkeypatch.delenv("ITAS_DATASETS")
    with pytest.raises(BenchmarkError, match=r"gsm8k needs its data .*--data PATH.*ITAS_DATASETS"):
        load_questions("gsm8k")
    with pytest.raises(BenchmarkError, match=r"data: .*nowhere does not exist; expected GSM8K"):
        load_questions("gsm8k", data=tmp_path / "nowhere")
    with pytest.raises(BenchmarkError, match=r"data: .* holds no multiple-choice.json"):
        load_questions("mixeval-hard-mc", data=tmp_path)
    assert len(load_questions("math", split="all")) == 50  # packaged, no environment needed


def test_a_malformed_row_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text('{"question": "q?", "answer": "so #### 4"}\n{"question": "q2?"}\n')
    with pytest.raises(BenchmarkError, match=rf"{re.escape(str(path))}:2: expected a JSON "
                                             "object with 'question'"):
        load_questions("gsm8k", data=path)
    path.write_text('{"question": "q?", "answer": "so #### 4"}\nnot json\n')
    with pytest.raises(BenchmarkError, match=rf"{re.escape(str(path))}:2: not a JSON object"):
        load_questions("gsm8k", data=path)
    maths = tmp_path / "math.jsonl"
    maths.write_text('{"problem": "1+1?", "solution": "It is 2."}\n')
    with pytest.raises(BenchmarkError, match=r"math.jsonl:1: expected .* ending in \\boxed"):
        load_questions("math", data=maths)


def test_a_math_file_of_ones_own_loads_with_its_ids(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [{"problem": f"What is {i} + {i}?", "solution": f"$\\boxed{{{2 * i}}}$",
             "level": f"Level {1 + i % 5}", "type": "Prealgebra"} for i in range(10)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    items = load_questions("math", data=path, split="all")
    assert [i.item_id for i in items[:2]] == ["math-0", "math-1"]
    assert items[3].reference["answer"] == "6" and items[3].reference["level"] == 4


def test_math_scoring_works_in_a_worker_thread() -> None:
    # math-verify's timeout is a SIGALRM, which only the main thread may set; workers score
    # from threads too.
    results: list[float | None] = []
    thread = threading.Thread(target=lambda: results.append(
        get("math").score({"answer": "\\frac{1}{2}"}, "\\boxed{0.5}").score))
    thread.start()
    thread.join(30)
    assert results == [1.0]


def test_the_package_imports_nothing_of_the_service() -> None:
    package = Path(__file__).resolve().parents[2] / "benchmarks"
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] not in {"models", "worker", "scheduler", "simulator"}, \
                    (module.name, name)
