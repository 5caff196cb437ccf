"""CodeContests: competitive-programming problems read from stdin and answered on stdout;
an answer passes when it passes every test (pass@1).

Data: rows with the columns of Hugging Face's ``deepmind/code_contests`` (``name``,
``description``, ``public_tests``/``private_tests``/``generated_tests`` as ``{input: [...],
output: [...]}``, ``solutions``/``incorrect_solutions`` as ``{language: [...], solution:
[...]}`` with language 3 = Python 3, ``time_limit`` ``{seconds, nanos}`` or null, ...), as JSONL
or Parquet (Parquet needs pyarrow) through ``--data``. Default: the project's own 20 problems,
``benchmarks/data/code-contests.jsonl`` (no CodeContests file ships beside the project).
Item id: ``name``.

Framing: the description, then a request for a complete Python 3 program reading stdin and
writing stdout, in a code block (Archon's CC prompt says the same in its words).

Runs: one per test, public then private then generated, the input on stdin; a test passes when
the program exits 0 and its output matches the expected one under DeepMind's rule
(:mod:`benchmarks.code.compare`: tokens, case-insensitive, numbers within 1e-5). Real problems
carry up to a few hundred generated tests; option ``max_generated_tests`` (default
:data:`MAX_GENERATED_TESTS`) keeps the first N of them (DeepMind and Archon run all: a
deviation that bounds an answer's cost; give a large number to run all).

Time limit per test: the problem's ``time_limit`` (default :data:`DEFAULT_TIME_LIMIT_S`) times
:data:`TIME_FACTOR` plus :data:`TIME_SLACK_S`. The limits were set for the original judges'
compiled solutions; Python runs the accepted Python solutions within them on a quiet judge, but
a worker shares its cores among several sandboxes and pays an interpreter start per run.
Reference solution: the first Python 3 solution; known-wrong ones: the first three Python 3
``incorrect_solutions``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.base import BenchmarkError, Item, Scored
from benchmarks.code.base import ProgramRun, RunOutcome
from benchmarks.code.compare import outputs_match
from benchmarks.code.extract import CodeBlock, extract_code
from benchmarks.code.scoring import score_outcomes
from benchmarks.code.written_tests import read_io_test
from benchmarks.files import read_jsonl
from benchmarks.options import check_known, int_option

__all__ = ["DEFAULT_DATA", "FRAMING", "CodeContests"]

DEFAULT_DATA = Path(__file__).parents[1] / "data" / "code-contests.jsonl"
MAX_GENERATED_TESTS = 10
DEFAULT_TIME_LIMIT_S = 2.0
TIME_FACTOR = 2.0
TIME_SLACK_S = 1.0
PYTHON3 = 3
_KNOWN_WRONG = 3

FRAMING = ("{description}\n\nWrite a complete Python 3 program that solves this problem. It "
           "must read the input from standard input and write the answer to standard output. "
           "Give the whole program in one ```python code block.")

_PYTHON_TAGS = {"python", "python3", "py", "py3"}


def _python_block(block: CodeBlock) -> bool:
    # Replies often end with the sample input or output in their own untagged blocks.
    return block.language in _PYTHON_TAGS or (
        block.language == "" and any(w in block.code for w in ("input(", "stdin", "print(")))


def _tests(row: Mapping[str, Any], column: str) -> list[tuple[str, str]]:
    value = row.get(column)
    if value is None:
        return []
    inputs, outputs = value["input"], value["output"]
    if not isinstance(inputs, list) or not isinstance(outputs, list) \
            or len(inputs) != len(outputs) \
            or not all(isinstance(t, str) for t in [*inputs, *outputs]):
        raise TypeError(f"{column}: expected input and output lists of strings, as long")
    return list(zip(inputs, outputs, strict=True))


def _python3(row: Mapping[str, Any], column: str) -> list[str]:
    value = row.get(column)
    if value is None:
        return []
    languages, solutions = value["language"], value["solution"]
    if not isinstance(languages, list) or not isinstance(solutions, list):
        raise TypeError(f"{column}: expected language and solution lists")
    return [s for lang, s in zip(languages, solutions, strict=False)
            if lang == PYTHON3 and isinstance(s, str)]


def _time_limit(row: Mapping[str, Any]) -> float:
    limit = row.get("time_limit")
    if not limit:
        return DEFAULT_TIME_LIMIT_S
    seconds = float(limit.get("seconds") or 0) + float(limit.get("nanos") or 0) / 1e9
    return seconds if seconds > 0 else DEFAULT_TIME_LIMIT_S


def _read_rows(path: Path) -> list[tuple[str, Any]]:
    """(where, row) of a JSONL or Parquet file."""
    if path.suffix.lower() != ".parquet":
        return [(f"{path}:{number}", row) for number, row in read_jsonl(path)]
    try:
        import pyarrow.parquet as parquet  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        raise BenchmarkError(f"{path}: reading Parquet needs pyarrow, which is not installed "
                             "(pip install pyarrow), or give the rows as JSONL") from None
    try:
        rows = parquet.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow's errors have no common base worth naming
        raise BenchmarkError(f"{path}: cannot read the Parquet file: {exc}") from exc
    return [(f"{path}: row {index}", row) for index, row in enumerate(rows)]


class CodeContests:
    """CodeContests-style problems (stdin/stdout), scored by running every test."""

    name = "code-contests"
    kind = "code"
    description = ("CodeContests: stdin/stdout programming problems (deepmind/code_contests "
                   "rows); default: the project's own 20 problems")
    needs_data = False
    data_file: str | None = None
    data_help: str | None = ("a CodeContests JSONL or Parquet file (deepmind/code_contests' "
                             "columns: name, description, public_tests, private_tests, "
                             "generated_tests, solutions, time_limit)")
    option_help: Mapping[str, str] = {
        "max_generated_tests": f"run at most this many of a problem's generated tests "
                               f"(default {MAX_GENERATED_TESTS}; 0: none)",
    }
    default_data = DEFAULT_DATA

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = check_known(options, self.option_help)
        if "max_generated_tests" in options:
            problems += int_option(options, "max_generated_tests", 0)
        return problems

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        path = data or DEFAULT_DATA
        cap = int(options.get("max_generated_tests", MAX_GENERATED_TESTS))
        items = []
        for where, row in _read_rows(path):
            try:
                name, description = row["name"], row["description"]
                if not isinstance(name, str) or not name or not isinstance(description, str):
                    raise TypeError("name and description must be strings")
                tests = [{"name": f"{kind} {i}", "input": given, "output": expected}
                         for kind, column in (("public", "public_tests"),
                                              ("private", "private_tests"))
                         for i, (given, expected) in enumerate(_tests(row, column), 1)]
                tests += [{"name": f"generated {i}", "input": given, "output": expected}
                          for i, (given, expected) in
                          enumerate(_tests(row, "generated_tests")[:cap], 1)]
                solutions = _python3(row, "solutions")
                wrong = _python3(row, "incorrect_solutions")[:_KNOWN_WRONG]
                time_limit = _time_limit(row)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise BenchmarkError(f"{where}: expected a code_contests row (name, "
                                     f"description, *_tests with input/output lists): "
                                     f"{exc}") from exc
            if not tests:
                raise BenchmarkError(f"{where}: problem {name!r} has no test")
            reference = {"name": name, "tests": tests, "time_limit_s": time_limit,
                         "solution": solutions[0] if solutions else None,
                         "incorrect_solutions": wrong}
            items.append(Item(name, (FRAMING.format(description=description.strip()),), None,
                              reference))
        return items

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        return Scored(self.extract(reference, reply), None,
                      "scored by running the code (worker.code_runs)")

    def extract(self, reference: Mapping[str, Any], reply: str) -> str | None:
        return extract_code(reply, _python_block)

    def _timeout(self, reference: Mapping[str, Any]) -> float:
        return float(reference["time_limit_s"]) * TIME_FACTOR + TIME_SLACK_S

    def program_runs(self, reference: Mapping[str, Any], code: str) -> list[ProgramRun]:
        timeout = self._timeout(reference)
        return [ProgramRun(test["name"], code, timeout, stdin=test["input"],
                           expected_stdout=test["output"]) for test in reference["tests"]]

    def output_matches(self, expected: str, actual: str) -> bool:
        return outputs_match(expected, actual)

    def score_runs(self, reference: Mapping[str, Any], code: str | None,
                   runs: Sequence[ProgramRun], outcomes: Sequence[RunOutcome]) -> Scored:
        return score_outcomes(code, runs, outcomes, self.output_matches)

    def reference_solutions(self, reference: Mapping[str, Any]) -> list[str]:
        solution = reference.get("solution")
        return [str(solution)] if solution else []

    def incorrect_solutions(self, reference: Mapping[str, Any]) -> list[str]:
        return [str(s) for s in reference.get("incorrect_solutions") or []]

    def generated_test_runs(self, reference: Mapping[str, Any], code: str,
                            tests: Sequence[str]) -> tuple[list[ProgramRun], list[str]]:
        timeout = self._timeout(reference)
        runs, unread = [], []
        for number, test in enumerate(tests, 1):
            pair = read_io_test(test)
            if pair is None:
                unread.append(test)
            else:
                runs.append(ProgramRun(f"generated test {number}", code, timeout,
                                       stdin=pair[0], expected_stdout=pair[1]))
        return runs, unread
