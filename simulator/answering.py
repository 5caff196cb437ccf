"""Answers: what one sample says to a known question, and the text around it.

The skill model (simulator/skill.py) decides whether a sample is right; this module picks the
wrong answer when it is not (a shared distractor, else a slip of this sample alone) and writes
the worked reasoning that leads to the answer. Used by generating (simulator/roles.py) and by a
fuser that finds nothing convincing among its candidates (simulator/judging.py).
"""

from __future__ import annotations

from simulator.answer_keys import AnswerKey
from simulator.fleet import LLMSpec
from simulator.skill import DISTRACTOR_WEIGHTS, SHARED_ERROR_RATE, Sampler, p_correct
from simulator.text import normalize_number, words
from simulator.values import Kind, latex_slips

__all__ = ["generated_value", "open_reply", "solution", "topic"]


def solution(key: AnswerKey, shown: str) -> str:
    """Worked reasoning that ends in ``shown`` (the answer as written)."""
    if key.kind is Kind.CHOICE:
        index = ord(shown) - ord("A")
        text = key.options[index] if 0 <= index < len(key.options) else ""
        return f"Weighing each option against the question, {shown}. {text} fits best."
    if key.kind is Kind.TEXT:
        return f"Reading the question carefully points to {shown}."
    if key.kind is Kind.LATEX:
        if shown == key.shown:
            return key.right_solution[0]
        return key.wrong_solutions.get(shown, f"Working through the problem gives ${shown}$.")
    if shown == key.answer:
        return "\n".join(key.right_solution)
    wrong = key.wrong_solutions.get(shown)
    if wrong:
        return wrong
    return "\n".join([*key.right_solution[:-1], f"That gives {shown}."])


def generated_value(
    llm: LLMSpec, key: AnswerKey | None, sampler: Sampler, temperature: float
) -> str:
    """The answer one sample gives, as written (right with the skill probability)."""
    if key is None:
        return "7"
    p = p_correct(llm, key.difficulty, temperature)
    if key.kind is Kind.CHOICE and key.options:
        floor = 1 / len(key.options)
        p = floor + (1 - floor) * p
    if sampler.chance(p, "right") or not key.distractors:
        return key.shown
    if sampler.chance(SHARED_ERROR_RATE, "shared"):
        return sampler.pick(key.distractors, DISTRACTOR_WEIGHTS, "distractor")
    return _slip(key, sampler)


def _slip(key: AnswerKey, sampler: Sampler) -> str:
    """An idiosyncratic wrong answer of this sample alone."""
    if key.kind is Kind.NUMBER:
        return _number_slip(key.answer, sampler)
    pool = list(key.distractors)
    if key.kind is Kind.LATEX:
        pool = latex_slips(key.shown) or pool
    return pool[int(sampler.uniform("slip") * len(pool))]


def _number_slip(answer: str, sampler: Sampler) -> str:
    try:
        x = float(answer)
    except ValueError:
        return answer + "0"
    spread = max(10.0, abs(x))
    delta = 1 + int(sampler.uniform("slip") * spread)
    value = x + delta if x - delta < 0 or sampler.chance(0.5, "slip-sign") else x - delta
    return normalize_number(repr(value)) or str(value)


def topic(text: str, sampler: Sampler) -> str:
    content = [w for w in words(text) if len(w) > 4 and not w.isdigit()]
    if not content:
        return ""
    picks = {content[int(sampler.uniform("topic", i) * len(content))] for i in range(3)}
    return " and ".join(sorted(picks))


_OPENERS = (
    "Here is a response to your request about {topic}.",
    "Happy to help with {topic}.",
    "Below is my take on {topic}.",
)
_POINTS = (
    "Start from the main goal and keep every part tied to it.",
    "Give concrete details, because specific examples are more convincing than general claims.",
    "Address the likely objections directly and briefly.",
    "Keep the structure simple so the reader can follow it at a glance.",
    "Close with a clear summary of the key points.",
    "Check each statement for accuracy before relying on it.",
)


def open_reply(key: AnswerKey, turn: int, sampler: Sampler) -> str:
    """A plausible reply to an open question (MT-Bench): on topic, not scored here."""
    request = key.turns[min(turn, len(key.turns) - 1)] if key.turns else key.question
    subject = topic(request, sampler) or "your question"
    opener = _OPENERS[int(sampler.uniform("opener") * len(_OPENERS))].format(topic=subject)
    points = sorted(_POINTS, key=lambda p: sampler.uniform("point", p))[:3]
    bullets = "\n".join(f"- {p}" for p in points)
    return f"{opener}\n\n{bullets}\n\nIn short, a good answer on {subject} is specific and clear."
