"""The drills' results: a table on the terminal, ``bench/drills.json`` and the figures section
of ``RELIABILITY.md``. The Markdown is written between two markers, so text written by hand
around them (causes, what was fixed) survives the next run."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.drills.harness import DrillResult
from bench.drills.stack import REPO

BEGIN = "<!-- drills:begin (written by `make drills`; edit outside the markers) -->"
END = "<!-- drills:end -->"


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=REPO).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, cwd=REPO).stdout.strip()
    return {"host": socket.gethostname(), "cpus": os.cpu_count(), "cpu_model": model,
            "python": platform.python_version(), "kernel": platform.release(),
            "commit": commit + ("+changes" if dirty else "")}


def _row(r: DrillResult) -> tuple[str, ...]:
    comparison = r.comparison or {}
    return (r.name, "PASS" if r.passed else "FAIL",
            str(r.duplicates.get("duplicate_paid_rows", "-")),
            str(r.duplicates.get("provider_ok_beyond_distinct", "-")),
            str(comparison.get("differ", "-")), str(comparison.get("failed", "-")),
            str(comparison.get("unanswered_faulted", "-")),
            str((r.faulted or {}).get("extra", {}).get("resent_steps", "-")),
            f"{r.duration_s:.0f}")


HEADER = ("drill", "result", "dup. paid rows", "provider 200s beyond distinct",
          "answers differ", "failed answers", "unanswered", "re-sent steps", "time s")


def print_table(results: list[DrillResult], total: float) -> None:
    rows = [HEADER, *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    print()
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(f"total {total:.0f}s; {sum(r.passed for r in results)} of {len(results)} passed")


def write_json(path: str, results: list[DrillResult], total: float, command: str) -> None:
    data = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "command": command,
            "machine": machine(), "total_s": total, "drills": [asdict(r) for r in results]}
    Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n")


def write_markdown(path: str, results: list[DrillResult], total: float, command: str) -> None:
    m = machine()
    lines = [
        BEGIN, "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on `{m['host']}` ({m['cpus']} cores, "
        f"{m['cpu_model']}; Python {m['python']}; commit {m['commit']}), with",
        "", "    " + command, "",
        f"Total {total:.0f} s; {sum(r.passed for r in results)} of {len(results)} drills passed.",
        "", "| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER),
        *("| " + " | ".join(_row(r)) + " |" for r in results), "",
    ]
    for r in results:
        lines.append(f"**{r.name}** ({r.fault}): {'PASS' if r.passed else 'FAIL'}.")
        if r.clean and r.faulted:
            lines.append(f"Clean run {r.clean['duration_s']} s, {r.clean['answers']} answers, "
                         f"{r.clean['calls']['paid_distinct']} paid calls; faulted run "
                         f"{r.faulted['duration_s']} s, exit {r.faulted['exit_code']}, "
                         f"{r.faulted['answers']} answers, calls {r.faulted['calls']}, "
                         f"provider replies {r.faulted['provider']}.")
        lines += [f"- {reason}" for reason in r.reasons]
        errors = (r.faulted or {}).get("extra", {}).get("worker_errors")
        if errors:
            lines.append("- worker log, task errors: " + "; ".join(
                f"{count} x `{message}`" for message, count in errors.items()))
        if r.events:
            shown = r.events if len(r.events) <= 6 else [*r.events[:3], "...", *r.events[-2:]]
            lines.append("- events: " + "; ".join(e.strip() for e in shown))
        lines.append("")
    lines.append(END)
    block = "\n".join(lines)
    target = Path(path)
    text = target.read_text() if target.exists() else "# Reliability\n\n" + BEGIN + "\n" + END
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    target.write_text(text if text.endswith("\n") else text + "\n")
