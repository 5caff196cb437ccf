"""Per-role parse figures of an evaluation, read from the ``llm_calls`` table (bench/real_llm.py).

A row of ``llm_calls`` is one reply used by a technique. With the columns ``role`` (generate,
critique, rank, fuse, verify, unit_test_generate, unit_test_evaluate) and ``attempt`` (0 for
the first ask, 1.. for re-asks after an unparseable reply), per role:

- asks: rows with attempt 0; parsed at the first attempt: those with status ``ok``;
- parsed after re-asks: every ``ok`` row (a technique stops re-asking once a reply parses, so
  each ask has at most one), over the asks;
- ``parse_failure``, ``truncated`` (finish_reason length) and ``error`` rows are counted apart.

An itas without ``role`` has its role read from the evaluation's architecture (the component
type of the row's layer; a layer of several types is "mixed"); without ``attempt``, every row is a
first ask. Either is said in the output rather than guessed silently.

A code benchmark's run also gets :class:`~bench.code_report.CodeFigures` (``--code``): replies,
code read, passed, truncations.

A judged benchmark's judge (role ``judge``, worker/judging.py) gets figures of its own
(:class:`JudgeFigures`, ``bench/real_llm.py --judged``): its calls counted as above, plus what
the answers kept (``answers.judgment``): the verdicts, those left unread (out of the score, never
a 0), and where a preference asked with log-probabilities (AlpacaEval) was read from: the first
token's log-probabilities, or the label written (the verdict's note says so).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from bench.code_report import CodeFigures

#: Archon component type -> the role its calls have.
ROLE_OF_TYPE = {"generator": "generate", "critic": "critique", "ranker": "rank",
                "fuser": "fuse", "verifier": "verify", "unit_test_generator": "unit_test_generate",
                "unit_test_evaluator": "unit_test_evaluate"}


@dataclass
class RoleCounts:
    asks: int = 0
    first_ok: int = 0
    ok: int = 0
    re_asks: int = 0
    parse_failures: int = 0
    truncated: int = 0
    errors: int = 0

    def add(self, other: RoleCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class RunFigures:
    benchmark: str
    architecture: str
    wall_s: float
    summary: dict[str, Any]
    roles: dict[str, RoleCounts] = field(default_factory=dict)
    tokens_out: int = 0
    generation_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    judge: JudgeFigures | None = None
    #: A code benchmark's replies, code read and passed (bench/code_report.py).
    code: CodeFigures | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def print(self) -> None:
        s = self.summary
        rate = self.tokens_out / self.generation_s if self.generation_s else 0.0
        print(f"   score {s.get('score')} on {s.get('questions')} questions "
              f"({s.get('failed_questions')} failed); wall {self.wall_s:.0f} s; "
              f"{s.get('provider_calls')} provider calls, {self.tokens_out} tokens out at "
              f"{rate:.1f} tokens/s (prompt processing included)")
        if s.get("first_error"):
            print(f"   first error: {str(s['first_error'])[:300]}")
        _table(self.roles)
        if self.judge is not None:
            j, judged = self.judge, s.get("judged") or {}
            print(f"   judged score {judged.get('score')} [{judged.get('ci_low')}, "
                  f"{judged.get('ci_high')}] over {judged.get('n')} questions; verdicts "
                  f"unread {j.unparsed}/{j.verdicts}; questions unjudged "
                  f"{j.unjudged_questions}, failed {j.failed_questions}; judge "
                  f"{j.paid} paid calls, {j.tokens_in} tokens in, {j.tokens_out} out, "
                  f"{j.generation_s:.0f} s ({j.tokens_per_s:.1f} tokens/s out)")
            for note in dict.fromkeys(j.unparsed_notes):
                print(f"   unread: {note}")
        if self.code is not None:
            c = self.code
            print(f"   code read from {c.extracted}/{c.questions} answers ({c.fenced} from a "
                  f"fenced block, {c.whole_reply} the whole reply); passed {c.passed}; "
                  f"unscored {c.unscored}; {c.truncated}/{c.generator_calls} generator "
                  "replies truncated")


def read_figures(database_url: str, summary: dict[str, Any], *, benchmark: str,
                 architecture: str, wall_s: float) -> RunFigures:
    """The figures of the evaluation ``summary["evaluation_id"]`` (from `itas run --json`)."""
    run = RunFigures(benchmark, architecture, wall_s, summary)
    evaluation_id = int(summary["evaluation_id"])
    with psycopg.connect(database_url) as conn:
        columns = {row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'llm_calls' AND table_schema = current_schema()")}
        role = "role" if "role" in columns else "NULL"
        attempt = "attempt" if "attempt" in columns else "0"
        rows = conn.execute(
            f"SELECT {role}, layer_index, {attempt}, status, cache_hit, tokens_out, latency_s "
            "FROM llm_calls WHERE evaluation_id = %s", (evaluation_id,)).fetchall()
        layers = conn.execute("SELECT architecture->'layers' FROM evaluations WHERE id = %s",
                              (evaluation_id,)).fetchone()
    if role == "NULL":
        run.notes.append("llm_calls has no role column: roles read from the layer's "
                         "component type")
    if attempt == "0":
        run.notes.append("llm_calls has no attempt column: every reply counted as a first "
                         "ask (this itas does not re-ask)")
    layer_roles = [_layer_role(layer) for layer in (layers[0] if layers else [])]
    for role_name, layer_index, attempt_no, status, cache_hit, tokens_out, latency_s in rows:
        if role_name is None:
            in_range = layer_index is not None and layer_index < len(layer_roles)
            role_name = layer_roles[layer_index] if in_range else "unknown"
        counts = run.roles.setdefault(str(role_name), RoleCounts())
        first = (attempt_no or 0) == 0
        counts.asks += first
        counts.re_asks += not first
        counts.first_ok += first and status == "ok"
        counts.ok += status == "ok"
        counts.parse_failures += status == "parse_failure"
        counts.truncated += status == "truncated"
        counts.errors += status == "error"
        if not cache_hit and status != "error":
            run.tokens_out += int(tokens_out or 0)
            run.generation_s += float(latency_s or 0.0)
    return run


@dataclass
class JudgeFigures:
    """One evaluation's judge calls and verdicts. ``calls``/``first_ok``/``ok``/``re_asks``/
    ``truncated``/``errors`` count ``llm_calls`` rows as :class:`RoleCounts` does; ``verdicts``
    and ``unparsed`` come from ``answers.judgment`` (a judge call's final reading), as do
    ``from_logprobs``/``from_label`` (verdicts of calls that asked for log-probabilities);
    ``logprob_replies`` counts paid judge replies that carried log-probabilities. Tokens and
    seconds are those of paid judge calls (prompt processing included)."""

    calls: int = 0
    first_ok: int = 0
    ok: int = 0
    re_asks: int = 0
    truncated: int = 0
    errors: int = 0
    paid: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    generation_s: float = 0.0
    logprob_replies: int = 0
    verdicts: int = 0
    unparsed: int = 0
    from_logprobs: int = 0
    from_label: int = 0
    questions: int = 0
    failed_questions: int = 0
    unjudged_questions: int = 0
    unparsed_notes: list[str] = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_out / self.generation_s if self.generation_s else 0.0

    @property
    def all_tokens_per_s(self) -> float:
        """Prompt and output tokens a second: what a judge's long prompts cost in time."""
        return (self.tokens_in + self.tokens_out) / self.generation_s if self.generation_s \
            else 0.0


def read_judge_figures(database_url: str, evaluation_id: int) -> JudgeFigures:
    """The judge's figures of one evaluation (see :class:`JudgeFigures`)."""
    figures = JudgeFigures()
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT attempt, status, cache_hit, tokens_in, tokens_out, latency_s, "
            "response_logprobs FROM llm_calls WHERE evaluation_id = %s AND role = 'judge'",
            (evaluation_id,)).fetchall()
        answers = conn.execute(
            "SELECT status, score, judgment FROM answers WHERE evaluation_id = %s",
            (evaluation_id,)).fetchall()
    logprob_asks = False
    for attempt_no, status, cache_hit, tokens_in, tokens_out, latency_s, logprobs in rows:
        first = (attempt_no or 0) == 0
        figures.calls += first
        figures.re_asks += not first
        figures.first_ok += first and status == "ok"
        figures.ok += status == "ok"
        figures.truncated += status == "truncated"
        figures.errors += status == "error"
        if not cache_hit and status != "error":
            figures.paid += 1
            figures.tokens_in += int(tokens_in or 0)
            figures.tokens_out += int(tokens_out or 0)
            figures.generation_s += float(latency_s or 0.0)
            figures.logprob_replies += bool(logprobs)
        logprob_asks = logprob_asks or logprobs is not None
    for status, score, judgment in answers:
        figures.questions += 1
        figures.failed_questions += status == "failed"
        figures.unjudged_questions += judgment is not None and score is None
        for verdict in (judgment or {}).get("verdicts", []):
            figures.verdicts += 1
            note = str(verdict.get("note") or "")
            if verdict.get("value") is None:
                figures.unparsed += 1
                figures.unparsed_notes.append(note[:160])
            elif logprob_asks and "label written" in note:
                figures.from_label += 1
            elif logprob_asks:
                figures.from_logprobs += 1
    return figures


