"""Step 3 of a search job: the best distinct architectures on the held-out questions."""

from __future__ import annotations

from collections.abc import Callable

from optuna.trial import TrialState

from benchmarks.registry import load_questions
from models.architecture import architecture_hash, parse_architecture
from scheduler.search_context import SearchContext, queue, queued_before, wait_all
from scheduler.trials import over_job_budget


def final_ranking(ctx: SearchContext, say: Callable[[str], None]) -> None:
    """The best ``final_top_k`` distinct architectures on the held-out questions."""
    completed = [t for t in ctx.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                 if t.user_attrs.get("outcome") == "completed"]
    completed.sort(key=lambda t: -(t.values[0] if t.values else 0.0))
    chosen, seen = [], set()
    for trial in completed:
        digest = architecture_hash(parse_architecture(trial.user_attrs["architecture"])[0])
        if digest not in seen:
            seen.add(digest)
            chosen.append(trial)
        if len(chosen) >= ctx.job.final_top_k:
            break
    held_out = load_questions(ctx.job.benchmark, data=ctx.job.data, split="test",
                              limit=ctx.job.final_questions,
                              search_fraction=ctx.job.search_fraction,
                              options=ctx.job.benchmark_options)
    if ctx.baseline is not None:  # a baseline architecture's answers (scheduler/baselines.py)
        from scheduler.baselines import with_baseline

        held_out = with_baseline(held_out, ctx.baseline)
    existing = queued_before(ctx, "final")
    evaluations: dict[int, int] = {}
    for t in chosen:
        if (t.number, None) in existing:
            evaluations[t.number] = existing[(t.number, None)]
            continue
        # The job's total budget covers the final ranking too: a finalist that would pass it
        # is left out, and said so, rather than paid for.
        reason = over_job_budget(ctx, t.user_attrs["architecture"], len(held_out))
        if reason:
            say(f"final ranking: trial {t.number} left out ({reason})")
            continue
        evaluations[t.number] = queue(ctx, t.user_attrs["architecture"], purpose="final",
                                      questions=held_out, split="test",
                                      trial_number=t.number)
    say(f"final ranking: top {len(chosen)} on {len(held_out)} held-out questions")
    wait_all(ctx, evaluations, dict.fromkeys(evaluations, len(held_out)))
