"""MixEval-Hard multiple choice: a question (with its context), lettered options, one right.

Data: MixEval-Hard's ``multiple-choice.json``, an object ``{"0": {"context", "prompt",
"options", "target": [index], "benchmark_name"}, ...}``. Ids are ``mc-<key>``.

Reading the option a reply chose (:func:`read_choice`), from the first answer span
(:mod:`benchmarks.answers`) that names an option:

1. the span *is* an option's text, with or without its letter (``Answer: B) Paris``,
   ``The answer is cellar``): that option;
2. the span starts with a letter label (``B``, ``(B)``, ``B)``, ``B.``, ``[B]``, ``Option B``,
   bold already removed): that letter, whatever follows;
3. letters named in the span (``(C)``, ``option C``, a capital ``C`` standing alone; ``A``
   before a lower-case word other than or/and/is/... is the article): exactly one -> that
   letter; **several -> no answer** (extracted None, score 0, the note lists them): a reply
   naming two options has not chosen one;
4. exactly one option's text inside the span: that option.

A reply in which no span names an option has no answer (extracted None, score 0, note "names no
option"). Only letters of the question's options count (``E`` is not a letter of a
four-option question).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.answers import answer_spans
from benchmarks.base import BenchmarkError, Item, Scored
from benchmarks.free_form import normalise
from benchmarks.mixeval import MixEvalFile, subsets_help

__all__ = ["MC_FRAMING", "MIXEVAL_MC_SUBSETS", "MixEvalHardMC", "read_choice"]

LETTERS = "ABCDEFGHIJ"
MIXEVAL_MC_SUBSETS = ("MMLU", "AGIEval", "HellaSwag", "CommonsenseQA", "BoolQ", "SIQA", "PIQA",
                      "OpenBookQA", "GPQA", "ARC", "MBPP")

MC_FRAMING = (
    "Choose the correct option. You may reason first; then finish your reply with one line "
    "that gives only the letter of the correct option, after the words \"Final answer:\".")


def render(context: str | None, prompt: str, options: list[str]) -> str:
    parts = [context.strip()] if context and context.strip() else []
    parts.append(prompt.strip())
    parts.append("\n".join(f"{LETTERS[i]}. {option}" for i, option in enumerate(options)))
    parts.append(MC_FRAMING)
    return "\n\n".join(parts)


#: "A" followed by a lower-case word is the article, unless the word joins letters ("A or B").
_ARTICLE = re.compile(r"\s+(?!(?:or|and|nor|vs|is|was|would|seems|because)\b)[a-z]")


def _letters_named(text: str, letters: str) -> list[str]:
    pattern = re.compile(
        rf"\(([{letters}])\)|\[([{letters}])\]"
        rf"|\b(?:option|choice|letter)\s+([{letters}])\b"
        rf"|(?<![\w'’])([{letters}])(?![\w'’])")
    found: list[str] = []
    for match in pattern.finditer(text):
        letter = next(g for g in match.groups() if g)
        standalone = match.group(4) is not None
        if standalone and letter == "A" and _ARTICLE.match(text[match.end():]):
            continue  # the article: "A depreciating dollar"
        if letter not in found:
            found.append(letter)
    return found


def read_choice(reply: str, options: list[str]) -> tuple[str | None, str | None]:
    """(the chosen letter, a note) by the rule of the module docstring."""
    letters = LETTERS[:len(options)]
    texts = [normalise(option) for option in options]
    label = re.compile(rf"^\s*(?:(?:option|choice|letter)\s+)?[(\[]?([{letters}])"
                       rf"(?:[)\].:,]|\s*$|\s+(?:-|–|because|is)\b)\s*(.*)$",
                       re.IGNORECASE | re.DOTALL)
    for span in answer_spans(reply):
        text = span.text.strip().rstrip(".")
        if not text:
            continue
        how = None if span.how != "last line" else "no final-answer line; read the last line"
        labelled = label.match(text)
        rest = labelled[2] if labelled else text
        if normalise(text) in texts or (labelled and rest and normalise(rest) in texts):
            key = normalise(text) if normalise(text) in texts else normalise(rest)
            return letters[texts.index(key)], how
        if labelled and labelled[1].upper() in letters and (
                labelled[1].isupper() or text[:1] in "([" or len(text) == 1):
            return labelled[1].upper(), how
        named = _letters_named(text, letters)
        if len(named) == 1:
            return named[0], how
        if len(named) > 1:
            return None, f"the answer names several options ({', '.join(named)})"
        inside = [i for i, t in enumerate(texts) if t and re.search(rf"\b{re.escape(t)}\b",
                                                                      normalise(text))]
        if len(inside) == 1:
            return letters[inside[0]], how
    return None, "the reply names no option"


class MixEvalHardMC(MixEvalFile):
    """MixEval-Hard's multiple-choice questions (500), scored by the option letter."""

    name = "mixeval-hard-mc"
    kind = "multiple_choice"
    description = "MixEval-Hard multiple choice (MMLU, AGIEval, HellaSwag, ...; 500 questions)"
    data_file: str | None = "mixeval_hard/multiple-choice.json"
    data_help: str | None = "MixEval-Hard's multiple-choice.json or the folder holding it"
    subsets = MIXEVAL_MC_SUBSETS
    option_help: Mapping[str, str] = subsets_help(MIXEVAL_MC_SUBSETS)

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        items = []
        for key, row in self.rows(data):
            try:
                options_ = [str(o) for o in row["options"]]
                target = row["target"][0]
                if not 2 <= len(options_) <= len(LETTERS) or not 0 <= target < len(options_):
                    raise ValueError(target)
                text = render(row.get("context"), row["prompt"], options_)
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                raise BenchmarkError(f"{data}: entry {key!r}: expected 'prompt', 2 to 10 "
                                     "'options' and 'target': [index of the right one]") from exc
            if not self.kept(row, options):
                continue
            items.append(Item(f"mc-{key}", (text,), None,
                              {"options": options_, "answer": LETTERS[target],
                               "subset": row.get("benchmark_name")}))
        return items

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        letter, note = read_choice(reply, list(reference["options"]))
        if letter is None:
            return Scored(None, 0.0, note)
        return Scored(letter, 1.0 if letter == reference["answer"] else 0.0, note)

