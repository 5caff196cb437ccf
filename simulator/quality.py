"""The quality of answers to open questions (MT-Bench, Arena-Hard, AlpacaEval), written in the
text itself.

An open question has no right value, but answers to it are better or worse. The simulator
writes that quality *into the reply*, so that any judge reading the reply later (in another
request, another process, after a restart) reads it back without shared state:

* **Key points.** Every (question, turn) has :data:`POINTS` deterministic *key point*
  sentences, made from the turn's own words (:func:`key_points`). A reply covers some of them;
  its *coverage* (points covered / :data:`POINTS`) is its quality. Point i is harder to think of
  the larger i (:data:`POINT_OFFSETS`): a sample covers it with probability
  sigmoid(discrimination * (ability - difficulty - offset_i)).
* **A mistake.** With probability 1 - sigmoid(discrimination * (ability - difficulty -
  :data:`MISTAKE_OFFSET`)) a sample also states the question's *mistaken claim*
  (:func:`mistaken_claim`), a sentence a judge recognises as wrong when it has the insight
  (simulator/skill.py) to see it, more easily with a reference answer.
* **Padding.** Generic sentences (:data:`FILLERS`) that add length and nothing else: a verbose
  reply of the same coverage is longer. How much padding a sample writes depends on what the
  prompt asks ("concise", "in detail") and otherwise on a per-sample draw.

:func:`read_answer` reads a reply back: which key points it covers, whether it states the
mistake, its length and structure, and whether the simulator wrote it at all (its fillers,
openers or key points are recognisable). An answer the simulator did not write (a real
baseline's, text from elsewhere) has no key points to count; it gets the documented *default
quality* of :func:`foreign_quality`, from its length and structure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from math import log

from simulator.answer_keys import AnswerKey
from simulator.fleet import LLMSpec
from simulator.skill import Sampler, draw, sigmoid
from simulator.text import normalize_question, words

__all__ = [
    "FILLERS",
    "MISTAKE_OFFSET",
    "POINTS",
    "POINT_OFFSETS",
    "OpenAnswer",
    "Verbosity",
    "compose",
    "draw_answer",
    "foreign_quality",
    "key_points",
    "mistaken_claim",
    "read_answer",
    "verbosity_asked",
]

POINTS = 8
#: How much harder than the question each key point is to think of (logit scale).
POINT_OFFSETS = (-2.0, -1.5, -1.0, -0.6, -0.2, 0.2, 0.6, 1.0)
#: A mistake is rarer than a missed point: it takes this much more difficulty to make one.
MISTAKE_OFFSET = 0.6

# One template per key point; {a} and {b} are words of the question's turn. Worded so that no
# sentence starts an instruction paragraph or names a role (rank, verdict, critique...), since
# replies are quoted inside other prompts.
_TEMPLATES = (
    "The heart of the matter is {a}, and the rest follows from how {b} is handled.",
    "A worked example with {a} shows the idea in practice.",
    "It pays to separate {a} from {b} before going further.",
    "The trade-off around {a} deserves a plain statement.",
    "Precise figures or names for {a} make the reply checkable.",
    "The usual pitfall with {a} is to overlook {b}.",
    "Where {a} meets {b}, the edge cases need care.",
    "A short recap of {a} and {b} ties the parts together.",
)
_MISTAKE = "It is safe to assume that {a} never depends on {b}, so that part can be skipped."
#: Padding: sentences that make a reply longer and add nothing.
FILLERS = (
    "This is a subject where context matters a great deal.",
    "Many readers find it useful to go one step at a time here.",
    "There are several ways to look at this, and each has its merits.",
    "It is worth keeping the bigger picture in mind throughout.",
    "Different situations can call for slightly different approaches.",
    "With that in mind, the details are set out below.",
    "As always, much depends on the specifics of the situation.",
    "Taking a moment to reflect on this usually pays off.",
    "It is a topic that rewards careful and patient thought.",
    "Plenty has been written about this over the years.",
    "A little background helps to frame the discussion.",
    "None of this needs to be complicated, but it does need care.",
    "People come to this from many different starting points.",
    "It can help to revisit the basics before moving on.",
    "Experience shows that small details often make the difference.",
    "There is no single recipe that fits every case.",
    "Patience tends to be rewarded when working through this.",
    "Reasonable people sometimes weigh these things differently.",
    "The same ideas come up again and again in practice.",
    "It is easy to get lost in the details, so structure helps.",
)
# Elaborations: one follows each covered key point in a reply that is not concise. They add
# length in proportion to content, as real prose does, and no quality of their own.
_ELABORATIONS = (
    "This matters because {a} shapes much of what follows.",
    "Seen this way, {a} becomes much easier to reason about.",
    "In practice this is where {a} tends to show its real weight.",
    "Keeping {a} in view here avoids surprises later on.",
    "That is usually the part of {a} that readers remember.",
)
_OPENERS = (
    "Here is a response to your request about {topic}.",
    "Happy to help with {topic}.",
    "Below is my take on {topic}.",
)
_OPENER_MARKS = ("here is a response to your request about", "happy to help with",
                 "below is my take on")
_CLOSER = "In short, a good answer on {topic} is specific and clear."
_CLOSER_MARK = "a good answer on"
_STOP = frozenset(
    "about above after again against also among another because been before being below "
    "between both could does doing down during each either every from further have having "
    "here into itself just like make more most much must only other over same should some "
    "such than that their them then there these they this those through under until very "
    "what when where which while whom with would write your yours please give tell explain "
    "describe provide using compose create generate consider imagine suppose discuss want "
    "need know help following given answer question".split()
)


class Verbosity:
    """How much padding a reply carries: filler sentences (low, high) for each level. A concise
    reply also leaves out the elaboration after each key point."""

    CONCISE = (0, 1)
    NORMAL = (3, 5)
    VERBOSE = (10, 14)


def _content_words(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for w in words(text):
        if len(w) > 3 and not w.isdigit() and w not in _STOP:
            seen.setdefault(w)
    return list(seen) or ["the request"]


def _turn_text(key: AnswerKey, turn: int) -> str:
    return key.turns[min(turn, len(key.turns) - 1)] if key.turns else key.question


def _fill(template: str, key: AnswerKey, turn: int, label: object) -> str:
    pool = _content_words(_turn_text(key, turn))
    a = pool[int(draw("point-a", key.question, turn, label) * len(pool))]
    rest = [w for w in pool if w != a] or pool
    b = rest[int(draw("point-b", key.question, turn, label) * len(rest))]
    return template.format(a=a, b=b)


def key_points(key: AnswerKey, turn: int) -> tuple[str, ...]:
    """The :data:`POINTS` key point sentences of a question's turn (deterministic)."""
    return _sentences(key, turn)[:-1]


