"""Finding known questions inside any prompt: a word-shingle index.

A real LLM recognises a question whatever is written around it: a benchmark's framing sentence,
a fuser's instructions, five candidate responses. The simulator does the same by content. Every
text it knows (a question, or a question with its context and options) is cut into *shingles*,
runs of :data:`SHINGLE` consecutive words (simulator/text.py: lower case, punctuation, markdown
and LaTeX commands dropped, so formatting does not matter). A prompt is cut the same way;
a known text whose shingles are nearly all in the prompt (:data:`MIN_COVERAGE`) is found in it.

Why not a substring scan: a prompt of several KB against ~13,000 known questions would cost
seconds; the index costs one dictionary lookup per prompt shingle. Shingles shared by very many
texts (templated phrases such as "ends up with twice as") carry no information and would make
lookups slow, so only shingles held by at most :data:`RARE` texts nominate candidates; the
candidates' coverage is then checked over all their shingles.

Several known texts in one prompt (a few-shot prefix, a conversation): the best coverage wins,
then the one that ends last in the prompt (the question being asked follows its examples), then
the longer text (a question with its context over the same question without it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from simulator.text import WORD

__all__ = ["MIN_COVERAGE", "Match", "ShingleIndex", "shingles"]

SHINGLE = 5
RARE = 64
MIN_COVERAGE = 0.8
_MAX_CANDIDATES = 24  # candidates checked per prompt, by number of rare shingles hit


def shingles(tokens: Sequence[str]) -> list[int]:
    """Hashes of the word runs of ``tokens`` (one run for a text shorter than SHINGLE)."""
    if len(tokens) < SHINGLE:
        return [hash(tuple(tokens))] if tokens else []
    return [hash(run) for run in zip(*(tokens[i:] for i in range(SHINGLE)), strict=False)]


@dataclass(frozen=True)
class Match:
    """A known text found in a prompt: its id, coverage, and where it lies in the prompt.

    ``spans`` are (start, end) character offsets of the prompt's passages that repeat the text
    (a prompt may quote a question twice, as Archon's fuser does).
    """

    text_id: int
    coverage: float
    spans: tuple[tuple[int, int], ...]


class ShingleIndex:
    """Known texts by shingle. Build with :meth:`add`, then :meth:`find` (read-only, shareable)."""

    def __init__(self) -> None:
        self._postings: dict[int, list[int]] = {}
        self._shingles: list[frozenset[int]] = []
        self._lengths: list[int] = []

    def add(self, text: str) -> int:
        """Index ``text``; returns its id (ids are consecutive from 0)."""
        text_id = len(self._shingles)
        hashes = frozenset(shingles(WORD.findall(text.lower())))
        self._shingles.append(hashes)
        self._lengths.append(len(hashes))
        for h in hashes:
            self._postings.setdefault(h, []).append(text_id)
        return text_id

    def __len__(self) -> int:
        return len(self._shingles)

    def find(self, prompt: str) -> list[Match]:
        """Known texts found in ``prompt``, best first (see the module docstring)."""
        hashes = shingles(WORD.findall(prompt.lower()))
        present = set(hashes)
        hits: Counter[int] = Counter()
        postings = self._postings
        for h in present:
            posting = postings.get(h)
            if posting is not None and len(posting) <= RARE:
                hits.update(posting)
        found: list[tuple[float, int, int, int, list[int]]] = []
        for text_id, _ in hits.most_common(_MAX_CANDIDATES):
            known = self._shingles[text_id]
            coverage = len(known & present) / max(len(known), 1)
            if coverage < MIN_COVERAGE:
                continue
            places = [i for i, h in enumerate(hashes) if h in known]
            found.append((round(coverage, 2), places[-1] if places else 0, len(known), text_id,
                          places))
        if not found:
            return []
        found.sort(key=lambda item: item[:3], reverse=True)
        # Character offsets only now, for the few texts found (most prompts find one).
        spans = [(m.start(), m.end()) for m in WORD.finditer(prompt)]
        return [
            Match(text_id, coverage, _passages(places, spans, size))
            for coverage, _, size, text_id, places in found
        ]


def _passages(
    places: list[int], spans: list[tuple[int, int]], size: int
) -> tuple[tuple[int, int], ...]:
    """Character spans of the runs of matching shingles long enough to be the text itself."""
    out: list[tuple[int, int]] = []
    runs: list[list[int]] = []
    for place in places:
        if runs and place - runs[-1][-1] <= SHINGLE:
            runs[-1].append(place)
        else:
            runs.append([place])
    for run in runs:
        if len(run) >= max(1, size // 2):
            last = min(run[-1] + SHINGLE - 1, len(spans) - 1)
            out.append((spans[run[0]][0], spans[last][1]))
    return tuple(out)
