"""`itas probe`: send tasks through broker, workers and database, and time the round trip.

The smallest real job the service can do: it proves a deployment works end to end before a
search spends money, and it is what `make demo` runs until searches exist.
"""

from __future__ import annotations

import json
import statistics

import typer
from rich.console import Console
from rich.progress import Progress

from models.errors import UserError
from scheduler.probes import run_probes

console = Console(stderr=True)


def run_probe(
    count: int = typer.Option(10, help="How many probe tasks to send."),
    delay: float = typer.Option(0.0, help="Seconds each task sleeps (a stand-in for work)."),
    timeout: float = typer.Option(60.0, help="Give up after this many seconds."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Queue probe tasks, wait until workers have written every result, print the figures."""
    if count < 1:
        raise UserError(f"--count: expected at least 1, got {count}")
    if delay < 0 or timeout <= 0:
        raise UserError("--delay must be >= 0 and --timeout > 0")
    with Progress(console=console, transient=True) as progress:
        bar = progress.add_task("probes", total=count)
        report = run_probes(count=count, delay_s=delay, timeout_s=timeout,
                            on_progress=lambda done: progress.update(bar, completed=done))
    summary = {
        "probes": count,
        "completed": report.completed,
        "redelivered": report.redelivered,
        "p50_round_trip_s": round(statistics.median(report.round_trips_s), 4)
        if report.round_trips_s else None,
        "max_round_trip_s": round(max(report.round_trips_s), 4) if report.round_trips_s else None,
        "workers": sorted(report.workers),
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        for key, value in summary.items():
            typer.echo(f"{key:>18}: {value}")
    if report.completed < count:
        console.print(f"only {report.completed}/{count} probes finished in {timeout}s: "
                      "is a worker running? (`itas worker`)")
        raise typer.Exit(1)
