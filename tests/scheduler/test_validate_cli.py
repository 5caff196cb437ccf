"""`itas validate` and `itas llms`, run as a user runs them (a subprocess). Pure: no service."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from scheduler.processes import ITAS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "architectures"
CANARY = "canary-secret-123"


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
    return subprocess.run([*ITAS, *args], env={**clean, **(env or {})}, capture_output=True,
                          text=True, timeout=60)


def _comp(kind: str, model: str = "sim-large", **fields: Any) -> dict[str, Any]:
    return {"type": kind, "model": model, "model_type": "OpenAI_API", "temperature": 0.7,
            "max_tokens": 1024, **fields}


def _write(tmp_path: Path, name: str, layers: list[Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"name": name, "layers": layers}, indent=2))
    return path


def test_bad_architecture_lists_every_error_and_exits_2(tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.json", [
        [_comp("generator", "sim-larg", samples=3, temperature=3)],
        [_comp("ranker", "sim-critic", top_k=5)],
        [_comp("fuser", max_tokens=0)],
    ])
    done = _run(["validate", str(bad)])
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line.strip() for line in done.stderr.splitlines() if line.startswith("  ")]
    assert [line.split(": ")[1] for line in errors] == [
        "layers[0][0].temperature", "layers[0][0].model", "layers[1][0].top_k",
        "layers[2][0].max_tokens"]
    assert all(line.startswith(f"{bad}: ") for line in errors)
    assert "expected at most 3" in done.stderr and "sim-large" in done.stderr
    assert f"itas: error: 4 errors in {bad}" in done.stderr.splitlines()


def test_good_architecture_prints_ok_and_exits_0() -> None:
    done = _run(["validate", str(EXAMPLES / "generate10-rank5-fuse.json")],
                {"ITAS_SIM_KEY_1": "sim-key-1"})
    assert done.returncode == 0, done.stderr
    assert ": ok (" in done.stdout and "10 -> 5 -> 1" in done.stdout
    assert done.stderr == ""


def test_every_example_validates() -> None:
    files = sorted(EXAMPLES.glob("*.json"))
    assert len(files) >= 3
    done = _run(["validate", *map(str, files)], {"ITAS_SIM_KEY_2": "sim-key-2"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(": ok (") == len(files)


def test_typo_field_warns_with_the_nearest_field(tmp_path: Path) -> None:
    typo = _write(tmp_path, "typo.json", [[_comp("generator", samples=4)],
                                          [_comp("fuser", length_contorl=True)]])
    done = _run(["validate", "--structure-only", str(typo)])
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout
    assert (f"warning: {typo}: layers[1][0].length_contorl: unknown field, ignored; "
            "did you mean length_control?") in done.stderr


def test_non_json_file_names_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x",\n  "layers": [[}\n')
    done = _run(["validate", "--structure-only", str(broken)])
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"itas: error: {broken}: line 2, column 15: not valid JSON (Expecting value)"]


def test_unknown_llm_only_without_structure_only(tmp_path: Path) -> None:
    path = _write(tmp_path, "llm.json", [[_comp("generator", "my-finetuned-llm")]])
    checked = _run(["validate", str(path)], {"ITAS_SIM_KEY_1": "x"})
    assert checked.returncode == 2
    assert f"{path}: layers[0][0].model: unknown LLM 'my-finetuned-llm'" in checked.stderr
    assert _run(["validate", "--structure-only", str(path)]).returncode == 0


def test_keys_are_not_looked_for_on_the_validating_host() -> None:
    """Keys live only in the workers' environment (the preflight checks them there): a host
    without them validates without a warning."""
    example = str(EXAMPLES / "generate10-rank5-fuse.json")
    unset = _run(["validate", example])
    assert unset.returncode == 0, unset.stderr
    assert "warning" not in unset.stderr and ": ok" in unset.stdout


def test_malformed_registry_stops_validate_with_file_and_path(tmp_path: Path) -> None:
    registry = tmp_path / "endpoints.yaml"
    registry.write_text("endpoints:\n  e: {kind: grpc, base_url: http://h/v1}\n"
                        "llms:\n  m: {endpoint: e, price_in_per_mtok: -2, "
                        "price_out_per_mtok: 1}\n")
    done = _run(["validate", str(EXAMPLES / "generate10-rank5-fuse.json")],
                {"ITAS_ENDPOINTS_FILE": str(registry)})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{registry}: endpoints.e.kind: expected openai" in done.stderr
    assert f"{registry}: llms.m.price_in_per_mtok: expected a number >= 0" in done.stderr


def test_llms_json_lists_the_fleet_without_key_values() -> None:
    done = _run(["llms", "--json"], {"ITAS_SIM_KEY_1": CANARY})
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {row["name"] for row in rows} >= {"sim-frontier", "sim-tiny", "gpt3-175b-verifier-sim",
                                             "gpt3-6b-finetune-replay"}
    frontier = next(row for row in rows if row["name"] == "sim-frontier")
    assert (frontier["price_in_per_mtok"], frontier["price_out_per_mtok"]) == (5.0, 15.0)
    assert frontier["base_url"] == "http://127.0.0.1:8300/v1" and frontier["kind"] == "openai"
    assert frontier["api_key_envs"] == [{"name": "ITAS_SIM_KEY_1", "set": True},
                                        {"name": "ITAS_SIM_KEY_2", "set": False}]
    assert CANARY not in done.stdout + done.stderr


def test_llms_table_shows_prices_and_key_names_not_values() -> None:
    done = _run(["llms"], {"ITAS_SIM_KEY_2": CANARY, "ITAS_SIMULATOR_URL": "http://sim:9000"})
    assert done.returncode == 0, done.stderr
    assert "sim-frontier" in done.stdout and "http://sim:9000/v1" in done.stdout
    # Archon's model names show the simulated LLM whose skill they have
    gpt4o = next(line for line in done.stdout.splitlines() if line.startswith("gpt-4o "))
    assert gpt4o.split()[-1] == "sim-frontier"
    assert "ITAS_SIM_KEY_2 (set)" in done.stdout and "ITAS_SIM_KEY_1 (not set)" in done.stdout
    assert CANARY not in done.stdout + done.stderr


def test_what_a_file_may_ask_for_is_bounded(tmp_path: Path) -> None:
    """samples, max_tokens, top_k (architecture) and trials, parallel_trials (job) have upper
    limits (models/limits.py); a file beyond one is refused naming the file and the field."""
    arch = _write(tmp_path, "greedy.json", [
        [_comp("generator", samples=50_000, max_tokens=10_000_000)],
        [_comp("ranker", top_k=1)],
    ])
    done = _run(["validate", str(arch)])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{arch}: layers[0][0].samples: expected an integer from 1 to 10000, got 50000" \
        in done.stderr
    assert f"{arch}: layers[0][0].max_tokens: expected an integer from 1 to 2000000" in done.stderr
    demo = (Path(__file__).resolve().parents[2] / "examples" / "search-demo.yaml").read_text()
    job = tmp_path / "greedy.yaml"
    job.write_text(demo.replace("trials: 8 ", "trials: 100000 ")
                   .replace("parallel_trials: 4 ", "parallel_trials: 500 "))
    done = _run(["validate", str(job)])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{job}: trials: expected an integer from 1 to 10000, got 100000" in done.stderr
    assert f"{job}: parallel_trials: expected an integer from 1 to 64, got 500" in done.stderr


#: Configs in Archon's format doing what Archon's published configs do (CI has no copy of
#: Archon's configs/): 1000 samples with max_tokens 200000, unit tests, a PairRM ranker in the
#: legacy layer form, a verifier, MoA layers with top_k 1 on every generator and fuser,
#: Archon's model names and model_types, two rankers in a layer. file -> candidates per layer
ARCHON_FORMAT = Path(__file__).resolve().parents[1] / "data" / "archon_format"
ARCHON_SHAPES = {
    "critic-then-two-rankers.json": "10 -> 10 -> 5 -> 1",
    "moa-layers.json": "4 -> 3 -> 1",
    "pairrm-rank-then-fuse.json": "8 -> 3 -> 1",
    "repeated-sampling-unit-tests.json": "0 -> 1000 -> 1",
    "sample-verify-fuse.json": "5 -> 5 -> 1",
}


def test_configs_in_archons_format_validate_alone_and_against_the_default_registry() -> None:
    files = sorted(ARCHON_FORMAT.glob("*.json"))
    assert [f.name for f in files] == sorted(ARCHON_SHAPES)
    for args in (["validate", "--structure-only"], ["validate"]):
        # the simulator's key variable set, as for workers
        done = _run([*args, *map(str, files)], {"ITAS_SIM_KEY_1": "sim-key-1"})
        assert done.returncode == 0, done.stderr
        # Archon's template fields draw no warning; with the registry, the two configs at
        # Archon's largest values are costly, and say so
        costly = {line.split(": ")[1] for line in done.stderr.splitlines()
                  if ": costly: one question may take up to " in line}
        assert len(done.stderr.splitlines()) == len(costly)
        assert costly == (set() if "--structure-only" in args else {
            str(ARCHON_FORMAT / "critic-then-two-rankers.json"),
            str(ARCHON_FORMAT / "repeated-sampling-unit-tests.json")})
        for path in files:
            assert f"{path}: ok (" in done.stdout
            assert f"candidates per layer {ARCHON_SHAPES[path.name]}," in done.stdout


def test_a_costly_config_warns_with_its_calls_and_dollars(tmp_path: Path) -> None:
    # Archon's repeated-sampling shape (its configs ask samples 1000, max_tokens 200000), within
    # today's limits: 4 x 100 samples of 100,000 tokens, then a fuser.
    costly = _write(tmp_path, "costly.json", [
        [_comp("generator", llm, samples=100, max_tokens=100_000)
         for llm in ("sim-large", "sim-medium", "sim-small", "sim-tiny")],
        [_comp("fuser", max_tokens=100_000)]])
    done = _run(["validate", str(costly)], {"ITAS_SIM_KEY_1": "sim-key-1"})
    assert done.returncode == 0, done.stderr
    [warning] = [line for line in done.stderr.splitlines() if ": costly: " in line]
    # (4 x 100 generator calls + 1 fuser call) x 3 attempts
    assert "up to 1,203 LLM calls and $" in warning and str(costly) in warning
    assert ": ok (" in done.stdout  # a warning, not an error
