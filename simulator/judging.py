"""The judging roles: critique, rank, fuse, verify (reasoning and verdict), unit tests.

Judges perceive answer *values* (simulator/values.py), not wording: two candidates that end in
the same value are judged alike. *Insight* = sigmoid(a * (judge - difficulty)) is the chance the
judge sees whether a value is right; without insight it follows the hints given in the prompt
about that value (critiques, a verifier's reasoning: majority of hints), else flips a coin.
Without an answer key nothing is right and judges guess; open questions (MT-Bench) have no
right value: there judges perceive the *quality* written in each answer (simulator/quality.py)
with skill, noise and biases (simulator/perception.py): a ranker orders by perceived quality,
a critic names key points an answer leaves out (with its insight) and mistakes it notices, and
a fuser writes the union of the points it finds in the candidates and the critiques (each kept
with probability 0.5 + 0.5 * insight) and its own, dropping a mistake it notices.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from simulator import quality
from simulator.answer_keys import AnswerKey
from simulator.answering import solution
from simulator.fleet import LLMSpec
from simulator.perception import Perceiver
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
        self.values: list[str | None] = self._read_values(candidates)
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
        self.turn = reading.placement.turn if reading.placement else 0
        self.open = key if key is not None and self.kind is Kind.OPEN else None
        self.answers = [quality.read_answer(c, self.open, self.turn) for c in candidates]
        self.perceiver = Perceiver(llm, self.open, self.turn, sampler)

    def _read_values(self, candidates: tuple[str, ...]) -> list[str | None]:
        """The value each candidate is perceived by (a subclass reads other kinds)."""
        if self.kind is Kind.OPEN:
            # No value to perceive: each response is judged on its own (by a coin).
            return ["open:" + normalize_question(c)[:200] for c in candidates]
        options = self.key.options if self.key is not None else ()
        return [extract(self.kind, c, options) for c in candidates]

    def is_right(self, value: str | None) -> bool:
        return self.key is not None and self.key.is_right(value)

    def perceive(self, value: str | None) -> bool:
        """Whether the judge believes ``value`` is right: insight, else hints, else a coin."""
        if value in self._seen:
            return self._seen[value]
        if value is None:
            belief = False
        elif self.kind is Kind.OPEN and value in self.values:
            belief = self._open_good(self.values.index(value) + 1)
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

    def _open_critique(self, number: int) -> tuple[str, str, str]:
        """Strengths, weaknesses and the overall word of one answer to an open question."""
        answer = self.answers[number - 1]
        p = self.perceiver
        if self.open is None or not answer.simulated:
            good = p.score(answer, number) >= 0.5
            return ("It is on topic and organised.", "Some parts could be more specific.",
                    "adequate" if good else "weak")
        points = quality.key_points(self.open, self.turn)
        named = [points[i] for i in range(quality.POINTS) if i not in answer.points
                 and self.sampler.chance(p.insight, "named", number, i)]
        weaknesses = [f"It leaves out this point: {text}" for text in named[:3]]
        if p.sees_mistake(answer, number):
            claim = quality.mistaken_claim(self.open, self.turn)
            weaknesses.insert(0, f'It makes a mistaken claim: "{claim}" This does not hold.')
        covered = len(answer.points)
        strengths = (f"It covers {covered} of the main points the question calls for."
                     if covered else "It stays on the subject of the question.")
        score = p.score(answer, number)
        overall = "strong" if score >= 0.75 else "adequate" if score >= 0.45 else "weak"
        return strengths, "\n- ".join(weaknesses) or "Little is missing.", overall

    def critique(self) -> str:
        blocks = []
        for number, value in enumerate(self.values, start=1):
            said = self._said(value)
            if self.kind is Kind.OPEN:
                strengths, weaknesses, overall = self._open_critique(number)
            elif value is None:
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
            blocks.append(self._critique_block(number, strengths, weaknesses, overall))
        return "\n\n".join(blocks)

    def _critique_block(self, number: int, strengths: str, weaknesses: str, overall: str) -> str:
        """One candidate's critique under the heading the prompt asks for."""
        asks = self.reading.asks
        if asks.critique_header:
            header = asks.critique_header.replace("N", str(number))
        else:
            header = self._name(number) + (
                ":" if self.reading.material.style in ("label", "tag") else "")
        return (f"{header}\nStrengths:\n- {strengths}\nWeaknesses:\n- {weaknesses}\n"
                f"{asks.overall}: {overall}")

    def order(self) -> list[int]:
        """Candidate numbers, best first: those perceived right, then the rest (seeded order)."""
        numbers = list(range(1, len(self.values) + 1))
        if self.kind is Kind.OPEN:
            scores = {n: self.perceiver.score(self.answers[n - 1], n, first=n == 1)
                      for n in numbers}
            return sorted(numbers, key=lambda n: -scores[n])
        believed = [n for n in numbers if self.perceive(self.values[n - 1])]
        rest = [n for n in numbers if n not in believed]
        return self.sampler.shuffle(believed, "order") + self.sampler.shuffle(rest, "order")

    def rank(self) -> str:
        order = self.order()
        said = ("the most complete coverage of the question" if self.kind is Kind.OPEN
                else self._said(self.values[order[0] - 1]))
        reason = (f"Response {order[0]} gives the most convincing reasoning and {said}; "
                  "the others follow in order of how well they hold up.")
        return ranking(order, self.reading.asks, reason)

    def fuse(self, solve: Callable[[], str]) -> str:
        """One response from the candidates: the most common value believed right, else the
        fuser's own answer (``solve``)."""
        key = self.key
        believed = [v for v in self.values if v is not None and self.perceive(v)]
        if believed:
            counts = Counter(believed)
            top = max(counts.values())
            tied = sorted(v for v, c in counts.items() if c == top)
            value = tied[int(self.sampler.uniform("fuse-tie") * len(tied))]
            shown = self._shown(value)
        elif key is None and any(v is not None for v in self.values):
            # An unplaced question: no skill to solve it afresh, so one candidate's answer.
            known = [v for v in self.values if v is not None]
            shown = known[int(self.sampler.uniform("fuse-pick") * len(known))]
        else:
            shown = solve()  # nothing convincing among the candidates: solve it afresh
        if key is None:
            return final_answer(self.kind, shown, "Taking the candidates together:",
                                self.reading.asks, self.sampler)
        return final_answer(key.kind, shown, solution(key, shown), self.reading.asks,
                            self.sampler)

    def fuse_open(self, own: tuple[frozenset[int], bool]) -> str:
        """One reply to an open question from the candidates, their critiques and the fuser's
        own draft ``own`` (its points and mistake; see the module docstring)."""
        assert self.open is not None
        key, turn, p = self.open, self.turn, self.perceiver
        critiques = self.reading.material.critiques
        available: set[int] = set()
        for answer in self.answers:
            available |= answer.points
        claim = quality.mistaken_claim(key, turn).lower()
        flagged = False
        for text in critiques.values():
            available |= quality.read_answer(text, key, turn).points
            flagged = flagged or claim in " ".join(text.split()).lower()
        keep = 0.5 + 0.5 * p.insight
        points = {i for i in available if self.sampler.chance(keep, "keep", i)} | own[0]
        share = (sum(a.mistake for a in self.answers) / len(self.answers)) if self.answers else 0
        if share == 0:
            mistake = False
        elif flagged or self.sampler.chance(p.insight, "see-mistake"):
            mistake = own[1] if share == 1 else False  # all share it: only its own view helps
        else:
            mistake = self.sampler.chance(share, "follow-mistake")
        return quality.compose(key, turn, points, mistake, self.sampler,
                               quality.verbosity_asked(self.reading.framing))

    def _shown(self, value: str) -> str:
        """A value as written: the data's own form when right, else as a candidate wrote it."""
        if self.key is not None and self.key.is_right(value):
            return self.key.shown
        if self.kind is Kind.LATEX:
            for candidate, v in zip(self.reading.material.candidates, self.values, strict=True):
                if v == value and (box := boxed(candidate)):
                    return box[-1]
        return value

    def _open_good(self, number: int) -> bool:
        answer = self.answers[number - 1]
        return not self.perceiver.sees_mistake(answer, number) and (
            self.perceiver.score(answer, number) >= 0.5)

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
