"""``itas simulator``: serve the simulated fleet, or calibrate it on recorded GSM8K solutions.

``app`` is a Typer app: mounted as ``itas simulator`` (and run by ``python -m simulator``):

    itas simulator [--fleet FILE] [--data DIR] [--datasets DIR] [--math-style FILE ...]
                   [--code-contests FILE ...]
                   [--host H] [--port P]                                 serve (default :8300)
    itas simulator calibrate --data DIR                                  fit and compare

User errors (bad fleet file, missing data directory, bad port) print one line naming the file
or field and exit 2, without a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from simulator.fleet import FleetError

__all__ = ["app"]

app = typer.Typer(
    name="simulator",
    help="The itas simulator: a simulated LLM fleet over OpenAI/Anthropic-compatible HTTP.",
    add_completion=False,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
)

DEFAULT_PORT = 8300


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _data_dir(data: Path | None) -> Path | None:
    if data is None:
        return None
    if not (data / "test.jsonl").is_file():
        _fail(f"{data}: not a GSM8K data directory (no test.jsonl in it)")
    return data


@app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    fleet: Annotated[
        Path | None, typer.Option(help="Fleet YAML (default: the shipped fleet).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="GSM8K directory to load answer keys from.")
    ] = None,
    datasets: Annotated[
        Path | None,
        typer.Option(
            envvar="ITAS_DATASETS",
            help="Datasets directory laid out as ../shared/datasets: the benchmarks found in "
            "it (gsm8k/, mixeval_hard/, mt_bench/, humaneval/, mbpp/, code_contests/, "
            "math-style.jsonl) become known questions.",
        ),
    ] = None,
    math_style: Annotated[
        list[Path] | None,
        typer.Option(help="A MATH-style JSONL file of known questions (repeatable)."),
    ] = None,
    code_contests: Annotated[
        list[Path] | None,
        typer.Option(help="A CodeContests JSONL file (Hugging Face deepmind/code_contests "
                     "columns) of known problems (repeatable)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
) -> None:
    """Serve the simulated fleet until interrupted."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"fleet": fleet}  # `itas simulator --fleet F calibrate` compares with F
        return
    if not 0 < port < 65536:
        _fail(f"--port: expected 1..65535, got {port}")
    from simulator.loader import load_simulator

    if datasets is not None and not datasets.is_dir():
        _fail(f"--datasets: {datasets} is not a directory")
    for path in math_style or []:
        if not path.is_file():
            _fail(f"--math-style: {path} is not a file")
    for path in code_contests or []:
        if not path.is_file():
            _fail(f"--code-contests: {path} is not a file")
    try:
        simulator = load_simulator(
            fleet, _data_dir(data), datasets=datasets, math_style=math_style or [],
            code_contests=code_contests or [],
        )
    except FleetError as exc:
        _fail(str(exc))
    import uvicorn

    from simulator.server import build_app

    typer.echo(
        f"itas simulator: {len(simulator.fleet.llms)} simulated LLMs, "
        f"{len(simulator.keys)} answer keys, listening on http://{host}:{port}",
        err=True,
    )
    try:
        uvicorn.run(
            build_app(simulator),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            backlog=4096,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=1,  # hung (fault) requests must not delay a stop
        )
    except OSError as exc:  # e.g. the port is taken
        _fail(f"cannot listen on {host}:{port} ({exc.strerror})")


@app.command()
def calibrate(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option(help="GSM8K directory with example_model_solutions.jsonl.")],
    fleet: Annotated[Path | None, typer.Option(help="Fleet YAML to compare with.")] = None,
) -> None:
    """Fit four simulated LLMs to the recorded GPT-3 systems and compare accuracy and overlap.

    Exits 1 when a simulated accuracy is off by more than 2 points or a pair's "both right"
    rate by more than 5.
    """
    from simulator.calibrate import run_calibration

    if not (data / "example_model_solutions.jsonl").is_file():
        _fail(f"{data}: no example_model_solutions.jsonl in it (is --data a GSM8K directory?)")
    try:
        fleet = fleet or (ctx.obj or {}).get("fleet")
        ok = run_calibration(_data_dir(data) or data, fleet, out=sys.stdout)
    except FleetError as exc:
        _fail(str(exc))
    raise typer.Exit(0 if ok else 1)
