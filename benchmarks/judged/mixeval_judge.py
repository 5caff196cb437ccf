r"""MixEval's two judges, read from its ``judge_prompts.json``: the free-form grader and the
multiple-choice option extractor; filling their messages and reading their replies.

The file (``mixeval_hard/judge_prompts.json`` of the datasets folder: MixEval@7c52b41's
``judge_prompts.py`` as data) holds four rows ``{name, role, placeholders, purpose, text}``, a
system and a user message per judge, named ``closeended_freeform_judge/system`` and ``/user``,
``closeended_multiplechoice_parser/system`` and ``/user``. :func:`read_judges` turns it into the
JSON of a judge definition. No wording of the prompts is in this code: change the file and the
judge is asked something else.

Filling, as the rows' ``purpose`` says: plain replacement of ``{prompt}`` (the question as
MixEval gives it to its judge: the row's ``prompt``, without the context, which the judge's text
says it does not see), ``{gold_ans}`` (:func:`gold_answers`), ``{options}``
(:func:`option_lines`) and ``{response}`` (the architecture's reply). All placeholders are
replaced in one pass, so text inside a question or a reply that looks like a placeholder is
left as written.

Reading, as MixEval's ``get_score_from_judge`` and ``get_option_from_judge`` do:

- a grade is the first ``[[0.7]]`` of the reply, else its first ``[0.7]``; a first match
  outside 0..1 (``[[8]]``) is unread, as MixEval then asks again;
- an option is the first ``[[B]]``, else the first ``[B]`` (capital letters only). A letter
  that is not one of the question's options is unread here; MixEval would score it as a
  wrong choice, but an extractor naming an option that does not exist has not read the reply.

An unread reply gives ``None`` and a note saying why, never a 0 (the caller asks again).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.base import BenchmarkError
from benchmarks.files import read_json

__all__ = ["JUDGE_MAX_TOKENS", "JUDGE_TEMPERATURE", "JUDGES", "fill", "gold_answers",
           "option_lines", "read_grade", "read_judges", "read_option"]

#: Judge -> (the row names' prefix in the file, the placeholders its user message takes).
JUDGES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "free_form": ("closeended_freeform_judge", ("prompt", "gold_ans", "response")),
    "multiple_choice": ("closeended_multiplechoice_parser", ("prompt", "options", "response")),
}

#: MixEval's API judges ask for at most 999 new tokens (``MAX_NEW_TOKENS``) and set no
#: temperature, so the endpoint's default applies: 1.0 for OpenAI's chat API. A re-ask of an
#: unread reply therefore samples a new one, which is why MixEval's retries work.
JUDGE_MAX_TOKENS = 999
JUDGE_TEMPERATURE = 1.0

# The patterns of MixEval's get_score_from_judge / get_option_from_judge; a test checks that the
# file's ``purpose`` still describes these very patterns.
_GRADE = (re.compile(r"\[\[(\d+\.?\d*)\]\]"), re.compile(r"\[(\d+\.?\d*)\]"))
_OPTION = (re.compile(r"\[\[([A-Z])\]\]"), re.compile(r"\[([A-Z])\]"))
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def read_judges(path: Path) -> dict[str, Any]:
    """The two judges of ``path`` as JSON: ``{"file", "free_form": {"system", "user"},
    "multiple_choice": {"system", "user"}, "temperature", "max_tokens"}``. Raises
    :class:`BenchmarkError` naming the file and the row when one is missing or malformed."""
    rows = read_json(path)
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise BenchmarkError(f"{path}: expected a list of prompt objects (name, role, text)")
    by_name = {str(row.get("name")): row for row in rows}
    judges: dict[str, Any] = {"file": str(path), "temperature": JUDGE_TEMPERATURE,
                              "max_tokens": JUDGE_MAX_TOKENS}
    for judge, (prefix, placeholders) in JUDGES.items():
        messages = {}
        for role in ("system", "user"):
            name = f"{prefix}/{role}"
            row = by_name.get(name)
            if row is None:
                raise BenchmarkError(f"{path}: no prompt named {name!r} (MixEval's {judge} "
                                     "judge needs a system and a user message)")
            text = row.get("text")
            if not isinstance(text, str) or not text.strip() or row.get("role") != role:
                raise BenchmarkError(f"{path}: {name}: expected role {role!r} and a "
                                     "non-empty 'text'")
            wanted = placeholders if role == "user" else ()
            found = tuple(p for p in _PLACEHOLDER.findall(text) if p in placeholders)
            missing = [p for p in wanted if p not in found]
            if missing or (role == "system" and found):
                raise BenchmarkError(
                    f"{path}: {name}: expected the placeholders "
                    f"{', '.join('{' + p + '}' for p in wanted) or 'none'} in 'text'"
                    + (f"; missing {', '.join(missing)}" if missing else ""))
            messages[role] = text
        judges[judge] = messages
    return judges


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` of ``values`` replaced, in one pass; other braces
    (and a placeholder-like text inside a value) stay as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), template)


def gold_answers(targets: Sequence[str]) -> str:
    """The gold answers as MixEval writes them for its judge: ``<answer 1> x; <answer 2> y``."""
    return "; ".join(f"<answer {i}> {target}" for i, target in enumerate(targets, 1))


def option_lines(options: Sequence[str]) -> str:
    """The options as MixEval writes them for its extractor: ``A. x`` lines."""
    return "\n".join(f"{_LETTERS[i]}. {option}" for i, option in enumerate(options))


def _first(patterns: tuple[re.Pattern[str], ...], text: str) -> str | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return match[1]
    return None


def read_grade(text: str) -> tuple[float | None, str | None, str | None]:
    """(grade 0..1 or None, what the judge wrote, a note when unread) of a free-form verdict."""
    label = _first(_GRADE, text)
    if label is None:
        return None, None, "the judge wrote no [[score]]"
    value = float(label)
    if not 0.0 <= value <= 1.0:
        return None, label, f"the judge's score {label} is outside 0.0-1.0"
    return value, label, None


def read_option(text: str, count: int) -> tuple[int | None, str | None, str | None]:
    """(option index or None, the letter written, a note when unread) of an extractor's reply,
    for a question with ``count`` options."""
    label = _first(_OPTION, text)
    if label is None:
        return None, None, "the extractor wrote no [[option letter]]"
    index = _LETTERS.index(label)
    if index >= count:
        return None, label, (f"the extractor chose {label}, not one of the options "
                             f"A-{_LETTERS[count - 1]}")
    return index, label, None
