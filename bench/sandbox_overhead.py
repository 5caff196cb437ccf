"""What the code sandbox costs: per run, and on HumanEval's reference solutions.

Two figures (issue 25):

- ``sandbox_overhead_ms``: the median wall time of ``worker.sandbox.run("pass")`` (bwrap, the
  namespaces, the launcher's limits, the capture) minus the median of a bare subprocess of the
  same interpreter with the same flags (``python -I -S -c pass``), ``--runs`` of each,
  interleaved so that the machine's load falls on both alike. The median of a plain
  ``python -c pass`` (with site-packages) is measured the same way and shown beside it.
- ``sandbox_runs_per_s_vs_bare``: HumanEval's 164 canonical solutions (prompt + solution +
  test, which ends with ``check(...)``) at the worker's parallelism (``slots()`` threads)
  through the sandbox, over the same programs as bare subprocesses of the same interpreter
  with the same flags (``python -I -S FILE``: the sandbox's cost alone), each arm
  ``--rounds`` times, alternating; the ratio of the best rounds' runs per second. How many
  passed in each arm is in the baseline (164 of 164 expected).

    .venv/bin/python -u bench/sandbox_overhead.py [--runs 40] [--rounds 2] [--json-out PATH]

Needs $ITAS_DATASETS (humaneval/humaneval-python.jsonl) and a working sandbox (no service).
About a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results import figure, write_figures  # noqa: E402
from worker import sandbox  # noqa: E402
from worker.sandbox.bwrap import ENV, interpreter  # noqa: E402

COMMAND = ".venv/bin/python -u bench/sandbox_overhead.py"
TIMEOUT_S = 10.0


def overhead(runs: int) -> tuple[float, float, float]:
    """Medians in ms: (sandboxed pass, bare ``-I -S -c pass``, bare ``-c pass``)."""
    executable, _ = interpreter()
    boxed: list[float] = []
    bare: list[float] = []
    plain: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        result = sandbox.run("pass", timeout=TIMEOUT_S)
        boxed.append(time.perf_counter() - started)
        if result.status != sandbox.Status.OK:
            raise SystemExit(f"the sandbox did not run `pass`: {result}")
        for argv, into in (([executable, "-I", "-S", "-c", "pass"], bare),
                           ([executable, "-c", "pass"], plain)):
            started = time.perf_counter()
            subprocess.run(argv, env=ENV, check=True, capture_output=True)
            into.append(time.perf_counter() - started)
    return tuple(statistics.median(x) * 1000 for x in (boxed, bare, plain))  # type: ignore[return-value]


def humaneval_programs() -> list[str]:
    root = os.environ.get("ITAS_DATASETS")
    if not root:
        raise SystemExit("set ITAS_DATASETS (e.g. /work/shared/datasets)")
    path = Path(root) / "humaneval" / "humaneval-python.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [f"{r['prompt']}{r['canonical_solution']}\n\n{r['test']}\n" for r in rows]


def through_sandbox(programs: list[str]) -> tuple[float, int]:
    """(seconds for all, how many passed)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=sandbox.slots()) as pool:
        results = list(pool.map(lambda p: sandbox.run(p, timeout=TIMEOUT_S), programs))
    return time.perf_counter() - started, sum(r.status == sandbox.Status.OK for r in results)


def bare(paths: list[Path]) -> tuple[float, int]:
    executable, _ = interpreter()

    def one(path: Path) -> bool:
        done = subprocess.run([executable, "-I", "-S", str(path)], env=ENV, cwd=path.parent,
                              capture_output=True, timeout=TIMEOUT_S)
        return done.returncode == 0

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=sandbox.slots()) as pool:
        passed = sum(pool.map(one, paths))
    return time.perf_counter() - started, passed


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="runs of each arm of the overhead")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each HumanEval arm")
    parser.add_argument("--json-out", type=Path, help="write the figures here (a JSON list)")
    args = parser.parse_args()
    why_not = sandbox.availability()
    if why_not is not None:
        print(why_not, file=sys.stderr)
        return 2
    boxed_ms, bare_ms, plain_ms = overhead(args.runs)
    print(f"pass: sandboxed {boxed_ms:.1f} ms, bare -I -S {bare_ms:.1f} ms, bare {plain_ms:.1f} "
          f"ms (medians of {args.runs})", flush=True)
    programs = humaneval_programs()
    with tempfile.TemporaryDirectory(prefix="itas-bench-sandbox-") as tmp:
        paths = []
        for index, program in enumerate(programs):
            path = Path(tmp) / f"p{index}" / "main.py"
            path.parent.mkdir()
            path.write_text(program)
            paths.append(path)
        boxed_runs: list[tuple[float, int]] = []
        bare_runs: list[tuple[float, int]] = []
        for _ in range(args.rounds):
            boxed_runs.append(through_sandbox(programs))
            bare_runs.append(bare(paths))
            print(f"humaneval: sandboxed {boxed_runs[-1]}, bare {bare_runs[-1]} "
                  "(seconds, passed)", flush=True)
    boxed_s, boxed_passed = min(boxed_runs)
    bare_s, bare_passed = min(bare_runs)
    count = len(programs)
    ratio = (count / boxed_s) / (count / bare_s)
    print(f"sandbox_overhead_ms {boxed_ms - bare_ms:.1f}; sandbox_runs_per_s_vs_bare "
          f"{ratio:.2f} ({count / boxed_s:.1f} vs {count / bare_s:.1f} runs/s at "
          f"{sandbox.slots()} slots; passed {boxed_passed} and {bare_passed} of {count})")
    write_figures(args.json_out, [
        figure("sandbox_overhead_ms", boxed_ms - bare_ms, "ms", goal="<= 10",
               baseline=f"bare `python -I -S -c pass` {bare_ms:.1f} ms (median of "
                        f"{args.runs}, interleaved; sandboxed {boxed_ms:.1f} ms; plain "
                        f"`python -c pass` {plain_ms:.1f} ms)", command=COMMAND),
        figure("sandbox_runs_per_s_vs_bare", ratio, "ratio", goal=">= 0.8",
               baseline=f"HumanEval's {count} canonical solutions as bare `python -I -S FILE`: "
                        f"{count / bare_s:.1f} runs/s, {bare_passed}/{count} passed "
                        f"(sandboxed: {count / boxed_s:.1f} runs/s, {boxed_passed}/{count} "
                        f"passed; {sandbox.slots()} at once, best of {args.rounds})",
               command=COMMAND),
    ])
    return 0 if boxed_passed == bare_passed == count else 1


if __name__ == "__main__":
    sys.exit(main())
