"""`itas validate job.yaml`, run as a user runs it (a subprocess). Pure: no service."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from scheduler.processes import ITAS

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "search-demo.yaml"
KEYS = {"ITAS_SIM_KEY_1": "sim-key-1"}


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
    return subprocess.run([*ITAS, *args], env={**clean, **(env or {})}, capture_output=True,
                          text=True, timeout=60)


def test_the_demo_job_is_ok_and_says_how_many_architectures_the_budget_excludes() -> None:
    done = _run(["validate", str(DEMO)], KEYS)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert f"{DEMO}: ok (search job search-demo: synth-math, 6 LLMs" in done.stdout
    assert "space of 432 points" in done.stdout and "over budget" in done.stdout


def test_a_bad_job_lists_every_error_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nbenchmark: synth-math\nllms: [sim-large, sim-larg]\n"
                   "space:\n  samples: [1, 0]\n  final_check: [verify]\n"
                   "budget:\n  usd_per_question: -1\nsampler: tpe\ntrials: 0\ntrails: 3\n")
    done = _run(["validate", str(bad)], KEYS)
    assert done.returncode == 2, done.stdout
    assert "Traceback" not in done.stderr
    errors = [line.strip() for line in done.stderr.splitlines() if line.startswith("  ")]
    assert [line.split(": ")[1] for line in errors] == [
        "space.samples[1]", "space.final_check[0]", "budget.usd_per_question", "trials",
        "llms[1]"]
    assert all(line.startswith(f"{bad}: ") for line in errors)
    assert f"itas: error: 5 errors in {bad}" in done.stderr.splitlines()
    assert f"warning: {bad}: trails: unknown key, ignored; did you mean trials?" in done.stderr


def test_structure_only_skips_the_registry_and_the_estimates(tmp_path: Path) -> None:
    job = tmp_path / "own.yml"
    job.write_text("name: own\nbenchmark: synth-math\nllms: [my-llm, other-llm]\n")
    assert _run(["validate", str(job)], KEYS).returncode == 2
    done = _run(["validate", "--structure-only", str(job)])
    assert done.returncode == 0, done.stderr
    assert "costs not estimated with --structure-only" in done.stdout


def test_a_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nllms: [a, b\nbenchmark: synth-math\n")
    done = _run(["validate", "--structure-only", str(broken)])
    assert done.returncode == 2
    assert done.stderr.startswith(f"itas: error: {broken}: line 3, column 10: not valid YAML")
    assert "Traceback" not in done.stderr


def test_a_json_job_is_recognised_by_its_benchmark_key_next_to_architectures(
        tmp_path: Path) -> None:
    job = tmp_path / "job.json"
    job.write_text('{"name": "j", "benchmark": "synth-math", "llms": ["sim-large"]}')
    architecture = ROOT / "examples" / "architectures" / "generate10-rank5-fuse.json"
    done = _run(["validate", str(job), str(architecture)], KEYS)
    assert done.returncode == 0, done.stderr
    assert f"{job}: ok (search job j" in done.stdout
    assert f"{architecture}: ok (generate10-rank5-fuse" in done.stdout
