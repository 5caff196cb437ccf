"""The compose deployment's files: valid against the Compose Specification, and the rules a user
relies on. `make compose-check` runs the deployment itself (compose/check.py); these checks
need no Docker engine."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE_DIR = REPO / "compose"
COMPOSE = COMPOSE_DIR / "docker-compose.yml"
SPEC = Path(os.environ.get("ITAS_COMPOSE_SPEC", REPO.parent / "shared" / "compose-spec.json"))
ITAS_SERVICES = ("init", "simulator", "worker", "scheduler", "flower")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_compose_file_follows_the_compose_specification() -> None:
    if not SPEC.exists():
        pytest.skip(f"Compose Specification schema not found at {SPEC} (set ITAS_COMPOSE_SPEC)")
    schema = json.loads(SPEC.read_text())
    # The spec names its draft by a URL jsonschema does not know; it is draft 7.
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(_compose())]
    assert errors == []


def test_itas_services_start_on_healthy_services_and_a_ready_schema() -> None:
    services = _services()
    assert {"postgres", "redis-broker", "redis-cache", "optuna-dashboard",
            *ITAS_SERVICES} <= set(services)
    for name in ("worker", "scheduler", "flower"):
        depends = services[name]["depends_on"]
        for needed in ("postgres", "redis-broker", "redis-cache"):
            assert depends[needed]["condition"] == "service_healthy", (name, needed)
        assert depends["init"]["condition"] == "service_completed_successfully", name
    # The dashboard fails on a database without Optuna's tables: it waits for the init job.
    dashboard = services["optuna-dashboard"]["depends_on"]
    assert dashboard["init"]["condition"] == "service_completed_successfully"
    for name in ("postgres", "redis-broker", "redis-cache", "simulator", "worker", "flower",
                 "optuna-dashboard"):
        assert "healthcheck" in services[name], name


def test_the_simulator_is_a_profile_that_the_example_env_turns_on() -> None:
    services = _services()
    assert services["simulator"]["profiles"] == ["simulator"]
    # Without the profile the workers and schedulers still start (real endpoints).
    for name in ("worker", "scheduler"):
        assert services[name]["depends_on"]["simulator"]["required"] is False
    example = (COMPOSE_DIR / "env.example").read_text()
    assert re.search(r"^COMPOSE_PROFILES=simulator$", example, re.MULTILINE)


def test_the_broker_never_evicts_and_the_cache_does() -> None:
    services = _services()
    broker = " ".join(services["redis-broker"]["command"])
    assert "--appendonly yes" in broker and "--appendfsync everysec" in broker
    assert "--maxmemory-policy noeviction" in broker
    cache = " ".join(services["redis-cache"]["command"])
    assert "--maxmemory " in cache and "--maxmemory-policy allkeys-lru" in cache
    env = _compose()["x-itas-env"]
    assert "redis-broker" in env["ITAS_BROKER_URL"] and "redis-cache" in env["ITAS_REDIS_URL"]


def test_only_workers_get_the_env_file_and_no_password_is_in_a_url() -> None:
    services = _services()
    with_env_file = {name for name, svc in services.items() if "env_file" in svc}
    assert with_env_file == {"worker"}
    text = COMPOSE.read_text()
    assert "API_KEY" not in text  # no key value or name wired elsewhere
    # A password with @ : / # would break a URL: it travels as PGPASSWORD instead.
    for url in re.findall(r"postgresql[+a-z0-9]*://\S+", text):
        assert "${" not in url and ":" not in url.split("://")[1].split("@")[0], url


def test_required_variables_have_no_default_and_the_example_leaves_them_to_the_user() -> None:
    text = COMPOSE.read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?[^}]+\}", text))
    assert required == {"POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH"}
    flower_env = _services()["flower"]["environment"]
    assert flower_env["ITAS_FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    example = (COMPOSE_DIR / "env.example").read_text()
    for name in required:  # present, and empty: a copied example fails until it is set
        assert re.search(rf"^{name}=$", example, re.MULTILINE), name


def test_web_uis_are_published_on_loopback_by_default() -> None:
    services = _services()
    assert services["optuna-dashboard"]["ports"] == ["127.0.0.1:${DASHBOARD_PORT:-8080}:8080"]
    assert services["flower"]["ports"] == ["${FLOWER_BIND:-127.0.0.1}:${FLOWER_PORT:-5555}:5555"]


def test_the_image_installs_exactly_the_pinned_dependencies_as_a_non_root_user() -> None:
    dockerfile = (COMPOSE_DIR / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) == 2  # build, runtime
    assert "-r /tmp/constraints.txt" in dockerfile and "--no-deps" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    pins = {}
    for line in (COMPOSE_DIR / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version, f"compose/constraints.txt: {line!r} is not pinned with =="
            pins[_normalized(name)] = version
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name = _normalized(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])
        assert name in pins, f"{requirement} (pyproject.toml) is not in compose/constraints.txt"


def test_the_build_context_is_an_allowlist_without_secrets() -> None:
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "*"  # everything out, then only what the image needs back in
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed <= {"pyproject.toml", "README.md", "models", "worker", "scheduler",
                       "simulator", "benchmarks", "examples", "compose/constraints.txt"}
    for line in (COMPOSE_DIR / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] != ["COPY"] or any(w.startswith("--from") for w in words):
            continue
        for source in [w for w in words[1:-1] if not w.startswith("--")]:
            assert source.rstrip("/") in allowed, f"COPY {source}: left out by .dockerignore"
