"""`itas sandbox run FILE [--stdin FILE] --timeout S [--json] [--unsafe-no-sandbox]`: one
Python file through the code sandbox (:mod:`worker.sandbox`), for a user checking their setup.

Prints the status (with the limit hit or the reason for a refusal), the seconds, then the
program's stdout and stderr; ``--json`` prints one object instead. Exit codes: 0 when the
program ran and exited 0; 1 for any other end of the program (error, timeout, a limit);
2 for a user error (no such file, a bad timeout) and when the sandbox refuses to run (no
sandbox on this machine: one line saying why and what to change).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import typer

from models.errors import ConfigError
from worker import sandbox

app = typer.Typer(help="The code sandbox: run a file in it to check this machine's setup.",
                  no_args_is_help=True)

#: Longer runs are a benchmark's business, not a setup check's.
MAX_TIMEOUT_S = 3600.0


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{what} {path}: cannot read it: {reason}") from exc


@app.command("run")
def run_file(
    file: Path = typer.Argument(..., help="The Python file to run (its directory is not "
                                "copied: one file)."),
    stdin: Path | None = typer.Option(None, "--stdin", help="A file fed to its standard "
                                      "input."),
    timeout: float = typer.Option(..., "--timeout", help="Wall-clock seconds before the "
                                  "whole process tree is killed."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    unsafe: bool = typer.Option(False, "--unsafe-no-sandbox", help="Run as a bare "
                                "subprocess (limits and an empty environment, no isolation) "
                                "where no sandbox can be set up. Only for code you trust."),
) -> None:
    """Run FILE in the sandbox and print how it ended."""
    if not math.isfinite(timeout) or not 0 < timeout <= MAX_TIMEOUT_S:
        raise ConfigError(f"--timeout: expected seconds in (0, {MAX_TIMEOUT_S:g}], got "
                          f"{timeout:g}")
    source = _read(file, "FILE")
    given = _read(stdin, "--stdin") if stdin is not None else ""
    result = sandbox.run(source, stdin=given, timeout=timeout, unsafe=unsafe)
    if as_json:
        typer.echo(json.dumps({**asdict(result), "status": str(result.status),
                               "unsafe": unsafe}))
    if result.status == sandbox.Status.REFUSED:
        if as_json:
            raise typer.Exit(2)
        raise ConfigError(result.reason or "the sandbox refused to run the file")
    if not as_json:
        detail = f" (limit: {result.limit})" if result.limit else ""
        code = "" if result.exit_code is None else f", exit code {result.exit_code}"
        typer.echo(f"status: {result.status}{detail}{' [UNSAFE: no sandbox]' if unsafe else ''}")
        typer.echo(f"seconds: {result.seconds:.3f}{code}")
        typer.echo("--- stdout ---")
        typer.echo(result.stdout, nl=not result.stdout.endswith("\n") and bool(result.stdout))
        typer.echo("--- stderr ---")
        typer.echo(result.stderr, nl=not result.stderr.endswith("\n") and bool(result.stderr))
    raise typer.Exit(0 if result.status == sandbox.Status.OK else 1)
