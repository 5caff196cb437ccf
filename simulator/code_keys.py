"""Answer keys of code problems (kind ``code``), read in place from the benchmarks' data files.

* HumanEval (``humaneval/humaneval-python.jsonl``: ``task_id``, ``prompt`` = imports, signature
  and docstring, ``canonical_solution`` = the body, ``test`` = ``def check(...)`` and its
  call): the entry point is the prompt's last top-level ``def``; the reference is prompt + body;
  the tests are ``check``'s one-line asserts, calling the entry point by name. Found by the
  prompt's text (signature and docstring), however a request quotes or re-indents it.
* MBPP (``mbpp/mbpp_test.jsonl``: ``prompt`` = one sentence, ``code`` with CRLF line ends,
  ``test`` = assert lines, ``task_id``): the entry point is the function the asserts call.
  Found by the description together with its asserts, or by the description alone.
* CodeContests (Hugging Face ``deepmind/code_contests`` columns, JSONL: ``name``,
  ``description``, ``public_tests`` / ``private_tests`` / ``generated_tests`` as
  ``{input: [...], output: [...]}``, ``solutions`` as ``{language: [...], solution: [...]}``
  (3 = Python 3), ``time_limit`` ``{seconds, nanos}``, optional ``cf_rating``): programs reading
  standard input; the reference is the first Python 3 solution (a problem with none is left
  out: the simulator could not write it). Found by the description.

Difficulty on the shared logit scale: HumanEval N(-0.6, 0.6^2) and MBPP N(-0.5, 0.6^2), each
plus 0.5 * ln(reference lines / 6) (longer solutions are harder); CodeContests
1.0 + (cf_rating - 1500) / 400 plus a jitter of sd 0.3 when the row has a rating, else
N(1.5, 0.8^2). Distractors are the reference's mutations (simulator/mutations.py) in an order
drawn per problem, weighted by how readily each kind of mistake is made.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from simulator.answer_keys import AnswerKey, normal_difficulty
from simulator.code_problem import CodeProblem
from simulator.mutations import KINDS, mutations
from simulator.skill import draw
from simulator.text import normalize_question, words
from simulator.values import Kind

__all__ = ["REFERENCE", "load_code_contests", "load_humaneval", "load_mbpp"]

#: The answer value of every code key: "the code is (equivalent to) the reference".
REFERENCE = "reference"
_DEF = re.compile(r"^def[ \t]+(\w+)[ \t]*\(", re.MULTILINE)
_CHECK = re.compile(r"^def[ \t]+check[ \t]*\([ \t]*(\w+)[ \t]*\)[ \t]*:", re.MULTILINE)
_CALLED = re.compile(r"\b(\w+)[ \t]*\(")
_PYTHON3 = {3, "3", "PYTHON3", "python3", "Python 3"}


def _lines(code: str) -> int:
    return sum(1 for line in code.splitlines() if line.strip())


def _size_difficulty(mean: float, code: str, *labels: object) -> float:
    return mean + 0.6 * normal_difficulty(*labels) + 0.5 * math.log(max(_lines(code), 1) / 6)


def _key(question: str, problem: CodeProblem, difficulty: float,
         match: Iterable[str]) -> AnswerKey:
    found = mutations(problem.reference, problem.entry_point)
    # A weighted random order (Efraimidis-Spirakis): common kinds of mistake come first.
    ordered = sorted(found, key=lambda m: -draw("attractive", question, m.label)
                     ** (1 / KINDS[m.kind]))
    # A program that never ends is a rare mistake of a real model (a slow algorithm is the
    # usual time-out), and a costly one to test: each such candidate holds a sandbox slot,
    # and a core, for its whole timeout. So it comes last among the wrong answers, the one
    # least often written.
    ordered.sort(key=lambda m: m.kind == "infinite_loop")
    return AnswerKey(
        question=question,
        answer=REFERENCE,
        difficulty=difficulty,
        distractors=tuple(m.label for m in ordered[:5]),
        right_solution=(),
        source=problem.source,
        kind=Kind.CODE,
        match_texts=tuple((t, 0) for t in dict.fromkeys(match) if len(words(t)) >= 3),
        code=problem,
    )


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError(f"line {number}: expected an object")
            rows.append(row)
    return rows


def _one_line_asserts(lines: Iterable[str]) -> tuple[str, ...]:
    out = []
    for line in lines:
        text = line.strip()
        if not text.startswith("assert ") or text == "assert True":
            continue
        try:
            ast.parse(text)
        except SyntaxError:
            continue  # a statement that spans lines: not a one-line test
        out.append(text)
    return tuple(out)


def load_humaneval(path: Path) -> list[AnswerKey]:
    """Keys of HumanEval's ``humaneval-python.jsonl``."""
    keys = []
    for row in _jsonl(path):
        prompt, body, test = str(row["prompt"]), str(row["canonical_solution"]), str(row["test"])
        names = _DEF.findall(prompt)
        if not names:
            raise ValueError(f"{row.get('task_id')}: no function definition in the prompt")
        entry = names[-1]
        check = _CHECK.search(test)
        lines = test[check.end():].splitlines() if check else test.splitlines()
        asserts = _one_line_asserts(lines)
        if check and check.group(1) != entry:
            asserts = tuple(re.sub(rf"\b{check.group(1)}\b", entry, a) for a in asserts)
        problem = CodeProblem("humaneval", entry, prompt + body, header=prompt, asserts=asserts)
        question = normalize_question(prompt)
        difficulty = _size_difficulty(-0.6, body, "humaneval", question)
        keys.append(_key(question, problem, difficulty, [prompt]))
    return keys


