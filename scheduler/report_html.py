"""`itas report --html`: one self-contained HTML file that opens offline.

Plotly's JavaScript is embedded once, in the head, and every figure is written without it, so
the file needs no network (no CDN ``<script src=``) and stays one file. Contents, in order: a
header (job, benchmark, state, trial counts, totals, the LLMs and whether they are simulated),
the best architecture, the leaderboard of trials, the final and power rankings, and Optuna's
plots: optimisation history, Pareto front (for one objective a score-vs-cost scatter drawn here),
parameter importances, intermediate values. A plot that cannot be drawn yet (too few trials)
is replaced by a sentence saying why.
"""

from __future__ import annotations

import html
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import plotly.graph_objects as go  # type: ignore[import-untyped]  # plotly ships no types
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

from scheduler.report_rows import judged_cell
from scheduler.reports import (
    EvaluationRow,
    JobReport,
    TrialRow,
    evaluated_view,
    trial_outcome,
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
.note { color: #666; font-style: italic; } .simulated { color: #a35200; font-weight: bold; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; }
details.params summary { cursor: pointer; color: #555; white-space: nowrap; }
details.params div { white-space: nowrap; }
"""


def write_html(report: JobReport, study: optuna.Study | None, path: Path) -> Path:
    """Write the report to ``path`` (parents created) and return it."""
    status = report.status
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>itas report: {_e(status.name)} ({status.job_id})</title>",
        f"<style>{_STYLE}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>", _header(report), _best(report),
        "<h2>Leaderboard (trials on the search split)</h2>", _leaderboard(report.leaderboard),
        "<h2>Final ranking (held-out test split)</h2>",
        _evaluations(report.final_ranking, "no final ranking yet: it runs after the search"),
        "<h2>Power ranking (each LLM alone)</h2>",
        _evaluations(report.power_ranking, "no power ranking recorded"),
    ]
    for title, figure, note in plots(report, study):
        parts.append(f"<h2>{_e(title)}</h2>")
        if figure is None:
            parts.append(f'<p class="note">{_e(note)}</p>')
        else:
            parts.append(figure.to_html(full_html=False, include_plotlyjs=False))
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _num(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _header(report: JobReport) -> str:
    s, t = report.status, report.status.totals
    counts = ", ".join(f"{n} {outcome}" for outcome, n in s.trials.items())
    planned = f" of {s.trials_planned} planned" if s.trials_planned else ""
    llms = ", ".join(report.llms) or "none called yet"
    simulated = (' <span class="simulated">simulated LLMs (the itas simulator; no real '
                 "model)</span>") if report.simulated else ""
    error = f"<p>error: {_e(s.error)}</p>" if s.error else ""
    judge = (f"<p>of which the benchmark's judge: {t.judge_calls} calls · "
             f"{t.judge_provider_calls} paid · ${t.judge_cost_usd:.4f} · "
             f"{t.unjudged_answers} answer(s) with no readable verdict, left out of the scores"
             "</p>" if t.judge_calls else "")
    unanswered = (f"<p>answers without the architecture's text, scored as an empty reply: "
                  f"{t.no_answer_answers} no_answer · <b>{t.refused_answers} refused</b> by a "
                  "provider (the prompt over the LLM's context window, say)</p>"
                  if t.no_answer_answers or t.refused_answers else "")
    return (
        f"<h1>Search job {_e(s.name)} ({s.job_id})</h1>"
        f"<p>benchmark <b>{_e(s.benchmark)}</b> · state <b>{_e(s.state)}</b> · sampler "
        f"{_e(s.sampler)} ({_e(', '.join(report.directions))}) · study {_e(report.study_name)}"
        f"</p><p>trials: {s.trials_finished} finished{planned} ({_e(counts)})</p>"
        f"<p>LLM calls {t.llm_calls} · cache hits {t.cache_hits} · provider calls "
        f"{t.provider_calls} · tokens {t.tokens_in} in / {t.tokens_out} out · "
        f"${t.cost_usd:.4f}</p>{judge}{unanswered}<p>LLMs: {_e(llms)}{simulated}</p>{error}"
    )


def _best(report: JobReport) -> str:
    best = report.status.best
    if best is None:
        return '<h2>Best architecture</h2><p class="note">no completed trial yet</p>'
    where = "final ranking" if best.source == "final" else "search split"
    body = json.dumps(report.best_architecture, indent=2) if report.best_architecture else ""
    return (f"<h2>Best architecture</h2><p><b>{_e(best.architecture_name)}</b> (trial "
            f"{_s(best.trial_number)}), score {_num(best.score)} on the {where}</p>"
            f"<details><summary>Archon JSON (`itas best`)</summary><pre>{_e(body)}</pre>"
            "</details>")


class _Html(str):
    """A cell that is already HTML (its text escaped where it was built)."""


def _table(header: Sequence[str], rows: list[list[str]], text_columns: set[int]) -> str:
    head = "".join(f'<th class="text">{_e(h)}</th>' if i in text_columns else f"<th>{_e(h)}</th>"
                   for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(
            (f'<td class="text">{_cell(c)}</td>' if i in text_columns else f"<td>{_cell(c)}</td>")
            for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _leaderboard(rows: list[TrialRow]) -> str:
    if not rows:
        return '<p class="note">no trial yet</p>'
    judged = any(r.judged_score is not None for r in rows)
    header = ["trial", "architecture", "outcome", "score",
              *(["judged [95% CI]"] if judged else []), "est. $/question", "$ spent",
              "LLM calls", "cache hits", "questions", "parameters", "note"]
    return _table(header, [
        [str(r.number), r.architecture_name, r.outcome, _num(r.score),
         *([judged_cell(r)] if judged else []),
         _num(r.cost_per_question_usd, 6), _num(r.cost_usd, 4), _s(r.llm_calls),
         _s(r.cache_hits), _s(r.questions),
         _params(r.params), r.note or ""]
        for r in rows], {1, 2, 9 + judged, 10 + judged})


def _params(params: dict[str, Any]) -> _Html:
    """Folded: the architecture's name already says what it is, and a dozen parameters in
    one cell made every row of the leaderboard several lines tall."""
    if not params:
        return _Html("")
    lines = "".join(f"<div>{_e(f'{k}={v}')}</div>" for k, v in sorted(params.items()))
    return _Html(f'<details class="params"><summary>{len(params)} parameters</summary>'
                 f"{lines}</details>")


def _cell(value: str) -> str:
    return value if isinstance(value, _Html) else _e(value)


def _evaluations(rows: list[EvaluationRow], empty: str) -> str:
    if not rows:
        return f'<p class="note">{_e(empty)}</p>'
    judged = any(e.judged_score is not None for e in rows)
    header = ["rank", "architecture", "trial", "status", "score",
              *(["judged [95% CI]"] if judged else []), "answered", "LLM calls", "$"]
    return _table(header, [
        [str(i + 1), e.architecture_name, "" if e.trial_number is None else str(e.trial_number),
         e.status, _num(e.score), *([judged_cell(e)] if judged else []),
         f"{e.answered}/{e.questions}", str(e.llm_calls),
         _num(e.cost_usd, 4)] for i, e in enumerate(rows)], {1, 3})


def plots(report: JobReport, study: optuna.Study | None
          ) -> list[tuple[str, go.Figure | None, str]]:
    """(title, figure or None, why not drawn) per plot, in the page's order. Drawn from the
    study's evaluated trials only (:func:`scheduler.reports.evaluated_view`): a trial pruner
    wilcoxon stopped is drawn as pruned, not as a score."""
    study = None if study is None else evaluated_view(study)
    trials = [] if study is None else study.get_trials(deepcopy=False)
    completed = [t for t in trials if trial_outcome(t) == "completed"]
    two = len(report.directions) == 2
    plots: list[tuple[str, go.Figure | None, str]] = []
    if study is None or not any(t.values for t in trials):
        plots.append(("Optimization history", None, "no evaluated trial yet"))
    else:
        # One objective: no target, so Optuna knows score is maximised and draws the best-
        # so-far line; two: the score alone (Optuna draws no best line for a target).
        plots.append(("Optimization history", optuna.visualization.plot_optimization_history(
            study, target=(lambda t: float(t.values[0])) if two else None,
            target_name="score"), ""))
    if study is not None and two and any(t.values for t in trials):
        plots.append(("Pareto front (score vs estimated cost per question)",
                      optuna.visualization.plot_pareto_front(
                          study, target_names=["score", "$ per question"]), ""))
    else:
        plots.append(("Score vs cost (Pareto front highlighted)",
                      _score_vs_cost(report.leaderboard), ""))
    plots.append(_importances(study, len(completed), two))
    if study is not None and any(t.intermediate_values for t in trials):
        plots.append(("Intermediate values (score at each rung)",
                      optuna.visualization.plot_intermediate_values(study), ""))
    return plots


def _importances(study: optuna.Study | None, completed: int, two: bool
                 ) -> tuple[str, go.Figure | None, str]:
    title = "Parameter importances"
    if study is None or completed < 2:
        return title, None, f"needs at least 2 completed trials ({completed} so far)"
    try:
        if not two:
            return title, optuna.visualization.plot_param_importances(
                study, target_name="score"), ""
        with warnings.catch_warnings():
            # With a target Optuna's evaluator looks for what makes it *low*, and says so;
            # the score is negated for that reason, so the warning has been heeded.
            warnings.simplefilter("ignore", UserWarning)
            return title, optuna.visualization.plot_param_importances(
                study, target=lambda t: -float(t.values[0]), target_name="score"), ""
    except Exception as exc:  # whatever the evaluator trips on: say so, draw the rest
        return title, None, f"parameter importances unavailable: {exc}"


def _score_vs_cost(rows: list[TrialRow]) -> go.Figure:
    """Completed trials by score and estimated dollars per question, the non-dominated ones
    (no other trial scores higher for less) joined as the Pareto front."""
    points = [r for r in rows if r.outcome == "completed" and r.score is not None
              and r.cost_per_question_usd is not None]
    front = sorted((r for r in points if not any(_dominates(o, r) for o in points)),
                   key=lambda r: r.cost_per_question_usd or 0.0)
    figure = go.Figure()
    for name, chosen, mode in (("trials", points, "markers"),
                               ("Pareto front", front, "lines+markers")):
        figure.add_trace(go.Scatter(
            x=[r.cost_per_question_usd for r in chosen], y=[r.score for r in chosen],
            mode=mode, name=name, text=[f"trial {r.number}: {r.architecture_name}"
                                        for r in chosen],
            hovertemplate="%{text}<br>score %{y:.3f}<br>$%{x:.6f} per question<extra></extra>",
        ))
    figure.update_layout(title="score vs cost (Pareto front highlighted)",
                         xaxis_title="estimated $ per question", yaxis_title="score")
    return figure


def _dominates(a: TrialRow, b: TrialRow) -> bool:
    sa, sb = a.score or 0.0, b.score or 0.0
    ca, cb = a.cost_per_question_usd or 0.0, b.cost_per_question_usd or 0.0
    return sa >= sb and ca <= cb and (sa > sb or ca < cb)
