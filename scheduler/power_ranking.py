"""Step 1 of a search job: each available LLM alone on the search questions, to order the
generators (the paper's power ranking). Idempotent: a restarted scheduler finds the
evaluations already queued."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.architecture import architecture_hash, parse_architecture
from models.endpoints import Registry
from scheduler.evaluations import summarize
from scheduler.search_context import SearchContext, queue, queued_before, wait_all


def single_llm(llm: str, job: Any, registry: Registry) -> dict[str, Any]:
    from scheduler.search_space import model_type_for

    return {"name": f"{llm} alone", "layers": [[{
        "type": "generator", "model": llm, "model_type": model_type_for(llm, registry),
        "temperature": job.space.temperature[0], "max_tokens": job.space.max_tokens[0],
        "samples": 1}]]}


def power_ranking(ctx: SearchContext, say: Callable[[str], None]) -> list[str]:
    """Each available LLM alone on the search questions, best first (ties: cheaper first)."""
    existing = queued_before(ctx, "power_ranking")
    evaluations: dict[str, int] = {}
    for llm in ctx.job.llms:
        arch = single_llm(llm, ctx.job, ctx.registry)
        digest = architecture_hash(parse_architecture(arch)[0])
        evaluations[llm] = existing.get(digest) or queue(
            ctx, arch, purpose="power_ranking", questions=ctx.search_questions)
    say(f"power ranking: {len(evaluations)} LLMs alone on {len(ctx.search_questions)} "
        "questions")
    wait_all(ctx, evaluations, {k: len(ctx.search_questions) for k in evaluations})
    scores = {llm: summarize(ctx.database_url, e).score or 0.0 for llm, e in evaluations.items()}
    ranked = sorted(ctx.job.llms, key=lambda llm: (
        -scores[llm], ctx.registry.llms[llm].price_out_per_mtok))
    say("power ranking: " + ", ".join(f"{llm} {scores[llm]:.2f}" for llm in ranked))
    return ranked
