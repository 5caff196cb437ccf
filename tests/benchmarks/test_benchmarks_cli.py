"""`itas benchmarks list` and `itas benchmarks score`, run as a user runs them: the installed
`itas` console script in a subprocess. Pure: no service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ITAS = str(Path(sys.executable).parent / "itas")


def itas(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
    return subprocess.run([ITAS, *args], env={**clean, **(env or {})}, capture_output=True,
                          text=True, timeout=120)


def predictions(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_list_shows_every_benchmark_with_kind_data_and_count(datasets: Path) -> None:
    done = itas("benchmarks", "list", "--json", env={"ITAS_DATASETS": str(datasets)})
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert {name: (row["kind"], row["items"]) for name, row in rows.items()} == {
        "synth-math": ("numeric", 1000), "gsm8k": ("numeric", 1319), "math": ("math", 50),
        "mixeval-hard-mc": ("multiple_choice", 500), "mixeval-hard-free": ("free_form", 500),
        "mt-bench": ("judged", 80), "alpaca-eval": ("judged", 805), "arena-hard": ("judged", 500),
        "mixeval": ("judged", 4000), "mixeval-hard": ("judged", 1000),
        "humaneval": ("code", 164), "mbpp": ("code", 500), "code-contests": ("code", 20)}
    assert rows["gsm8k"]["data"] == str(datasets / "gsm8k" / "test.jsonl")
    assert "subsets" in rows["mixeval-hard-mc"]["options"]


def test_list_without_the_datasets_says_where_they_would_be() -> None:
    done = itas("benchmarks", "list")
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert lines["synth-math"].split()[2] == "1000" and lines["math"].split()[2] == "50"
    assert lines["gsm8k"].split()[2] == "-"
    assert "$ITAS_DATASETS/gsm8k/test.jsonl (ITAS_DATASETS not set)" in lines["gsm8k"]


#: benchmark -> (predictions: (id, prediction, expected score)), data under the datasets folder
CASES: dict[str, tuple[list[tuple[str, str, float | None]], str | None]] = {
    "synth-math": ([("s0-0", "Final answer: 1", 0.0), ("s0-1", "I cannot tell.", 0.0)], None),
    "gsm8k": ([("test-0", "16 - 3 - 4 = 9 eggs, 9 * 2 = 18.\nFinal answer: $18", 1.0),
               ("test-1", "**Final answer:** 3", 1.0), ("test-2", "#### 1:00 PM", 0.0)],
              "gsm8k"),
    "math": ([("ms-03", "So it is $\\boxed{\\frac{1}{2}}$.", 1.0),
              ("ms-10", "\\boxed{x = 2, y = 5}", 1.0), ("ms-01", "\\boxed{\\frac{1}{3}}", 0.0)],
             None),
    "mixeval-hard-mc": ([("mc-0", "Rates rise, prices fall.\nFinal answer: B", 1.0),
                         ("mc-1", "The answer is (E) cellar.", 1.0),
                         ("mc-2", "Final answer: A or B", 0.0)],
                        "mixeval_hard/multiple-choice.json"),
    "mixeval-hard-free": ([("ff-0", "Final answer: 367", 1.0), ("ff-5", "A transvestite", 1.0),
                           ("ff-1", "Final answer: lung cancer", 0.0)], "mixeval_hard"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_score_prints_each_item_and_the_total(name: str, datasets: Path,
                                              tmp_path: Path) -> None:
    rows, data = CASES[name]
    file = predictions(tmp_path / "p.jsonl", [{"id": i, "prediction": p} for i, p, _ in rows])
    args = ["benchmarks", "score", name, "--predictions", str(file)]
    if data:
        args += ["--data", str(datasets / data)]
    done = itas(*args, "--json")  # no ITAS_DATASETS: --data is enough
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [(r["id"], r["score"]) for r in result["items"]] == [(i, s) for i, _, s in rows]
    scores = [s for _, _, s in rows if s is not None]
    assert result["total"] == sum(scores) and result["scored"] == len(scores)
    text = itas(*args)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0].startswith(rows[0][0])
    if scores:
        assert f"{name}: {sum(scores):g} / {len(scores)} = " in text.stdout
    else:
        assert "none scored deterministically" in text.stdout


def test_options_on_the_command_line(datasets: Path, tmp_path: Path) -> None:
    file = predictions(tmp_path / "p.jsonl", [{"id": "mc-1", "prediction": "E"}])
    done = itas("benchmarks", "score", "mixeval-hard-mc", "--predictions", str(file),
                "--option", "subsets=[MMLU]", env={"ITAS_DATASETS": str(datasets)})
    assert done.returncode == 2 and "unknown id 'mc-1'" in done.stderr  # mc-1 is CommonsenseQA
    done = itas("benchmarks", "score", "mixeval-hard-mc", "--predictions", str(file),
                "--option", "subsets=[CommonsenseQA]", env={"ITAS_DATASETS": str(datasets)})
    assert done.returncode == 0 and "1 / 1 = 1.000" in done.stdout


@pytest.mark.parametrize(("lines", "message"), [
    (['{"id": "ms-01", "prediction": "\\\\boxed{6}"}', '{"id": "ms-99", "prediction": "1"}'],
     "p.jsonl:2: unknown id 'ms-99' (ids of this benchmark look like ms-01, ms-02, ms-03)"),
    (['{"id": "ms-01", "prediction": "6"}', "", '{"id": "ms-02" "prediction": "1"}'],
     "p.jsonl:3: not a JSON object"),
    (['{"id": "ms-01", "answer": "6"}'], 'p.jsonl:1: expected {"id": ..., "prediction": "..."}'),
    (['{"id": "ms-01", "prediction": "6"}', '{"id": "ms-01", "prediction": "6"}'],
     "p.jsonl:2: id 'ms-01' is already on line 1"),
])
def test_bad_predictions_are_one_line_naming_file_and_line(lines: list[str], message: str,
                                                           tmp_path: Path) -> None:
    file = tmp_path / "p.jsonl"
    file.write_text("\n".join(lines) + "\n")
    done = itas("benchmarks", "score", "math", "--predictions", str(file))
    assert done.returncode == 2, done.stdout
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(f"itas: error: {tmp_path}/{message}"), done.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["nope"], "unknown benchmark 'nope'; known: synth-math, gsm8k, math"),
    (["gsm8k"], "gsm8k needs its data (GSM8K's test.jsonl or the folder holding it): give "
                "--data PATH"),
    (["math", "--option", "levels"], "--option: expected KEY=VALUE"),
    (["math", "--option", "level=[1]"], "math options: level: unknown option"),
])
def test_bad_arguments_are_one_line_with_exit_2(args: list[str], message: str,
                                                tmp_path: Path) -> None:
    file = predictions(tmp_path / "p.jsonl", [{"id": "x", "prediction": "1"}])
    done = itas("benchmarks", "score", *args, "--predictions", str(file))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"itas: error: {message}"), done.stderr


def test_math_500_rows_keep_their_unique_ids(tmp_path: Path) -> None:
    # MATH-500's form: unique_id names the problem, subject its type, level an integer.
    rows = [{"problem": "What is $1+1$?", "solution": "It is $\\boxed{2}$.", "answer": "2",
             "subject": "Prealgebra", "level": 1, "unique_id": "test/prealgebra/1.json"},
            {"problem": "Compute $\\sin 0$.", "solution": "$\\sin 0 = \\boxed{0}$", "answer": "0",
             "subject": "Precalculus", "level": 2, "unique_id": "test/precalculus/807.json"}]
    data = predictions(tmp_path / "math500.jsonl", rows)
    file = predictions(tmp_path / "p.jsonl", [
        {"id": "test/precalculus/807.json", "prediction": "\\boxed{0}"},
        {"id": "test/prealgebra/1.json", "prediction": "\\boxed{3}"}])
    done = itas("benchmarks", "score", "math", "--data", str(data), "--predictions", str(file),
                "--json")
    assert done.returncode == 0, done.stderr
    assert [(r["id"], r["score"]) for r in json.loads(done.stdout)["items"]] == [
        ("test/precalculus/807.json", 1.0), ("test/prealgebra/1.json", 0.0)]
    # MATH-500's subject is the type the types option filters on
    done = itas("benchmarks", "score", "math", "--data", str(data), "--predictions", str(file),
                "--option", "types=[Precalculus]")
    assert done.returncode == 2 and "unknown id 'test/prealgebra/1.json'" in done.stderr
