"""The endpoints registry: the packaged default points at the simulator's fleet; a malformed
registry is refused with the file and the path of every problem; key values never appear."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.endpoints import EndpointKind, load_registry
from models.errors import ConfigError
from simulator.fleet import load_fleet

REPO = Path(__file__).resolve().parents[2]
SIM = "http://127.0.0.1:8300"

#: The simulator's default fleet (simulator/fleet.yaml) and its prices per million tokens.
FLEET = {
    "sim-frontier": (5.0, 15.0), "sim-large": (2.0, 6.0), "sim-critic": (1.0, 3.0),
    "sim-medium": (0.5, 1.5), "sim-small": (0.15, 0.6), "sim-tiny": (0.05, 0.2),
    "gpt3-6b-finetune-sim": (0.2, 0.2), "gpt3-6b-verifier-sim": (0.2, 0.2),
    "gpt3-175b-finetune-sim": (20.0, 20.0), "gpt3-175b-verifier-sim": (20.0, 20.0),
    "gpt3-6b-finetune-replay": (0.2, 0.2), "gpt3-6b-verifier-replay": (0.2, 0.2),
    "gpt3-175b-finetune-replay": (20.0, 20.0), "gpt3-175b-verifier-replay": (20.0, 20.0),
    # the simulated reasoning model, marked as one and (to learn it from its 400s) unmarked
    "sim-short-context": (0.15, 0.6), "sim-reasoner": (10.0, 40.0),
    "sim-reasoner-unmarked": (10.0, 40.0),
    # the simulated reward model, also under the name Archon's PairRM configs use
    "sim-pairrm": (0.02, 0.0), "llm-blender/PairRM": (0.02, 0.0),
}

GOOD = """\
endpoints:
  local:
    kind: openai
    base_url: http://127.0.0.1:8000/v1
    api_key_envs: [LOCAL_KEY_A, LOCAL_KEY_B]
llms:
  m: {endpoint: local, price_in_per_mtok: 1, price_out_per_mtok: 2}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "endpoints.yaml"
    path.write_text(text)
    return path


def problems_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_registry(path, simulator_url=SIM)
    return str(caught.value)


def test_default_registry_lists_the_simulator_fleet_with_its_prices() -> None:
    registry = load_registry(simulator_url="http://sim.example:9000")
    # Archon's model names are clones of these (tests/models/test_archon_llms.py)
    assert {name: (llm.price_in_per_mtok, llm.price_out_per_mtok)
            for name, llm in registry.llms.items() if llm.like is None} == FLEET
    simulator = registry.endpoints["simulator"]
    assert simulator.kind is EndpointKind.OPENAI
    assert simulator.base_url == "http://sim.example:9000/v1"
    assert simulator.api_key_envs == ["ITAS_SIM_KEY_1", "ITAS_SIM_KEY_2"]
    # Archon's configs run unchanged on the simulator: every model_type maps to it.
    for model_type in ("OpenAI_API", "Together_API", "Anthropic_API", "Groq_API", "Google_API",
                       "tgi", "vLLM", "Bedrock_API"):
        llm, endpoint = registry.resolve("sim-large", model_type)
        assert endpoint is simulator and llm.wire_model == "sim-large"


def test_default_registry_matches_the_simulators_fleet_file() -> None:
    fleet_file = REPO / "simulator" / "fleet.yaml"
    if not fleet_file.exists():
        pytest.skip("simulator/fleet.yaml is not in this checkout yet (the simulator branch)")
    fleet = load_fleet(fleet_file).llms  # its clones (Archon's model names) included
    registry = load_registry(simulator_url=SIM)
    # Every simulated LLM is in the registry, and every registry name (an alias such as
    # llm-blender/PairRM included) is one of the fleet's on the wire, at its price.
    assert {llm.wire_model for llm in registry.llms.values()} == set(fleet)
    for name, llm in registry.llms.items():
        spec = fleet[llm.wire_model]
        assert (llm.price_in_per_mtok, llm.price_out_per_mtok) \
            == (spec.input_per_mtok, spec.output_per_mtok), name


