"""The import rules of DESIGN.md, checked on the source: the simulator is a stand-in for real
LLMs and shares no code with the worker; nothing but the command line that starts it as a
process imports it; it imports none of itas's own packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", ["worker", "models", "benchmarks"])
def test_worker_models_and_benchmarks_never_import_the_simulator(package: str) -> None:
    offenders = [str(p.relative_to(REPO)) for p in _modules(package)
                 if "simulator" in _imports(p)]
    assert offenders == []


def test_scheduler_imports_the_simulator_only_in_its_command_line() -> None:
    cli = REPO / "scheduler" / "cli"
    offenders = [str(p.relative_to(REPO)) for p in _modules("scheduler")
                 if "simulator" in _imports(p) and cli not in p.parents]
    assert offenders == []


def test_the_simulator_imports_none_of_itas_own_packages() -> None:
    offenders = {str(p.relative_to(REPO)): sorted(_imports(p) & {"models", "worker", "scheduler"})
                 for p in _modules("simulator")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_check_finds_an_import_when_there_is_one(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from simulator.fleet import X\nimport worker.tasks\n")
    assert _imports(module) == {"simulator", "worker"}