def print_judges(runs: list[RunFigures]) -> None:
    """One line per judged run: the judge's calls, how they were read, its speed."""
    judged = [r for r in runs if r.judge is not None]
    if not judged:
        return
    print(f"\n== the judge, per benchmark\n   {'benchmark':<14}{'calls':>6}{'1st ask':>13}"
          f"{'after re-asks':>15}{'re-asks':>8}{'unparsed':>9}{'trunc':>6}{'errors':>7}"
          f"{'q failed':>9}{'in/call':>8}{'out/s':>6}{'all/s':>6}{'judge s':>8}{'wall s':>7}"
          "  preference from")
    for run in judged:
        j = run.judge
        assert j is not None
        source = (f"logprobs {j.from_logprobs}, label {j.from_label} "
                  f"({j.logprob_replies}/{j.paid} replies had logprobs)"
                  if j.from_logprobs or j.from_label or j.logprob_replies else "-")
        print(f"   {run.benchmark:<14}{j.calls:>6}{_share(j.first_ok, j.calls):>13}"
              f"{_share(j.ok, j.calls):>15}{j.re_asks:>8}{f'{j.unparsed}/{j.verdicts}':>9}"
              f"{j.truncated:>6}{j.errors:>7}{f'{j.failed_questions}/{j.questions}':>9}"
              f"{j.tokens_in / j.paid if j.paid else 0:>8.0f}{j.tokens_per_s:>6.1f}"
              f"{j.all_tokens_per_s:>6.1f}{j.generation_s:>8.0f}{run.wall_s:>7.0f}  {source}")
    print("   calls: judge calls asked (first asks); 1st ask / after re-asks: of those, read; "
          "unparsed: verdicts left out of the score; trunc: replies cut at max_tokens; "
          "in/call: prompt tokens per paid call; out/s, all/s: output, and prompt + output, "
          "tokens per second of the judge's calls")


