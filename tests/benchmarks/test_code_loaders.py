"""Loading HumanEval (both row forms), MBPP and CodeContests (JSONL and Parquet, with
pyarrow from the dev install), and the errors a malformed file gives. Pure: no run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.base import BenchmarkError
from benchmarks.code.code_contests import DEFAULT_DATA, CodeContests
from benchmarks.code.humaneval import HumanEval
from benchmarks.code.mbpp import MBPP
from benchmarks.registry import load_questions


def jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n"
                            for row in rows))
    return path


OPENAI_ROW = {"task_id": "HumanEval/0", "prompt": "def inc(x):\n    \"\"\"x + 1\"\"\"\n",
              "canonical_solution": "    return x + 1\n", "entry_point": "inc",
              "test": "def check(candidate):\n    assert candidate(1) == 2\n"}


def test_humaneval_x_rows_from_the_datasets(datasets: Path) -> None:
    items = load_questions("humaneval", split="all")
    assert len(items) == 164 and items[0].item_id == "Python/0"
    reference = items[0].reference
    assert reference["entry_point"] == "has_close_elements"
    assert reference["test"].rstrip().endswith("check(has_close_elements)")
    assert "def has_close_elements(" in items[0].turns[0] and "```python" in items[0].turns[0]


def test_openai_rows_get_the_check_call(tmp_path: Path) -> None:
    items = HumanEval().load(jsonl(tmp_path / "he.jsonl", [OPENAI_ROW]), {})
    assert items[0].item_id == "HumanEval/0"
    assert items[0].reference["test"].rstrip().endswith("check(inc)")


def test_a_humaneval_row_without_an_entry_point_names_the_line(tmp_path: Path) -> None:
    row = {k: v for k, v in OPENAI_ROW.items() if k != "entry_point"}
    path = jsonl(tmp_path / "he.jsonl", [OPENAI_ROW, row])
    with pytest.raises(BenchmarkError, match=r"he\.jsonl:2: expected a HumanEval row"):
        HumanEval().load(path, {})


def test_mbpp_from_the_datasets(datasets: Path) -> None:
    items = load_questions("mbpp", split="all")
    assert len(items) == 500 and items[0].item_id == "11"
    assert items[0].reference["entry_point"] == "remove_Occ"
    assert 'assert remove_Occ("hello","l") == "heo"' in items[0].turns[0]
    runs = MBPP().program_runs(items[0].reference, "def remove_Occ(s, ch):\n    return s\n")
    assert [r.name for r in runs] == ["assert 1", "assert 2", "assert 3"]


def test_a_malformed_mbpp_row_names_the_line(tmp_path: Path) -> None:
    good = {"prompt": "p", "code": "def f():\n    return 1", "test": ["assert f() == 1"],
            "task_id": 1}
    path = jsonl(tmp_path / "mbpp.jsonl", [good, {**good, "test": "assert f() == 1"}])
    with pytest.raises(BenchmarkError, match=r"mbpp\.jsonl:2: expected an MBPP row"):
        MBPP().load(path, {})
    with pytest.raises(BenchmarkError, match=r"bad\.jsonl:1: not a JSON object"):
        MBPP().load(jsonl(tmp_path / "bad.jsonl", ["{oops"]), {})


def test_the_packaged_code_contests_problems() -> None:
    items = load_questions("code-contests", split="all")
    assert len(items) == 20 and items[0].item_id == "1001_A. Even Sum"
    for item in items:
        kinds = {t["name"].split()[0] for t in item.reference["tests"]}
        assert kinds == {"public", "private", "generated"}, item.item_id
        assert item.reference["solution"] and item.reference["incorrect_solutions"]
        assert "standard input" in item.turns[0]
    clock = next(i for i in items if i.item_id == "1020_A. Clock Hands")
    assert clock.reference["time_limit_s"] == 1.5


def test_generated_tests_are_capped_by_the_option() -> None:
    none = load_questions("code-contests", split="all", options={"max_generated_tests": 0})
    assert all(not t["name"].startswith("generated") for i in none for t in i.reference["tests"])
    with pytest.raises(BenchmarkError, match="max_generated_tests: expected an integer >= 0"):
        load_questions("code-contests", options={"max_generated_tests": -1})


def code_contests_row(**changes: Any) -> dict[str, Any]:
    row = json.loads(DEFAULT_DATA.read_text().splitlines()[6])  # GCD and LCM: small
    return {**row, **changes}


def test_code_contests_rows_with_null_columns(tmp_path: Path) -> None:
    row = code_contests_row(time_limit=None, generated_tests=None, incorrect_solutions=None,
                            solutions={"language": [2, 1], "solution": ["int main(){}", "x"]})
    item = CodeContests().load(jsonl(tmp_path / "cc.jsonl", [row]), {})[0]
    assert item.reference["time_limit_s"] == 2.0
    assert item.reference["solution"] is None  # no Python 3 solution: nothing to check with
    assert CodeContests().reference_solutions(item.reference) == []


def test_a_malformed_code_contests_row_names_the_line(tmp_path: Path) -> None:
    bad = code_contests_row(public_tests={"input": ["1\n"], "output": []})
    path = jsonl(tmp_path / "cc.jsonl", [code_contests_row(), bad])
    with pytest.raises(BenchmarkError, match=r"cc\.jsonl:2: expected a code_contests row.*"
                                             r"public_tests"):
        CodeContests().load(path, {})


def test_parquet_without_pyarrow_says_what_to_install(tmp_path: Path) -> None:
    path = tmp_path / "test-00000-of-00001.parquet"
    path.write_bytes(b"PAR1")
    # A process where pyarrow cannot be imported (None in sys.modules), as on a machine
    # without it: the dev install has it, for the test below.
    script = ("import sys; sys.modules['pyarrow'] = None; "
              "from pathlib import Path; from benchmarks.base import BenchmarkError; "
              "from benchmarks.code.code_contests import CodeContests\n"
              "try:\n    CodeContests().load(Path(sys.argv[1]), {})\n"
              "except BenchmarkError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert "pip install pyarrow" in done.stdout, done.stdout + done.stderr


def test_parquet_rows_load_as_jsonl_rows_do(tmp_path: Path) -> None:
    import pyarrow as pa  # type: ignore[import-not-found, unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-not-found, unused-ignore]

    path = tmp_path / "cc.parquet"
    pq.write_table(pa.Table.from_pylist([code_contests_row()]), path)
    from_parquet = CodeContests().load(path, {})
    from_jsonl = CodeContests().load(jsonl(tmp_path / "cc.jsonl", [code_contests_row()]), {})
    assert from_parquet == from_jsonl
