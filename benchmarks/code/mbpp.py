"""MBPP: write a Python function from a one-line description and its test asserts; scored by
running the asserts (pass@1).

Data: ``mbpp/mbpp_test.jsonl`` under $ITAS_DATASETS (500 rows: ``prompt``, ``code``, ``test``
the list of asserts, ``task_id``; Google's original column names ``text`` and ``test_list``
are read too, and a ``test_setup_code`` runs before the asserts). Item id: ``str(task_id)``.

Framing: the problem and its test cases, as Archon's MBPP prompt (DeepSeek-Coder's
"Problem / Test Cases") shows them, then a request for the function in a code block.
Archon prefixes three solved examples from MBPP's prompt split; that split is not among the
shared datasets, so the framing here is zero-shot (a deviation).

Runs: one per assert (``IMPORT_HELPER + code + setup + assert``), so that ``details`` says
which asserts failed. Each run costs an interpreter start (~20 ms) and the sandbox's set-up
(~10 ms): three runs are about 0.1 s of CPU per answer, small beside the LLM call that wrote
it. Timeout per run: HumanEval's (:data:`benchmarks.code.humaneval.TIMEOUT_S`).
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
from benchmarks.code.humaneval import TIMEOUT_S
from benchmarks.code.scoring import score_outcomes
from benchmarks.code.written_tests import read_assert_test
from benchmarks.files import read_jsonl
from benchmarks.options import check_known

__all__ = ["FRAMING", "MBPP", "function_name"]

FRAMING = ("{problem}\n\nYour function must pass these test cases:\n\n```python\n{tests}\n```"
           "\n\nWrite the function in Python and give it in one ```python code block.")

_DEF = re.compile(r"^def\s+(\w+)\s*\(", re.MULTILINE)
_CALL = re.compile(r"\b(\w+)\s*\(")


def function_name(code: str, tests: Sequence[str]) -> str:
    """The function the asserts test: the first name called in them that ``code`` defines,
    else the first name called in the first assert."""
    defined = set(_DEF.findall(code))
    called: list[str] = [name for test in tests for name in _CALL.findall(test)]
    for name in called:
        if name in defined:
            return name
    for name in called:
        if name not in {"assert", "set", "sorted", "list", "tuple", "abs", "round", "isclose"}:
            return name
    raise ValueError("no function call in the tests")


class MBPP:
    """MBPP (500 test problems), scored by running each answer against the problem's asserts."""

    name = "mbpp"
    kind = "code"
    description = "MBPP: write a Python function from a description; pass@1 by its asserts"
    needs_data = True
    data_file: str | None = "mbpp/mbpp_test.jsonl"
    data_help: str | None = ("an MBPP JSONL file (rows with prompt or text, code, test or "
                             "test_list (a list of asserts), task_id)")
    option_help: Mapping[str, str] = {}

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        return check_known(options, self.option_help)

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        if data is None:
            raise BenchmarkError(f"{self.name} needs its data ({self.data_help})")
        items = []
        for number, row in read_jsonl(data):
            try:
                problem = row.get("prompt", row.get("text"))
                tests = row.get("test", row.get("test_list"))
                code, task_id = row["code"], row["task_id"]
                setup = row.get("test_setup_code") or ""
                if not isinstance(problem, str) or not isinstance(code, str) \
                        or not isinstance(setup, str) or not isinstance(task_id, int | str) \
                        or not isinstance(tests, list) or not tests \
                        or not all(isinstance(t, str) for t in tests):
                    raise TypeError("a field has the wrong type")
                entry = function_name(code, tests)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise BenchmarkError(
                    f"{data}:{number}: expected an MBPP row (prompt, code, test: a non-empty "
                    f"list of assert strings, task_id): {exc}") from exc
            reference = {"task_id": task_id, "tests": tests, "setup": setup, "code": code,
                         "entry_point": entry}
            items.append(Item(str(task_id), (FRAMING.format(
                problem=problem.strip(), tests="\n".join(tests)),), None, reference))
        return items

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        return Scored(self.extract(reference, reply), None,
                      "scored by running the code (worker.code_runs)")

    def extract(self, reference: Mapping[str, Any], reply: str) -> str | None:
        entry = str(reference["entry_point"])
        return extract_code(reply, lambda block: defines(block.code, entry))

    def _program(self, reference: Mapping[str, Any], code: str) -> str:
        setup = str(reference.get("setup") or "")
        return f"{IMPORT_HELPER}{code.rstrip()}\n\n{setup.rstrip()}\n"

    def program_runs(self, reference: Mapping[str, Any], code: str) -> list[ProgramRun]:
        program = self._program(reference, code)
        return [ProgramRun(f"assert {number}", f"{program}{test}\n", TIMEOUT_S)
                for number, test in enumerate(reference["tests"], 1)]

    def output_matches(self, expected: str, actual: str) -> bool:
        return outputs_match(expected, actual)

    def score_runs(self, reference: Mapping[str, Any], code: str | None,
                   runs: Sequence[ProgramRun], outcomes: Sequence[RunOutcome]) -> Scored:
        return score_outcomes(code, runs, outcomes, self.output_matches)

    def reference_solutions(self, reference: Mapping[str, Any]) -> list[str]:
        # CRLF and tabs as the file has them: extraction normalises line endings.
        return [str(reference["code"])]

    def incorrect_solutions(self, reference: Mapping[str, Any]) -> list[str]:
        return [returns_wrong(str(reference["code"]).replace("\r\n", "\n"),
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
