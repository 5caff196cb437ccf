"""`itas demo` (what `make demo` runs) finishes, prints a leaderboard, writes its report, and
leaves no process of its own behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psutil
import pytest

from scheduler.services.ports import free_port
from tests.services import RunServices
from tests.workers import ITAS

pytestmark = pytest.mark.slow


def test_demo_runs_the_architectures_and_cleans_up(services: RunServices,
                                                   tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
    env.update(services.env(), ITAS_HOME=str(tmp_path),
               ITAS_SIMULATOR_URL=f"http://127.0.0.1:{free_port()}")
    done = subprocess.run([*ITAS, "demo", "--questions", "5", "--flower-port",
                           str(free_port())], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "score" in done.stdout and "sim-small alone" in done.stdout  # the leaderboard
    reports = list((tmp_path / "reports").glob("demo-*.md"))
    assert len(reports) == 1
    rows = [line for line in reports[0].read_text().splitlines() if line.startswith("| ")]
    assert len(rows) == 6  # header, rule, four architectures
    assert any("Archon quick start" in row for row in rows)
    leftovers = [p for p in psutil.process_iter(["cmdline"])
                 if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []
