"""`itas worker` and `itas flower`: Celery's own programs, started with itas's settings.

The settings are checked and the schema ensured here first, so a bad ITAS_* value or a missing
database is one clear line instead of a Celery traceback per pool process.

Flower can revoke tasks and shut workers down, so it is never open to a network without a
login: ``itas flower`` passes ``ITAS_FLOWER_BASIC_AUTH`` (``user:password``) to Flower's basic
auth, and refuses to listen on anything but a loopback address without it, the rule the
compose file applies too (there the variable is required).
"""

from __future__ import annotations

import ipaddress
import os
import sys

import typer

from models.db import get_engine
from models.errors import UserError
from models.settings import Settings, load_settings, resolve_service_urls

KNOWN_QUEUES = ("itas.layers", "itas.control")
CELERY_APP = "worker.celery_app"


def _checked_environment() -> Settings:
    settings = load_settings()
    urls = resolve_service_urls(settings)
    get_engine(urls.database_url)  # creates or upgrades the schema once, before any task runs
    return settings


def is_loopback(address: str) -> bool:
    """True for addresses only this machine reaches (127.0.0.0/8, ::1, localhost)."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # a host name other than localhost: may resolve to anything
        return False


def flower_environment(settings: Settings, address: str) -> dict[str, str]:
    """The environment for Flower's process: its basic auth from the settings.

    Raises UserError when Flower would listen beyond loopback without a login. The credentials
    go to Flower through its own environment variable, not its command line, where any local
    user could read them (``ps``).
    """
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BASIC_AUTH"}
    if settings.flower_basic_auth is not None:
        env["FLOWER_BASIC_AUTH"] = settings.flower_basic_auth.get_secret_value()
    elif not is_loopback(address):
        raise UserError(f"--address {address}: Flower can revoke tasks and stop workers; set "
                        "ITAS_FLOWER_BASIC_AUTH=user:password to listen beyond loopback")
    return env


def default_concurrency(settings: Settings, pool: str) -> int | None:
    """``--concurrency 0``: for threads, one per call the endpoints' limits let be in flight
    (worker/concurrency.py); for prefork, None (Celery's default, one process per core).
    Reads the registry and ITAS_CALL_THREADS now, so that a mistake in either is one line
    here rather than an error in every task."""
    from models.endpoints import load_registry
    from worker.concurrency import call_threads, task_threads

    registry = load_registry(settings.endpoints_file, simulator_url=settings.simulator_url)
    call_threads(registry)
    return task_threads(registry) if pool == "threads" else None


def run_worker(
    queues: str = typer.Option(",".join(KNOWN_QUEUES), help="Comma-separated queues to consume."),
    concurrency: int = typer.Option(
        0, min=0, help="Tasks at once: threads, or prefork's processes (0: threads sized from "
        "the endpoints' in-flight limits; prefork one per core)."),
    pool: str = typer.Option(
        "threads", help="Celery pool: threads (LLM work waits on the network; see "
        "worker/concurrency.py) or prefork (a process per task)."),
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
    settings = _checked_environment()
    argv = [sys.executable, "-m", "celery", "-A", CELERY_APP, "worker",
            "--queues", ",".join(wanted), "--pool", pool, "--loglevel", loglevel,
            "--hostname", hostname or f"itas@%h-{os.getpid()}", "--events"]
    sized = default_concurrency(settings, pool)  # also checks registry and ITAS_CALL_THREADS
    concurrency = concurrency or sized or 0
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    sys.stdout.flush()
    os.execv(sys.executable, argv)


def run_flower(
    port: int = typer.Option(5555, help="Port of Flower's web UI."),
    address: str = typer.Option("127.0.0.1", help="Address to listen on."),
) -> None:
    """Start Flower, Celery's monitor, on itas's broker (replaces this process).

    With ITAS_FLOWER_BASIC_AUTH set, every page and API call asks for that login; without it,
    Flower only listens on loopback.
    """
    env = flower_environment(load_settings(), address)  # before the database: a user error first
    _checked_environment()
    argv = [sys.executable, "-m", "celery", "-A", CELERY_APP, "flower",
            f"--port={port}", f"--address={address}"]
    sys.stdout.flush()
    os.execve(sys.executable, argv, env)
