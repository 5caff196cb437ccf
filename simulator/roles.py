"""Replies for every role: the skill model (simulator/skill.py) turned into reply text.

:func:`reply` is the one entry point. It takes what a request asks (simulator/reading.py) and
writes the reply of its role in the asked form (simulator/writing.py), deterministically for a
given :class:`Sampler`. Answering lives here; judging (critique, rank, fuse, verify, unit tests)
in simulator/judging.py.

Rules worth knowing (documented in simulator/README.md):

* A question the simulator cannot place gets a plausible answer with no skill: an option letter
  when the prompt lists options, else a number made from the prompt's numbers, else a hedge.
* A replay LLM answers a GSM8K question with its recorded real solution for sample 0 (seed 0);
  other samples and all other roles use its fitted parameters.
* Multiple choice has a guessing floor: P(right) = 1/k + (1 - 1/k) * sigmoid(...) for k options.
* An open question (MT-Bench, Arena-Hard, AlpacaEval) gets a reply whose quality is written in
  its text (simulator/quality.py): the key points this sample covers, maybe a mistake, padding
  as the prompt asks. What it covers depends on the LLM, question, turn, seed and temperature,
  not on the framing, so a concise and a detailed reply of one sample have the same quality.
* A benchmark judge's prompt gets its verdict (simulator/verdicts.py).
* A code problem (HumanEval, MBPP, CodeContests) is answered, tested and judged by
  simulator/code_judging.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator import quality
from simulator.answer_keys import AnswerKey
from simulator.answering import generated_value, solution, topic
from simulator.code_judging import code_reply
from simulator.fleet import LLMSpec
from simulator.intent import Role
from simulator.judging import Judge
from simulator.reading import Reading
from simulator.skill import Sampler
from simulator.values import Kind
from simulator.verdicts import judge
from simulator.writing import final_answer

__all__ = ["Reply", "open_sampler", "reply", "reply_text"]


@dataclass(frozen=True)
class Reply:
    """A reply: its text; for a one-token label, the label distribution (log-probabilities are
    made from it); how many answers the simulator did not write were judged."""

    text: str
    label_probs: dict[str, float] | None = None
    foreign: int = 0


def open_sampler(llm: LLMSpec, key: AnswerKey, turn: int, seed: int,
                 temperature: float) -> Sampler:
    """The draws that decide an open reply's content: the LLM, question, turn, seed and
    temperature, not the prompt's framing."""
    return Sampler.for_request(llm.name, f"open\x1f{key.question}\x1f{turn}", seed, temperature)

_NUMBER_IN_TEXT = re.compile(r"\d+(?:\.\d+)?")
_OPTION = re.compile(r"^[ \t]*\(?([A-J])[.)][ \t]+\S", re.MULTILINE)


def reply(llm: LLMSpec, reading: Reading, sampler: Sampler, *, seed: int,
          temperature: float) -> Reply:
    """The reply of ``llm`` to the request read as ``reading`` (rules: module docstring)."""
    if reading.judged is not None:
        verdict = judge(llm, reading.judged, reading.placement, seed=seed,
                        temperature=temperature)
        return Reply(verdict.text, verdict.label_probs, verdict.foreign)
    key = reading.placement.key if reading.placement else None
    if key is not None and key.code is not None:
        text, foreign = code_reply(llm, reading, key, sampler, seed=seed,
                                   temperature=temperature)
        return Reply(text, foreign=foreign)
    return Reply(reply_text(llm, reading, sampler, seed=seed, temperature=temperature))


def reply_text(llm: LLMSpec, reading: Reading, sampler: Sampler, *, seed: int,
               temperature: float) -> str:
    """The text of the reply of ``llm`` to a request that is not a benchmark judge's."""
    key = reading.placement.key if reading.placement else None
    if reading.role is Role.GENERATE:
        return _generate(llm, reading, key, sampler, seed=seed, temperature=temperature)
    judging = Judge(llm, reading, key, sampler)
    if reading.role is Role.WRITE_TESTS:
        return judging.write_tests()
    if reading.role is Role.CRITIQUE:
        return judging.critique()
    if reading.role is Role.RANK:
        return judging.rank()
    if reading.role is Role.FUSE:
        if key is not None and key.kind is Kind.OPEN:
            turn = reading.placement.turn if reading.placement else 0
            own = open_sampler(llm, key, turn, seed, temperature)
            return judging.fuse_open(quality.draw_answer(llm, key, turn, own, temperature))
        return judging.fuse(lambda: generated_value(llm, key, sampler, temperature))
    if reading.role is Role.VERIFY:
        return judging.verify()
    if reading.role is Role.REASON:
        return judging.reason()
    return judging.apply_tests()


def _generate(llm: LLMSpec, reading: Reading, key: AnswerKey | None, sampler: Sampler, *,
              seed: int, temperature: float) -> str:
    if key is None:
        return _unplaced(reading, sampler)
    if key.kind is Kind.OPEN:
        turn = reading.placement.turn if reading.placement else 0
        points, mistake = quality.draw_answer(
            llm, key, turn, open_sampler(llm, key, turn, seed, temperature), temperature)
        return quality.compose(key, turn, points, mistake, sampler,
                               quality.verbosity_asked(reading.framing))
    if key.recorded and llm.replay and seed == 0 and llm.replay in key.recorded:
        text, value, _ = key.recorded[llm.replay]
        body = "\n".join(line for line in text.splitlines() if not line.startswith("A:"))
        return final_answer(key.kind, value or "0", body, reading.asks, sampler)
    shown = generated_value(llm, key, sampler, temperature)
    return final_answer(key.kind, shown, solution(key, shown), reading.asks, sampler)


def _unplaced(reading: Reading, sampler: Sampler) -> str:
    """A plausible answer with no skill, for a question the simulator does not know."""
    text = reading.instructions
    options = sorted(set(_OPTION.findall(text)))
    if len(options) >= 2:
        letter = options[int(sampler.uniform("guess") * len(options))]
        body = "Without more to go on, this option seems the most plausible."
        return final_answer(Kind.CHOICE, letter, body, reading.asks, sampler)
    numbers = [int(float(n)) for n in _NUMBER_IN_TEXT.findall(text)]
    if numbers:
        a = numbers[int(sampler.uniform("pick-a") * len(numbers))]
        b = numbers[int(sampler.uniform("pick-b") * len(numbers))]
        value = sampler.pick([str(a + b), str(a * b), str(abs(a - b))], [1, 1, 1], "op")
        body = "I combine the quantities the question gives."
        return final_answer(Kind.NUMBER, value, body, reading.asks, sampler)
    subject = topic(text, sampler) or "this"
    return (f"Here is my best answer on {subject}. It depends on details the question leaves "
            "open, so treat it as a starting point rather than a final word.")


