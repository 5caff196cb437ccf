"""The judging roles: critique, rank, fuse, verify (reasoning and verdict), unit tests.

Judges perceive answer *values* (simulator/values.py), not wording: two candidates that end in
the same value are judged alike. *Insight* = sigmoid(a * (judge - difficulty)) is the chance the
judge sees whether a value is right; without insight it follows the hints given in the prompt
about that value (critiques, a verifier's reasoning: majority of hints), else flips a coin.
Without an answer key nothing is right and judges guess; open questions (MT-Bench) have no
right value, so judges guess there too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from simulator.answer_keys import AnswerKey
from simulator.answering import open_reply, solution
from simulator.fleet import LLMSpec
from simulator.reading import Reading
from simulator.skill import Sampler, insight
from simulator.text import normalize_question
from simulator.unit_tests import apply_test, write_test
from simulator.values import Kind, boxed, extract
from simulator.writing import final_answer, ranking, test_list, test_results, verdict

__all__ = ["Judge", "hint"]

_NEGATIVE = re.compile(
    r"\b(?:incorrect|wrong|mistaken|mistakes?|errors?|erroneous|flawed|not correct|doubtful"
    r"|inaccurate|miscalculat\w*|fails?)\b",
    re.IGNORECASE,
)
_POSITIVE = re.compile(r"\b(?:correct|right|accurate|valid|checks out|sound)\b", re.IGNORECASE)


def hint(text: str) -> bool | None:
    """What a critique or a verifier's reasoning says of an answer: right, wrong, or nothing."""
    if _NEGATIVE.search(text):
        return False
    if _POSITIVE.search(text):
        return True
    return None


