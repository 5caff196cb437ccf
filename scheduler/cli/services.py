"""`itas services up | down | status | env`."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from models.settings import load_settings
from scheduler.services import manager

app = typer.Typer(help="Start, stop and check PostgreSQL and Redis (embedded or external).",
                  no_args_is_help=True)
console = Console(width=120)


@app.command()
def up() -> None:
    """Start the embedded PostgreSQL and Redis under ITAS_HOME (those no URL replaces)."""
    settings = load_settings()
    manager.up(settings)
    _print_status(manager.status(settings))


@app.command()
def down() -> None:
    """Stop the embedded services; their data stays under ITAS_HOME."""
    stopped = manager.down(load_settings())
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="One JSON object per line.")) -> None:
    """What runs where, and whether it answers. Exits 1 if a service does not answer."""
    rows = manager.status(load_settings())
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row.__dict__))
    else:
        _print_status(rows)
    if not all(row.answers for row in rows):
        raise typer.Exit(1)


@app.command()
def env() -> None:
    """Print `export ITAS_...=...` lines; use as: eval "$(itas services env)"."""
    for line in manager.env_lines(load_settings()):
        typer.echo(line)


def _print_status(rows: list[manager.ServiceStatus]) -> None:
    table = Table("service", "from", "answers", "detail")
    table.add_column("url", overflow="fold")
    for row in rows:
        table.add_row(row.name, row.origin, "[green]yes[/]" if row.answers else "[red]no[/]",
                      row.detail, row.url or "-")
    console.print(table)
