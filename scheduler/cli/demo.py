"""`itas demo` (what `make demo` runs): a whole search on this machine, no account anywhere."""

from __future__ import annotations

import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from models.errors import ItasError, UserError
from models.settings import load_settings, resolve_service_urls
from scheduler.demo import DEMO_JOB, DEMO_KEYS, DEMO_LATENCY_SCALE, answers, background
from scheduler.processes import ITAS
from scheduler.services import manager

console = Console()


def run_demo(
    job_file: Path = typer.Option(DEMO_JOB, "--job", help="Search job file to run."),
    trials: int | None = typer.Option(None, help="Override the job's number of trials."),
    flower_port: int = typer.Option(5555, help="Port for Flower."),
    latency_scale: float = typer.Option(
        DEMO_LATENCY_SCALE, min=0.0,
        help="Multiplies the simulated LLMs' latencies (1: realistic; 0: answer at once)."),
) -> None:
    """Start services, simulator, workers, scheduler and Flower; run a search job; print the
    leaderboard, the best architecture and where the report is."""
    if not job_file.exists():
        raise UserError(f"--job: {job_file} does not exist (the demo job ships in the "
                        "repository's examples/)")
    settings = load_settings()
    home = settings.home.resolve()
    logs = home / "logs"
    if settings.database_url is None or settings.redis_url is None:
        console.print(f"[bold]1/5[/] embedded PostgreSQL and Redis under {home}")
        manager.up(settings)
    else:
        console.print("[bold]1/5[/] PostgreSQL and Redis of ITAS_DATABASE_URL / ITAS_REDIS_URL")
    sim_url = settings.simulator_url
    reuse = answers(f"{sim_url}/health")
    console.print(f"[bold]2/5[/] LLM simulator at {sim_url}: simulated LLMs, no real model"
                  + (" (already running)" if reuse else ""))
    # Queued before the worker starts, so its preflight is the scheduler's, once it is up.
    submit_args = ["submit", str(job_file), "--no-preflight"] + (
        ["--trials", str(trials)] if trials else [])
    done = _itas(submit_args)
    job_id = int(done.strip().splitlines()[-1])
    console.print(f"[bold]3/5[/] search job {job_id} from {job_file}")
    console.print(f"[bold]4/5[/] Celery worker (its defaults: threads sized from the "
                  f"endpoints' limits), scheduler and Flower at http://127.0.0.1:{flower_port} "
                  f"(logs in {logs})")
    sim_args = [sys.executable, "-m", "simulator",
                "--fleet", str(demo_fleet(home / "demo", latency_scale)),
                "--port", str(urlsplit(sim_url).port or 8300)]
    with ExitStack() as stack:
        if not reuse:
            stack.enter_context(background("simulator", sim_args, logs / "simulator.log",
                                           "listening on"))
        stack.enter_context(background(
            "worker", [*ITAS, "worker", "--hostname", "demo@%h"], logs / "worker.log",
            "ready.", env=DEMO_KEYS))
        stack.enter_context(background("flower", [*ITAS, "flower", "--port", str(flower_port)],
                                       logs / "flower.log", "Visit me at"))
        stack.enter_context(background(
            "scheduler", [*ITAS, "scheduler", "--once", "--job", str(job_id)],
            logs / "scheduler.log", "started"))
        _follow(job_id)
    console.print(f"[bold]5/5[/] results of search job {job_id}")
    _itas(["report", str(job_id)], show=True)
    best = json.loads(_itas(["best", str(job_id)]))
    console.print(f"best architecture: [bold]{best['name']}[/] (`itas best {job_id}`)")
    console.print(f"Flower ran at http://127.0.0.1:{flower_port} (`itas flower` starts it "
                  "again). The services keep running: `itas services down` stops them.")


def _itas(args: list[str], show: bool = False) -> str:
    import os
    import subprocess

    env = {**os.environ, "COLUMNS": str(max(console.width, 120))}  # tables as wide as ours
    done = subprocess.run([*ITAS, *args], capture_output=True, text=True, timeout=600,
                          env=env)
    if done.returncode != 0:
        raise ItasError(f"itas {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    if show:
        console.print(done.stdout, end="", highlight=False, markup=False)
    return done.stdout


def _follow(job_id: int) -> None:
    from scheduler.reports import FINAL_STATES, job_status

    database_url = resolve_service_urls(load_settings()).database_url
    deadline = time.monotonic() + 1800
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task("trials finished", total=None)
        while True:
            status = job_status(database_url, job_id)
            progress.update(bar, total=status.trials_planned,
                            completed=status.trials_finished)
            if status.state in FINAL_STATES:
                break
            if time.monotonic() > deadline:
                raise ItasError("the demo's search did not finish in 30 minutes; see the "
                                "scheduler log")
            time.sleep(1.0)
    if status.state != "completed":
        raise ItasError(f"search job {job_id} {status.state}: {status.error}")


# The simulator's own default fleet file is read here, in the command that starts the simulator
# as a process: nothing else in scheduler/ may import simulator/.
def demo_fleet(directory: Path, latency_scale: float = DEMO_LATENCY_SCALE) -> Path:
    from simulator.fleet import DEFAULT_FLEET

    fleet = yaml.safe_load(DEFAULT_FLEET.read_text())
    fleet["latency_scale"] = latency_scale
    path = directory / "demo-fleet.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# The default simulated fleet, latencies scaled by {latency_scale}.\n"
                    + yaml.safe_dump(fleet))
    return path
