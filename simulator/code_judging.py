"""Every role for a code problem: write it, write its tests, and judge candidates' code.

A candidate's *value* is which program it is (:func:`code_value`): ``reference`` when its code
(the last fenced block, else the whole reply) is the reference once normalised
(simulator/code_problem.py), a mutation's label (``off_by_one:0``, ...) when it is one of the
reference's mutations, ``foreign:<hash>`` for code the simulator did not write, None for an
empty reply. The judging roles of simulator/judging.py then work unchanged on these values:
with insight the judge sees whether a value is the reference; without it, it follows the hints
of critiques, else flips a coin. Foreign code has unknown quality: a coin, whatever the
judge's skill, counted in ``judged_foreign`` (/health) as foreign open answers are.

Roles (simulator/intent.py infers them; for a code problem "write tests" needs tests to be the
object of the request, "write 5 unit tests", so that "write a program that passes the tests"
asks for code):

* generate: :func:`simulator.code_writing.solution_reply`;
* write tests: executable ones when the prompt asks for asserts or input/output blocks
  (simulator/code_writing.py), else Archon's sentence form (qualitative tests);
* apply tests: per candidate and test, a candidate perceived right passes, one perceived wrong
  fails each test with probability 0.6 (at least one);
* critique: a candidate perceived wrong is said to be wrong, with the kind of its mistake when
  the judge has insight and the code is one of the simulator's mutations;
* rank / verify / reasoning: as for other kinds, on the perceived values;
* fuse: the code of the most common value perceived right, in a fenced block; if none is, the
  fuser writes its own solution.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from simulator.answer_keys import AnswerKey
from simulator.candidates import QUESTION_MARK
from simulator.code_keys import REFERENCE
from simulator.code_problem import CodeProblem, code_block, fenced, normalise_code
from simulator.code_writing import code_sampler, solution_reply, tests_reply, written_value
from simulator.fleet import LLMSpec
from simulator.intent import Role
from simulator.judging import Judge
from simulator.mutations import mutations
from simulator.reading import Reading
from simulator.skill import Sampler, draw, insight
from simulator.writing import test_results

__all__ = ["FOREIGN", "CodeJudge", "code_reply", "code_value"]

FOREIGN = "foreign:"
_TESTS_ASKED = re.compile(
    r"\b(?:write|generate|create|produce|propose|list|draft|give|provide)\b(?:[ \t]+(?:me|us))?"
    r"(?:[ \t]+exactly)?(?:[ \t]+(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|n"
    r"|some|several|a few|a set of|a list of|the following))?(?:[ \t]+[\w-]+){0,2}?"
    r"[ \t]+(?:unit[ \t]+)?tests?\b", re.IGNORECASE)
_EXECUTABLE = re.compile(r"\bassert\b|\bexecutable\b|\brunnable\b|standard input|\bstdin\b"
                         r"|\binput\W{0,3}:|expected output", re.IGNORECASE)
_FLAWS = {
    "off_by_one": "A loop bound or a comparison is off by one, so the result is wrong at the "
                  "boundary.",
    "wrong_branch": "A condition is inverted, so it takes the wrong branch and returns the "
                    "wrong result.",
    "syntax_error": "It has a syntax error (a missing colon or an unmatched bracket), so it "
                    "does not run at all: wrong as written.",
    "infinite_loop": "It starts with `while True: pass`, so it never returns: wrong, it "
                     "would time out.",
}


@lru_cache(maxsize=4096)
def _known(reference: str, entry: str | None, header: str) -> dict[str, str]:
    """Normalised program -> value, for the reference and its mutations, whole and (for
    HumanEval) without the prompt's part, as a reply that gives only the body has it."""
    head = normalise_code(header)
    known: dict[str, str] = {}
    for value, source in [(REFERENCE, reference),
                          *((m.label, m.source) for m in mutations(reference, entry))]:
        norm = normalise_code(source)
        known.setdefault(norm, value)
        if head and norm.startswith(head):
            known.setdefault(norm[len(head):].strip("\n"), value)
    return known


def code_value(problem: CodeProblem, text: str) -> str | None:
    """Which program ``text`` holds (see the module docstring)."""
    norm = normalise_code(code_block(text))
    if not norm:
        return None
    found = _known(problem.reference, problem.entry_point, problem.header).get(norm)
    return found or f"{FOREIGN}{int(draw('code', norm) * 2**32):08x}"