def mistaken_claim(key: AnswerKey, turn: int) -> str:
    """The sentence that states the question's typical mistake (deterministic)."""
    return _sentences(key, turn)[-1]


_CACHE: dict[tuple[str, int], tuple[str, ...]] = {}


def _sentences(key: AnswerKey, turn: int) -> tuple[str, ...]:
    """The key points and the mistaken claim, memoised (judges read many answers to one
    question; the cache holds at most one entry per known question's turn)."""
    found = _CACHE.get((key.question, turn))
    if found is None:
        found = tuple(_fill(t, key, turn, i) for i, t in enumerate(_TEMPLATES))
        found += (_fill(_MISTAKE, key, turn, "mistake"),)
        _CACHE[(key.question, turn)] = found
    return found


@dataclass(frozen=True)
class OpenAnswer:
    """What a reader sees in one answer to an open question.

    ``points``: the key points it covers (indices); ``mistake``: it states the mistaken claim;
    ``simulated``: the simulator wrote it (else ``points`` and ``mistake`` mean nothing and
    :func:`foreign_quality` stands in); ``chars``: its length; ``quality``: coverage in 0..1
    (the default quality when foreign).
    """

    points: frozenset[int]
    mistake: bool
    simulated: bool
    chars: int
    quality: float


def _flat(text: str) -> str:
    return normalize_question(text).lower()


def read_answer(text: str, key: AnswerKey | None, turn: int) -> OpenAnswer:
    """Read one answer back (see the module docstring). ``key`` None: the question is unknown,
    so nothing can be counted and the answer is judged as a foreign one."""
    flat = _flat(text)
    chars = len(text.strip())
    if key is not None:
        points = frozenset(i for i, p in enumerate(key_points(key, turn)) if p.lower() in flat)
        mistake = mistaken_claim(key, turn).lower() in flat
    else:
        points, mistake = frozenset(), False
    ours = bool(points) or mistake or any(f.lower() in flat for f in FILLERS) or (
        any(m in flat for m in _OPENER_MARKS) and _CLOSER_MARK in flat)
    if key is not None and ours:
        return OpenAnswer(points, mistake, True, chars, len(points) / POINTS)
    return OpenAnswer(frozenset(), False, False, chars, foreign_quality(text))


