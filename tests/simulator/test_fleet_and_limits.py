"""Fleet-file validation and the rate-limit arithmetic, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.fleet import FleetError, KeySpec, load_fleet, parse_fault_rates
from simulator.ratelimit import RateLimiter


def test_the_shipped_fleet_offers_distinct_llms_keys_and_the_calibrated_eight() -> None:
    fleet = load_fleet()
    general = [n for n in fleet.llms if n.startswith("sim-")]
    # six general LLMs, plus the special-purpose sim-critic, sim-short-context, sim-reasoner
    assert 6 <= len(general) <= 10
    assert len({(fleet.llms[n].ability, fleet.llms[n].judge) for n in general}) == len(general)
    assert sum(1 for llm in fleet.llms.values() if llm.replay) == 4
    assert {"sim-key-1", "sim-key-2", "sim-key-limited"} <= set(fleet.keys)


def test_fault_headers_are_validated(tmp_path: Path) -> None:
    assert parse_fault_rates("429=0.1, hang=0.2")["hang"] == 0.2
    with pytest.raises(FleetError, match="unknown fault kind"):
        parse_fault_rates("teapot=0.1")
    with pytest.raises(FleetError, match="more than 1"):
        parse_fault_rates("500=0.7,503=0.7")
    fleet = tmp_path / "f.yaml"
    fleet.write_text("keys: [{key: k}]\nllms: {a: {ability: 0, judge: 0}}\nfaults: {500: 2}\n")
    with pytest.raises(FleetError, match=r"faults\.500"):
        load_fleet(fleet)


def test_a_key_is_refused_after_its_per_minute_budget_and_recovers_with_time() -> None:
    now = [0.0]
    limiter = RateLimiter([KeySpec("k", requests_per_min=3, tokens_per_min=600)], lambda: now[0])
    assert all(limiter.admit("k", 10).allowed for _ in range(3))
    refused = limiter.admit("k", 10)
    assert not refused.allowed and refused.retry_after_s == pytest.approx(20.0)
    now[0] = 20.0
    assert limiter.admit("k", 10).allowed
    big = limiter.admit("k", 1000)
    assert big.too_large and not big.allowed


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("keys: [{key: k}]\nllms: {a: {ability: 0, judge: 0, abilty: 2}}\n", "llms.a.abilty"),
        ("keys: [{key: k}]\nlms: {}\nllms: {a: {ability: 0, judge: 0}}\n", ": lms"),
        ("keys: [{key: k}]\nllms: {a: {ability: 0, judge: 0, replay: gpt4}}\n", "llms.a.replay"),
        ("keys: []\nllms: {a: {ability: 0, judge: 0}}\n", "keys"),
        ("keys: [{key: k}]\nllms: {a: {judge: 0}}\n", "llms.a.ability"),
        ("keys: [{key: k}]\nllms: {a: {ability: 0, judge: 0, kind: embed}}\n", "llms.a.kind"),
        ("keys: [{key: k}]\nllms: {a: {ability: 0, judge: 0}}\nanswer_keys: {math_style: x}\n",
         "answer_keys.math_style"),
        ("keys: [{key: k}]\nllms: {a: {ability: 0, judge: 0}}\nanswer_keys: {mixeval: x}\n",
         "answer_keys.mixeval"),
        ("keys: [{key: k}]\nllms: {a: {ability: 0, judge: 0, server_concurrency: 0}}\n",
         "llms.a.server_concurrency"),
        ("keys: [{key: k, limit_headers: sometimes}]\nllms: {a: {ability: 0, judge: 0}}\n",
         "keys[0].limit_headers"),
        ("keys: [{key: k}]\nllms: {a: {ability: 0, judge: 0}}\nclones: {b: [c]}\n",
         "clones.b: not an LLM"),
        ("keys: [{key: k}]\nllms: {a: {ability: 0, judge: 0}}\nclones: {a: [a]}\n",
         "clones.a: 'a' is already"),
    ],
)
def test_a_fleet_file_typo_names_the_file_and_field(tmp_path: Path, text: str, where: str) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(text)
    with pytest.raises(FleetError) as error:
        load_fleet(fleet)
    assert str(fleet) in str(error.value) and where in str(error.value)


def test_a_clone_has_the_skill_of_its_original_under_its_own_name(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("keys: [{key: k}]\nllms: {a: {ability: 0.7, judge: 1.1, "
                     "price: {input_per_mtok: 2}}}\nclones: {a: [org/model-70b, model-x]}\n")
    llms = load_fleet(fleet).llms
    assert list(llms) == ["a", "org/model-70b", "model-x"]
    for name in ("org/model-70b", "model-x"):
        clone = llms[name]
        assert clone.name == name  # its own name: its own draws (samples are seeded by it)
        assert (clone.ability, clone.judge, clone.input_per_mtok) == (0.7, 1.1, 2.0)
