"""`itas demo` (what `make demo` runs): a whole search over the simulated fleet finishes, every
trial accounted for, the best architecture validates, the HTML report has its plots, and no
process of the demo is left behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import psutil
import pytest

from scheduler.processes import ITAS
from scheduler.services.ports import free_port
from tests.services import RunServices

pytestmark = pytest.mark.slow


def test_demo_runs_a_search_and_cleans_up(services: RunServices, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
    env.update(services.env(), ITAS_HOME=str(tmp_path), COLUMNS="160",
               ITAS_SIMULATOR_URL=f"http://127.0.0.1:{free_port()}")
    # Latencies a tenth of the realistic ones the demo shows: the suite's time is short.
    done = subprocess.run([*ITAS, "demo", "--trials", "8", "--flower-port", str(free_port()),
                           "--latency-scale", "0.1"],
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    job_id = re.search(r"search job (\d+) from", done.stdout)
    assert job_id, done.stdout
    assert "final ranking" in done.stdout and "power ranking" in done.stdout

    status = subprocess.run([*ITAS, "status", job_id.group(1), "--json"], env=env,
                            capture_output=True, text=True, timeout=60)
    summary = json.loads(status.stdout.strip().splitlines()[-1])
    assert summary["state"] == "completed"
    counts = summary["trials"]
    assert counts["running"] == 0
    assert sum(counts[k] for k in ("completed", "pruned", "infeasible", "failed")) == 8

    best = tmp_path / "best.json"
    best.write_text(subprocess.run([*ITAS, "best", job_id.group(1)], env=env,
                                   capture_output=True, text=True, timeout=60).stdout)
    valid = subprocess.run([*ITAS, "validate", str(best)], env=env, capture_output=True,
                           text=True, timeout=60)
    assert valid.returncode == 0, valid.stdout + valid.stderr

    (report,) = (tmp_path / "reports").glob("*.html")
    html = report.read_text()
    for title in ("Optimization History", "Pareto", "Hyperparameter Importances"):
        assert title in html
    leftovers = [p for p in psutil.process_iter(["cmdline"])
                 if str(tmp_path) in " ".join(p.info["cmdline"] or [])
                 or "demo@" in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []
