"""AlpacaEval 2.0's judge, as its files define it: the annotator's ``configs.yaml``, its ChatML
prompt, and the order in which the two outputs are shown.

Files, under the ``judge/`` folder beside ``reference_outputs.json`` (alpaca_eval's
``evaluators_configs/``, unchanged)::

    weighted_alpaca_eval_gpt4_turbo/configs.yaml   the annotator: prompt_template, sampling
                                                   (max_tokens, temperature, top_logprobs) and
                                                   logprob_parser's tokens
    alpaca_eval_clf_gpt4_turbo/alpaca_eval_clf.txt the prompt, placeholders {instruction},
                                                   {output_1}, {output_2}

Two small deviations from the package, neither of which changes a prompt it would send for
these instructions: the ChatML is split into messages before the placeholders are filled (the
package fills the text first, so an output containing ``<|im_start|>`` would split a message),
and the three placeholders are filled in one pass (the package replaces them one after the
other, so an instruction containing ``{output_1}`` would be filled too).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks.base import BenchmarkError

__all__ = ["ANNOTATOR", "PLACEHOLDERS", "fill_messages", "is_switched", "read_judge"]

#: The AlpacaEval 2.0 annotator (alpaca_eval's default since 0.6).
ANNOTATOR = "weighted_alpaca_eval_gpt4_turbo"
PLACEHOLDERS = ("instruction", "output_1", "output_2")
_START, _END = "<|im_start|>", "<|im_end|>"
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
#: alpaca_eval's RandomSwitchTwoColumnsProcessor seeds with its switch column's name, the
#: instruction and the processor's seed, which the pairwise annotator leaves at 0; checked
#: against every row's ``is_switched_outputs`` in the recorded annotations.
_SWITCH_COLUMN, _SWITCH_SEED = "is_switched_outputs", "0"


def is_switched(instruction: str) -> bool:
    """Whether the judge sees the system's output first (as ``m``) for ``instruction``: the
    same draw as alpaca_eval's, so a given instruction is always shown the same way."""
    rng = random.Random(_SWITCH_COLUMN + instruction + _SWITCH_SEED)
    return rng.choices([False, True], k=1)[0]


def read_judge(judge_folder: Path, annotator: str = ANNOTATOR) -> dict[str, Any]:
    """The annotator's definition as plain JSON: ``messages`` ([role, template] pairs),
    ``max_tokens``, ``temperature``, ``top_logprobs``, ``numerator_token``,
    ``denominator_tokens``, ``is_binarize`` and the published judge LLM (``judge_llm``).
    Raises BenchmarkError naming the file that is missing or not as expected."""
    config_path = judge_folder / annotator / "configs.yaml"
    try:
        loaded = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BenchmarkError(f"{config_path}: cannot read the AlpacaEval judge config: "
                             f"{exc}") from exc
    config = loaded.get(annotator) if isinstance(loaded, dict) else None
    try:
        if not isinstance(config, dict):
            raise TypeError(f"no mapping {annotator}:")
        template = str(config["prompt_template"])
        sampling = config["completions_kwargs"]
        parser = config["completion_parser_kwargs"]
        if config.get("fn_completion_parser") != "logprob_parser":
            raise ValueError("fn_completion_parser is not logprob_parser")
        definition = {
            "annotator": annotator, "judge_llm": str(sampling.get("model_name", "")),
            "max_tokens": int(sampling["max_tokens"]),
            "temperature": float(sampling.get("temperature", 0.0)),
            "top_logprobs": int(sampling.get("top_logprobs", 0)),
            "numerator_token": str(parser["numerator_token"]),
            "denominator_tokens": [str(t) for t in parser["denominator_tokens"]],
            "is_binarize": bool(parser.get("is_binarize", False)),
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BenchmarkError(f"{config_path}: expected {annotator}: with prompt_template, "
                             "completions_kwargs (max_tokens, temperature, top_logprobs), "
                             "fn_completion_parser: logprob_parser and completion_parser_kwargs "
                             f"(numerator_token, denominator_tokens): {exc}") from exc
    definition["messages"] = _chatml(judge_folder / template)
    return definition


def _chatml(path: Path) -> list[list[str]]:
    """[role, content] of a ChatML prompt file, contents stripped as alpaca_eval strips them."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchmarkError(f"{path}: cannot read the AlpacaEval judge prompt: {exc}") from exc
    if not text.startswith(_START) or not text.endswith(_END):
        raise BenchmarkError(f"{path}: expected a ChatML prompt (<|im_start|>role ... "
                             "<|im_end|>)")
    messages = []
    for part in text.split(_START)[1:]:
        role, _, rest = part.partition("\n")
        if role.strip() not in ("system", "user", "assistant"):
            raise BenchmarkError(f"{path}: unknown ChatML role {role.strip()!r}")
        messages.append([role.strip(), rest.split(_END, 1)[0].strip()])
    found = {name for _, content in messages for name in _PLACEHOLDER.findall(content)}
    if found != set(PLACEHOLDERS):
        raise BenchmarkError(f"{path}: expected the placeholders "
                             f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    return messages


def fill_messages(messages: Sequence[Sequence[str]],
                  values: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The judge's messages with the placeholders replaced by ``values``, in one pass."""
    return tuple((str(role), _PLACEHOLDER.sub(lambda m: values[m.group(1)], str(content)))
                 for role, content in messages)
