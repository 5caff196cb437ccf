"""`itas llms [--json]`: the LLMs of the endpoints registry, where they run and what they cost.

Key *values* are never shown: only the names of the variables that hold them and whether each
is set in this environment.

The last column says what each name *runs as*: for a name of the simulator's registry, the
simulated LLM whose skill it has (``like``: the packaged registry gives each of Archon's model
names, ``gpt-4o``, ..., its own simulated LLM of matching skill, docs/archon-llms.md); for an
alias, the LLM of the registry its model on the wire names (``llm-blender/PairRM`` runs as
``sim-pairrm``). The JSON says it in ``runs_as`` (null: itself), so a user sees what a name of
their config will really call.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from models.endpoints import LLM, Endpoint, Registry, load_registry


def run_llms(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list, one object per LLM."),
) -> None:
    """List the configured LLMs: endpoint, wire model, prices, limits, key variables."""
    registry = load_registry()
    rows = [_row(llm, registry.endpoints[llm.endpoint], _runs_as(registry, llm))
            for llm in registry.llms.values()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    _print_text(registry, rows)


def _runs_as(registry: Registry, llm: LLM) -> str | None:
    """The simulated LLM ``llm`` clones, else the registry LLM its wire model names (on the
    same endpoint, so the same server answers both), else None: it runs as itself."""
    if llm.like is not None:
        return llm.like
    other = registry.llms.get(llm.wire_model)
    if other is None or other.name == llm.name or other.endpoint != llm.endpoint:
        return None
    return other.name


def _row(llm: LLM, endpoint: Endpoint, runs_as: str | None) -> dict[str, Any]:
    return {
        "name": llm.name,
        "endpoint": endpoint.name,
        "kind": endpoint.kind.value,
        "base_url": endpoint.base_url,
        "model": llm.wire_model,
        "runs_as": runs_as,
        "price_in_per_mtok": llm.price_in_per_mtok,
        "price_out_per_mtok": llm.price_out_per_mtok,
        "requests_per_min": endpoint.requests_per_min,
        "tokens_per_min": endpoint.tokens_per_min,
        "max_in_flight": endpoint.max_in_flight,
        "timeout_s": endpoint.timeout_s,
        "model_types": endpoint.model_types,
        "api_key_envs": [{"name": name, "set": is_set}
                         for name, is_set in endpoint.keys_set().items()],
    }


def _print_text(registry: Registry, rows: list[dict[str, Any]]) -> None:
    typer.echo(f"registry: {registry.source}\n")
    header = ("LLM", "endpoint", "kind", "model on the wire", "$/Mtok in", "$/Mtok out",
              "runs as")
    table = [header] + [(r["name"], r["endpoint"], r["kind"], r["model"],
                         f"{r['price_in_per_mtok']:g}", f"{r['price_out_per_mtok']:g}",
                         r["runs_as"] or "itself")
                        for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
                   .rstrip())
    typer.echo("\nendpoints (limits per key):")
    for endpoint in registry.endpoints.values():
        keys = ", ".join(f"{name} ({'set' if is_set else 'not set'})"
                         for name, is_set in endpoint.keys_set().items()) or "none needed"
        typer.echo(f"  {endpoint.name}: {endpoint.kind.value} at {endpoint.base_url}; "
                   f"{endpoint.requests_per_min} requests/min, {endpoint.tokens_per_min} "
                   f"tokens/min, {endpoint.max_in_flight} in flight, timeout "
                   f"{endpoint.timeout_s:g} s; keys: {keys}")