class CodeJudge(Judge):
    """A judging call on a code problem's candidates (see the module docstring)."""

    def __init__(self, llm: LLMSpec, reading: Reading, key: AnswerKey, sampler: Sampler) -> None:
        assert key.code is not None
        self.problem = key.code
        super().__init__(llm, reading, key, sampler)
        self.foreign = sum(1 for v in self.values if v is not None and v.startswith(FOREIGN))

    def _read_values(self, candidates: tuple[str, ...]) -> list[str | None]:
        # The candidates as written: where the prompt quoted the question inside them (a
        # HumanEval candidate repeats its signature and docstring), it was masked.
        self.texts = self.reading.code_candidates or tuple(
            c.replace(QUESTION_MARK.strip(), self.problem.header) for c in candidates)
        return [code_value(self.problem, c) for c in self.texts]

    def perceive(self, value: str | None) -> bool:
        if value is not None and value.startswith(FOREIGN) and value not in self._seen:
            self._seen[value] = self.sampler.chance(0.5, "coin", value)
        return super().perceive(value)

    def _said(self, value: str | None) -> str:
        return "its implementation"

    def critique(self) -> str:
        blocks = []
        for number, value in enumerate(self.values, start=1):
            if value is None:
                strengths, weaknesses = "It restates the problem.", "It gives no code."
                overall = "likely incorrect"
            elif self.perceive(value):
                strengths = ("The code follows the problem statement and handles the cases it "
                             "describes; the logic is correct.")
                weaknesses = "A comment or two would make it easier to follow."
                overall = "likely correct"
            else:
                strengths = "The overall approach suits the problem."
                kind = value.split(":", 1)[0]
                sees = self.sampler.chance(self.insight, "flaw", value)
                weaknesses = _FLAWS[kind] if sees and kind in _FLAWS else (
                    "Some case the problem describes is mishandled, so the output is wrong.")
                overall = "likely incorrect"
            blocks.append(self._critique_block(number, strengths, weaknesses, overall))
        return "\n\n".join(blocks)

    def fuse_code(self, own: str) -> str:
        """The code of the most common value believed right, else the fuser's own ``own``."""
        believed = [v for v in self.values if v is not None and self.perceive(v)]
        if not believed:
            return own
        counts = Counter(believed)
        top = max(counts.values())
        tied = sorted(v for v, c in counts.items() if c == top)
        value = tied[int(self.sampler.uniform("fuse-tie") * len(tied))]
        candidate = self.texts[self.values.index(value)]
        return ("Taking the candidates together, this version is the one that holds up:\n\n"
                + fenced(code_block(candidate)))

    def apply_code_tests(self) -> str:
        count = _listed_tests(self.reading)
        blocks = []
        for number, value in enumerate(self.values, start=1):
            if self.perceive(value):
                results = [True] * count
            else:
                results = [not self.sampler.chance(0.6, "fails", number, i)
                           for i in range(count)]
                if all(results):
                    results[int(self.sampler.uniform("must-fail", number) * count)] = False
            body = test_results(results, self.reading.asks)
            blocks.append(body if len(self.values) == 1 else f"{self._name(number)}\n{body}")
        return "\n\n".join(blocks)


def _listed_tests(reading: Reading) -> int:
    if reading.unit_tests:
        return len(reading.unit_tests)
    text = reading.instructions
    asserts = len(re.findall(r"^\s*(?:[-*]\s*|\d+[.)]\s*)?assert\b", text, re.MULTILINE))
    inputs = len(re.findall(r"^\s*(?:\*\*)?input(?:\*\*)?\s*:", text, re.MULTILINE | re.I))
    return max(asserts, inputs, 1)


def code_reply(llm: LLMSpec, reading: Reading, key: AnswerKey, sampler: Sampler, *, seed: int,
               temperature: float) -> tuple[str, int]:
    """The reply to a request on a code problem, and how many foreign programs it judged."""
    assert key.code is not None
    problem = key.code
    role = reading.role
    if role is Role.WRITE_TESTS and not _TESTS_ASKED.search(reading.instructions):
        role = Role.GENERATE  # "write a program that passes the tests" asks for code
    if role is Role.GENERATE:
        own = code_sampler(llm, key, seed, temperature)
        return solution_reply(problem, written_value(llm, key, own, temperature), own), 0
    if role is Role.WRITE_TESTS and _EXECUTABLE.search(reading.instructions):
        count = min(max(reading.test_count or 5, 1), 20)
        return tests_reply(problem, count, insight(llm, key.difficulty), sampler), 0
    judging = CodeJudge(llm, reading, key, sampler)
    if role is Role.WRITE_TESTS:
        text = judging.write_tests()
    elif role is Role.CRITIQUE:
        text = judging.critique()
    elif role is Role.RANK:
        text = judging.rank()
    elif role is Role.FUSE:
        fallback = solution_reply(problem, written_value(llm, key, sampler, temperature),
                                  sampler)
        text = judging.fuse_code(fallback)
    elif role is Role.VERIFY:
        text = judging.verify()
    elif role is Role.REASON:
        text = judging.reason()
    else:
        text = judging.apply_code_tests()
    return text, judging.foreign
