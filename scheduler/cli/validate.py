"""`itas validate FILE...`: check architectures and search jobs before anything is queued.

A ``.yaml`` / ``.yml`` file, or any file whose top level is a mapping with a ``benchmark`` key,
is a search job (:mod:`models.search_job`); on success its summary gives the size of its space
and, with the registry, how many of its architectures the budget excludes (statically, with the
order of ``llms`` standing in for the power ranking). Anything else is an architecture.

Every file is read in full and every problem reported, one line each: file, path inside it
(``layers[2][0].top_k``), what was expected. Exit 0 and ``ok`` when all pass (warnings go to
stderr); otherwise exit 2 through the CLI's one error boundary, with no traceback. Without
``--structure-only`` every LLM is also looked up in the endpoints registry
(``ITAS_ENDPOINTS_FILE`` or the packaged simulator default). API keys are not looked for: they
live only in the workers' environment, not on the host that validates, and the preflight of
``itas run``/``submit`` checks them where they are.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from models.architecture import (
    Architecture,
    architecture_hash,
    candidates_out,
    check_architecture,
    check_llm_refs,
    read_json,
)
from models.endpoints import Registry, load_registry
from models.errors import InvalidArchitecture, InvalidSearchJob, UserError
from models.problems import in_file_order
from models.search_job import SearchJob
from models.search_job_reader import check_search_job, read_job_yaml
from scheduler.search_space import grid_summary


def run_validate(
    files: Annotated[list[Path], typer.Argument(
        help="Architecture files (Archon's JSON format) or search job files (YAML).",
        metavar="FILE",
        show_default=False)],
    structure_only: bool = typer.Option(
        False, "--structure-only", help="Check the files alone, without the endpoints registry."),
) -> None:
    """Check architectures and search jobs: structure, values and (unless --structure-only)
    the LLMs."""
    registry = None if structure_only else load_registry()
    errors: list[str] = []
    failed = 0
    jobs_failed = 0
    for path in files:
        try:
            data = read_job_yaml(path.read_text(encoding="utf-8"), str(path)) \
                if _is_yaml(path) else read_json(path)
        except OSError as exc:
            errors.append(f"{path}: cannot read the file: {exc.strerror or exc}")
            failed += 1
            continue
        except (InvalidArchitecture, InvalidSearchJob) as exc:
            errors.append(exc.summary)
            failed += 1
            jobs_failed += isinstance(exc, InvalidSearchJob)
            continue
        if _is_yaml(path) or (isinstance(data, dict) and "benchmark" in data):
            problems = _check_job(path, data, registry)
            errors += problems
            failed += bool(problems)
            jobs_failed += bool(problems)
            continue
        report = check_architecture(data)
        problems, warnings = list(report.errors), list(report.warnings)
        if registry is not None:
            problems = in_file_order(problems + check_llm_refs(report.llm_refs, registry))
            if not problems and report.architecture is not None:
                warnings += _costly(report.architecture, registry)
        for warning in warnings:
            print(f"warning: {path}: {warning}", file=sys.stderr)
        if problems or report.architecture is None:
            errors += [f"{path}: {problem}" for problem in problems]
            failed += 1
        else:
            print(f"{path}: ok ({_summary(report.architecture, len(warnings))})")
    error: type[InvalidArchitecture | InvalidSearchJob] = \
        InvalidSearchJob if jobs_failed == failed else InvalidArchitecture
    if len(errors) == 1:
        raise error(errors[0])
    if errors:
        where = str(files[0]) if len(files) == 1 else f"{failed} of {len(files)} files"
        raise error(f"{len(errors)} errors in {where}", errors)


def _is_yaml(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def _check_job(path: Path, data: object, registry: Registry | None) -> list[str]:
    """Errors of a search job file (``<file>: <path>: ...``); prints ok or its warnings."""
    try:
        report = check_search_job(data, registry=registry, structure_only=registry is None,
                                  base_dir=path.parent)
    except UserError as exc:  # e.g. the endpoints registry itself is wrong
        return [f"{path}: {exc}"]
    warnings = list(report.warnings)
    for warning in warnings:
        print(f"warning: {path}: {warning}", file=sys.stderr)
    if report.errors or report.job is None:
        return [f"{path}: {problem}" for problem in report.errors]
    print(f"{path}: ok ({_job_summary(report.job, registry, len(warnings))})")
    return []


def _job_summary(job: SearchJob, registry: Registry | None, warnings: int) -> str:
    text = (f"search job {job.name}: {job.benchmark.value}, {len(job.llms)} LLM"
            f"{'s' if len(job.llms) != 1 else ''}, {job.sampler.value} sampler, "
            f"{job.pruner.value} pruner, {job.trials} trials; {grid_summary(job, registry)}")
    return text + (f"; {warnings} warning{'s' if warnings != 1 else ''}" if warnings else "")


def _summary(arch: Architecture, warnings: int) -> str:
    flow = " -> ".join(str(n) for n in candidates_out(arch))
    text = (f"{arch.name}: {len(arch.layers)} layer{'s' if len(arch.layers) != 1 else ''}, "
            f"candidates per layer {flow}, hash {architecture_hash(arch)[:12]}")
    return text + (f"; {warnings} warning{'s' if warnings != 1 else ''}" if warnings else "")


#: A config whose ceiling per question passes either figure draws a warning (docs/search-job.md).
COSTLY_CALLS = 1_000
COSTLY_USD = 10.0


def _costly(arch: Architecture, registry: Registry) -> list[str]:
    """A warning when one question may cost more than COSTLY_CALLS calls or COSTLY_USD
    dollars: the estimate's ceiling (scheduler/cost_estimate.py) for a one-turn question of
    the default ``estimate.prompt_tokens``, priced by the registry."""
    from models.search_job import TokenEstimate
    from scheduler.cost_estimate import estimate_cost

    prompt = TokenEstimate().prompt_tokens
    cost = estimate_cost(arch, registry, prompt_tokens=prompt)
    if cost.calls <= COSTLY_CALLS and cost.usd <= COSTLY_USD:
        return []
    return [f"costly: one question may take up to {cost.calls:,} LLM calls and "
            f"${cost.usd:,.2f} (every reply max_tokens long, every call asked up to 3 times, "
            f"a {prompt}-token question; warned above {COSTLY_CALLS:,} calls or "
            f"${COSTLY_USD:,.0f} per question)"]

