"""Reading an Archon config into an :class:`Architecture`, collecting every problem.

Field values are checked here (through pydantic, with messages reworded per field by
:mod:`models.problems`); unknown fields, legacy layer forms and Archon's particular spellings
are handled here; the layer rules are :mod:`models.architecture_rules`. The rules are listed in
:mod:`models.architecture`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from pydantic import ValidationError

from models.architecture_rules import Findings, check_structure
from models.architecture_schema import Architecture, Component
from models.archon_types import (
    ALL_FIELDS,
    ARCHON_MODEL_TYPES,
    EFFECTIVE_FIELDS,
    IGNORED_FIELDS,
    ONE_SAMPLE,
    ComponentType,
    Shape,
    ignoring_loses_something,
)
from models.endpoint_types import REASONING_EFFORTS
from models.errors import InvalidArchitecture
from models.limits import MAX_MAX_TOKENS, MAX_SAMPLES, MAX_TOP_K, count_up_to
from models.problems import at, field_problems, in_file_order, nearest, shown

_EXPECTED = {
    "type": "one of " + ", ".join(t.value for t in ComponentType),
    "model": "the name of an LLM (a non-empty string)",
    "model_type": "a non-empty string, one of Archon's model types such as OpenAI_API",
    "temperature": "a number from 0 to 2",
    **dict.fromkeys(("first_k", "unit_test_cap", "ranker_batch_size"), "an integer >= 1"),
    "max_tokens": count_up_to(MAX_MAX_TOKENS),
    "samples": count_up_to(MAX_SAMPLES),
    "top_k": count_up_to(MAX_TOP_K),
    **dict.fromkeys(("use_critiques", "length_control", "first_pass",
                     "remove_unit_tests_from_prompt", "no_system", "execute_tests"),
                    "true or false"),
    "reasoning_effort": "one of " + ", ".join(REASONING_EFFORTS),
}
_TYPES = [t.value for t in ComponentType]
_TOP_LEVEL = ("name", "layers", "custom")
_LEGACY_LAYER = ("models", "branches")


@dataclass(frozen=True)
class LLMRef:
    """A component naming an LLM: enough to check it against an endpoints registry."""

    path: str
    layer: int
    type: str
    model: str
    model_type: str


@dataclass
class ArchitectureReport:
    """What :func:`check_architecture` found. ``architecture`` is None when there are errors.

    Problems are ``<path>: <what>`` lines, without the file name.
    """

    architecture: Architecture | None
    errors: list[str]
    warnings: list[str]
    #: Every component whose model and model_type could be read, valid or not, so that the
    #: LLM check reports its errors alongside the others.
    llm_refs: list[LLMRef] = field(default_factory=list)

    def exception(self, source: str) -> InvalidArchitecture:
        count = len(self.errors)
        return InvalidArchitecture(
            f"{source}: {count} error{'' if count == 1 else 's'} in the architecture",
            [f"{source}: {line}" for line in self.errors])


def check_architecture(data: object) -> ArchitectureReport:
    """Read an Archon config (parsed JSON) and apply every rule; never raises."""
    found = Findings()
    if not isinstance(data, dict):
        found.errors.append(f"(top level): expected an object with name and layers, "
                            f"got {shown(data)}")
        return ArchitectureReport(None, found.errors, found.warnings)
    for key in data:
        if key not in _TOP_LEVEL:
            _unknown(found, key, key, _TOP_LEVEL)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        found.errors.append("name: required, expected a non-empty string" if "name" not in data
                            else f"name: expected a non-empty string, got {shown(name)}")
    raw_layers = data.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        wanted = "a non-empty list of layers, each a list of components"
        found.errors.append(f"layers: required, expected {wanted}" if "layers" not in data
                            else f"layers: expected {wanted}, got {shown(raw_layers)}")
        return ArchitectureReport(None, found.errors, found.warnings)

    layers: list[list[Component | None]] = []
    shapes: list[list[Shape | None]] = []
    paths: list[list[str]] = []
    refs: list[LLMRef] = []
    for i, raw_layer in enumerate(raw_layers):
        base, items = _layer_items(found, raw_layer, i)
        if base is None or not items:  # unreadable: what comes after it is unknown
            layers.append([None])
            shapes.append([None])
            paths.append([f"layers[{i}]"])
            continue
        read = [_read_component(found, raw, at(base, j)) for j, raw in enumerate(items)]
        refs.extend(LLMRef(at(base, j), i, str(raw.get("type")), raw["model"], raw["model_type"])
                    for j, raw in enumerate(items) if isinstance(raw, dict)
                    and isinstance(raw.get("model"), str) and raw["model"]
                    and isinstance(raw.get("model_type"), str))
        layers.append([component for component, _ in read])
        shapes.append([shape for _, shape in read])
        paths.append([at(base, j) for j in range(len(items))])

    structure = check_structure(shapes, paths)
    errors = in_file_order(found.errors + structure.errors)
    warnings = in_file_order(found.warnings + structure.warnings)
    if errors:
        return ArchitectureReport(None, errors, warnings, refs)
    arch = Architecture(name=str(name),
                        layers=[[c for c in layer if c is not None] for layer in layers])
    arch._paths = paths
    return ArchitectureReport(arch, errors, warnings, refs)


def _unknown(found: Findings, path: str, key: str, known: Iterable[str]) -> None:
    hint = nearest(key, known)
    found.warnings.append(f"{path}: unknown field, ignored"
                          + (f"; did you mean {hint}?" if hint else ""))


def _layer_items(found: Findings, raw: object, i: int) -> tuple[str | None, list[Any]]:
    """Where the components of layer ``i`` are (path, list), in either of Archon's forms."""
    path = f"layers[{i}]"
    if isinstance(raw, list):
        if not raw:
            found.errors.append(f"{path}: an empty layer, expected at least one component")
        return path, raw
    if not isinstance(raw, dict):
        found.errors.append(f"{path}: expected a list of components, got {shown(raw)}")
        return None, []
    if "models" not in raw:
        if "type" in raw:
            found.errors.append(f"{path}: expected a list of components, got a single "
                                "component; write the layer as [ {...} ]")
        else:
            hint = nearest("models", [str(k) for k in raw])
            found.errors.append(
                f"{path}: expected a list of components (or Archon's legacy form "
                '{"models": [...]}), got an object'
                + (f' with "{hint}"; did you mean "models"?' if hint else " without models"))
        return None, []
    for key in raw:  # the legacy form {"models": [...], "branches": 1}
        if key not in _LEGACY_LAYER:
            _unknown(found, at(path, str(key)), str(key), _LEGACY_LAYER)
    if raw.get("branches", 1) != 1:
        found.warnings.append(f"{path}.branches: ignored (Archon ignores it too); "
                              "every layer runs once")
    models = raw["models"]
    if not isinstance(models, list) or not models:
        found.errors.append(f"{at(path, 'models')}: expected a non-empty list of components, "
                            f"got {shown(models)}")
        return None, []
    return at(path, "models"), models


