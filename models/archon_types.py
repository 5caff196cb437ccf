"""Archon's vocabulary, and how candidates flow through its layers.

Everything here follows Archon's own code (``archon/archon.py``, ``Layer.process``, and the
component classes), so that a config behaves in itas as it did in Archon:

==================== =================== ============================================ ==========
type                 needs candidates    hands on to the next layer                   critiques
==================== =================== ============================================ ==========
generator            ignores them        ``samples`` new candidates (they replace     none
                                         any that reached it)
fuser                yes                 ``samples`` fused candidates                 none
critic               yes                 the same candidates                          new
ranker               yes                 the ``top_k`` best                           kept, cut
verifier             yes                 those judged correct (all if none is; at     kept, cut
                                         most ``first_k`` when set)
unit_test_generator  none needed        the same candidates (it writes the unit       none
                                         tests, which every later layer sees)
unit_test_evaluator  yes, and unit tests the ``top_k`` passing most tests (or the      none
                                         first ``first_k`` that pass all)
==================== =================== ============================================ ==========

Generators and fusers of one layer add up (a layer of three generators with 3 samples each
hands on 9). The other five types run alone in their layer (Archon asserts it). Counts here are
*upper bounds*: a verifier may pass on fewer than it received, an LLM call may fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class ComponentType(StrEnum):
    GENERATOR = "generator"
    CRITIC = "critic"
    RANKER = "ranker"
    FUSER = "fuser"
    VERIFIER = "verifier"
    UNIT_TEST_GENERATOR = "unit_test_generator"
    UNIT_TEST_EVALUATOR = "unit_test_evaluator"


T = ComponentType

#: Work on the candidates the layer before handed on; nothing to do without them.
NEEDS_CANDIDATES = frozenset({T.FUSER, T.CRITIC, T.RANKER, T.VERIFIER, T.UNIT_TEST_EVALUATOR})
#: Run alone in their layer (Archon asserts ``len(self.models) == 1`` for these).
RUNS_ALONE = frozenset({T.CRITIC, T.RANKER, T.VERIFIER, T.UNIT_TEST_GENERATOR,
                        T.UNIT_TEST_EVALUATOR})
#: Make one LLM call per input and use its first sample; ``samples > 1`` would be wasted.
ONE_SAMPLE = frozenset({T.CRITIC, T.RANKER, T.VERIFIER, T.UNIT_TEST_GENERATOR,
                        T.UNIT_TEST_EVALUATOR})

#: The ``model_type`` values Archon's Generator knows; the endpoints registry maps each one.
ARCHON_MODEL_TYPES = ("OpenAI_API", "Together_API", "Anthropic_API", "Groq_API", "Google_API",
                      "tgi", "vLLM", "Bedrock_API")

_COMMON = frozenset({"type", "model", "model_type", "temperature", "max_tokens", "samples",
                     "no_system"})
#: The fields each type reads. Any other known field is accepted but has no effect on it.
EFFECTIVE_FIELDS: dict[ComponentType, frozenset[str]] = {
    T.GENERATOR: _COMMON,
    T.FUSER: _COMMON | {"length_control"},
    T.CRITIC: _COMMON,
    T.RANKER: _COMMON | {"top_k", "use_critiques", "ranker_batch_size"},
    T.VERIFIER: _COMMON | {"first_k"},
    T.UNIT_TEST_GENERATOR: _COMMON | {"unit_test_cap"},
    T.UNIT_TEST_EVALUATOR: _COMMON | {"top_k", "first_k", "first_pass",
                                      "remove_unit_tests_from_prompt"},
}
#: Present in Archon's own configs but read by nothing there either (``batch_num`` on its
#: verifiers, an empty ``checkpoint`` on its generators, ``top_k_generations``,
#: ``fuse_generations_count`` and ``ranker_config`` on MoA-lite's fuser): accepted silently,
#: since itas does what Archon does with them, which is nothing.
IGNORED_FIELDS = frozenset({"batch_num", "checkpoint", "top_k_generations",
                            "fuse_generations_count", "ranker_config"})
ALL_FIELDS = frozenset().union(*EFFECTIVE_FIELDS.values()) | IGNORED_FIELDS


def ignoring_loses_something(kind: ComponentType, key: str, value: object,
                             samples: object = 1) -> bool:
    """Whether a field that ``kind`` does not read asks for something the user will not get.

    Only then is it worth a warning: Archon's configs are written from templates that carry
    fields where they do nothing, and a warning for each drowns the ones a user must read.
    Silent, because the component does what the value asks anyway, or nothing depends on it:

    - ``top_k: 1``, the value Archon's templates put on every component, on any type that does
      not read it; and ``top_k`` on a generator or fuser at least its ``samples`` (every
      candidate it writes goes on, as such a top_k would keep them all);
    - ``use_critiques: true`` on a fuser: a fuser shows the critiques that reach it anyway;
    - ``ranker_batch_size``: a batching knob of a local reward model; no result depends on it
      (a scoring endpoint takes every candidate of a question at once).

    ``top_k: 3`` on a generator of 10 samples, ``first_k`` on a ranker, ``unit_test_cap`` on a
    generator or ``remove_unit_tests_from_prompt`` on a fuser ask for behaviour that does not
    happen: those warn.
    """
    if key == "top_k":
        return not (value == 1 or kind in (T.GENERATOR, T.FUSER) and isinstance(value, int)
                    and isinstance(samples, int) and value >= samples)
    if key == "use_critiques" and kind is T.FUSER:
        return value is not True
    return key != "ranker_batch_size"


@dataclass(frozen=True)
class Shape:
    """What the candidate flow needs to know of one component."""

    type: ComponentType
    samples: int = 1
    top_k: int | None = None
    first_k: int | None = None
    use_critiques: bool = False


def hands_on(layer: Sequence[Shape], received: int | None) -> int | None:
    """The most candidates ``layer`` hands on when at most ``received`` reach it.

    ``None`` means unknown (an earlier layer could not be read); generators do not care.
    """
    producers = [s for s in layer if s.type in (T.GENERATOR, T.FUSER)]
    if producers:
        return sum(s.samples for s in producers)
    if not layer:
        return 0
    if received is None:
        return None
    first = layer[0]
    if first.type is T.RANKER:
        return min(first.top_k or received, received)
    if first.type is T.VERIFIER:
        # At most first_k when that many pass, but Archon hands on *all* of them when none
        # passes, so the bound is what it received.
        return received
    if first.type is T.UNIT_TEST_EVALUATOR:
        # Archon returns early with first_k candidates that pass every test, else the top_k.
        keep = max(first.top_k or received, first.first_k or 0)
        return min(keep, received)
    return received  # critic (now with critiques), unit_test_generator: the same candidates


def hands_on_critiques(layer: Sequence[Shape], received: bool) -> bool:
    """Whether critiques reach the layer after ``layer`` (a critic's, kept by rankers)."""
    if len(layer) != 1:
        return False
    kind = layer[0].type
    return kind is T.CRITIC or (kind in (T.RANKER, T.VERIFIER) and received)
