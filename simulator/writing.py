"""Reply formats: the text of a reply, in the form the prompt asked for (simulator/intent.py).

When a prompt names no form, the simulator picks one of the forms real LLMs commonly write, so
that a parser which accepts only one of them is found out (simulator/README.md lists them).
"""

from __future__ import annotations

from collections.abc import Sequence

from simulator.intent import Asks
from simulator.skill import Sampler
from simulator.values import Kind

__all__ = [
    "final_answer",
    "ranking",
    "test_list",
    "test_results",
    "verdict",
]

# The common ways of giving a final answer, per kind, for prompts that name none.
_DEFAULT_FORMS: dict[Kind, tuple[str, ...]] = {
    Kind.NUMBER: ("answer_line", "answer_is", "bold"),
    Kind.CHOICE: ("answer_is", "answer_line"),
    Kind.LATEX: ("boxed",),
    Kind.TEXT: ("answer_is", "answer_line"),
}


def final_answer(kind: Kind, shown: str, body: str, asks: Asks, sampler: Sampler) -> str:
    """``body`` (the reasoning) followed by the final answer ``shown`` in the asked form."""
    form = asks.answer
    if form is None or (form == "letter" and kind is not Kind.CHOICE):
        forms = _DEFAULT_FORMS.get(kind, ("answer_is",))
        form = forms[int(sampler.uniform("form") * len(forms))] if form is None else "short"
    value = f"({shown})" if kind is Kind.CHOICE and form in ("answer_is",) else shown
    math = f"${shown}$" if kind is Kind.LATEX else shown
    if form in ("letter", "short"):
        return shown
    body = body.rstrip()
    sep = "\n\n" if body else ""
    if form == "boxed":
        return f"{body}{sep}The final answer is $\\boxed{{{shown}}}$."
    if form == "hashes":
        return f"{body}{sep}#### {shown}"
    if form == "answer_line":
        return f"{body}{sep}Answer: {math}"
    if form == "bold":
        return f"{body}{sep}**Final answer:** {shown}"
    return f"{body}{sep}The answer is {math if kind is Kind.LATEX else value}."


def ranking(order: Sequence[int], asks: Asks, reason: str) -> str:
    """A ranking ``[2] > [1] > [3]`` (best first) with a short explanation, as asked."""
    ids = [str(i) if asks.ranking_bare else f"[{i}]" for i in order]
    line = asks.ranking_prefix + " > ".join(ids)
    return f"{line}\n{reason}" if asks.ranking_first else f"{reason}\n\n{line}"


def verdict(good: bool, asks: Asks, reasoning: str) -> str:
    """Reasoning, then the verdict in the asked form (``Verdict: correct`` by default)."""
    if asks.verdict == "brackets":
        word = "[Correct]" if good else "[Incorrect]"
    elif asks.verdict == "yes_no":
        word = "Yes" if good else "No"
    elif asks.verdict == "true_false":
        word = "True" if good else "False"
    else:
        word = f"Verdict: {'correct' if good else 'incorrect'}"
    return f"{reasoning}\n\n{word}"


def test_list(tests: Sequence[str], asks: Asks) -> str:
    """Unit tests as a numbered list (default), bullets, or a Python list of strings."""
    if asks.tests == "python_list":
        return "[" + ", ".join(repr(t) for t in tests) + "]"
    if asks.tests == "bullets":
        return "\n".join(f"- {t}" for t in tests)
    return "\n".join(f"{i}. {t}" for i, t in enumerate(tests, start=1))


def test_results(results: Sequence[bool], asks: Asks) -> str:
    """One line per test, in order: ``Test 1: pass`` or, as Archon asks, ``Unit Test #1:
    [Passed]``."""
    if asks.results == "archon":
        lines = [f"Unit Test #{i}: {'[Passed]' if ok else '[Failed]'}"
                 for i, ok in enumerate(results, start=1)]
    else:
        lines = [f"Test {i}: {'pass' if ok else 'fail'}" for i, ok in enumerate(results, start=1)]
    return "\n".join(lines)