def _read_component(found: Findings, raw: object, path: str,
                    ) -> tuple[Component | None, Shape | None]:
    """Validate one component; its Shape even when some values are wrong, if its type is known."""
    if not isinstance(raw, dict):
        found.errors.append(f"{path}: expected a component (an object with type, model, "
                            f"model_type, ...), got {shown(raw)}")
        return None, None
    kind = _component_type(found, raw, path)
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        where = at(path, str(key))
        if key not in ALL_FIELDS:
            _unknown(found, where, str(key), ALL_FIELDS)
        elif key in IGNORED_FIELDS:
            continue  # read by nothing in Archon either: nothing is lost
        else:
            fields[key] = value
            # A default (null, false) where it does nothing is harmless: model_dump() output,
            # which carries every field, reads back without warnings.
            if kind is not None and key not in EFFECTIVE_FIELDS[kind] \
                    and value != Component.model_fields[key].default \
                    and ignoring_loses_something(kind, key, value, raw.get("samples", 1)):
                found.warnings.append(f"{where}: has no effect on a {kind.value}, ignored "
                                      "(as in Archon)")
    _archon_specifics(found, raw, path, kind)
    try:
        component = Component.model_validate(fields if kind else {**fields, "type": "generator"})
    except ValidationError as exc:
        problems = field_problems(exc, path, _EXPECTED)
        if kind is None:  # already reported, with a hint
            problems = [p for p in problems if not p.startswith(f"{path}.type:")]
        found.errors.extend(problems)
        component = None
    if kind is None:
        return None, None
    if component is not None:
        return component, component.shape
    samples = raw.get("samples", 1)
    if not _is_count(samples):
        return None, None  # its candidate count is unknown
    return None, Shape(kind, samples, _count_or_none(raw.get("top_k")),
                       _count_or_none(raw.get("first_k")), raw.get("use_critiques") is True,
                       raw.get("execute_tests") is True)


def _component_type(found: Findings, raw: dict[str, Any], path: str) -> ComponentType | None:
    value = raw.get("type")
    if isinstance(value, str) and value in _TYPES:
        return ComponentType(value)
    if "type" not in raw:
        found.errors.append(f"{path}.type: required, expected {_EXPECTED['type']}")
        return None
    hint = nearest(value, _TYPES) if isinstance(value, str) else None
    found.errors.append(f"{path}.type: expected {_EXPECTED['type']}, got {shown(value)}"
                        + (f"; did you mean {hint}?" if hint else ""))
    return None


def _archon_specifics(found: Findings, raw: dict[str, Any], path: str,
                      kind: ComponentType | None) -> None:
    """Rules on single components that depend on their type (beyond value ranges)."""
    if kind is ComponentType.RANKER and "top_k" not in raw:
        found.errors.append(f"{path}.top_k: required for a ranker, expected an integer >= 1 "
                            "(how many of the ranked candidates go on)")
    samples = raw.get("samples")
    if kind in ONE_SAMPLE and _is_count(samples) and samples > 1:
        found.warnings.append(f"{path}.samples: a {kind} uses one sample; the other "
                              f"{samples - 1} would be wasted")
    model_type = raw.get("model_type")
    if isinstance(model_type, str) and model_type and model_type not in ARCHON_MODEL_TYPES:
        hint = nearest(model_type, ARCHON_MODEL_TYPES)
        found.warnings.append(
            f"{path}.model_type: {shown(model_type)} is not one of Archon's model types"
            + (f"; did you mean {hint}?" if hint else
               " (fine if your endpoints registry maps it)"))
    # ranker_batch_size draws no warning: no result depends on it (see
    # archon_types.ignoring_loses_something).
    if model_type == "" and kind is not ComponentType.RANKER:
        found.errors.append(f"{path}.model_type: expected {_EXPECTED['model_type']}, got \"\"")
    # An empty model_type on a ranker is Archon's form for a reward model (llm-blender/PairRM):
    # the endpoints registry finds it by name, on a scoring endpoint; nothing to warn about.


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _count_or_none(value: object) -> int | None:
    return value if _is_count(value) else None
