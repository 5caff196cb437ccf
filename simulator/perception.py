"""How a simulated judge perceives answers to open questions: skill, noise and biases.

One model serves every judging role on open questions: ranking, fusing and critiquing inside
an architecture (simulator/judging.py) and the benchmarks' judges (simulator/verdicts.py).
A judge reads an answer's quality (simulator/quality.py) and perceives

    score = quality + noise + verbosity preference (+ position bias when answers are compared)

* **noise**: normal with sd :func:`noise_sd` (0.04 + 0.3 * sigmoid(-1.2 * judge)): 0.07 for
  sim-frontier, 0.30 for sim-tiny;
* **mistakes**: a stated mistake is seen with the judge's *insight* into the turn
  (sigmoid(discrimination * (judge - difficulty))), with :data:`REFERENCE_BONUS` more judge
  skill when the prompt gives a reference answer; a seen mistake costs :data:`MISTAKE_PENALTY`;
* **verbosity preference**: :data:`VERBOSITY_WEIGHT` * tanh((chars - :data:`TYPICAL_CHARS`) /
  :data:`VERBOSITY_SCALE`): a longer answer of the same quality looks a little better;
* **position bias**: the answer shown first gets :data:`POSITION_BIAS` more.

All draws come from the judge's :class:`~simulator.skill.Sampler`, so a verdict is a pure
function of the request and its seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.answer_keys import AnswerKey
from simulator.fleet import LLMSpec
from simulator.quality import OpenAnswer
from simulator.skill import Sampler, sigmoid

__all__ = [
    "MISTAKE_PENALTY",
    "POSITION_BIAS",
    "REFERENCE_BONUS",
    "TYPICAL_CHARS",
    "VERBOSITY_SCALE",
    "VERBOSITY_WEIGHT",
    "Perceiver",
    "noise_sd",
]

POSITION_BIAS = 0.03
VERBOSITY_WEIGHT = 0.1
VERBOSITY_SCALE = 1500.0
TYPICAL_CHARS = 1000.0
MISTAKE_PENALTY = 0.5
REFERENCE_BONUS = 1.5


def noise_sd(llm: LLMSpec) -> float:
    """The sd of a judge's perception noise, in quality units (0..1)."""
    return 0.04 + 0.3 * sigmoid(-1.2 * llm.judge)


def _normal(sampler: Sampler, *tags: object) -> float:
    u1 = max(sampler.uniform(*tags, "n1"), 1e-12)
    u2 = sampler.uniform(*tags, "n2")
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


@dataclass(frozen=True)
class Perceiver:
    """One judge looking at answers to one question's turn (``key`` None: unknown question)."""

    llm: LLMSpec
    key: AnswerKey | None
    turn: int
    sampler: Sampler
    reference: bool = False

    @property
    def insight(self) -> float:
        if self.key is None:
            return 0.0
        skill = self.llm.judge + (REFERENCE_BONUS if self.reference else 0.0)
        return sigmoid(self.llm.discrimination * (skill - self.key.turn_difficulty(self.turn)))

    def sees_mistake(self, answer: OpenAnswer, *tags: object) -> bool:
        """Whether the judge notices the mistake ``answer`` states (never when it states none)."""
        return answer.mistake and self.sampler.chance(self.insight, "mistake", *tags)

    def verbosity(self, chars: float) -> float:
        return VERBOSITY_WEIGHT * math.tanh((chars - TYPICAL_CHARS) / VERBOSITY_SCALE)

    def score(self, answer: OpenAnswer, *tags: object, first: bool = False) -> float:
        """The perceived score of ``answer`` (see the module docstring); ``tags`` tell the
        draws of different answers (and positions) apart."""
        value = answer.quality + noise_sd(self.llm) * _normal(self.sampler, "noise", *tags)
        value += self.verbosity(answer.chars)
        if self.sees_mistake(answer, *tags):
            value -= MISTAKE_PENALTY
        return value + (POSITION_BIAS if first else 0.0)
