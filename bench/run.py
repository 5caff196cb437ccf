"""`make bench`: run every bench script that contributes figures, merge, publish.

Each script of SCRIPTS runs in turn (never two at once: they measure time on a shared machine),
except the rate limiter's, which run together at the end (TOGETHER says why), with
``--json-out`` (the contract in bench/results.py); its lists are merged into bench/results.json
and rendered into BENCHMARKS.md with the machine, the date and the load. A script missing from
this checkout is reported in both files; one that fails too, and the others still run, and the
exit code is 1.

    .venv/bin/python -u bench/run.py [--only NAME ...] [--out-dir DIR]

Needs PostgreSQL and Redis (ITAS_DATABASE_URL / ITAS_REDIS_URL, or `itas services up`). About
15-20 minutes on 2 cores; sizes are chosen for that (each script's own --help says more).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.results import read_figures, render_markdown  # noqa: E402

#: Scripts whose figures are a rate limit's use over fixed windows (90 s, 60 s), not a speed:
#: the limiter, not the CPU, sets their pace (together about 20 calls/s, a few percent of what
#: one worker does here), so they run at the same time, each with its own simulator, keys and
#: Redis prefix. That keeps `make bench` within its 20 minutes (run one by one, they took
#: 402 s of 1,308 on 2026-12-03).
TOGETHER = ("bench/ratelimit_utilisation.py", "bench/rate_limit_adapts.py")

#: (script, arguments, timeout in seconds). Sizes are the issue's where the 20 minutes allow.
SCRIPTS: list[tuple[str, list[str], int]] = [
    ("bench/pipeline_throughput.py", [], 600),
    # 16 in flight per key: a limit this job could fill (bench/search_rpm.py says why).
    ("bench/search_rpm.py", ["--trials", "8", "--max-in-flight", "16"], 900),
    ("bench/ratelimit_utilisation.py",
     ["--start-simulator", "--url", "http://127.0.0.1:18301", "--arms", "limited", "--mode",
      "rpm", "--duration", "90"], 300),
    ("bench/ratelimit_utilisation.py",
     ["--start-simulator", "--url", "http://127.0.0.1:18302", "--arms", "limited", "--mode",
      "tpm", "--duration", "90"], 300),
    # At 8 trials the figure comes from search_rpm.py's zero-latency run of the same job.
    ("bench/search_efficiency.py", ["--part", "A", "--sharing-trials", "20"], 900),
    ("bench/search_replay.py",
     ["--save", "{tmp}/space.json", "--questions", "200", "--seeds", "10", "--to-optimum", "tpe",
      "random", "gp", "random-20", "gp-20", "tpe-unpruned-20", "tpe-halving"], 900),
    # The limiter's adaptation and `n` samples (issue 12, the other half): their scripts follow
    # the same contract; in a checkout without them they are reported missing.
    ("bench/rate_limit_adapts.py", [], 600),
    ("bench/n_samples.py", [], 300),
    # The code sandbox (issue 25): per-run overhead and HumanEval's solutions vs bare processes.
    ("bench/sandbox_overhead.py", [], 300),
]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        import psutil

        memory = f", {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except ImportError:
        pass
    return (f"{platform.node()}: {os.cpu_count()} cores ({cpu}){memory}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


#: Numbers each script's output file (a script may run twice with other arguments).
_outputs = itertools.count()


def run_scripts(batch: list[tuple[str, list[str], int]], tmp: Path,
                notes: list[str]) -> list[dict[str, Any]]:
    """Run the scripts of ``batch`` at the same time; their figures, in the batch's order."""
    started: list[tuple[str, list[str], int, Path, Path, subprocess.Popen[bytes]]] = []
    for script, args, timeout_s in batch:
        path = REPO / script
        if not path.exists():
            notes.append(f"{script}: missing from this checkout, not run")
            print(f"== {script}: MISSING", flush=True)
            continue
        out = tmp / f"{path.stem}-{next(_outputs)}.json"
        argv = [sys.executable, "-u", str(path), *[a.format(tmp=tmp) for a in args],
                "--json-out", str(out)]
        log = tmp / f"{out.stem}.log"
        print(f"== {script} {' '.join(args)} (load {load()})", flush=True)
        with log.open("w") as handle:
            process = subprocess.Popen(argv, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT)
        started.append((script, args, timeout_s, out, log, process))
    began = time.monotonic()
    figures: list[dict[str, Any]] = []
    for script, args, timeout_s, out, log, process in started:
        try:
            code: int | str = process.wait(max(1.0, began + timeout_s - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = f"timeout after {timeout_s} s"
        took = time.monotonic() - began
        figures += _collect(script, args, code, took, out, log, notes)
    return figures


def _collect(script: str, args: list[str], code: int | str, took: float, out: Path, log: Path,
             notes: list[str]) -> list[dict[str, Any]]:
    print(f"-- {script} {' '.join(args)}", flush=True)
    print(log.read_text(errors="replace")[-2500:], flush=True)
    if not out.exists():
        notes.append(f"{script} {' '.join(args)}: FAILED ({code}) after {took:.0f} s; "
                     "its figures are missing")
        return []
    # A script may exit 1 for "a criterion of mine is not met" and still have measured.
    exited = "" if code == 0 else f", exit {code}"
    notes.append(f"{script} {' '.join(args)}: {took:.0f} s{exited}")
    return read_figures(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", nargs="+", help="run only scripts whose path contains these")
    parser.add_argument("--out-dir", type=Path, default=REPO,
                        help="where bench/results.json and BENCHMARKS.md go (default: the repo)")
    args = parser.parse_args()
    if not (os.environ.get("ITAS_DATABASE_URL") and os.environ.get("ITAS_REDIS_URL")):
        print("make bench: set ITAS_DATABASE_URL and ITAS_REDIS_URL (or `eval \"$(itas "
              "services env)\"` after `itas services up`)", file=sys.stderr)
        return 2
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    notes = [f"load average (1/5/15 min) at the start: {load()}"]
    figures: list[dict[str, Any]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="itas-make-bench-") as tmp:
        chosen = [entry for entry in SCRIPTS
                  if not args.only or any(o in entry[0] for o in args.only)]
        alone = [[entry] for entry in chosen if entry[0] not in TOGETHER]
        together = [entry for entry in chosen if entry[0] in TOGETHER]
        for batch in alone + ([together] if together else []):
            figures += run_scripts(batch, Path(tmp), notes)
    notes.append(f"load average at the end: {load()}; total {time.monotonic() - started:.0f} s")
    results = args.out_dir / "bench" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    import json

    results.write_text(json.dumps(figures, indent=2) + "\n")
    (args.out_dir / "BENCHMARKS.md").write_text(
        render_markdown(figures, machine=machine(), date=date, notes=notes))
    print(f"{len(figures)} figures -> {results} and {args.out_dir / 'BENCHMARKS.md'}")
    for note in notes:
        print(f"  {note}")
    return 1 if any("FAILED" in n for n in notes) else 0


if __name__ == "__main__":
    sys.exit(main())
