"""Building a :class:`server.Simulator` from a fleet file and optional GSM8K directory."""

from __future__ import annotations

from pathlib import Path

from simulator.answer_keys import RECORDED_SYSTEMS, KeyStore, load_gsm8k, synth_math_keys
from simulator.fleet import Fleet, FleetError, load_fleet
from simulator.server import Simulator

__all__ = ["load_keys", "load_simulator", "recorded_params"]


def recorded_params(fleet: Fleet) -> dict[str, tuple[float, float]] | None:
    """(ability, discrimination) of each recorded GSM8K system, from the fleet's replay LLMs.

    None unless the fleet has a replay LLM for all four systems.
    """
    params = {
        llm.replay: (llm.ability, llm.discrimination)
        for llm in fleet.llms.values()
        if llm.replay is not None
    }
    return params if set(params) >= set(RECORDED_SYSTEMS) else None


def load_keys(fleet: Fleet, data: Path | None = None) -> KeyStore:
    """synth-math keys for the fleet's seeds, plus GSM8K from ``data`` or the fleet's dir."""
    store = KeyStore(synth_math_keys(fleet.synth_math_seeds, fleet.synth_math_count))
    directory = data or fleet.gsm8k_dir
    if directory is not None:
        try:
            store.add(load_gsm8k(directory, recorded_params(fleet)))
        except (OSError, ValueError, KeyError) as exc:
            raise FleetError(f"{directory}: cannot load GSM8K answer keys ({exc})") from exc
    return store


def load_simulator(fleet_path: Path | None = None, data: Path | None = None) -> Simulator:
    """Load the fleet (raises FleetError) and its answer keys."""
    fleet = load_fleet(fleet_path)
    return Simulator(fleet, load_keys(fleet, data))
