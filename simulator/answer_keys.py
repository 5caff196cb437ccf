"""Answer keys: what the simulator knows about the questions it may be asked.

A key holds the exact answer (of a :class:`~simulator.values.Kind`: number, option letter,
LaTeX, free text, or none for open questions), a difficulty on the shared logit scale, a short
list of shared *distractors* (the wrong answers every simulated LLM draws its mistakes from,
most common first, so different LLMs make the same mistakes) and text for right and wrong
solutions.

Keys come from synth-math (regenerated with :func:`benchmarks.synth_math.generate` for the
fleet's seeds) and, when a GSM8K directory is given, from its ``test.jsonl`` (answer: the number
after ``####``) with the recorded solutions of ``example_model_solutions.jsonl`` when present;
simulator/datasets.py loads the other benchmarks. A :class:`KeyStore` finds a key by content
inside any prompt (simulator/matching.py).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import synth_math
from simulator.code_problem import CodeProblem
from simulator.fleet import RECORDED_SYSTEMS
from simulator.matching import ShingleIndex
from simulator.skill import draw, sigmoid
from simulator.text import normalize_number, normalize_question
from simulator.values import Kind, number_slips

__all__ = [
    "AnswerKey",
    "KeyStore",
    "Placement",
    "RECORDED_SYSTEMS",
    "level_difficulty",
    "load_gsm8k",
    "normal_difficulty",
    "synth_math_keys",
]


# Mean difficulty per level (synth-math, MATH); a per-problem jitter spreads each level out.
_LEVEL_DIFFICULTY = {1: -1.5, 2: -0.75, 3: 0.0, 4: 0.75, 5: 1.5}
_ANNOTATION = re.compile(r"<<[^>]*>>")


@dataclass(frozen=True)
class AnswerKey:
    """Everything the skill model needs about one question (see the module docstring).

    ``answer`` is canonical for ``kind`` (simulator/values.py). ``recorded`` maps a recorded
    system name to (solution text, answer, is_correct). ``options`` are a multiple-choice
    question's option texts (A, B, ...); ``accepted`` every canonical right free-form answer;
    ``turns`` an open question's user turns (``category`` its category, ``turn_shift`` how much
    harder each later turn is). ``match_texts`` are the texts by which the question
    is found in a prompt, each with the turn it belongs to (default: the question, turn 0).
    ``code``: a code problem's program, entry point and tests (kind ``code``,
    simulator/code_keys.py; its ``answer`` is ``reference`` and its distractors are labels of
    the reference's mutations).
    """

    question: str
    answer: str
    difficulty: float
    distractors: tuple[str, ...]
    right_solution: tuple[str, ...]
    wrong_solutions: Mapping[str, str] = field(default_factory=dict)
    recorded: Mapping[str, tuple[str, str | None, bool]] = field(default_factory=dict)
    source: str = "synth-math"
    kind: Kind = Kind.NUMBER
    options: tuple[str, ...] = ()
    accepted: tuple[str, ...] = ()
    turns: tuple[str, ...] = ()
    match_texts: tuple[tuple[str, int], ...] = ()
    category: str = ""
    turn_shift: float = 0.0
    code: CodeProblem | None = None

    def turn_difficulty(self, turn: int) -> float:
        """Difficulty of one turn: a later turn of a conversation is harder by ``turn_shift``
        per turn (MT-Bench's follow-ups build on the first answer)."""
        return self.difficulty + self.turn_shift * turn

    @property
    def shown(self) -> str:
        """The right answer as a reply writes it (LaTeX and free text as in the data)."""
        if self.kind is Kind.LATEX and self.accepted:
            return self.accepted[0]
        if self.kind is Kind.TEXT and self.right_solution:
            return self.right_solution[0]
        return self.answer

    def is_right(self, value: str | None) -> bool:
        """Whether a canonical answer ``value`` is right (never for open questions)."""
        if value is None or self.kind is Kind.OPEN:
            return False
        if self.kind is Kind.TEXT:
            return value in self.accepted or value == self.answer
        return value == self.answer


@dataclass(frozen=True)
class Placement:
    """A known question found in a prompt: its key, the turn asked, where the prompt quotes it."""

    key: AnswerKey
    turn: int
    spans: tuple[tuple[int, int], ...]


class KeyStore:
    """Answer keys, found by exact question or by content (:meth:`place`). Shareable once built."""

    def __init__(self, keys: Iterable[AnswerKey] = ()) -> None:
        self._keys: dict[str, AnswerKey] = {}
        self._index = ShingleIndex()
        self._owners: list[tuple[AnswerKey, int]] = []
        self.add(keys)

    def add(self, keys: Iterable[AnswerKey]) -> None:
        for key in keys:
            if key.question in self._keys:
                continue  # a data set that lists one question twice
            self._keys[key.question] = key
            for text, turn in key.match_texts or ((key.question, 0),):
                self._index.add(text)
                self._owners.append((key, turn))

    def get(self, question: str) -> AnswerKey | None:
        """The key of exactly ``question`` (normalised here), or None when it is unknown."""
        return self._keys.get(normalize_question(question))

    def place(self, prompt: str) -> Placement | None:
        """The known question ``prompt`` asks, found by content; None when there is none."""
        matches = self._index.find(prompt)
        if not matches:
            return None
        key, turn = self._owners[matches[0].text_id]
        spans: list[tuple[int, int]] = []
        for match in matches:
            owner, owner_turn = self._owners[match.text_id]
            if owner is key:
                turn = max(turn, owner_turn)
                spans.extend(match.spans)
        return Placement(key, turn, tuple(spans))

    def __len__(self) -> int:
        return len(self._keys)

    def count(self, source: str) -> int:
        return sum(1 for k in self._keys.values() if k.source == source)


def normal_difficulty(*labels: object) -> float:
    """A deterministic draw from N(0, 1), the difficulty of a question with no better prior."""
    return math.sqrt(2) * _inverse_erf(2 * draw("difficulty", *labels) - 1)


def level_difficulty(level: int, *labels: object) -> float:
    """Difficulty of a level 1..5 question: the level's mean plus a jitter of sd ~0.4."""
    jitter = 0.4 * math.sqrt(2) * _inverse_erf(2 * draw("difficulty", *labels) - 1)
    return _LEVEL_DIFFICULTY[min(max(level, 1), 5)] + jitter


def _distinct(values: Iterable[str | None], answer: str, limit: int = 4) -> tuple[str, ...]:
    seen: list[str] = []
    for value in values:
        if value is not None and value != answer and value not in seen:
            seen.append(value)
    return tuple(seen[:limit])


def synth_math_keys(seeds: Sequence[int], count: int) -> list[AnswerKey]:
    """Keys of the first ``count`` synth-math problems of each seed."""
    keys = []
    for seed in seeds:
        for p in synth_math.generate(seed, count):
            values = p.intermediates
            previous = values[-2] if len(values) > 1 else None
            slips: list[str | None] = []
            if previous is not None:
                slips.append(str(previous))  # stopped one step early
                slips.append(str(2 * previous - values[-1]))  # last step applied backwards
            slips += number_slips(p.answer)
            distractors = _distinct(
                (s for s in slips if s is not None and not s.startswith("-")), p.answer
            )
            wrong = {d: _wrong_synth(p, d) for d in distractors}
            keys.append(
                AnswerKey(
                    question=normalize_question(p.question),
                    answer=p.answer,
                    difficulty=level_difficulty(p.level, p.id),
                    distractors=distractors,
                    right_solution=p.solution,
                    wrong_solutions=wrong,
                )
            )
    return keys


def _wrong_synth(p: synth_math.Problem, wrong: str) -> str:
    lines = list(p.solution)
    if len(p.intermediates) > 1 and wrong == str(p.intermediates[-2]):
        return "\n".join(lines[:-1])
    last = re.sub(r"= -?\d+\.$", f"= {wrong}.", lines[-1])
    return "\n".join([*lines[:-1], last])


def _inverse_erf(y: float) -> float:
    # Winitzki's approximation: good to ~1e-3, plenty for a difficulty jitter.
    y = min(max(y, -0.999999), 0.999999)
    a = 0.147
    ln = math.log(1 - y * y)
    term = 2 / (math.pi * a) + ln / 2
    return math.copysign(math.sqrt(math.sqrt(term * term - ln / a) - term), y)


def _clean_gsm8k_solution(text: str) -> tuple[str, ...]:
    lines = [_ANNOTATION.sub("", line).strip() for line in text.splitlines()]
    return tuple(line for line in lines if line and not line.startswith(("####", "A:")))


def load_gsm8k(
    directory: Path, recorded_params: Mapping[str, tuple[float, float]] | None = None
) -> list[AnswerKey]:
    """Keys of GSM8K ``test.jsonl`` in ``directory`` (raises OSError/ValueError when unreadable).

    With ``example_model_solutions.jsonl`` present, its recorded solutions become the keys'
    ``recorded`` entries and its wrong answers the distractors (most frequent first). Given
    ``recorded_params`` (system -> (ability, discrimination)), each question's difficulty is a
    deterministic draw from its posterior given which recorded systems solved it, so simulated
    LLMs find hard exactly the questions the real systems found hard; otherwise a draw from
    N(0, 1).
    """
    test_text = (directory / "test.jsonl").read_text(encoding="utf-8")
    test = [json.loads(line) for line in test_text.splitlines() if line.strip()]
    recorded_path = directory / "example_model_solutions.jsonl"
    recorded_rows: dict[str, dict[str, object]] = {}
    if recorded_path.exists():
        for line in recorded_path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            recorded_rows[normalize_question(row["question"])] = row
    keys = []
    for row in test:
        question = normalize_question(row["question"])
        answer = normalize_number(row["answer"].split("####")[-1]) or ""
        rec: dict[str, tuple[str, str | None, bool]] = {}
        wrong_counts: Counter[str] = Counter()
        wrong_text: dict[str, str] = {}
        for system in RECORDED_SYSTEMS:
            entry = recorded_rows.get(question, {}).get(system)
            if not isinstance(entry, dict):
                continue
            text = str(entry["solution"])
            value = normalize_number(text.rsplit("A:", 1)[-1]) if "A:" in text else None
            rec[system] = (text, value, bool(entry["is_correct"]))
            if value is not None and value != answer:
                wrong_counts[value] += 1
                wrong_text.setdefault(value, "\n".join(_clean_gsm8k_solution(text)))
        distractors = _distinct(
            [v for v, _ in wrong_counts.most_common()] + number_slips(answer), answer
        )
        u = draw("difficulty", question)
        if recorded_params and len(rec) == len(RECORDED_SYSTEMS):
            pattern = tuple(rec[s][2] for s in RECORDED_SYSTEMS)
            difficulty = _posterior_draw(pattern, recorded_params, u)
        else:
            difficulty = normal_difficulty(question)
        keys.append(
            AnswerKey(
                question=question,
                answer=answer,
                difficulty=difficulty,
                distractors=distractors,
                right_solution=_clean_gsm8k_solution(row["answer"]),
                wrong_solutions=wrong_text,
                recorded=rec,
                source="gsm8k",
            )
        )
    return keys


_GRID = [-5 + i * 0.025 for i in range(401)]
_POSTERIOR_CACHE: dict[tuple[object, ...], list[float]] = {}


def _posterior_draw(
    pattern: tuple[bool, ...], params: Mapping[str, tuple[float, float]], u: float
) -> float:
    """Inverse-CDF draw of difficulty b ~ N(0,1) given the recorded right/wrong pattern."""
    cache_key = (pattern, tuple(sorted(params.items())))
    cdf = _POSTERIOR_CACHE.get(cache_key)
    if cdf is None:
        weights = []
        for b in _GRID:
            w = math.exp(-b * b / 2)
            for system, right in zip(RECORDED_SYSTEMS, pattern, strict=True):
                ability, slope = params[system]
                p = sigmoid(slope * (ability - b))
                w *= p if right else 1 - p
            weights.append(w)
        total = sum(weights)
        cdf, acc = [], 0.0
        for w in weights:
            acc += w / total
            cdf.append(acc)
        _POSTERIOR_CACHE[cache_key] = cdf
    for b, c in zip(_GRID, cdf, strict=True):
        if u <= c:
            return b
    return _GRID[-1]
