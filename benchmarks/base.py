"""What a benchmark is: items to ask, and a deterministic scorer of the replies.

    BenchmarkError            the one error this package raises (bad data file, bad option,
                              unknown benchmark, unknown split); callers map it to their own
                              user-error class at their boundary (the CLI: exit 2, one line)

A benchmark (:class:`Benchmark`) loads :class:`Item` s and scores a reply against an item's
``reference`` into a :class:`Scored`. Items carry their *framing*: the user turns are the text
the LLM sees, including the benchmark's words on how to state the final answer, so a technique
never needs to know the benchmark. The reference is plain JSON, stored beside the question, so
that a worker can score with nothing but the reply and the stored reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = ["KINDS", "Benchmark", "BenchmarkError", "Item", "Scored"]

#: How a benchmark's answers are scored: a number, a LaTeX expression (math-verify), an option
#: letter, a short free-form answer (normalised match), an LLM judge (no deterministic score), or
#: code run against tests (benchmarks/code: the worker runs it in its sandbox).
KINDS = ("numeric", "math", "multiple_choice", "free_form", "judged", "code")


class BenchmarkError(Exception):
    """A benchmark cannot be loaded or used as asked; the message names the file (and line),
    the option or the name that is wrong, and what was expected."""


@dataclass(frozen=True)
class Item:
    """One question of a benchmark.

    ``item_id`` is stable within the benchmark (the same file gives the same ids). ``turns`` are
    the user turns as the LLM sees them, framing included: one for most benchmarks, two for
    MT-Bench (the architecture answers each in turn). ``system`` is the benchmark's system
    prompt, or None (the architecture's default). ``reference`` is JSON-able and holds what
    the scorer needs (answer key, options, targets).
    """

    item_id: str
    turns: tuple[str, ...]
    system: str | None
    reference: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scored:
    """The scorer's reading of one reply.

    ``extracted`` is the answer read from the reply (None: the reply states none). ``score`` is
    0..1, None only for a benchmark that is not scored deterministically (kind ``judged``).
    ``note`` says why extraction failed or how the answer was found when it was not where the
    framing asked for it. ``details``, for a code benchmark, is each test run's result
    (benchmarks/code/base.py), stored beside the answer.
    """

    extracted: str | None
    score: float | None
    note: str | None = None
    details: list[dict[str, Any]] | None = None


class Benchmark(Protocol):
    """A registered benchmark. Implementations are stateless and safe to share between threads.

    Contract:

    - ``load(data, options)`` returns every item, in the file's order, with stable ids.
      ``data`` is the resolved data file (None when the benchmark takes none or uses its
      packaged default); ``options`` have passed :meth:`check_options`. Raises
      :class:`BenchmarkError` naming the file and line of a malformed row.
    - ``score(reference, reply)`` never raises on any reply text: a reply without a readable
      answer is ``Scored(None, 0.0, note)``. ``reply`` is the architecture's full final text for
      the last turn.
    - ``check_options(options)`` lists what is wrong with ``options`` (one line each, starting
      with the option's name), empty when they are fine.
    - ``max_turns``, where defined (MT-Bench: 2), is the most user turns an item has; without
      it, one. The static cost estimate counts an architecture's calls once per turn.
    """

    name: str
    kind: str
    description: str
    #: True: the benchmark cannot load without a data file (given, or under $ITAS_DATASETS).
    needs_data: bool
    #: Where the data file sits under $ITAS_DATASETS (``gsm8k/test.jsonl``); None: no such file.
    data_file: str | None
    #: What ``data`` must name, for error messages and help; None: the benchmark takes no data.
    data_help: str | None
    #: Option name -> what it takes (for help and errors).
    option_help: Mapping[str, str]

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]: ...

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored: ...

    def check_options(self, options: Mapping[str, Any]) -> list[str]: ...
