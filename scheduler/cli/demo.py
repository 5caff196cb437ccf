"""`itas demo` (what `make demo` runs)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from models.errors import ItasError
from models.settings import load_settings, resolve_service_urls
from scheduler.benchmarks import load_questions
from scheduler.cli.run import checked_architecture
from scheduler.demo import (
    DEMO_KEYS,
    ITAS,
    answers,
    background,
    demo_fleet,
    write_architectures,
)
from scheduler.evaluations import answered, queue_evaluation, summarize
from scheduler.services import manager

console = Console()


def run_demo(
    questions: int = typer.Option(50, help="synth-math questions per architecture."),
    flower_port: int = typer.Option(5555, help="Port for Flower."),
) -> None:
    """Start everything, evaluate four architectures on the simulated fleet, print the
    leaderboard and write a report."""
    import sys

    settings = load_settings()
    home = settings.home.resolve()
    logs = home / "logs"
    if settings.database_url is None or settings.redis_url is None:
        console.print(f"[bold]1/4[/] embedded PostgreSQL and Redis under {home}")
        manager.up(settings)
    else:
        console.print("[bold]1/4[/] PostgreSQL and Redis of ITAS_DATABASE_URL / ITAS_REDIS_URL")
    sim_url = settings.simulator_url
    port = str(urlsplit(sim_url).port or 8300)
    reuse = answers(f"{sim_url}/health")
    sim_args = [sys.executable, "-m", "simulator", "--fleet", str(demo_fleet(home / "demo")),
                "--port", port]
    console.print(f"[bold]2/4[/] LLM simulator (simulated LLMs, no real model) at {sim_url}"
                  + (" (already running)" if reuse else ""))
    console.print(f"[bold]3/4[/] Celery workers (16 threads) and Flower at "
                  f"http://127.0.0.1:{flower_port} (logs in {logs})")
    paths = write_architectures(home / "demo" / "architectures")
    worker_args = [*ITAS, "worker", "--pool", "threads", "--concurrency", "16",
                   "--hostname", "demo@%h"]
    with ExitStack() as stack:
        if not reuse:
            stack.enter_context(background("simulator", sim_args, logs / "simulator.log",
                                           "listening on"))
        stack.enter_context(background("worker", worker_args, logs / "worker.log", "ready.",
                                       env=DEMO_KEYS))
        stack.enter_context(background("flower", [*ITAS, "flower", "--port", str(flower_port)],
                                       logs / "flower.log", "Visit me at"))
        rows = _evaluate_all(paths, questions)
    report = _report(home, rows, questions)
    console.print(f"\nreport: {report}")
    console.print("The services keep running: `itas services status`, `itas services down`.")


def _evaluate_all(paths: list[Path], count: int) -> list[tuple[str, dict[str, object]]]:
    database_url = resolve_service_urls(load_settings()).database_url
    chosen = load_questions("synth-math", split="search", limit=count)
    queued = []
    for path in paths:
        arch_json, arch_hash, _ = checked_architecture(path)
        evaluation_id = queue_evaluation(database_url, architecture=arch_json,
                                         arch_hash=arch_hash, benchmark="synth-math",
                                         split="search", questions=chosen)
        queued.append((str(arch_json["name"]), evaluation_id))
    console.print(f"[bold]4/4[/] {len(paths)} architectures x {count} synth-math questions, "
                  "all queued at once; the workers share every identical call")
    total = len(queued) * count
    deadline = time.monotonic() + 1800
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task("questions answered", total=total)
        while True:
            done = sum(answered(database_url, e) for _, e in queued)
            progress.update(bar, completed=done)
            if done >= total:
                break
            if time.monotonic() > deadline:
                raise ItasError("the demo's evaluations did not finish in 30 minutes; see the "
                                "worker log")
            time.sleep(0.5)
    rows = [(name, summarize(database_url, e).as_dict()) for name, e in queued]
    rows.sort(key=lambda r: -float(r[1]["score"] or 0))
    table = Table(title="synth-math leaderboard (simulated LLMs)")
    for column in ("architecture", "score", "LLM calls", "cache hits", "cost $", "p50 s"):
        table.add_column(column, justify="left" if column == "architecture" else "right")
    for name, s in rows:
        table.add_row(name, f"{s['score']:.3f}", str(s["llm_calls"]), str(s["cache_hits"]),
                      f"{s['cost_usd']:.4f}", str(s["p50_latency_s"]))
    console.print(table)
    return rows


def _report(home: Path, rows: list[tuple[str, dict[str, object]]], count: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = home / "reports" / f"demo-{stamp}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# itas demo, {stamp} UTC", "",
             f"synth-math, {count} questions of the search split, simulated LLMs "
             "(the itas simulator; no real model).", "",
             "| architecture | score | LLM calls | cache hits | provider calls | cost $ |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, s in rows:
        lines.append(f"| {name} | {s['score']} | {s['llm_calls']} | {s['cache_hits']} | "
                     f"{s['provider_calls']} | {s['cost_usd']} |")
    path.write_text("\n".join(lines) + "\n")
    return path
