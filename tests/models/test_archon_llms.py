"""Archon's model names run on simulated LLMs: the packaged registry, the simulator's fleet and
the table of docs/archon-llms.md say the same, name for name, so none can drift from the
others."""

from __future__ import annotations

import re
from pathlib import Path

from models.endpoints import load_registry
from simulator.fleet import load_fleet

REPO = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \|$")


def documented() -> dict[str, str]:
    text = (REPO / "docs" / "archon-llms.md").read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for line in text.splitlines() if (m := ROW.match(line))}


def test_registry_fleet_and_docs_give_every_archon_name_the_same_simulated_llm() -> None:
    registry = load_registry(simulator_url="http://127.0.0.1:8300")
    fleet = load_fleet()
    cloned = {name: llm.like for name, llm in registry.llms.items() if llm.like is not None}
    assert len(cloned) == 44  # every chat LLM named in Archon's configs
    assert documented() == {**cloned, "llm-blender/PairRM": "sim-pairrm"}
    for name, like in cloned.items():
        llm, model = registry.llms[name], fleet.llms[name]
        # sent under its own name, to a simulated LLM of the fleet with the cloned one's skill
        assert llm.wire_model == name and model.name == name
        template = fleet.llms[like]
        assert (model.ability, model.judge, model.discrimination) \
            == (template.ability, template.judge, template.discrimination), name
        # at the simulated price of the LLM it clones
        assert (llm.endpoint, llm.price_in_per_mtok, llm.price_out_per_mtok) == (
            registry.llms[like].endpoint, template.input_per_mtok, template.output_per_mtok)


def test_archon_names_resolve_with_the_model_type_their_configs_give() -> None:
    registry = load_registry(simulator_url="http://127.0.0.1:8300")
    for name, model_type, like in [
            ("gpt-4o", "OpenAI_API", "sim-frontier"),
            ("claude-3-5-sonnet-20240620", "Anthropic_API", "sim-frontier"),
            ("Qwen/Qwen2-72B-Instruct", "Together_API", "sim-large"),
            ("llama-3.1-70b-versatile", "Groq_API", "sim-large"),
            ("gemini-1.5-flash", "Google_API", "sim-medium"),
            ("o1-preview-2024-09-12", "OpenAI_API", "sim-reasoner"),
            ("bedrock/meta.llama3-70b-instruct-v1:0", "Bedrock_API", "sim-large")]:
        llm, endpoint = registry.resolve(name, model_type)
        assert (llm.like, endpoint.name) == (like, "simulator"), name
        # a clone of the reasoning model is called as one (no max_tokens, no temperature)
        assert llm.reasoning == registry.llms[like].reasoning, name
