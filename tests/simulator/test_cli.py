"""``python -m simulator`` (mounted as ``itas simulator``): user errors and calibration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, Sim, require_gsm8k
from .helpers import answer, chat, texts


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_bad_fleet_file_is_one_line_naming_the_field_and_exit_2(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("keys: [{key: k}]\nllms:\n  broken: {ability: high, judge: 0}\n")
    result = run_cli("--fleet", str(fleet), "--port", "1")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert str(fleet) in result.stderr and "llms.broken.ability" in result.stderr


def test_a_missing_fleet_data_dir_or_bad_port_exits_2(tmp_path: Path) -> None:
    for args, expected in (
        (["--fleet", str(tmp_path / "absent.yaml")], "absent.yaml"),
        (["--data", str(tmp_path)], str(tmp_path)),
        (["--port", "70000"], "--port"),
        (["calibrate", "--data", str(tmp_path)], str(tmp_path)),
        (["--datasets", str(tmp_path / "nowhere")], "--datasets"),
        (["--math-style", str(tmp_path / "absent.jsonl")], "--math-style"),
    ):
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr


def test_a_math_style_file_without_boxed_answers_is_named_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "math.jsonl"
    bad.write_text('{"problem": "What is 1 + 1?", "solution": "It is 2."}\n')
    result = run_cli("--math-style", str(bad), "--port", "1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(bad) in result.stderr and "line 1" in result.stderr


@pytest.mark.slow
def test_calibrate_fits_the_recorded_systems_and_prints_the_table() -> None:
    data = require_gsm8k()
    result = run_cli("calibrate", "--data", str(data))
    assert result.returncode == 0, result.stdout + result.stderr
    for system in ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"):
        assert system in result.stdout
    assert "21.7%" in result.stdout and "56.3%" in result.stdout  # recorded accuracies
    assert "Calibration PASSED" in result.stdout


def test_replay_llms_answer_gsm8k_with_the_recorded_solution_for_sample_0(sim: Sim) -> None:
    data = require_gsm8k()
    if not sim.has_gsm8k:
        pytest.skip("the simulator fixture started without GSM8K")
    import json

    row = json.loads((data / "example_model_solutions.jsonl").read_text().splitlines()[0])
    recorded = row["175b_verification"]["solution"]
    prompt = f"{row['question']}\nEnd with a line 'Answer: N'."
    with sim.client() as client:
        sample0 = texts(chat(client, "gpt3-175b-verifier-replay", prompt, seed=0))[0]
        sample1 = texts(chat(client, "gpt3-175b-verifier-replay", prompt, seed=1))[0]
    first_line = recorded.splitlines()[0]
    assert sample0.startswith(first_line)
    assert answer(sample0) == recorded.split("A:")[-1].strip().replace(",", "")
    assert not sample1.startswith(first_line)  # other samples come from the fitted model


def _fake_gsm8k(directory: Path, count: int) -> None:
    """Recorded systems no shared-difficulty model can fit: two of them never both right."""
    import json

    systems = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
    tests, recorded = [], []
    for i in range(count):
        question = f"Question {i}: how many apples are {i} apples and 2 apples?"
        tests.append({"question": question, "answer": f"{i} + 2\n#### {i + 2}"})
        right = {
            "6b_finetuning": i % 2 == 0,
            "6b_verification": i % 2 == 1,
            "175b_finetuning": i % 3 == 0,
            "175b_verification": i % 4 != 0,
        }
        row: dict[str, object] = {"question": question, "ground_truth": f"A: {i + 2}"}
        for s in systems:
            value = i + 2 if right[s] else i + 3
            row[s] = {"is_correct": right[s], "solution": f"so\nA: {value}"}
        recorded.append(row)
    directory.mkdir()
    (directory / "test.jsonl").write_text("\n".join(json.dumps(t) for t in tests) + "\n")
    (directory / "example_model_solutions.jsonl").write_text(
        "\n".join(json.dumps(r) for r in recorded) + "\n"
    )


@pytest.mark.slow
def test_calibrate_exits_non_zero_when_the_simulation_misses_the_recorded_rates(
    tmp_path: Path,
) -> None:
    data = tmp_path / "gsm8k"
    _fake_gsm8k(data, 200)
    result = run_cli("calibrate", "--data", str(data))
    assert result.returncode == 1, result.stdout
    assert "Calibration FAILED" in result.stdout and "OFF" in result.stdout
