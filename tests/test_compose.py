"""The compose file is valid against the Compose Specification, and keys reach workers only.

No Docker engine runs where itas is built, so the file is checked by validation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "compose" / "docker-compose.yml"
SPEC = Path(os.environ.get("ITAS_COMPOSE_SPEC", REPO.parent / "shared" / "compose-spec.json"))


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_follows_the_compose_specification() -> None:
    if not SPEC.exists():
        pytest.skip(f"Compose Specification schema not found at {SPEC} (set ITAS_COMPOSE_SPEC)")
    schema = json.loads(SPEC.read_text())
    # The spec names its draft by a URL jsonschema does not know; it is draft 7.
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(_compose())]
    assert errors == []


def test_services_wait_for_healthy_databases_and_only_workers_get_keys() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "worker", "flower", "optuna-dashboard"} <= set(services)
    for name in ("worker", "flower"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    with_env_file = {name for name, svc in services.items() if "env_file" in svc}
    assert with_env_file == {"worker"}
    text = COMPOSE.read_text()
    assert "API_KEY" not in text.replace("# ", "")  # no key value or name wired elsewhere
