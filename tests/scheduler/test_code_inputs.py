"""Code-run settings a user can get wrong, each one line and exit 2 before any service is
reached; and the preflight's line for a worker that cannot set up the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from scheduler.preflight import problem_line
from tests.scheduler.test_input_errors import itas, one_line


def component(kind: str, **fields: object) -> dict[str, object]:
    return {"type": kind, "model": "sim-small", "model_type": "OpenAI_API",
            "temperature": 0.7, "max_tokens": 512, **fields}


def executed(tmp_path: Path) -> Path:
    path = tmp_path / "executed.json"
    path.write_text(json.dumps({"name": "executed", "layers": [
        [component("unit_test_generator", unit_test_cap=5, execute_tests=True)],
        [component("generator", samples=4)],
        [component("unit_test_evaluator", top_k=1, execute_tests=True)]]}))
    return path


def test_validate_accepts_execute_tests_and_names_a_mismatched_evaluator(
        tmp_path: Path) -> None:
    done = itas("validate", str(executed(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert "execute_tests" not in done.stdout + done.stderr  # no warning about the field
    data = json.loads(executed(tmp_path).read_text())
    data["layers"][0][0]["execute_tests"] = False
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(data))
    done = itas("validate", str(path))
    assert done.returncode == 2
    assert "layers[2][0].execute_tests: this unit_test_evaluator runs the tests as code" \
        in done.stderr


def test_executed_unit_tests_on_a_benchmark_without_code_are_refused(tmp_path: Path) -> None:
    path = executed(tmp_path)
    line = one_line(itas("run", str(path), "--benchmark", "synth-math", "--limit", "2"))
    assert f"{path}: layers[0][0].execute_tests: runs unit tests as code" in line
    assert "humaneval, mbpp, code-contests" in line


def test_unsafe_no_sandbox_on_a_benchmark_without_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"name": "one", "layers": [[component("generator")]]}))
    line = one_line(itas("run", str(path), "--benchmark", "synth-math", "--limit", "2",
                         "--unsafe-no-sandbox"))
    assert line == "itas: error: --unsafe-no-sandbox: synth-math runs no code; leave it out"
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump({"name": "j", "benchmark": "synth-math",
                                   "llms": ["sim-small"], "unsafe_no_sandbox": True}))
    done = itas("validate", str(job))
    assert done.returncode == 2
    assert "unsafe_no_sandbox: synth-math runs no code; leave it out" in done.stderr


def test_the_preflight_names_a_worker_without_a_sandbox_and_the_way_past() -> None:
    replies = {"w1@host": {"llms": {}, "queues": ["itas.layers"], "sandbox": None},
               "w2@host": {"llms": {}, "queues": ["itas.layers"],
                           "sandbox": "user namespaces are disabled (sysctl "
                                      "kernel.unprivileged_userns_clone=0)"}}
    line = problem_line(replies, ["sim-small"], sandbox=True)
    assert line is not None
    assert line.startswith("worker w2@host cannot run code in a sandbox: user namespaces are "
                           "disabled")
    assert "--unsafe-no-sandbox" in line
    assert problem_line(replies, ["sim-small"], sandbox=False) is None
    older = {"w3@host": {"llms": {}, "queues": ["itas.layers"]}}
    assert "does not report a sandbox" in str(problem_line(older, [], sandbox=True))
