"""`itas demo` (what `make demo` runs)."""

from __future__ import annotations

import typer
from rich.console import Console

from models.settings import load_settings
from scheduler.demo import background, flower_answers
from scheduler.probes import run_probes
from scheduler.services import manager

console = Console()


def run_demo(
    probes: int = typer.Option(200, help="Probe tasks to push through the workers."),
    flower_port: int = typer.Option(5555, help="Port for Flower."),
) -> None:
    """Start services, workers and Flower; run the demo job; print what happened."""
    settings = load_settings()
    if settings.database_url is None or settings.redis_url is None:
        console.print("[bold]1/3[/] starting embedded PostgreSQL and Redis under "
                      f"{settings.home.resolve()}")
        manager.up(settings)
    else:
        console.print("[bold]1/3[/] using the PostgreSQL and Redis of ITAS_DATABASE_URL / "
                      "ITAS_REDIS_URL")
    logs = settings.home.resolve() / "logs"
    console.print(f"[bold]2/3[/] starting 2 Celery worker processes and Flower (logs in {logs})")
    with background("worker", ["worker", "--concurrency", "2", "--hostname", "demo@%h"],
                    logs / "worker.log", "ready."), \
         background("flower", ["flower", "--port", str(flower_port)],
                    logs / "flower.log", "Visit me at"):
        console.print(f"[bold]3/3[/] sending {probes} probe tasks through broker -> workers "
                      "-> PostgreSQL")
        report = run_probes(count=probes, delay_s=0.0, timeout_s=120)
        flower_ok = flower_answers(flower_port)
    trips = sorted(report.round_trips_s)
    p50 = trips[len(trips) // 2] if trips else float("nan")
    p95 = trips[int(len(trips) * 0.95) - 1] if trips else float("nan")
    console.print()
    console.print(f"completed {report.completed}/{probes} tasks, {report.redelivered} "
                  f"redelivered, on {len(report.workers)} worker node(s)")
    console.print(f"round trip (queued -> row written): p50 {p50 * 1000:.0f} ms, "
                  f"p95 {p95 * 1000:.0f} ms")
    console.print(f"Flower answered on http://127.0.0.1:{flower_port}: "
                  f"{'yes' if flower_ok else 'no'} (start it again with `itas flower`)")
    console.print("Searches over simulated LLMs come with the next issues; the services keep "
                  "running: `itas services status`, `itas services down`.")
    if report.completed < probes:
        raise typer.Exit(1)
