"""Inputs that used to escape as tracebacks: each is now one line and exit 2. Pure: no service
is needed (every check runs before one is reached)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from scheduler.processes import ITAS


def itas(*args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
    return subprocess.run([*ITAS, *args], env=clean, capture_output=True, text=True, timeout=60)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("deep.json", '{"name": "x", "layers": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "nested more than 32 levels deep"),
    ("deep-objects.json", '{"name": "x", "layers": [[' + '{"a": ' * 5000 + "1"
     + "}" * 5000 + "]]}", "nested more than 32 levels deep"),
    ("deep.yaml", "name: x\nbenchmark: synth-math\nllms: " + "[" * 100_000 + "]" * 100_000,
     "nested more than 32 levels deep"),
    ("just-too-deep.yaml", "name: x\nbenchmark: synth-math\nllms: " + "[" * 40 + "]" * 40,
     "nested more than 32 levels deep"),
    ("aliases.yaml", "name: x\nbenchmark: synth-math\na0: &a0 [" + ", ".join(["x"] * 10) + "]\n"
     + "".join(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 8))
     + "llms: *a7\n", "more than 100000 values"),
])
def test_a_file_too_deep_or_too_large_is_one_error(
        tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    line = one_line(itas("validate", str(path)))
    assert line.startswith(f"itas: error: {path}: {expected}")
    if name.endswith(".json"):  # `itas run` reads it the same way, before any service
        line = one_line(itas("run", str(path), "--benchmark", "synth-math"))
        assert expected in line


@pytest.mark.parametrize(("flags", "expected"), [
    (["--lease", "0"], "--lease: expected a number of seconds > 0, got 0"),
    (["--stale", "0"], "--stale: expected a number of seconds > 0, got 0"),
    (["--poll", "0"], "--poll: expected a number of seconds > 0, got 0"),
    (["--poll", "-1"], "--poll: expected a number of seconds > 0, got -1"),
    (["--stale", "nan"], "--stale: expected a number of seconds > 0, got nan"),
    (["--lease", "1", "--poll", "2"], "--lease: expected more than --poll (2s"),
])
def test_scheduler_intervals_it_cannot_work_with_are_refused(
        flags: list[str], expected: str) -> None:
    assert expected in one_line(itas("scheduler", "--once", *flags))
