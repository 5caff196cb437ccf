"""`itas worker` and `itas flower`: Celery's own programs, started with itas's settings.

The settings are checked and the schema ensured here first, so a bad ITAS_* value or a missing
database is one clear line instead of a Celery traceback per pool process.
"""

from __future__ import annotations

import os
import sys

import typer

from models.db import get_engine
from models.errors import UserError
from models.settings import load_settings, resolve_service_urls

KNOWN_QUEUES = ("itas.layers", "itas.control")
CELERY_APP = "worker.celery_app"


def _checked_environment() -> None:
    settings = load_settings()
    urls = resolve_service_urls(settings)
    get_engine(urls.database_url)  # creates or upgrades the schema once, before any task runs


def run_worker(
    queues: str = typer.Option(",".join(KNOWN_QUEUES), help="Comma-separated queues to consume."),
    concurrency: int = typer.Option(0, min=0, help="Pool processes (0: one per core)."),
    pool: str = typer.Option("prefork", help="Celery pool: prefork or threads."),
    loglevel: str = typer.Option("INFO", help="Log level."),
    hostname: str = typer.Option("", help="Node name (default: itas@<host>-<pid>)."),
) -> None:
    """Start a Celery worker consuming itas's queues (replaces this process)."""
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in wanted if q not in KNOWN_QUEUES]
    if unknown or not wanted:
        raise UserError(f"--queues: unknown queue {', '.join(unknown) or '(none)'}; "
                        f"known: {', '.join(KNOWN_QUEUES)}")
    if pool not in {"prefork", "threads"}:
        raise UserError(f"--pool: expected prefork or threads, got {pool!r}")
    _checked_environment()
    argv = [sys.executable, "-m", "celery", "-A", CELERY_APP, "worker",
            "--queues", ",".join(wanted), "--pool", pool, "--loglevel", loglevel,
            "--hostname", hostname or f"itas@%h-{os.getpid()}", "--events"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    sys.stdout.flush()
    os.execv(sys.executable, argv)


def run_flower(
    port: int = typer.Option(5555, help="Port of Flower's web UI."),
    address: str = typer.Option("127.0.0.1", help="Address to listen on."),
) -> None:
    """Start Flower, Celery's monitor, on itas's broker (replaces this process)."""
    _checked_environment()
    argv = [sys.executable, "-m", "celery", "-A", CELERY_APP, "flower",
            f"--port={port}", f"--address={address}"]
    sys.stdout.flush()
    os.execv(sys.executable, argv)
