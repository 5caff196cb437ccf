"""`itas benchmarks check NAME` and `itas benchmarks score` of a code benchmark, run as a user
runs them (the `itas` console script in a subprocess). The runs go through the sandbox, except
in the test that passes --unsafe-no-sandbox on purpose."""

from __future__ import annotations

import json
from pathlib import Path

from tests.benchmarks.test_benchmarks_cli import itas, predictions


def test_check_passes_the_packaged_reference_solutions() -> None:
    done = itas("benchmarks", "check", "code-contests", "--limit", "4")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "passed 4" in lines and "total 4" in lines


def test_check_incorrect_shows_known_wrong_solutions_failing() -> None:
    done = itas("benchmarks", "check", "code-contests", "--incorrect", "--limit", "4", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert (summary["failed"], summary["total"], summary["passed_but_wrong"]) == (4, 4, [])


def test_check_humaneval_without_the_sandbox_when_asked(datasets: Path) -> None:
    done = itas("benchmarks", "check", "humaneval", "--limit", "5", "--unsafe-no-sandbox",
                "--json", env={"ITAS_DATASETS": str(datasets)})
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert (summary["passed"], summary["total"], summary["failed_ids"]) == (5, 5, [])
    assert summary["sandbox"] == "none (--unsafe-no-sandbox)"


def test_check_a_broken_reference_exits_1_and_names_it(tmp_path: Path) -> None:
    row = {"task_id": "HumanEval/0", "prompt": "def inc(x):\n    \"\"\"x + 1\"\"\"\n",
           "canonical_solution": "    return x + 2\n", "entry_point": "inc",
           "test": "def check(candidate):\n    assert candidate(1) == 2\n"}
    data = tmp_path / "he.jsonl"
    data.write_text(json.dumps(row) + "\n")
    done = itas("benchmarks", "check", "humaneval", "--data", str(data))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED HumanEval/0: failed 1 of 1 runs; first: tests: AssertionError" in done.stdout
    assert "passed 0" in done.stdout.splitlines()


def test_check_user_errors_exit_2_in_one_line() -> None:
    done = itas("benchmarks", "check", "gsm8k")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "itas: error: gsm8k is not a code benchmark (kind numeric); check takes humaneval, "
        "mbpp or code-contests"]
    done = itas("benchmarks", "check", "mbpp")
    assert done.returncode == 2 and "mbpp needs its data" in done.stderr
    assert "Traceback" not in done.stderr


def test_score_runs_code_predictions_and_keeps_each_tests_result(tmp_path: Path) -> None:
    file = predictions(tmp_path / "p.jsonl", [
        {"id": "1007_A. GCD and LCM", "prediction": "```python\nimport math\n"
         "a, b = map(int, input().split())\nprint(math.gcd(a, b), a * b // math.gcd(a, b))\n```"},
        {"id": "1001_A. Even Sum", "prediction": "I would loop over the numbers."}])
    done = itas("benchmarks", "score", "code-contests", "--predictions", str(file), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    scores = {row["id"]: row["score"] for row in result["items"]}
    assert scores == {"1007_A. GCD and LCM": 1.0, "1001_A. Even Sum": 0.0}
    gcd = result["items"][0]
    assert [t["name"] for t in gcd["tests"]][:3] == ["public 1", "public 2", "private 1"]
    assert all(t["passed"] for t in gcd["tests"])