def _layer_role(layer: list[dict[str, Any]]) -> str:
    roles = {ROLE_OF_TYPE.get(str(c.get("type")), str(c.get("type"))) for c in layer}
    return roles.pop() if len(roles) == 1 else "mixed"


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "-"


def _table(roles: dict[str, RoleCounts]) -> None:
    print(f"   {'role':<20}{'parsed 1st ask':>18}{'after re-asks':>18}{'re-asks':>9}"
          f"{'unparsed':>10}{'truncated':>11}{'errors':>8}")
    order = list(ROLE_OF_TYPE.values())
    for name in sorted(roles, key=lambda r: order.index(r) if r in order else len(order)):
        c = roles[name]
        print(f"   {name:<20}{_share(c.first_ok, c.asks):>18}{_share(c.ok, c.asks):>18}"
              f"{c.re_asks:>9}{c.parse_failures:>10}{c.truncated:>11}{c.errors:>8}")


def runs_from_json(data: list[dict[str, Any]]) -> list[RunFigures]:
    """The runs a ``--json-out`` file holds (to print its tables again)."""
    runs = []
    for item in data:
        roles = {name: RoleCounts(**counts) for name, counts in item.pop("roles").items()}
        judge = item.pop("judge", None)
        code = item.pop("code", None)
        runs.append(RunFigures(**item, roles=roles,
                               judge=JudgeFigures(**judge) if judge else None,
                               code=CodeFigures(**code) if code else None))
    return runs


def print_roles(runs: list[RunFigures]) -> None:
    """Every run's role counts added up, and the total wall time."""
    total: dict[str, RoleCounts] = {}
    for run in runs:
        for name, counts in run.roles.items():
            total.setdefault(name, RoleCounts()).add(counts)
    wall = sum(r.wall_s for r in runs)
    print(f"\n== all {len(runs)} runs: wall {wall:.0f} s")
    _table(total)
    for note in dict.fromkeys(note for run in runs for note in run.notes):
        print(f"   note: {note}")
