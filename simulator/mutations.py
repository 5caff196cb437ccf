"""Plausibly broken programs: the mistakes a simulated LLM makes when it writes code.

A wrong sample of a code problem is its reference program with one mistake of the kinds real
models make, edited into the text at the place the syntax tree points to (the rest of the
program, comments and layout included, is unchanged):

=================  ==========================================================================
kind               edits (one per mutation; up to 3 sites of each kind, in source order)
=================  ==========================================================================
``off_by_one``     a loop bound ``range(n)`` -> ``range(n - 1)`` (the stop of a 2- or 3-argument
                   range); a comparison ``<`` <-> ``<=``, ``>`` <-> ``>=``; ``+ 1`` <-> ``- 1``;
                   a constant slice bound one more (``s[1:]`` -> ``s[2:]``)
``wrong_branch``   an ``if`` condition (statement, expression or comprehension filter) negated
                   (``if not (...)``); ``==`` <-> ``!=``; every ``return True`` and ``return
                   False`` swapped; for programs, the printed ``YES``/``NO`` swapped
``syntax_error``   the colon of a loop or ``if`` header dropped (else an unmatched ``)``)
``infinite_loop``  ``while True: pass`` as the first statement of the function (of the program)
=================  ==========================================================================

:func:`mutations` is a pure function of the reference program, so every simulated LLM draws its
mistakes from the same list (shared mistakes, as for the other benchmarks) and a judge
recognises a candidate as one of them by comparing normalised code (simulator/code_problem.py).
Mutations that change nothing once normalised are dropped; all but ``syntax_error`` still
parse. Most of them fail the problem's tests (tests/simulator/test_code_writing.py measures it);
one that happens to be equivalent on the tests (``<`` -> ``<=`` where ties never occur) is a
mistake the tests cannot see, as with real models.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

from simulator.code_problem import normalise_code

__all__ = ["KINDS", "Mutation", "mutations"]

#: Mutation kinds, with how readily each is made (logic slips far more than broken syntax).
KINDS: dict[str, float] = {"off_by_one": 6.0, "wrong_branch": 6.0, "syntax_error": 1.0,
                           "infinite_loop": 1.0}
_SITES = 3
_FLIP_OP = {ast.Lt: ("<", "<="), ast.Gt: (">", ">="), ast.LtE: ("<=", "<"),
            ast.GtE: (">=", ">")}
_VERDICT_WORDS = {"YES": "NO", "NO": "YES", "Yes": "No", "No": "Yes"}


@dataclass(frozen=True)
class Mutation:
    """One broken version of a reference program: ``label`` (``kind:i``) and its source."""

    label: str
    kind: str
    source: str


class _Text:
    """The program's text with edits addressed by syntax-tree positions (UTF-8 columns)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode()[:col].decode(errors="ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
                self.offset(node.end_lineno, node.end_col_offset))  # type: ignore[attr-defined]

    def edit(self, start: int, end: int, new: str) -> str:
        return self.source[:start] + new + self.source[end:]


def _off_by_one(text: _Text, tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "range" and node.args):
            stop = node.args[1] if len(node.args) == 3 else node.args[-1]
            _, end = text.span(stop)
            out.append((end, text.edit(end, end, " - 1")))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _FLIP_OP:
            old, new = _FLIP_OP[type(node.ops[0])]
            start, end = text.span(node.left)[1], text.span(node.comparators[0])[0]
            between = text.source[start:end]
            if between.strip() == old:
                out.append((start, text.edit(start, end, between.replace(old, new))))
        elif isinstance(node, ast.Slice):
            for bound in (node.lower, node.upper):
                if isinstance(bound, ast.Constant) and type(bound.value) is int:
                    start, end = text.span(bound)
                    out.append((start, text.edit(start, end, str(bound.value + 1))))
        elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)
              and isinstance(node.right, ast.Constant) and node.right.value == 1):
            start, end = text.span(node.left)[1], text.span(node.right)[0]
            between = text.source[start:end]
            old, new = ("+", "-") if isinstance(node.op, ast.Add) else ("-", "+")
            if between.strip() == old:
                out.append((start, text.edit(start, end, between.replace(old, new))))
    return [source for _, source in sorted(out, key=lambda item: item[0])]


def _wrong_branch(text: _Text, tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        tests = [node.test] if isinstance(node, ast.If | ast.IfExp) else (
            node.ifs if isinstance(node, ast.comprehension) else [])
        for test in tests:
            start, end = text.span(test)
            out.append((start, text.edit(start, end, f"not ({text.source[start:end]})")))
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(
                node.ops[0], ast.Eq | ast.NotEq):
            start, end = text.span(node.left)[1], text.span(node.comparators[0])[0]
            old, new = ("==", "!=") if isinstance(node.ops[0], ast.Eq) else ("!=", "==")
            if text.source[start:end].strip() == old:
                out.append((start, text.edit(start, end,
                                             text.source[start:end].replace(old, new))))
    sites = [source for _, source in sorted(out, key=lambda item: item[0])][: _SITES - 1]
    swaps: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, bool)):
            swaps.append((*text.span(node.value), str(not node.value.value)))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and node.value in _VERDICT_WORDS):
            start, end = text.span(node)
            quote = text.source[start]
            swaps.append((start, end, f"{quote}{_VERDICT_WORDS[node.value]}{quote}"))
    if swaps:
        source = text.source
        for start, end, new in sorted(swaps, reverse=True):
            source = source[:start] + new + source[end:]
        sites.insert(0, source)
    return sites


def _syntax_error(text: _Text, tree: ast.AST) -> str:
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.While | ast.If):
            line = text.lines[node.lineno - 1].rstrip("\r\n")
            code = line.split("#", 1)[0].rstrip()
            if code.endswith(":"):
                start = text.starts[node.lineno - 1] + len(code) - 1
                return text.edit(start, start + 1, "")
    last = text.source.rstrip()
    return last + ")\n"


def _infinite_loop(text: _Text, tree: ast.Module, entry_point: str | None) -> str:
    body: list[ast.stmt] = tree.body
    indent_of = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == entry_point:
            body = node.body
            indent_of = 1
    first = body[0]
    if (len(body) > 1 and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        first = body[1]  # after the docstring
    if not indent_of:
        first = next((n for n in body if not isinstance(n, ast.Import | ast.ImportFrom)), first)
    line = text.lines[first.lineno - 1]
    indent = line[: len(line) - len(line.lstrip())]
    at = text.starts[first.lineno - 1]
    return text.edit(at, at, f"{indent}while True: pass\n")


@lru_cache(maxsize=4096)
def mutations(reference: str, entry_point: str | None) -> tuple[Mutation, ...]:
    """The broken versions of ``reference`` (kinds and order: module docstring)."""
    try:
        tree = ast.parse(reference)
    except SyntaxError:
        return ()
    text = _Text(reference)
    found: dict[str, list[str]] = {
        "off_by_one": _off_by_one(text, tree)[:_SITES],
        "wrong_branch": _wrong_branch(text, tree),
        "syntax_error": [_syntax_error(text, tree)],
        "infinite_loop": [_infinite_loop(text, tree, entry_point)] if tree.body else [],
    }
    seen = {normalise_code(reference)}
    out: list[Mutation] = []
    for kind, sources in found.items():
        for source in sources:
            norm = normalise_code(source)
            if norm in seen or (kind != "syntax_error" and not _parses(source)):
                continue
            seen.add(norm)
            out.append(Mutation(f"{kind}:{len([m for m in out if m.kind == kind])}", kind,
                                source))
    return tuple(out)


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True