_STRUCTURE = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|#{1,6}\s|```|\|)", re.MULTILINE)


def foreign_quality(text: str) -> float:
    """The default quality of an answer the simulator did not write, in 0..1.

    From length and structure, as a judge skimming it would guess: 0.3 at 200 characters,
    +0.1 per doubling, +0.05 when it is structured (lists, headings, code, tables), capped to
    0.05..0.8. A real GPT-4 answer of Arena-Hard (median ~1,700 characters, structured) gets
    about 0.66: the coverage of a strong simulated LLM's single sample.
    """
    chars = len(text.strip())
    if chars == 0:
        return 0.0
    base = 0.3 + 0.1 * log(max(chars, 20) / 200, 2)
    structured = len(_STRUCTURE.findall(text)) >= 2
    return round(min(0.8, max(0.05, base + (0.05 if structured else 0.0))), 4)


def verbosity_asked(text: str) -> tuple[int, int] | None:
    """The padding a prompt asks for, if it says (concise / detailed), else None."""
    lowered = text.lower()
    if re.search(r"\bconcise(?:ly)?\b|\bbrief(?:ly)?\b|\bshort\b|\bsuccinct|\bterse", lowered):
        return Verbosity.CONCISE
    if re.search(r"\bin (?:great |full )?detail\b|\bdetailed\b|\bthorough(?:ly)?\b|\belaborate\b"
                 r"|\bcomprehensive(?:ly)?\b|\bverbose\b|\bexhaustive", lowered):
        return Verbosity.VERBOSE
    return None


def _padding(asked: tuple[int, int] | None, sampler: Sampler) -> int:
    if asked is None:
        u = sampler.uniform("verbosity")
        asked = Verbosity.CONCISE if u < 0.25 else Verbosity.VERBOSE if u > 0.75 else (
            Verbosity.NORMAL)
    low, high = asked
    return low + int(sampler.uniform("padding") * (high - low + 1))


def draw_answer(
    llm: LLMSpec, key: AnswerKey, turn: int, sampler: Sampler, temperature: float
) -> tuple[frozenset[int], bool]:
    """The key points one sample of ``llm`` covers and whether it makes the mistake.

    ``sampler`` should be labelled by what decides the content (LLM, question, turn, seed,
    temperature), not by the framing, so that asking for a concise or a detailed reply changes
    the length and not the quality.
    """
    difficulty = key.turn_difficulty(turn)
    scale = temperature if temperature > 1 else 1.0
    points = frozenset(
        i for i, offset in enumerate(POINT_OFFSETS)
        if sampler.chance(sigmoid(llm.discrimination * (llm.ability - difficulty - offset)
                                  / scale), "point", i)
    )
    p_sound = sigmoid(llm.discrimination * (llm.ability - difficulty - MISTAKE_OFFSET) / scale)
    return points, not sampler.chance(p_sound, "sound")


def _topic(key: AnswerKey, turn: int) -> str:
    pool = _content_words(_turn_text(key, turn))
    return " and ".join(sorted(pool[:2]))


def compose(
    key: AnswerKey,
    turn: int,
    points: Iterable[int],
    mistake: bool,
    sampler: Sampler,
    asked: tuple[int, int] | None = None,
) -> str:
    """A reply to an open question covering ``points`` (and the mistake), padded as asked."""
    sentences = key_points(key, turn)
    covered = sorted(set(points))
    topic = _topic(key, turn)
    opener = _OPENERS[int(sampler.uniform("opener") * len(_OPENERS))].format(topic=topic)
    body = [sentences[i] for i in covered]
    if mistake:
        at = int(sampler.uniform("mistake-at") * (len(body) + 1))
        body.insert(at, mistaken_claim(key, turn))
    padding = _padding(asked, sampler)
    if padding > Verbosity.CONCISE[1]:
        pool = _content_words(_turn_text(key, turn))
        body = [
            f"{sentence} " + sampler.pick(_ELABORATIONS, [1.0], "elaborate", n).format(
                a=pool[int(sampler.uniform("elaborate-a", n) * len(pool))])
            for n, sentence in enumerate(body)
        ]
    fillers = sorted(FILLERS, key=lambda f: sampler.uniform("filler", f))[:padding]
    intro = " ".join([opener, *fillers[: (padding + 1) // 2]])
    outro = " ".join(fillers[(padding + 1) // 2 :])
    bullets = "\n".join(f"- {s}" for s in body) or "- The question leaves a lot open."
    closer = _CLOSER.format(topic=topic)
    return "\n\n".join(part for part in (intro, bullets, outro, closer) if part)
