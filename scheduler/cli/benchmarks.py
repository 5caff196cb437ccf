"""`itas benchmarks list` and `itas benchmarks score NAME --predictions FILE`.

``score`` scores predictions made anywhere (another harness, a notebook, a real provider) with
the same scorer the workers use: a JSONL file of ``{"id": ..., "prediction": ...}``, one line
per item, ``prediction`` the model's full final reply. Errors in the file name it and its line.
The benchmarks' own error (:class:`benchmarks.base.BenchmarkError`) becomes a user error here,
at this one boundary: one line, exit 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
import yaml

from benchmarks.base import Benchmark, BenchmarkError, Item, Scored
from benchmarks.registry import BENCHMARKS, data_source, get, load_questions
from models.errors import ConfigError

app = typer.Typer(help="The registered benchmarks: list them, score predictions.",
                  no_args_is_help=True)


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except BenchmarkError as exc:
        raise ConfigError(str(exc)) from exc


def parse_options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option: expected KEY=VALUE (VALUE in YAML, e.g. "
                              f"subsets=[MMLU]), got {pair!r}")
        try:
            options[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--option {key.strip()}: not a YAML value: {value!r}") from exc
    return options


def list_benchmarks(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """The registered benchmarks: name, kind, where their data comes from, how many items."""
    rows = [_row(benchmark) for benchmark in BENCHMARKS.values()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    header = ("name", "kind", "items", "data")
    # Data that is not there because ITAS_DATASETS is unset says so already; other errors
    # (a missing or malformed file) are shown.
    table = [header] + [(r["name"], r["kind"], "-" if r["items"] is None else str(r["items"]),
                         r["data"] if not r["error"] or "not set" in r["data"]
                         else f"{r['data']}: {r['error']}") for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
                   .rstrip())


def _row(benchmark: Benchmark) -> dict[str, Any]:
    try:
        count: int | None = len(load_questions(benchmark.name, split="all"))
        error = None
    except BenchmarkError as exc:
        count, error = None, str(exc)
    return {"name": benchmark.name, "kind": benchmark.kind,
            "description": benchmark.description, "data": data_source(benchmark),
            "items": count, "error": error, "options": dict(benchmark.option_help)}


def score(
    name: str = typer.Argument(..., help="The benchmark (`itas benchmarks list`)."),
    predictions: Path = typer.Option(..., "--predictions",
                                     help='JSONL: {"id": ..., "prediction": ...} per line.'),
    data: Path | None = typer.Option(None, "--data", help="The benchmark's data file or folder "
                                     "(default: under $ITAS_DATASETS, or packaged)."),
    option: list[str] = typer.Option([], "--option", help="A benchmark option, KEY=VALUE "
                                     "(VALUE in YAML: subsets=[MMLU]); repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    judge: str | None = typer.Option(None, "--judge", help="A judged benchmark's judge (an "
                                     "LLM of `itas llms`): the predictions are judged through "
                                     "the workers."),
    timeout: float = typer.Option(3600.0, help="Seconds to wait for the workers (--judge)."),
) -> None:
    """Score a file of predictions with the benchmark's own scorer; per item and in total.
    A judged benchmark's predictions are judged by ``--judge`` through the workers."""
    from benchmarks.judged.base import is_judged

    with _user_errors():
        benchmark = get(name)
        if is_judged(benchmark) or judge is not None:
            from scheduler.cli.judge_scores import score_with_judge

            score_with_judge(name, predictions, data=data, options=parse_options(option),
                             judge=judge, as_json=as_json, timeout=timeout)
            return
        items = {item.item_id: item for item in load_questions(
            name, data=data, split="all", options=parse_options(option))}
    results = [(item_id, benchmark.score(items[item_id].reference, prediction))
               for item_id, prediction in _read_predictions(predictions, items)]
    scores = [s.score for _, s in results if s.score is not None]
    summary = {"benchmark": name, "predictions": len(results), "scored": len(scores),
               "total": sum(scores), "mean": sum(scores) / len(scores) if scores else None,
               "items_in_benchmark": len(items)}
    if as_json:
        typer.echo(json.dumps({**summary, "items": [
            {"id": item_id, "extracted": s.extracted, "score": s.score, "note": s.note}
            for item_id, s in results]}))
        return
    _print_text(results, summary)


def _read_predictions(path: Path, items: dict[str, Item]) -> list[tuple[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{path}: cannot read the predictions: {reason}") from exc
    read: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{where}: not a JSON object ({exc.args[0]})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("id"), str | int) \
                or not isinstance(row.get("prediction"), str):
            raise ConfigError(f'{where}: expected {{"id": ..., "prediction": "..."}} '
                              f"(prediction a string), got {line.strip()[:80]}")
        item_id = str(row["id"])
        if item_id not in items:
            example = ", ".join(list(items)[:3])
            raise ConfigError(f"{where}: unknown id {item_id!r} (ids of this benchmark look "
                              f"like {example})")
        if item_id in seen:
            raise ConfigError(f"{where}: id {item_id!r} is already on line {seen[item_id]}")
        seen[item_id] = number
        read.append((item_id, row["prediction"]))
    if not read:
        raise ConfigError(f"{path}: no predictions")
    return read


def _print_text(results: list[tuple[str, Scored]], summary: dict[str, Any]) -> None:
    width = max(len(item_id) for item_id, _ in results)
    for item_id, s in results:
        shown = "-" if s.score is None else f"{s.score:g}"
        extracted = "(none)" if s.extracted is None else s.extracted.replace("\n", " ")[:60]
        note = f"  [{s.note}]" if s.note else ""
        typer.echo(f"{item_id.ljust(width)}  {shown:>3}  {extracted}{note}")
    if summary["mean"] is None:
        typer.echo(f"\n{summary['benchmark']}: {summary['predictions']} predictions, none "
                   "scored deterministically")
        return
    typer.echo(f"\n{summary['benchmark']}: {summary['total']:g} / {summary['scored']} = "
               f"{summary['mean']:.3f} ({summary['predictions']} predictions of "
               f"{summary['items_in_benchmark']} items)")


app.command("list")(list_benchmarks)
app.command("score")(score)
