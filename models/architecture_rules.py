"""The structural rules of an architecture: what each layer needs from the layer before.

Pure functions over :class:`~models.archon_types.Shape` (a component's type and the counts that
matter), so they also run on a file whose values are partly wrong: a component that could not be
read at all is ``None`` and makes the counts after it unknown, which silences the count rules
there instead of adding errors that are only echoes of the first. The rules themselves are
listed in :mod:`models.architecture`; the semantics they follow in :mod:`models.archon_types`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from models.archon_types import (
    NEEDS_CANDIDATES,
    ONE_PROMPT_FOR_ALL,
    ComponentType,
    Shape,
    hands_on,
    hands_on_critiques,
    mixes_critic_wrongly,
)

T = ComponentType
#: Archon logs a warning above this many candidates: prompts may overflow context windows
#: (only of the types that show them all in one prompt).
MANY_CANDIDATES = 32


@dataclass
class Findings:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_structure(layers: Sequence[Sequence[Shape | None]],
                    paths: Sequence[Sequence[str]]) -> Findings:
    """Apply the layer rules; every problem is ``<component path>[.field]: <what is wrong>``."""
    found = Findings()
    received: int | None = 0  # candidates reaching the current layer, at most; None: unknown
    critiques = False
    unit_tests = False
    #: Whether each earlier unit_test_generator writes executable tests (execute_tests).
    test_writers: set[bool] = set()
    for i, (layer, layer_paths) in enumerate(zip(layers, paths, strict=True)):
        known = [s for s in layer if s is not None]
        beside_critic = mixes_critic_wrongly(known)
        for j, shape in enumerate(layer):
            if shape is not None:
                _check_component(found, shape, layer_paths[j], i, received, critiques,
                                 unit_tests)
                if shape.type is T.UNIT_TEST_EVALUATOR and shape.execute_tests \
                        and False in test_writers:
                    found.errors.append(
                        f"{layer_paths[j]}.execute_tests: this unit_test_evaluator runs the "
                        "tests as code, but an earlier unit_test_generator writes them as "
                        "sentences; give every unit_test_generator execute_tests: true too")
            if shape is not None and shape.type is T.CRITIC and beside_critic is not None:
                found.errors.append(
                    f"{layer_paths[j]}: a critic critiques the candidates that reach its layer, "
                    f"but the {beside_critic.value} beside it hands on other candidates, so "
                    "the critiques would go with candidates they are not about (Archon's "
                    "fuser would fail on them); give the critic a layer of its own, or share "
                    "it with critics and unit_test_generators only")
        if len(known) < len(layer):
            received, critiques = None, False
        else:
            received = hands_on(known, received)
            critiques = hands_on_critiques(known, critiques)
        unit_tests = unit_tests or any(s.type is T.UNIT_TEST_GENERATOR for s in known)
        test_writers |= {s.execute_tests for s in known if s.type is T.UNIT_TEST_GENERATOR}
    last = f"layers[{len(layers) - 1}]"
    if received == 0:
        found.errors.append(f"{last}: the last layer hands on no candidate, so the "
                            "architecture gives no answer; end with a generator, fuser or ranker")
    elif received is not None and received > 1:
        found.warnings.append(
            f"{last}: the last layer hands on up to {received} candidates but an architecture "
            "answers with one; end with a fuser or a ranker with top_k 1 to choose it")
    return found


def _check_component(found: Findings, shape: Shape, path: str, i: int,
                     received: int | None, critiques: bool, unit_tests: bool) -> None:
    kind = shape.type.value
    if shape.type is T.GENERATOR and received:
        found.warnings.append(
            f"{path}: a generator answers the query afresh (as in Archon): the up to {received} "
            f"candidates from layer {i - 1} do not reach it and are replaced by its answers; "
            "use a fuser to build on them")
    if shape.type in NEEDS_CANDIDATES and received == 0:
        why = ("the first layer receives none" if i == 0
               else f"layer {i - 1} hands on none")
        found.errors.append(f"{path}: a {kind} works on candidates, but {why}; "
                            "start with generators")
    if shape.type is T.UNIT_TEST_EVALUATOR and not unit_tests:
        found.errors.append(f"{path}: a unit_test_evaluator needs unit tests, but no earlier "
                            "layer has a unit_test_generator")
    if shape.type in (T.RANKER, T.UNIT_TEST_EVALUATOR) and shape.top_k and received \
            and shape.top_k > received:
        found.errors.append(
            f"{path}.top_k: expected at most {received} (the candidates that can reach this "
            f"{kind} from layer {i - 1}), got {shape.top_k}")
    if shape.type in (T.VERIFIER, T.UNIT_TEST_EVALUATOR) and shape.first_k and received \
            and shape.first_k > received:
        found.warnings.append(
            f"{path}.first_k: {shape.first_k} is more than the {received} candidates that can "
            "reach it, so it never stops early")
    if shape.type is T.RANKER and shape.use_critiques and not critiques and received:
        found.warnings.append(
            f"{path}.use_critiques: no critiques reach this ranker (put a critic in the layer "
            "before), so it ranks without them")
    if shape.type in ONE_PROMPT_FOR_ALL and received and received > MANY_CANDIDATES:
        found.warnings.append(
            f"{path}: up to {received} candidates reach this {kind}; more than "
            f"{MANY_CANDIDATES} may not fit the LLM's context window")
