"""A code benchmark's figures of one evaluation, read from ``answers`` and ``llm_calls``
(``bench/real_llm.py --code``): did a real model's replies hold code the benchmark's extractor
could read, and did that code pass?

Per evaluation (:class:`CodeFigures`):

- ``questions``: answers rows; ``replies``: those with a final text (status ``ok``; a
  ``no_answer`` one got every reply empty or truncated, ``failed`` ones are counted apart);
- ``extracted``: answers whose ``final_answer`` (the extractor's code) is not null; of those,
  ``fenced`` came from a complete fenced block and ``whole_reply`` are the whole reply taken
  because it has none (benchmarks/code/extract.py's fallback: prose around code then fails
  to run, which is what the scores show);
- ``passed``: score 1 (every run passed); ``unscored``: score null (a sandbox that refused,
  a failed question);
- ``truncated``: the generator's replies cut at max_tokens (``llm_calls`` status
  ``truncated``), re-asks included;
- ``samples``: every answer's question, status, score, the scorer's note and the raw final
  reply, so the replies can be read after the stack (and its database) is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from benchmarks.code.extract import drop_reasoning, fenced_blocks


@dataclass
class CodeFigures:
    questions: int = 0
    replies: int = 0
    extracted: int = 0
    fenced: int = 0
    whole_reply: int = 0
    passed: int = 0
    unscored: int = 0
    failed_questions: int = 0
    truncated: int = 0
    generator_calls: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)


def read_code_figures(database_url: str, evaluation_id: int) -> CodeFigures:
    """The code figures of one evaluation (see the module docstring)."""
    figures = CodeFigures()
    with psycopg.connect(database_url) as conn:
        answers = conn.execute(
            "SELECT question_id, status, final_answer, final_text, score, score_note "
            "FROM answers WHERE evaluation_id = %s ORDER BY id", (evaluation_id,)).fetchall()
        calls = conn.execute(
            "SELECT status FROM llm_calls WHERE evaluation_id = %s AND role = 'generate'",
            (evaluation_id,)).fetchall()
    for question_id, status, final_answer, final_text, score, note in answers:
        figures.questions += 1
        figures.replies += final_text is not None
        figures.failed_questions += status == "failed"
        figures.passed += score == 1.0
        figures.unscored += score is None
        source = "none"
        if final_answer is not None:
            figures.extracted += 1
            # The same test as the extractor's: a complete block with code in it.
            blocks = [b for b in fenced_blocks(drop_reasoning(final_text or ""))
                      if b.code.strip()]
            source = "fenced" if blocks else "whole reply"
            figures.fenced += bool(blocks)
            figures.whole_reply += not blocks
        figures.samples.append({"question_id": question_id, "status": status, "score": score,
                                "code_from": source, "note": note, "reply": final_text})
    for (status,) in calls:
        figures.generator_calls += 1
        figures.truncated += status == "truncated"
    return figures


def print_code(benchmark: str, wall_s: float, c: CodeFigures) -> None:
    """One line per run, as :func:`print_codes` prints them together."""
    print(f"   {benchmark:<15}{c.replies:>4}/{c.questions:<4}"
          f"{_share(c.extracted, c.questions):>14}{c.fenced:>8}{c.whole_reply:>7}"
          f"{_share(c.passed, c.questions):>14}{c.unscored:>9}{c.failed_questions:>8}"
          f"{f'{c.truncated}/{c.generator_calls}':>7}{wall_s:>8.0f}")


def print_codes(runs: list[tuple[str, float, CodeFigures]]) -> None:
    """The code runs' table: (benchmark, wall seconds, figures) each, and a legend."""
    if not runs:
        return
    print(f"\n== code benchmarks\n   {'benchmark':<15}{'replies':<9}{'code read':>14}"
          f"{'fenced':>8}{'whole':>7}{'passed':>14}{'unscored':>9}{'failed':>8}{'trunc':>7}"
          f"{'wall s':>8}")
    for benchmark, wall_s, figures in runs:
        print_code(benchmark, wall_s, figures)
    print("   replies: answers with a final text / questions; code read: final_answer not "
          "null (fenced: from a complete fenced block; whole: no block, the whole reply "
          "taken); passed: score 1; unscored: no score; failed: failed questions; trunc: "
          "generator replies cut at max_tokens / generator calls")
    for benchmark, _, figures in runs:
        for sample in figures.samples:
            if sample["score"] != 1.0:
                print(f"   {benchmark} {sample['question_id']}: {sample['code_from']}; "
                      f"{str(sample['note'] or sample['status'])[:150]}")


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "-"
