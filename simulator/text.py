"""Small text helpers every part of the simulator shares: message text, numbers, words.

Nothing here knows about roles or benchmarks; it is how the simulator *sees* text: whitespace
collapsed, numbers canonical, words lower-cased with markdown and punctuation dropped (so a
question matches whatever formatting surrounds it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = [
    "WORD",
    "content_text",
    "message_texts",
    "normalize_number",
    "normalize_question",
    "words",
]

# A word is a run of letters or digits: "\\frac{1}{3}" -> frac 1 3, "**Answer:**" -> answer.
WORD = re.compile(r"[^\W_]+")
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")


def normalize_question(text: str) -> str:
    """Collapse all whitespace runs to one space and strip: the identity of a question."""
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """The lower-cased words of ``text`` (markdown, LaTeX and punctuation dropped)."""
    return WORD.findall(text.lower())


def normalize_number(text: str) -> str | None:
    """Canonical form of the first number in ``text``: no ``$``/commas, ``18.0`` -> ``18``.

    Returns None when ``text`` holds no number.
    """
    match = _NUMBER.search(text)
    if match is None:
        return None
    raw = match.group(0).replace("$", "").replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        return None
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def content_text(content: object) -> str:
    """The text of a message content in either wire format (string or list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def message_texts(
    messages: Iterable[Mapping[str, object]], roles: tuple[str, ...]
) -> list[str]:
    """The texts of the messages whose role is in ``roles``, in order."""
    return [content_text(m.get("content")) for m in messages if m.get("role") in roles]
