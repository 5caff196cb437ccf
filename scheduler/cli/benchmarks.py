"""`itas benchmarks list`, `itas benchmarks score NAME --predictions FILE`,
`itas benchmarks check NAME` (a code benchmark's reference solutions run:
:mod:`scheduler.cli.code_checks`) and
`itas benchmarks score alpaca-eval --annotations DIR` and
`itas benchmarks score mt-bench|arena-hard --judgments FILE`.

``score`` scores predictions made anywhere (another harness, a notebook, a real provider) with
the same scorer the workers use: a JSONL file of ``{"id": ..., "prediction": ...}``, one line
per item, ``prediction`` the model's full final reply. Errors in the file name it and its line.
The benchmarks' own error (:class:`benchmarks.base.BenchmarkError`) becomes a user error here,
at this one boundary: one line, exit 2.

``score alpaca-eval --annotations DIR`` turns recorded AlpacaEval judgments (files in the format
of ``alpaca_eval/annotations/``) into the leaderboard's figures, with no LLM call
(:mod:`benchmarks.judged.alpaca_eval_leaderboard`); ``score mt-bench|arena-hard --judgments
FILE`` does the same for FastChat's and arena-hard-auto's judgment files
(:mod:`scheduler.cli.judgment_scores`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import typer
import yaml

from benchmarks.base import Benchmark, BenchmarkError, Item, Scored
from benchmarks.code.base import CodeBenchmark, is_code
from benchmarks.registry import BENCHMARKS, data_source, get, load_questions, resolve_data
from models.errors import ConfigError
from scheduler.cli.code_checks import check, require_sandbox, score_answers
from scheduler.cli.judgment_scores import JUDGMENT_BENCHMARKS, score_judgments

app = typer.Typer(help="The registered benchmarks: list them, score predictions, check a "
                  "code benchmark's reference solutions.",
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
    predictions: Path | None = typer.Option(None, "--predictions",
                                            help='JSONL: {"id": ..., "prediction": ...} per '
                                            "line."),
    judgments: Path | None = typer.Option(None, "--judgments", help="mt-bench, arena-hard: "
                                          "recorded judgments (FastChat's or arena-hard-auto's "
                                          "model_judgment JSONL; arena-hard: or a folder)."),
    annotations: Path | None = typer.Option(None, "--annotations", help="alpaca-eval only: a "
                                            "folder of recorded judgments ({model}.jsonl as "
                                            "alpaca_eval/annotations/); prints the leaderboard's "
                                            "figures, with no LLM call."),
    gamed: Path | None = typer.Option(None, "--gamed", help="with --annotations: alpaca_eval's "
                                      "df_gamed.csv (official difficulty, regularised GLM)."),
    index_by: str = typer.Option("instruction", "--index-by", help="with --annotations: find "
                                 "a row's instruction by its 'instruction' index or, as "
                                 "alpaca_eval's GLM does, by its row 'position'."),
    data: Path | None = typer.Option(None, "--data", help="The benchmark's data file or folder "
                                     "(default: under $ITAS_DATASETS, or packaged)."),
    option: list[str] = typer.Option([], "--option", help="A benchmark option, KEY=VALUE "
                                     "(VALUE in YAML: subsets=[MMLU]); repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    judge: str | None = typer.Option(None, "--judge", help="A judged benchmark's judge (an "
                                     "LLM of `itas llms`): the predictions are judged through "
                                     "the workers."),
    timeout: float = typer.Option(3600.0, help="Seconds to wait for the workers (--judge)."),
    unsafe: bool = typer.Option(False, "--unsafe-no-sandbox", help="Code benchmarks: run the "
                                "code as bare subprocesses, without the sandbox's isolation."),
) -> None:
    """Score a file of predictions with the benchmark's own scorer; per item and in total.
    A judged benchmark's predictions are judged by ``--judge`` through the workers;
    ``alpaca-eval --annotations DIR`` turns recorded judgments into its figures, no LLM call."""
    from benchmarks.judged.base import is_judged

    if annotations is not None and name != "alpaca-eval":
        raise ConfigError(f"--annotations is for alpaca-eval only (AlpacaEval's recorded "
                          f"judgments); score {name} with --predictions FILE")
    if annotations is not None and predictions is not None:
        raise ConfigError("give --predictions FILE or --annotations DIR, not both")
    if annotations is not None:
        with _user_errors():
            _score_alpaca_annotations(annotations, data, gamed, index_by, as_json)
        return
    if judgments is not None:
        if predictions is not None:
            raise ConfigError("give --predictions FILE or --judgments FILE, not both")
        with _user_errors():
            score_judgments(name, judgments, parse_options(option), as_json)
        return
    if predictions is None:
        raise ConfigError("give --predictions FILE" + (
            " or --annotations DIR" if name == "alpaca-eval" else
            " or --judgments FILE" if name in JUDGMENT_BENCHMARKS else ""))
    with _user_errors():
        benchmark = get(name)
        if is_judged(benchmark) or judge is not None:
            from scheduler.cli.judge_scores import score_with_judge

            score_with_judge(name, predictions, data=data, options=parse_options(option),
                             judge=judge, as_json=as_json, timeout=timeout)
            return
        items = {item.item_id: item for item in load_questions(
            name, data=data, split="all", options=parse_options(option))}
    read = _read_predictions(predictions, items)
    if is_code(benchmark):  # run the code, as the worker's scorer does
        require_sandbox(unsafe)
        scored = score_answers(cast(CodeBenchmark, benchmark),
                               [(items[item_id].reference, p) for item_id, p in read],
                               unsafe=unsafe)
        results = [(item_id, s) for (item_id, _), s in zip(read, scored, strict=True)]
    else:
        results = [(item_id, benchmark.score(items[item_id].reference, prediction))
                   for item_id, prediction in read]
    scores = [s.score for _, s in results if s.score is not None]
    summary = {"benchmark": name, "predictions": len(results), "scored": len(scores),
               "total": sum(scores), "mean": sum(scores) / len(scores) if scores else None,
               "items_in_benchmark": len(items)}
    if as_json:
        typer.echo(json.dumps({**summary, "items": [
            {"id": item_id, "extracted": s.extracted, "score": s.score, "note": s.note,
             **({"tests": s.details} if s.details is not None else {})}
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


def _score_alpaca_annotations(folder: Path, data: Path | None, gamed_file: Path | None,
                              index_by: str, as_json: bool) -> None:
    # The difficulty of the joint fit is better the more systems it sees: the reference
    # annotations beside the data join the folder's (a system in both: the folder's file).
    # The statistics import scikit-learn, slow to import: here, not for every command.
    from benchmarks.judged.alpaca_eval_data import read_annotations_folder
    from benchmarks.judged.alpaca_eval_difficulty import instruction_difficulty
    from benchmarks.judged.alpaca_eval_gamed import difficulty_from_gamed, read_gamed_csv
    from benchmarks.judged.alpaca_eval_leaderboard import leaderboard

    if index_by not in ("instruction", "position"):
        raise ConfigError(f"--index-by: expected instruction or position, got {index_by!r}")
    systems = read_annotations_folder(folder)
    gamed = read_gamed_csv(gamed_file) if gamed_file else None
    if gamed is not None:
        difficulty, source = difficulty_from_gamed(gamed), f"instruction_difficulty of {gamed_file}"
    else:
        fitted_on = list(systems)
        try:
            resolved = resolve_data(get("alpaca-eval"), data)
        except BenchmarkError:
            resolved = None
        reference = resolved.parent / "annotations" if resolved else folder
        if reference.is_dir() and reference.resolve() != folder.resolve():
            names = {s.model for s in systems}
            fitted_on += [s for s in read_annotations_folder(reference) if s.model not in names]
        try:
            difficulty = instruction_difficulty(fitted_on)
        except ValueError as exc:
            raise ConfigError(f"{folder}: cannot estimate the instruction difficulty: {exc}") \
                from exc
        source = f"joint fit over {len(fitted_on)} systems"
    rows = leaderboard(systems, difficulty=difficulty, gamed=gamed,
                       index_by="position" if index_by == "position" else "instruction")
    glm = "regularised towards the gamed baselines" if gamed else \
        "not regularised (no gamed baselines: give --gamed df_gamed.csv)"
    if as_json:
        typer.echo(json.dumps({"benchmark": "alpaca-eval", "difficulty": source, "glm": glm,
                               "index_by": index_by, "models": [r.to_json() for r in rows]}))
        return
    table: list[list[str]] = [["model", "win_rate", "standard_error", "lc_win_rate",
                               "lc_standard_error", "n"]]
    table += [[r.model, *("-" if v is None else f"{v:.2f}" for v in (
        r.win_rate, r.standard_error, r.lc_win_rate, r.lc_standard_error)), str(r.n)]
        for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        typer.echo("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(line, widths, strict=True))))
    typer.echo(f"\nlength-controlled: difficulty from the {source}; GLM {glm}")
    for r in rows:
        if r.note:
            typer.echo(f"{r.model}: {r.note}")


app.command("list")(list_benchmarks)
app.command("score")(score)
app.command("check")(check)
