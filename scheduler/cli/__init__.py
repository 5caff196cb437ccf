"""The `itas` command line.

Errors are handled here, once: a :class:`~models.errors.UserError` (bad setting, bad file, bad
argument) prints one line and exits 2; a service that does not answer prints one line and exits
1; neither shows a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

import typer

from models.errors import ItasError, UserError
from scheduler.cli import (
    benchmarks,
    demo,
    jobs,
    llms,
    probe,
    run,
    sandbox,
    scheduler,
    services,
    validate,
    worker,
)
from simulator.cli import app as simulator_app

app = typer.Typer(
    name="itas",
    help="Inference-time architecture search over LLMs, as a distributed batch service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(services.app, name="services")
app.add_typer(simulator_app, name="simulator")
app.add_typer(benchmarks.app, name="benchmarks")
app.add_typer(sandbox.app, name="sandbox")
app.command("worker")(worker.run_worker)
app.command("flower")(worker.run_flower)
app.command("probe")(probe.run_probe)
app.command("demo")(demo.run_demo)
app.command("validate")(validate.run_validate)
app.command("llms")(llms.run_llms)
app.command("run")(run.run)
app.command("ask")(run.ask)
app.command("submit")(scheduler.submit)
app.command("scheduler")(scheduler.run_scheduler)
app.command("status")(jobs.status)
app.command("watch")(jobs.watch)
app.command("report")(jobs.report)
app.command("best")(jobs.best)
app.command("cancel")(jobs.cancel)


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, prog_name="itas")
    except UserError as exc:
        print(f"itas: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except ItasError as exc:
        print(f"itas: {exc}", file=sys.stderr)
        sys.exit(1)
