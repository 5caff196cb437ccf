"""Archon's vocabulary, and how candidates flow through its layers.

Everything here follows Archon's own code (``completions/archon.py``, ``Layer.process``, and
the component classes), so that a config behaves in itas as it did in Archon:

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
unit_test_generator  none needed        the same candidates (it writes the unit       kept
                                         tests, which every later layer sees)
unit_test_evaluator  yes, and unit tests the ``top_k`` passing most tests (or the      kept, cut
                                         first ``first_k`` that pass all)
==================== =================== ============================================ ==========

(Critiques travel with their candidates in itas, so a candidate that goes on keeps its own.)

Several components in one layer run as in Archon's ``Layer.process``: each works on what the
layer before handed on, and each *extends* the new state's lists, in component order; what no
component of the layer writes goes on unchanged. So the candidates handed on are the
concatenation of what every component but critics and unit-test generators hands on (three
generators of 3 samples: 9; two rankers of top_k 2: 2 + 2, the same candidate possibly twice;
two verifiers: what each passed), and unit tests the concatenation of what the layer's
unit-test generators wrote. Critics and unit-test generators write no candidates, so with only
them in a layer the candidates that reached it go on.

Deviation: two critics in Archon give 2n critiques for n candidates, which its fuser and ranker
then refuse (an assertion). itas keeps one critique per candidate, so the critiques of a layer's
critics are joined for each candidate, in component order. A critic beside a component that
hands on other candidates (a generator, a ranker, ...) is refused: its critiques would be paired
with candidates they are not about (:data:`KEEPS_CANDIDATES`). Counts here are *upper bounds*:
a verifier may pass on fewer than it received, an LLM call may fail.
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
#: Write no candidates: the candidates that reached the layer go on (a critic's with its
#: critiques). Every other type hands on the candidates it writes or keeps.
KEEPS_CANDIDATES = frozenset({T.CRITIC, T.UNIT_TEST_GENERATOR})
#: Hand on a selection of the candidates that reached them, each with its critique.
SELECTS = frozenset({T.RANKER, T.VERIFIER, T.UNIT_TEST_EVALUATOR})
#: Put every candidate that reaches them in one prompt, which may overflow a context window;
#: verifiers and unit-test evaluators ask about one candidate a call.
ONE_PROMPT_FOR_ALL = frozenset({T.FUSER, T.CRITIC, T.RANKER})
#: Make one LLM call per input and use its first sample; ``samples > 1`` would be wasted.
ONE_SAMPLE = frozenset({T.CRITIC, T.RANKER, T.VERIFIER, T.UNIT_TEST_GENERATOR,
                        T.UNIT_TEST_EVALUATOR})

#: The ``model_type`` values Archon's Generator knows; the endpoints registry maps each one.
ARCHON_MODEL_TYPES = ("OpenAI_API", "Together_API", "Anthropic_API", "Groq_API", "Google_API",
                      "tgi", "vLLM", "Bedrock_API")

_COMMON = frozenset({"type", "model", "model_type", "temperature", "max_tokens", "samples",
                     "no_system", "reasoning_effort"})
#: The fields each type reads. Any other known field is accepted but has no effect on it.
EFFECTIVE_FIELDS: dict[ComponentType, frozenset[str]] = {
    T.GENERATOR: _COMMON,
    T.FUSER: _COMMON | {"length_control"},
    T.CRITIC: _COMMON,
    T.RANKER: _COMMON | {"top_k", "use_critiques", "ranker_batch_size"},
    T.VERIFIER: _COMMON | {"first_k"},
    T.UNIT_TEST_GENERATOR: _COMMON | {"unit_test_cap", "execute_tests"},
    T.UNIT_TEST_EVALUATOR: _COMMON | {"top_k", "first_k", "first_pass",
                                      "remove_unit_tests_from_prompt", "execute_tests"},
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
    #: Unit-test generators and evaluators: tests that run (not one of Archon's fields).
    execute_tests: bool = False


def hands_on(layer: Sequence[Shape], received: int | None) -> int | None:
    """The most candidates ``layer`` hands on when at most ``received`` reach it.

    ``None`` means unknown (an earlier layer could not be read); generators do not care.
    """
    if not layer:
        return 0
    writers = [s for s in layer if s.type not in KEEPS_CANDIDATES]
    if not writers:
        return received  # critics, unit-test generators: the same candidates
    total = 0
    for shape in writers:
        count = _writes(shape, received)
        if count is None:
            return None
        total += count
    return total


def _writes(shape: Shape, received: int | None) -> int | None:
    if shape.type in (T.GENERATOR, T.FUSER):
        return shape.samples
    if received is None:
        return None
    if shape.type is T.RANKER:
        return min(shape.top_k or received, received)
    if shape.type is T.VERIFIER:
        # Those judged correct, or all when none is; either way at most first_k
        # (worker/techniques/verifier.py cuts both).
        return min(shape.first_k or received, received)
    if shape.type is T.UNIT_TEST_EVALUATOR:
        # Archon returns early with first_k candidates that pass every test, else the top_k.
        return min(max(shape.top_k or received, shape.first_k or 0), received)
    return received


def hands_on_critiques(layer: Sequence[Shape], received: bool) -> bool:
    """Whether critiques may reach the layer after ``layer``: a critic's, or those that
    reached it, kept by the components that keep candidates or select among them."""
    if any(s.type is T.CRITIC for s in layer):
        return True
    return received and any(s.type in KEEPS_CANDIDATES | SELECTS for s in layer)


def mixes_critic_wrongly(layer: Sequence[Shape]) -> ComponentType | None:
    """The type of a component that hands on other candidates beside a critic of ``layer``
    (its critiques would be paired with candidates they are not about), or None."""
    if not any(s.type is T.CRITIC for s in layer):
        return None
    return next((s.type for s in layer if s.type not in KEEPS_CANDIDATES), None)
