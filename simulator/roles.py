"""Replies for every role: the skill model (simulator/skill.py) turned into reply text.

:func:`reply` is the one entry point. It reads a parsed prompt (simulator/protocol.py), the
question's answer key (None when the simulator does not know the question) and writes the reply
in the format of the role, deterministically for a given :class:`Sampler`.

Rules worth knowing (documented in simulator/README.md):

* Judges perceive *answers*, not candidates: two candidates with the same final number are seen
  alike. Without an answer key nothing is right, and judges guess.
* A replay LLM answers a GSM8K question with its recorded real solution for sample 0 (seed 0);
  other samples and all other roles use its fitted parameters.
"""

from __future__ import annotations

import re
from collections import Counter

from simulator import protocol
from simulator.answer_keys import AnswerKey
from simulator.fleet import LLMSpec
from simulator.protocol import Critique, ParsedPrompt, ProtocolParseError, Role
from simulator.skill import (
    DISTRACTOR_WEIGHTS,
    SHARED_ERROR_RATE,
    Sampler,
    insight,
    p_correct,
)

__all__ = ["candidate_answer", "reply"]

_TEST_COUNT = re.compile(r"(\d+)\s+unit tests", re.IGNORECASE)
_NUMBER_IN_TEXT = re.compile(r"\d+(?:\.\d+)?")


def candidate_answer(text: str) -> str | None:
    """The final number of a candidate: its ``Answer:`` line, else its last number."""
    try:
        return protocol.parse_answer(text)
    except ProtocolParseError:
        numbers = _NUMBER_IN_TEXT.findall(text.replace(",", ""))
        return protocol.normalize_number(numbers[-1]) if numbers else None


def reply(
    llm: LLMSpec,
    prompt: ParsedPrompt,
    key: AnswerKey | None,
    sampler: Sampler,
    *,
    seed: int,
    temperature: float,
) -> str:
    """The reply of ``llm`` to ``prompt`` (see the module docstring for the rules)."""
    if prompt.role is Role.GENERATE or (
        prompt.role is not Role.UNIT_TEST_GENERATE and not prompt.candidates
    ):
        return _generate(llm, prompt, key, sampler, seed=seed, temperature=temperature)
    judge = _Judge(llm, prompt, key, sampler)
    if prompt.role is Role.CRITIQUE:
        return judge.critique()
    if prompt.role is Role.RANK:
        return judge.rank()
    if prompt.role is Role.FUSE:
        return judge.fuse(temperature)
    if prompt.role is Role.VERIFY:
        return judge.verify()
    if prompt.role is Role.UNIT_TEST_GENERATE:
        return judge.write_tests()
    return judge.evaluate_tests()


def _solution(key: AnswerKey | None, value: str) -> str:
    if key is None:
        return "I add up the quantities the question gives."
    if value == key.answer:
        return "\n".join(key.right_solution)
    text = key.wrong_solutions.get(value)
    if text:
        return text
    return "\n".join([*key.right_solution[:-1], f"That gives {value}."])


def _generated_value(
    llm: LLMSpec, key: AnswerKey | None, question: str, sampler: Sampler, temperature: float
) -> str:
    if key is None:
        # Unknown question: a plausible number made from the question's own numbers.
        numbers = [int(float(n)) for n in _NUMBER_IN_TEXT.findall(question)] or [7]
        a = numbers[int(sampler.uniform("pick-a") * len(numbers))]
        b = numbers[int(sampler.uniform("pick-b") * len(numbers))]
        return str(sampler.pick([str(a + b), str(a * b), str(abs(a - b))], [1, 1, 1], "op"))
    if sampler.chance(p_correct(llm, key.difficulty, temperature), "right") or not key.distractors:
        return key.answer
    if sampler.chance(SHARED_ERROR_RATE, "shared"):
        return sampler.pick(key.distractors, DISTRACTOR_WEIGHTS, "distractor")
    return _slip(key.answer, sampler)


def _slip(answer: str, sampler: Sampler) -> str:
    """An idiosyncratic wrong answer: the right one off by a sample-specific amount."""
    try:
        x = float(answer)
    except ValueError:
        return answer + "0"
    spread = max(10.0, abs(x))
    delta = 1 + int(sampler.uniform("slip") * spread)
    value = x + delta if x - delta < 0 or sampler.chance(0.5, "slip-sign") else x - delta
    return protocol.normalize_number(repr(value)) or str(value)


def _generate(
    llm: LLMSpec,
    prompt: ParsedPrompt,
    key: AnswerKey | None,
    sampler: Sampler,
    *,
    seed: int,
    temperature: float,
) -> str:
    if key is not None and llm.replay and seed == 0 and llm.replay in key.recorded:
        text, value, _ = key.recorded[llm.replay]
        body = "\n".join(line for line in text.splitlines() if not line.startswith("A:"))
        return protocol.format_answer(body, value if value is not None else "0")
    value = _generated_value(llm, key, prompt.question, sampler, temperature)
    return protocol.format_answer(_solution(key, value), value)


