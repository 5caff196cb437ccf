r"""MixEval-Hard free form: a short answer matched against a list of acceptable answers.

Data: MixEval-Hard's ``free-form.json``, ``{"0": {"context", "prompt", "target": [answers],
"benchmark_name"}, ...}`` (TriviaQA, DROP, GSM8k, MATH, BBH, AGIEval). Ids are ``ff-<key>``.

The answer is the first non-empty answer span (:mod:`benchmarks.answers`). It is right when,
for one of the targets:

- both *normalise* to the same text (:func:`normalise`: lower case; ``\text{}`` unwrapped;
  numbers written one way, ``1,234.0`` -> ``1234``, ``seven`` -> ``7``; punctuation, the
  articles a/an/the and extra spaces removed) — the exact match of SQuAD and TriviaQA; or
- the target is a number and the answer states exactly one number, the same (``184 miles``
  for ``184``; ``x = 2, y = 5`` is not ``2``); or
- the target is LaTeX (``\frac{2009}{4}``) and math-verify finds the answer equivalent.

This is the deterministic score; MixEval's own grading by an LLM judge comes with the judged
benchmarks.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from benchmarks.answers import answer_spans
from benchmarks.base import BenchmarkError, Item, Scored
from benchmarks.math_style import math_equivalent
from benchmarks.mixeval import MixEvalFile, subsets_help
from benchmarks.numbers import canonical, read_number, to_fraction

__all__ = ["FREE_FORM_FRAMING", "MIXEVAL_FREE_SUBSETS", "MixEvalHardFree", "normalise"]

MIXEVAL_FREE_SUBSETS = ("TriviaQA", "DROP", "GSM8k", "MATH", "BBH", "AGIEval")

FREE_FORM_FRAMING = (
    "Answer the question. You may reason first; then finish your reply with one line that "
    "gives the short answer alone (a name, number, word or phrase, without explanation), after "
    "the words \"Final answer:\".")

_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
          "fourteen fifteen sixteen seventeen eighteen nineteen twenty").split()
_NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|(?<![\w.])-?\d+(?:\.\d+)?"
                     r"(?![\d])")
_PUNCTUATION = re.compile("[" + re.escape(string.punctuation) + "‘’“”–—…]")


def normalise(text: str) -> str:
    """The text a free-form answer is compared by (see the module docstring)."""
    text = re.sub(r"\\text\s*\{([^{}]*)\}", r"\1", text.lower()).replace("$", " ")
    text = _NUMBER.sub(lambda m: " " + canonical(to_fraction(m[0]) or Fraction(0)) + " ", text)
    text = re.sub(r"\b(" + "|".join(_WORDS) + r")\b", lambda m: str(_WORDS.index(m[1])), text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    text = _PUNCTUATION.sub(lambda m: m[0] if m[0] in "-." else " ", text).replace("-", " ")
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _numbers(text: str) -> list[str]:
    return _NUMBER.findall(re.sub(r"\d{1,2}:\d{2}", " ", text))


def matches(target: str, answer: str) -> bool:
    """True when ``answer`` is right for this one ``target`` (see the module docstring)."""
    if normalise(target) and normalise(target) == normalise(answer):
        return True
    key = to_fraction(target.strip().replace("$", ""))
    if key is not None:
        numbers = _numbers(answer)
        value = read_number(answer) if len(numbers) == 1 else None
        return value is not None and value == key
    if "\\" in target:
        return math_equivalent(target, answer)
    return False


def render(context: str | None, prompt: str) -> str:
    parts = [context.strip()] if context and context.strip() else []
    return "\n\n".join([*parts, prompt.strip(), FREE_FORM_FRAMING])


class MixEvalHardFree(MixEvalFile):
    """MixEval-Hard's free-form questions (500), normalised match against the targets."""

    name = "mixeval-hard-free"
    kind = "free_form"
    description = "MixEval-Hard free form (TriviaQA, DROP, GSM8k, MATH, BBH, AGIEval; 500)"
    data_file: str | None = "mixeval_hard/free-form.json"
    data_help: str | None = "MixEval-Hard's free-form.json or the folder holding it"
    subsets = MIXEVAL_FREE_SUBSETS
    option_help: Mapping[str, str] = subsets_help(MIXEVAL_FREE_SUBSETS)

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        items = []
        for key, row in self.rows(data):
            try:
                targets = [str(t) for t in row["target"]]
                if not targets:
                    raise ValueError("no target")
                text = render(row.get("context"), row["prompt"])
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise BenchmarkError(f"{data}: entry {key!r}: expected 'prompt' and 'target' "
                                     "(a non-empty list of acceptable answers)") from exc
            if not self.kept(row, options):
                continue
            items.append(Item(f"ff-{key}", (text,), None,
                              {"targets": targets, "subset": row.get("benchmark_name")}))
        return items

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        for span in answer_spans(reply):
            answer = span.text.strip().rstrip(".").strip()
            if not answer:
                continue
            note = None if span.how != "last line" else \
                "no final-answer line; read the reply's last line"
            right = any(matches(str(target), answer) for target in reference["targets"])
            return Scored(answer, 1.0 if right else 0.0, note)
        return Scored(None, 0.0, "the reply is empty")