def test_settings_choose_the_file_and_the_simulator_url(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITAS_SIMULATOR_URL", "http://10.1.2.3:8301/")
    assert load_registry().endpoints["simulator"].base_url == "http://10.1.2.3:8301/v1"
    monkeypatch.setenv("ITAS_ENDPOINTS_FILE", str(write(tmp_path, GOOD)))
    registry = load_registry()
    assert list(registry.llms) == ["m"] and registry.source.endswith("endpoints.yaml")


def test_llm_lookup_cost_and_wire_name(tmp_path: Path) -> None:
    registry = load_registry(write(tmp_path, GOOD + "  n: {endpoint: local, wire_model: org/n-v2,"
                                   " price_in_per_mtok: 0, price_out_per_mtok: 0}\n"))
    assert registry.llm("n").wire_model == "org/n-v2" and registry.llm("m").wire_model == "m"
    assert registry.llm("m").cost_usd(1_000_000, 500_000) == pytest.approx(2.0)
    assert registry.endpoint_for("m").name == "local"
    with pytest.raises(ConfigError, match=r"unknown LLM 'nn' \(close matches: n"):
        registry.llm("nn")


def test_keys_come_from_the_environment_only_at_call_time(tmp_path: Path) -> None:
    endpoint = load_registry(write(tmp_path, GOOD)).endpoints["local"]
    assert endpoint.api_keys({"LOCAL_KEY_B": "b", "LOCAL_KEY_A": "a"}) == ["a", "b"]
    assert endpoint.keys_set({"LOCAL_KEY_B": "b"}) == {"LOCAL_KEY_A": False, "LOCAL_KEY_B": True}
    with pytest.raises(ConfigError, match="LOCAL_KEY_A, LOCAL_KEY_B") as caught:
        endpoint.api_keys({})
    assert "local" in str(caught.value)


# (id, registry text, path of the problem, words of the message)
MALFORMED = [
    ("unknown kind", GOOD.replace("kind: openai", "kind: grpc"), "endpoints.local.kind",
     "openai (any OpenAI-compatible server), anthropic, or rerank"),
    ("LLM on an unknown endpoint", GOOD.replace("endpoint: local", "endpoint: locl"),
     "llms.m.endpoint", "close matches: local"),
    ("negative price", GOOD.replace("price_in_per_mtok: 1", "price_in_per_mtok: -1"),
     "llms.m.price_in_per_mtok", "a number >= 0"),
    ("price missing", GOOD.replace(", price_out_per_mtok: 2", ""), "llms.m.price_out_per_mtok",
     "required"),
    ("invalid variable name", GOOD.replace("LOCAL_KEY_B", "LOCAL-KEY-B"),
     "endpoints.local.api_key_envs[1]", "expected an environment variable name"),
    ("a key instead of a name", GOOD.replace("LOCAL_KEY_A", "sk-proj-canary0123456789abcdef"),
     "endpoints.local.api_key_envs[0]", "looks like an API key"),
    ("a key field", GOOD.replace("    api_key_envs", "    api_key: sk-canary0123456789abcdef\n"
                                                  "    api_key_envs"),
     "endpoints.local.api_key", "keys are never written in the registry"),
    ("base_url not http", GOOD.replace("http://127.0.0.1:8000/v1", "ftp://host/v1"),
     "endpoints.local.base_url", "an http(s) URL"),
    ("other variable in base_url", GOOD.replace("http://127.0.0.1:8000/v1",
                                                "https://${MY_TOKEN}@host/v1"),
     "endpoints.local.base_url", "only ${ITAS_SIMULATOR_URL} is substituted"),
    ("zero requests per minute", GOOD.replace("    api_key_envs", "    requests_per_min: 0\n"
                                                                   "    api_key_envs"),
     "endpoints.local.requests_per_min", "an integer >= 1 (per key)"),
    ("negative timeout", GOOD.replace("    api_key_envs", "    timeout_s: -5\n    api_key_envs"),
     "endpoints.local.timeout_s", "a number of seconds > 0"),
    ("misspelled limit", GOOD.replace("    api_key_envs", "    requests_per_minute: 60\n"
                                                           "    api_key_envs"),
     "endpoints.local.requests_per_minute", "did you mean requests_per_min?"),
    ("no endpoints", "llms: {}\n", "endpoints", "required"),
    ("top level a list", "- endpoints\n", "(top level)", "expected a mapping"),
    ("endpoint not a mapping", GOOD.replace("  local:\n", "  other: 3\n  local:\n"),
     "endpoints.other", "expected a mapping of settings"),
]


@pytest.mark.parametrize(("text", "path", "words"), [case[1:] for case in MALFORMED],
                         ids=[case[0] for case in MALFORMED])
def test_malformed_registry_names_file_and_path(tmp_path: Path, text: str, path: str,
                                                words: str) -> None:
    message = problems_of(tmp_path, text)
    lines = [line.strip() for line in message.splitlines()]
    hits = [line for line in lines if line.startswith(f"{tmp_path / 'endpoints.yaml'}: {path}: ")]
    assert hits and any(words in line for line in hits), message
    assert "canary" not in message  # a key written by mistake is never echoed


def test_every_problem_of_a_registry_is_reported(tmp_path: Path) -> None:
    text = (GOOD.replace("kind: openai", "kind: grpc").replace("endpoint: local", "endpoint: x")
            .replace("price_in_per_mtok: 1", "price_in_per_mtok: -1"))
    message = problems_of(tmp_path, text)
    assert message.splitlines()[0].endswith("3 problems in the endpoints registry")
    for path in ("endpoints.local.kind", "llms.m.endpoint", "llms.m.price_in_per_mtok"):
        assert f": {path}: " in message


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    message = problems_of(tmp_path, GOOD.replace("kind: openai", "kind: [openai"))
    assert "endpoints.yaml: line 4, column" in message and "not valid YAML" in message


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.yaml: cannot read the endpoints registry"):
        load_registry(tmp_path / "nowhere.yaml")


def test_a_reasoning_llm_is_marked_with_an_optional_default_effort(tmp_path: Path) -> None:
    registry = load_registry(write(tmp_path, GOOD + (
        "  o: {endpoint: local, price_in_per_mtok: 1, price_out_per_mtok: 4, reasoning: true,"
        " reasoning_effort: minimal}\n")))
    assert (registry.llm("o").reasoning, registry.llm("o").reasoning_effort) == (True, "minimal")
    assert (registry.llm("m").reasoning, registry.llm("m").reasoning_effort) == (False, None)
    packaged = load_registry(simulator_url=SIM)
    assert packaged.llm("sim-reasoner").reasoning
    unmarked = packaged.llm("sim-reasoner-unmarked")
    assert not unmarked.reasoning and unmarked.wire_model == "sim-reasoner"


def test_a_wrong_reasoning_setting_is_named_with_its_path(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, GOOD + (
        "  a: {endpoint: local, price_in_per_mtok: 1, price_out_per_mtok: 4,"
        " reasoning_effort: low}\n"
        "  b: {endpoint: local, price_in_per_mtok: 1, price_out_per_mtok: 4, reasoning: true,"
        " reasoning_effort: extreme}\n"))
    assert "llms.a.reasoning_effort: only a reasoning model takes one" in problems
    assert "llms.b.reasoning_effort: expected one of minimal, low, medium, high, " \
           'got "extreme"' in problems
