"""`itas validate FILE...`: check architectures before anything is queued.

Every file is read in full and every problem reported, one line each: file, path inside it
(``layers[2][0].top_k``), what was expected. Exit 0 and ``ok`` when all pass (warnings go to
stderr); otherwise exit 2 through the CLI's one error boundary, with no traceback. Without
``--structure-only`` every LLM is also looked up in the endpoints registry
(``ITAS_ENDPOINTS_FILE`` or the packaged simulator default), and an endpoint none of whose key
variables is set here gets a warning (the workers need one at call time).
"""

from __future__ import annotations

import os
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
from models.errors import InvalidArchitecture
from models.problems import in_file_order


def run_validate(
    files: Annotated[list[Path], typer.Argument(
        help="Architecture files (Archon's JSON format).", metavar="FILE",
        show_default=False)],
    structure_only: bool = typer.Option(
        False, "--structure-only", help="Check the files alone, without the endpoints registry."),
) -> None:
    """Check architecture files: structure, values and (unless --structure-only) the LLMs."""
    registry = None if structure_only else load_registry()
    errors: list[str] = []
    failed = 0
    for path in files:
        try:
            data = read_json(path)
        except InvalidArchitecture as exc:
            errors.append(exc.summary)
            failed += 1
            continue
        report = check_architecture(data)
        problems, warnings = list(report.errors), list(report.warnings)
        if registry is not None:
            problems = in_file_order(problems + check_llm_refs(report.llm_refs, registry))
            warnings += _missing_keys(registry, {ref.model for ref in report.llm_refs})
        for warning in warnings:
            print(f"warning: {path}: {warning}", file=sys.stderr)
        if problems or report.architecture is None:
            errors += [f"{path}: {problem}" for problem in problems]
            failed += 1
        else:
            print(f"{path}: ok ({_summary(report.architecture, len(warnings))})")
    if len(errors) == 1:
        raise InvalidArchitecture(errors[0])
    if errors:
        where = str(files[0]) if len(files) == 1 else f"{failed} of {len(files)} files"
        raise InvalidArchitecture(f"{len(errors)} errors in {where}", errors)


def _summary(arch: Architecture, warnings: int) -> str:
    flow = " -> ".join(str(n) for n in candidates_out(arch))
    text = (f"{arch.name}: {len(arch.layers)} layer{'s' if len(arch.layers) != 1 else ''}, "
            f"candidates per layer {flow}, hash {architecture_hash(arch)[:12]}")
    return text + (f"; {warnings} warning{'s' if warnings != 1 else ''}" if warnings else "")


def _missing_keys(registry: Registry, llm_names: set[str]) -> list[str]:
    used = sorted({registry.llms[name].endpoint for name in llm_names if name in registry.llms})
    warnings = []
    for name in used:
        endpoint = registry.endpoints[name]
        if endpoint.api_key_envs and not any(endpoint.keys_set(os.environ).values()):
            warnings.append(
                f"endpoint {name}: none of its key variables is set here "
                f"({', '.join(endpoint.api_key_envs)}); workers need one to call it")
    return warnings