class Judge:
    """One judging call: perceptions are memoised per answer value within the call."""

    def __init__(
        self, llm: LLMSpec, reading: Reading, key: AnswerKey | None, sampler: Sampler
    ) -> None:
        self.llm, self.reading, self.key, self.sampler = llm, reading, key, sampler
        self.kind = key.kind if key is not None else Kind.NUMBER
        candidates = reading.material.candidates
        if self.kind is Kind.OPEN:
            # No value to perceive: each response is judged on its own (by a coin).
            self.values: list[str | None] = [
                "open:" + normalize_question(c)[:200] for c in candidates
            ]
        else:
            options = key.options if key is not None else ()
            self.values = [extract(self.kind, c, options) for c in candidates]
        open_or_unknown = key is None or self.kind is Kind.OPEN
        self.insight = 0.0 if open_or_unknown else insight(llm, key.difficulty)  # type: ignore[union-attr]
        self.hints: dict[str, list[bool]] = {}
        given = dict(reading.material.critiques)
        if reading.reasoning:
            given.setdefault(1, reading.reasoning)
        for number, text in given.items():
            said = hint(text)
            value = self.values[number - 1] if 1 <= number <= len(self.values) else None
            if said is not None and value is not None:
                self.hints.setdefault(value, []).append(said)
        self._seen: dict[str | None, bool] = {}

    def is_right(self, value: str | None) -> bool:
        return self.key is not None and self.key.is_right(value)

    def perceive(self, value: str | None) -> bool:
        """Whether the judge believes ``value`` is right: insight, else hints, else a coin."""
        if value in self._seen:
            return self._seen[value]
        if value is None:
            belief = False
        elif self.sampler.chance(self.insight, "insight", value):
            belief = self.is_right(value)
        elif value in self.hints:
            hints = self.hints[value]
            belief = sum(hints) * 2 >= len(hints)
        else:
            belief = self.sampler.chance(0.5, "coin", value)
        self._seen[value] = belief
        return belief

    def _name(self, number: int) -> str:
        style = self.reading.material.style
        return f"{self.reading.material.label} {number}" if style in ("label", "tag") else (
            f"[{number}]")

    def _said(self, value: str | None) -> str:
        if value is None or value.startswith("open:"):
            return "its conclusion"
        return f"the final answer {value}"

    def critique(self) -> str:
        blocks = []
        for number, value in enumerate(self.values, start=1):
            said = self._said(value)
            if value is None:
                strengths, weaknesses = "It restates the question.", "No final answer is given."
                overall = "likely incorrect"
            elif self.perceive(value):
                strengths = f"The reasoning is consistent and reaches {said}, which is correct."
                weaknesses = "The explanation could be more concise."
                overall = "likely correct"
            else:
                strengths = "It sets out the information in the question sensibly."
                weaknesses = f"A step does not follow from the question, so {said} is wrong."
                overall = "likely incorrect"
            asks = self.reading.asks
            if asks.critique_header:
                header = asks.critique_header.replace("N", str(number))
            else:
                header = self._name(number) + (
                    ":" if self.reading.material.style in ("label", "tag") else "")
            blocks.append(f"{header}\nStrengths:\n- {strengths}\nWeaknesses:\n- {weaknesses}\n"
                          f"{asks.overall}: {overall}")
        return "\n\n".join(blocks)

    def order(self) -> list[int]:
        """Candidate numbers, best first: those perceived right, then the rest (seeded order)."""
        numbers = list(range(1, len(self.values) + 1))
        believed = [n for n in numbers if self.perceive(self.values[n - 1])]
        rest = [n for n in numbers if n not in believed]
        return self.sampler.shuffle(believed, "order") + self.sampler.shuffle(rest, "order")

    def rank(self) -> str:
        order = self.order()
        said = self._said(self.values[order[0] - 1])
        reason = (f"Response {order[0]} gives the most convincing reasoning and {said}; "
                  "the others follow in order of how well they hold up.")
        return ranking(order, self.reading.asks, reason)

    def fuse(self, solve: Callable[[], str]) -> str:
        """One response from the candidates: the most common value believed right, else the
        fuser's own answer (``solve``)."""
        key = self.key
        if key is not None and self.kind is Kind.OPEN:
            turn = self.reading.placement.turn if self.reading.placement else 0
            return open_reply(key, turn, self.sampler)
        believed = [v for v in self.values if v is not None and self.perceive(v)]
        if believed:
            counts = Counter(believed)
            top = max(counts.values())
            tied = sorted(v for v, c in counts.items() if c == top)
            value = tied[int(self.sampler.uniform("fuse-tie") * len(tied))]
            shown = self._shown(value)
        else:
            shown = solve()  # nothing convincing among the candidates: solve it afresh
        if key is None:
            return final_answer(self.kind, shown, "Taking the candidates together:",
                                self.reading.asks, self.sampler)
        return final_answer(key.kind, shown, solution(key, shown), self.reading.asks,
                            self.sampler)

    def _shown(self, value: str) -> str:
        """A value as written: the data's own form when right, else as a candidate wrote it."""
        if self.key is not None and self.key.is_right(value):
            return self.key.shown
        if self.kind is Kind.LATEX:
            for candidate, v in zip(self.reading.material.candidates, self.values, strict=True):
                if v == value and (box := boxed(candidate)):
                    return box[-1]
        return value

    def _reasoning(self, value: str | None) -> str:
        said = self._said(value)
        if self.perceive(value):
            return (f"The response works through the question step by step, and {said} is "
                    "consistent with everything the question gives, so it is correct.")
        return (f"The response takes a step that does not follow from the question, so {said} "
                "is doubtful.")

    def reason(self) -> str:
        return self._reasoning(self.values[0])

    def verify(self) -> str:
        if len(self.values) == 1:
            return verdict(self.perceive(self.values[0]), self.reading.asks,
                           self._reasoning(self.values[0]))
        lines = [verdict(self.perceive(v), self.reading.asks, f"{self._name(n)}:")
                 .replace("\n\n", " ") for n, v in enumerate(self.values, start=1)]
        return "\n".join(lines)

    def write_tests(self) -> str:
        count = min(max(self.reading.test_count or 5, 1), 10)
        key = self.key
        level = 0.0 if key is None else insight(self.llm, key.difficulty)
        tests = [write_test(key, i, self.sampler.chance(level, "test", i), self.sampler)
                 for i in range(count)]
        return test_list(tests, self.reading.asks)

    def apply_tests(self) -> str:
        tests = self.reading.unit_tests or ("The answer addresses the question.",)
        blocks = []
        for number, (candidate, value) in enumerate(
            zip(self.reading.material.candidates, self.values, strict=True), start=1
        ):
            results = []
            for i, test in enumerate(tests, start=1):
                holds = apply_test(test, self.kind, value, candidate)
                if holds is None:
                    holds = self.perceive(value)
                elif not self.sampler.chance(0.5 + 0.5 * self.insight, "apply", number, i):
                    holds = not holds  # misapplied the test
                results.append(holds)
            body = test_results(results, self.reading.asks)
            if self.reading.asks.results == "archon":
                body = "Each test is checked against the response's final answer.\n" + body
            blocks.append(body if len(self.values) == 1 else f"{self._name(number)}\n{body}")
        return "\n\n".join(blocks)