def load_mbpp(path: Path) -> list[AnswerKey]:
    """Keys of MBPP's ``mbpp_test.jsonl``."""
    keys = []
    for row in _jsonl(path):
        description = str(row["prompt"])
        code = str(row["code"]).replace("\r\n", "\n")
        asserts = _one_line_asserts(str(t) for t in row["test"])
        defined = _DEF.findall(code)
        called = [n for a in asserts for n in _CALLED.findall(a)]
        entry = next((n for n in called if n in defined), defined[-1] if defined else None)
        if entry is None:
            raise ValueError(f"task {row.get('task_id')}: no function definition in the code")
        problem = CodeProblem("mbpp", entry, code.rstrip() + "\n", asserts=asserts)
        full = "\n".join([description, *asserts])
        question = normalize_question(full)
        difficulty = _size_difficulty(-0.5, code, "mbpp", question)
        keys.append(_key(question, problem, difficulty, [full, description]))
    return keys


def _pairs(tests: object) -> list[tuple[str, str]]:
    if not isinstance(tests, Mapping):
        return []
    inputs, outputs = tests.get("input") or [], tests.get("output") or []
    return [(str(i), str(o)) for i, o in zip(inputs, outputs, strict=False)]


def _time_limit(value: object) -> float:
    if isinstance(value, Mapping):
        seconds = float(value.get("seconds") or 0) + float(value.get("nanos") or 0) / 1e9
        return seconds or 2.0
    return float(value) if isinstance(value, int | float) and value > 0 else 2.0


def load_code_contests(path: Path) -> list[AnswerKey]:
    """Keys of a CodeContests JSONL file (problems without a Python 3 solution left out)."""
    keys = []
    for row in _jsonl(path):
        description = str(row["description"])
        solutions = row.get("solutions") or {}
        pairs = zip(solutions.get("language") or [], solutions.get("solution") or [],
                    strict=False)
        reference = next((str(s) for lang, s in pairs if lang in _PYTHON3), None)
        if reference is None:
            continue
        io_tests = [*_pairs(row.get("public_tests")), *_pairs(row.get("private_tests")),
                    *_pairs(row.get("generated_tests"))]
        problem = CodeProblem("code-contests", None, reference.replace("\r\n", "\n"),
                              io_tests=tuple(io_tests),
                              time_limit_s=_time_limit(row.get("time_limit")))
        question = normalize_question(description)
        rating = row.get("cf_rating")
        if isinstance(rating, int | float) and rating > 0:
            difficulty = 1.0 + (float(rating) - 1500) / 400 + 0.3 * normal_difficulty(question)
        else:
            difficulty = 1.5 + 0.8 * normal_difficulty("code-contests", question)
        keys.append(_key(question, problem, difficulty, [description]))
    return keys
