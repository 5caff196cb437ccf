"""Archon's model names run on simulated LLMs: the packaged registry and the table of
docs/archon-llms.md say the same, name for name, so neither can drift from the other."""

from __future__ import annotations

import re
from pathlib import Path

from models.endpoints import load_registry

REPO = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \|$")


def documented() -> dict[str, str]:
    text = (REPO / "docs" / "archon-llms.md").read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for line in text.splitlines() if (m := ROW.match(line))}


def test_every_documented_name_runs_as_its_simulated_llm_and_no_other_alias_exists() -> None:
    registry = load_registry(simulator_url="http://127.0.0.1:8300")
    aliases = {name: llm.wire_model for name, llm in registry.llms.items()
               if llm.wire_model != name}
    assert documented() == aliases
    assert len(aliases) == 45  # 44 chat LLMs and PairRM: every name in Archon's configs
    for name, target in aliases.items():
        llm, runs_as = registry.llms[name], registry.llms[target]
        # the alias is the simulated LLM at its simulated price, on its endpoint
        assert (llm.endpoint, llm.price_in_per_mtok, llm.price_out_per_mtok) \
            == (runs_as.endpoint, runs_as.price_in_per_mtok, runs_as.price_out_per_mtok), name


def test_archon_names_resolve_with_the_model_type_their_configs_give() -> None:
    registry = load_registry(simulator_url="http://127.0.0.1:8300")
    for name, model_type, target in [
            ("gpt-4o", "OpenAI_API", "sim-frontier"),
            ("claude-3-5-sonnet-20240620", "Anthropic_API", "sim-frontier"),
            ("Qwen/Qwen2-72B-Instruct", "Together_API", "sim-large"),
            ("llama-3.1-70b-versatile", "Groq_API", "sim-large"),
            ("gemini-1.5-flash", "Google_API", "sim-medium"),
            ("bedrock/meta.llama3-70b-instruct-v1:0", "Bedrock_API", "sim-large")]:
        llm, endpoint = registry.resolve(name, model_type)
        assert (llm.wire_model, endpoint.name) == (target, "simulator"), name
