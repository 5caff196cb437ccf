"""The skill model's arithmetic: deterministic draws and item-response probabilities.

Everything random in an answer comes from :func:`draw`, a hash of its labels, so an answer is a
pure function of what identifies the request (LLM, normalised prompt, seed, temperature). No
process state, no ``random`` module global: two simulator processes answer alike.

The model (simulator/README.md, "Skill model"), on one logit scale:

* generate: P(right) = sigmoid(discrimination * (ability - difficulty)), divided by the
  temperature above 1 (hotter sampling loses accuracy). A wrong answer is, with probability
  :data:`SHARED_ERROR_RATE`, one of the question's shared distractors (weights
  :data:`DISTRACTOR_WEIGHTS`, the first the most common), else a slip of this sample alone.
* judge roles: *insight* = sigmoid(discrimination * (judge - difficulty)) is the chance the
  judge sees whether an answer is right; without insight it follows a critique's hint when it
  was given one, else it guesses (a coin).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from simulator.fleet import LLMSpec

__all__ = [
    "DISTRACTOR_WEIGHTS",
    "SHARED_ERROR_RATE",
    "Sampler",
    "draw",
    "insight",
    "p_correct",
    "sigmoid",
]

# Shared mistakes: the most common one dominates, so weak LLMs agree on the same wrong answer
# and a naive majority vote can fall below the best single LLM.
DISTRACTOR_WEIGHTS: tuple[float, ...] = (0.45, 0.25, 0.15, 0.1, 0.05)
# Not every mistake is shared: when two recorded GSM8K systems are both wrong they give the same
# wrong answer 10.6% of the time. Two simulated LLMs agree with chance about
# SHARED_ERROR_RATE**2 * sum(w**2 for w in DISTRACTOR_WEIGHTS); 0.6 reproduces that rate
# (`itas simulator calibrate` prints both).
SHARED_ERROR_RATE = 0.6


def draw(*labels: object) -> float:
    """A uniform number in [0, 1) that depends only on ``labels``."""
    text = "\x1f".join(str(label) for label in labels).encode()
    digest = hashlib.blake2b(text, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def p_correct(llm: LLMSpec, difficulty: float, temperature: float = 1.0) -> float:
    """Chance that ``llm`` generates the right answer to a question of ``difficulty``."""
    logit = llm.discrimination * (llm.ability - difficulty)
    if temperature > 1.0:
        logit /= temperature
    return sigmoid(logit)


def insight(llm: LLMSpec, difficulty: float) -> float:
    """Chance that ``llm``, judging, sees whether an answer to this question is right."""
    return sigmoid(llm.discrimination * (llm.judge - difficulty))


@dataclass(frozen=True)
class Sampler:
    """Draws for one sample: everything it returns depends on its labels and the call's tags.

    ``labels`` identify the sample (LLM, normalised prompt, seed); temperature 0 is greedy
    decoding, so the seed is left out of the labels and every seed gives the same sample.
    """

    labels: tuple[object, ...]

    @classmethod
    def for_request(cls, llm: str, prompt: str, seed: int, temperature: float) -> Sampler:
        seed_label: object = "greedy" if temperature <= 0 else seed
        return cls((llm, prompt, seed_label, round(temperature, 3)))

    def uniform(self, *tags: object) -> float:
        return draw(*self.labels, *tags)

    def chance(self, p: float, *tags: object) -> bool:
        return self.uniform(*tags) < p

    def pick(self, options: Sequence[str], weights: Sequence[float], *tags: object) -> str:
        """One of ``options``, with ``weights`` (truncated to, and renormalised over, them)."""
        ws = list(weights[: len(options)]) or [1.0]
        ws += [ws[-1]] * (len(options) - len(ws))
        u = self.uniform(*tags) * sum(ws)
        for option, w in zip(options, ws, strict=True):
            u -= w
            if u < 0:
                return option
        return options[-1]

    def shuffle(self, items: Sequence[int], *tags: object) -> list[int]:
        return sorted(items, key=lambda item: self.uniform(*tags, item))
