"""Architectures: Archon's JSON configs, read as they are, and checked before anything runs.

The format is Archon's (``name`` and a list of ``layers``, each a list of components)::

    {"name": "gen-rank-fuse",
     "layers": [[{"type": "generator", "model": "sim-large", "model_type": "OpenAI_API",
                  "temperature": 0.7, "max_tokens": 2048, "samples": 10}],
                [{"type": "ranker", "model": "sim-critic", "model_type": "OpenAI_API",
                  "temperature": 0.7, "max_tokens": 2048, "top_k": 5}],
                [{"type": "fuser", "model": "sim-frontier", "model_type": "OpenAI_API",
                  "temperature": 0.7, "max_tokens": 2048}]]}

Also accepted, as Archon accepts them:

* the legacy layer form ``{"models": [component, ...], "branches": 1}`` (``branches`` is
  ignored, as Archon ignores it); errors in it are reported at ``layers[i].models[j]``;
* ``first_pass: true`` on a unit_test_evaluator, Archon's older spelling of ``first_k: 1``;
* ``custom`` at the top level (Archon's flag for custom components, which itas does not run:
  every component must be one of the seven built-in types).

A layer given as a single component object, or a layer object without ``models``, is an error
that says how to write it.

**Errors** (nothing is queued; every one is reported, each with its path):

* values: ``type`` one of the seven types; ``model`` a non-empty string; ``model_type`` a
  non-empty string (a ranker may leave it empty: Archon's reward-model rankers do, and the
  registry finds the model by name); ``0 <= temperature <= 2``; ``max_tokens``, ``samples``,
  ``top_k``, ``first_k``, ``unit_test_cap``, ``ranker_batch_size`` integers >= 1; flags true/false;
  ``temperature`` and ``max_tokens`` required (Archon reads them for every component);
* a ranker without ``top_k`` (Archon requires it);
* a critic sharing its layer with a component that hands on other candidates (a generator,
  fuser, ranker, verifier or unit_test_evaluator: the critiques would go with the wrong
  candidates); several components of one kind, or rankers beside verifiers, run as in Archon
  (:mod:`models.archon_types`);
* a fuser, critic, ranker, verifier or unit_test_evaluator that no candidate can reach (in
  layer 0, or after a layer of unit_test_generator only at the start);
* a unit_test_evaluator with no unit_test_generator in an earlier layer;
* a unit_test_evaluator with ``execute_tests`` (itas's own field: it runs the tests as code)
  after a unit_test_generator without it (whose tests are sentences);
* a ``top_k`` (ranker, unit_test_evaluator) larger than the candidates that can reach it, counted
  by :mod:`models.archon_types` (e.g. 3 generators x 3 samples = 9);
* a last layer that hands on no candidate (the architecture would give no answer);
* with an endpoints registry (:func:`check_llms`): an LLM the registry does not know (close
  matches listed), or a ``model_type`` its endpoint does not accept.

**Warnings** (the architecture runs): an unknown field (named with the nearest known one, e.g.
``length_contorl`` -> ``length_control``); a known field with no effect on its type whose value
asks for something that will not happen (``top_k: 3`` on a generator of 10 samples; not
Archon's template ``top_k: 1``, see :func:`models.archon_types.ignoring_loses_something`);
``samples > 1`` on a type that uses one sample; a ``model_type`` that is not one of Archon's; a
ranker with ``use_critiques`` that no critique reaches; a generator that candidates reach (as in
Archon it answers the query afresh and its answers replace them: MoA's layered proposers); a
``first_k`` above the candidates that can reach it; more than 32 candidates reaching a fuser,
critic or ranker, which shows them all in one prompt (Archon warns about context windows too);
a last layer that hands on several candidates.

Build architectures as dicts and pass them to :func:`parse_architecture`; constructing
:class:`Architecture` directly skips these rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.architecture_reader import ArchitectureReport, LLMRef, check_architecture
from models.architecture_schema import (
    Architecture,
    Component,
    architecture_hash,
    candidates_out,
)
from models.archon_types import ComponentType
from models.errors import ConfigError, InvalidArchitecture
from models.limits import MAX_NESTING, shape_problem

if TYPE_CHECKING:
    from models.endpoints import Registry

__all__ = ["Architecture", "ArchitectureReport", "Component", "ComponentType", "LLMRef",
           "architecture_hash", "candidates_out", "check_architecture", "check_llm_refs",
           "check_llms",
           "load_architecture", "parse_architecture", "read_json"]


def check_llms(arch: Architecture, registry: Registry) -> list[str]:
    """Errors for LLMs the registry does not know and ``model_type`` values it does not map.

    One line per problem, ``<path>.model: ...`` or ``<path>.model_type: ...``.
    """
    refs = [LLMRef(arch.path_of(i, j), i, c.type.value, c.model, c.model_type)
            for i, layer in enumerate(arch.layers) for j, c in enumerate(layer)]
    return check_llm_refs(refs, registry)


def check_llm_refs(refs: Iterable[LLMRef], registry: Registry) -> list[str]:
    """:func:`check_llms` on the components of a report, including an invalid one."""
    errors = []
    for ref in refs:
        try:
            registry.resolve(ref.model, ref.model_type)
        except ConfigError as exc:
            field = "model" if ref.model not in registry.llms else "model_type"
            errors.append(f"{ref.path}.{field}: {exc} ({ref.type} in layer {ref.layer})")
            continue
        if registry.is_reward_model(ref.model) and ref.type != "ranker":
            errors.append(f"{ref.path}.model: {ref.model} is a reward model (a scoring "
                          f"endpoint), which only a ranker can use; this is a {ref.type}")
    return errors


def parse_architecture(data: dict[str, Any], source: str = "<architecture>",
                       ) -> tuple[Architecture, list[str]]:
    """Validate ``data`` (an Archon config) and return it with its warnings.

    Raises :class:`InvalidArchitecture` listing every error, each line
    ``<source>: <path>: <what was expected>``. Warnings come back as ``<path>: <warning>``.
    """
    report = check_architecture(data)
    if report.architecture is None or report.errors:
        raise report.exception(source)
    return report.architecture, report.warnings


def load_architecture(path: Path) -> tuple[Architecture, list[str]]:
    """Read and validate an architecture file (JSON). See :func:`parse_architecture`."""
    return parse_architecture(read_json(path), source=str(path))


def read_json(path: Path) -> Any:
    """The JSON in ``path``; an unreadable or malformed file names its line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidArchitecture(f"{path}: cannot read the file: {reason}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArchitecture(
            f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"
        ) from exc
    except RecursionError:
        data = None  # deeper than the parser can go: said below, in the words of the limit
        problem: str | None = f"nested more than {MAX_NESTING} levels deep"
    else:
        problem = shape_problem(data)
    if problem is not None:
        raise InvalidArchitecture(f"{path}: {problem}; not an architecture or a search job")
    return data
