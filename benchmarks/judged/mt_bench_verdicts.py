"""Reading MT-Bench's judge replies, as FastChat's ``llm_judge`` reads them.

    >>> parse_rating("The answer is right. Rating: [[9]]")
    9.0
    >>> parse_rating("I would rate it [7.5] overall.")   # FastChat's fallback pattern
    7.5
    >>> parse_rating("Rating: 8/10") is None              # FastChat's -1: left out
    True
    >>> pair_winner("... so my verdict is [[B]]")
    'B'

Single grading (``[[rating]]``): the first ``[[N]]`` of the reply, else the first ``[N]``
(FastChat's ``one_score_pattern`` and ``one_score_pattern_backup``, searched with
``re.search``, so the *first* match counts, not the last). The number is taken as written,
not clamped to 1-10, as FastChat takes it. A reply with neither is unparsed (FastChat stores
-1 and its ``show_result`` leaves the row out).

Pairwise (``[[A]]``): FastChat tests the substrings in this order: ``[[A]]`` (A better), then
``[[B]]``, then ``[[C]]`` (a tie); none is an error, left out. A reply holding both ``[[A]]``
and ``[[B]]`` is read as A, as FastChat reads it.

Two games per turn (FastChat's ``play_a_match_pair``): the architecture is A in game 1 and B
in game 2. :func:`pair_outcome` merges them by FastChat's rule: a tie in game 1, or games
that disagree, count as a tie; either game unparsed leaves the turn out.
"""

from __future__ import annotations

import re

__all__ = ["ONE_SCORE", "ONE_SCORE_BACKUP", "pair_outcome", "pair_winner", "parse_rating"]

ONE_SCORE = re.compile(r"\[\[(\d+\.?\d*)\]\]")
ONE_SCORE_BACKUP = re.compile(r"\[(\d+\.?\d*)\]")


def parse_rating(text: str) -> float | None:
    """The judge's grade in ``text`` by FastChat's fallback; None when it states none."""
    match = ONE_SCORE.search(text) or ONE_SCORE_BACKUP.search(text)
    return float(match.group(1)) if match else None


def pair_winner(text: str) -> str | None:
    """``A``, ``B`` or ``tie`` as FastChat reads a pairwise reply; None when it names none."""
    for label, winner in (("[[A]]", "A"), ("[[B]]", "B"), ("[[C]]", "tie")):
        if label in text:
            return winner
    return None


def pair_outcome(game_1: float | None, game_2: float | None) -> float | None:
    """The architecture's outcome on one turn (1 win, 0.5 tie, 0 loss) from its two games'
    values (each 1, 0.5 or 0 from the architecture's side); None when either is unparsed."""
    if game_1 is None or game_2 is None:
        return None
    if game_1 == 0.5 or game_1 != game_2:
        return 0.5
    return game_1