class _Judge:
    """One judging call: perceptions are memoised per answer value within the call."""

    def __init__(
        self, llm: LLMSpec, prompt: ParsedPrompt, key: AnswerKey | None, sampler: Sampler
    ) -> None:
        self.llm, self.prompt, self.key, self.sampler = llm, prompt, key, sampler
        self.values = [candidate_answer(c) for c in prompt.candidates]
        self.insight = insight(llm, key.difficulty) if key is not None else 0.0
        self.hints: dict[str, list[bool]] = {}
        for number, body in prompt.critiques.items():
            try:
                hint = protocol.parse_critique_body(body, number).likely_correct
            except ProtocolParseError:
                continue
            if 1 <= number <= len(self.values) and self.values[number - 1] is not None:
                self.hints.setdefault(str(self.values[number - 1]), []).append(hint)
        self._seen: dict[str | None, bool] = {}

    def is_right(self, value: str | None) -> bool:
        return self.key is not None and value == self.key.answer

    def perceive(self, value: str | None) -> bool:
        """Whether the judge believes ``value`` is right: insight, else critique hint, else coin."""
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

    def critique(self) -> str:
        critiques = {}
        for number, value in enumerate(self.values, start=1):
            good = self.perceive(value)
            if value is None:
                strengths, weaknesses = "It restates the question.", "No final answer is given."
            elif good:
                strengths = f"The steps are consistent and lead to the final answer {value}."
                weaknesses = "The explanation could be more concise."
            else:
                strengths = "It sets up the quantities of the question sensibly."
                weaknesses = f"A step does not follow from the question, so {value} looks wrong."
            critiques[number] = Critique(strengths, weaknesses, good)
        return protocol.format_critiques(critiques)

    def ranking(self) -> list[int]:
        numbers = list(range(1, len(self.values) + 1))
        believed = [n for n in numbers if self.perceive(self.values[n - 1])]
        rest = [n for n in numbers if n not in believed]
        return self.sampler.shuffle(believed, "order") + self.sampler.shuffle(rest, "order")

    def rank(self) -> str:
        order = self.ranking()
        best = self.values[order[0] - 1]
        reason = f"Candidate [{order[0]}] reaches {best} with the most convincing reasoning."
        return protocol.format_ranking(order, reason)

    def fuse(self, temperature: float) -> str:
        believed = [v for v in self.values if v is not None and self.perceive(v)]
        if believed:
            counts = Counter(believed)
            top = max(counts.values())
            tied = sorted(v for v, c in counts.items() if c == top)
            value = tied[int(self.sampler.uniform("fuse-tie") * len(tied))]
        else:
            # Nothing convincing among the candidates: the fuser solves it afresh.
            value = _generated_value(
                self.llm, self.key, self.prompt.question, self.sampler, temperature
            )
        return protocol.format_answer(_solution(self.key, value), value)

    def verify(self) -> str:
        value = self.values[0]
        good = self.perceive(value)
        reason = (
            f"Each step follows from the question and the final answer {value} checks out."
            if good
            else f"At least one step does not follow, so the final answer {value} is doubtful."
        )
        return protocol.format_verdict(reason, good)

    def write_tests(self) -> str:
        match = _TEST_COUNT.search(self.prompt.instructions) or _TEST_COUNT.search(
            self.prompt.question
        )
        count = min(int(match.group(1)), 10) if match else 5
        truth = self.key.answer if self.key is not None else None
        wrong = self.key.distractors[0] if self.key and self.key.distractors else None
        tests = ["The solution uses every quantity given in the question."]
        for i in range(1, count):
            # A skilled writer states true properties of the answer; an unskilled one states
            # properties of the most common wrong answer, so its tests mislead the same way.
            target = truth if self.sampler.chance(self.insight, "test", i) else wrong
            tests.append(_property(target, i, self.sampler))
        return protocol.format_unit_tests(tests[:count])

    def evaluate_tests(self) -> str:
        value = self.values[0]
        results = []
        for i, test in enumerate(self.prompt.unit_tests, start=1):
            holds = _check(test, value)
            if holds is None:
                holds = self.perceive(value)
            elif not self.sampler.chance(0.5 + 0.5 * self.insight, "apply", i):
                holds = not holds  # misapplied the test
            results.append(holds)
        return protocol.format_test_results(results)


def _property(target: str | None, index: int, sampler: Sampler) -> str:
    try:
        x = float(target) if target is not None else None
    except ValueError:
        x = None
    if x is None:
        return "The final answer is a whole number."
    kind = index % 3
    if kind == 1:
        lo = int(x * (0.5 + 0.4 * sampler.uniform("lo", index)))
        return f"The final answer is greater than {lo}."
    if kind == 2:
        hi = int(x * (1.1 + 0.9 * sampler.uniform("hi", index))) + 1
        return f"The final answer is less than {hi}."
    parity = "even" if x == int(x) and int(x) % 2 == 0 else "odd"
    return f"The final answer is an {parity} number."


_GREATER = re.compile(r"greater than (-?\d+(?:\.\d+)?)")
_LESS = re.compile(r"less than (-?\d+(?:\.\d+)?)")
_PARITY = re.compile(r"an (even|odd) number")


def _check(test: str, value: str | None) -> bool | None:
    """Apply a numeric property test; None when the test is not one the simulator can read."""
    if value is None:
        return False
    try:
        x = float(value)
    except ValueError:
        return False
    if m := _GREATER.search(test):
        return x > float(m.group(1))
    if m := _LESS.search(test):
        return x < float(m.group(1))
    if m := _PARITY.search(test):
        return x == int(x) and (int(x) % 2 == 0) == (m.group(1) == "even")
    return None
