"""HumanEval: complete a Python function from its signature and docstring; scored by running
the problem's unit tests (pass@1).

Data: ``humaneval/humaneval-python.jsonl`` under $ITAS_DATASETS, HumanEval-X's Python form
(``task_id`` ``Python/0``, ``prompt``, ``canonical_solution``, ``test`` already ending in
``check(<entry point>)``, ``declaration``, ``example_test``, ``text``; no ``entry_point``
field, whatever the datasets README says), or openai/human-eval's rows (``HumanEval/0``,
``entry_point``, a ``test`` that only defines ``check``: the call is appended). The entry
point is the row's ``entry_point``, else the name in the test's final ``check(...)``.

Framing: as Archon's HumanEvalBenchmark (DeepSeek-Coder's instruction), in our words: the model
continues the function without changing the given code and returns the whole function in a
code block.

The program, one run per problem (``check`` runs every assert)::

    IMPORT_HELPER + preamble + solution + test [+ check(entry_point)]

where the solution is the extracted code when it defines the entry point itself (the usual
chat reply: the whole function; the prompt's own signature and docstring are then dropped,
and the preamble is the prompt's text before the target's ``def`` line: imports and helper
functions), else the prompt's function with the extracted body under it (a reply that gives
only the body's indented lines). Timeout :data:`TIMEOUT_S`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.base import BenchmarkError, Item, Scored
from benchmarks.code.base import ProgramRun, RunOutcome
from benchmarks.code.compare import outputs_match
from benchmarks.code.extract import extract_code
from benchmarks.code.functions import IMPORT_HELPER, defines, returns_wrong
from benchmarks.code.scoring import score_outcomes
from benchmarks.code.written_tests import read_assert_test
from benchmarks.files import read_jsonl
from benchmarks.options import check_known

__all__ = ["FRAMING", "TIMEOUT_S", "HumanEval"]

#: Seconds per run (HumanEval's and MBPP's). Archon allowed 3 s in a bare process pool. The
#: slowest reference solution (MBPP 123, a brute-force search) needs 4.5 s of CPU, and a worker
#: runs several sandboxes at once on cores it shares, where a run may wait for a core; a
#: sandboxed run adds ~10 ms of set-up. A right answer must not fail for a busy host: 10 s.
#: The cost falls only on answers that loop, which use a slot for that long.
TIMEOUT_S = 10.0

FRAMING = ("Complete the Python function below. Do not change the code you are given: only "
           "add what is missing. Give the whole completed function in one ```python code "
           "block.\n\n```python\n{prompt}\n```")

_CHECK_CALL = re.compile(r"^check\((\w+)\)\s*$", re.MULTILINE)


def _entry_point(row: Mapping[str, Any]) -> str:
    if isinstance(row.get("entry_point"), str) and row["entry_point"]:
        return str(row["entry_point"])
    calls = _CHECK_CALL.findall(row["test"])
    if not calls:
        raise ValueError("no entry_point and no check(...) call in the test")
    return str(calls[-1])


def _split_prompt(prompt: str, entry: str) -> tuple[str, str]:
    """(the prompt's text before the target's ``def`` line, the rest)."""
    match = re.search(rf"^def\s+{re.escape(entry)}\s*\(", prompt, re.MULTILINE)
    if match is None:
        raise ValueError(f"the prompt defines no function {entry!r}")
    return prompt[:match.start()], prompt[match.start():]


class HumanEval:
    """HumanEval (164 problems), scored by running each answer against the problem's tests."""

    name = "humaneval"
    kind = "code"
    description = "HumanEval: complete a Python function; pass@1 by running its unit tests"
    needs_data = True
    data_file: str | None = "humaneval/humaneval-python.jsonl"
    data_help: str | None = ("a HumanEval JSONL file (HumanEval-X's Python rows or "
                             "openai/human-eval's: task_id, prompt, canonical_solution, test)")
    option_help: Mapping[str, str] = {}

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        return check_known(options, self.option_help)

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        if data is None:
            raise BenchmarkError(f"{self.name} needs its data ({self.data_help})")
        items = []
        for number, row in read_jsonl(data):
            try:
                if not all(isinstance(row[k], str) for k in
                           ("task_id", "prompt", "canonical_solution", "test")):
                    raise TypeError("a field is not a string")
                entry = _entry_point(row)
                _split_prompt(row["prompt"], entry)
            except (KeyError, TypeError, ValueError) as exc:
                raise BenchmarkError(
                    f"{data}:{number}: expected a HumanEval row (task_id, prompt, "
                    f"canonical_solution, test, and entry_point or a final check(...) call in "
                    f"test): {exc}") from exc
            test = row["test"].rstrip("\n") + "\n"
            if not _CHECK_CALL.search(test):
                test += f"\ncheck({entry})\n"
            reference = {"task_id": row["task_id"], "prompt": row["prompt"], "test": test,
                         "entry_point": entry, "canonical_solution": row["canonical_solution"]}
            items.append(Item(row["task_id"], (FRAMING.format(prompt=row["prompt"].strip()),),
                              None, reference))
        return items

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        return Scored(self.extract(reference, reply), None,
                      "scored by running the code (worker.code_runs)")

    def extract(self, reference: Mapping[str, Any], reply: str) -> str | None:
        entry = str(reference["entry_point"])
        code = extract_code(reply, lambda block: defines(block.code, entry))
        if code is None or defines(code, entry):
            return code
        # Only a body: under the prompt's own signature and docstring.
        return _split_prompt(str(reference["prompt"]), entry)[1].rstrip("\n") + "\n" + code

    def _program(self, reference: Mapping[str, Any], code: str) -> str:
        preamble = _split_prompt(str(reference["prompt"]), str(reference["entry_point"]))[0]
        return f"{IMPORT_HELPER}{preamble}{code.rstrip()}\n\n"

    def program_runs(self, reference: Mapping[str, Any], code: str) -> list[ProgramRun]:
        return [ProgramRun("tests", self._program(reference, code) + str(reference["test"]),
                           TIMEOUT_S)]

    def output_matches(self, expected: str, actual: str) -> bool:
        return outputs_match(expected, actual)

    def score_runs(self, reference: Mapping[str, Any], code: str | None,
                   runs: Sequence[ProgramRun], outcomes: Sequence[RunOutcome]) -> Scored:
        return score_outcomes(code, runs, outcomes, self.output_matches)

    def reference_solutions(self, reference: Mapping[str, Any]) -> list[str]:
        return [str(reference["prompt"]) + str(reference["canonical_solution"])]

    def incorrect_solutions(self, reference: Mapping[str, Any]) -> list[str]:
        return [returns_wrong(self.reference_solutions(reference)[0],
                              str(reference["entry_point"]))]

    def generated_test_runs(self, reference: Mapping[str, Any], code: str,
                            tests: Sequence[str]) -> tuple[list[ProgramRun], list[str]]:
        program = self._program(reference, code)
        runs, unread = [], []
        for number, test in enumerate(tests, 1):
            source = read_assert_test(test)
            if source is None:
                unread.append(test)
            else:
                runs.append(ProgramRun(f"generated test {number}", program + source, TIMEOUT_S))
        return runs, unread

