"""Reconciliation: PostgreSQL is the source of truth, the broker only a hint.

An evaluation that has made no progress (no new layer output, no new answer) for ``stale_s``
seconds gets each unanswered question's next step (a layer of a turn) sent again, from its
last finished one.
A message lost with a broker restart, or a task whose retries ran out silently, is found this
way. Sending again is harmless: ``run_layer`` skips a finished layer, and the calls of a
half-done one are cache hits.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import text

from models.db import session_scope
from scheduler.evaluations import RUN_LAYER
from worker.celery_app import LAYERS_QUEUE, app

log = logging.getLogger(__name__)

_last_sent: dict[int, float] = {}


def redispatch_stalled(database_url: str, *, evaluation_ids: list[int], stale_s: float) -> int:
    """Re-send the next layer of every unanswered question of stalled evaluations; returns
    how many tasks were sent."""
    if not evaluation_ids:
        return 0
    with session_scope(database_url) as session:
        stalled = [int(r[0]) for r in session.execute(text(
            "SELECT e.id FROM evaluations e WHERE e.id = ANY(:ids) AND e.status = 'running' "
            "AND greatest(e.created_at, "
            "  (SELECT max(created_at) FROM layer_outputs WHERE evaluation_id = e.id), "
            "  (SELECT max(created_at) FROM answers WHERE evaluation_id = e.id)) "
            "< now() - make_interval(secs => :s)"), {"ids": evaluation_ids, "s": stale_s})]
    sent = 0
    now = time.monotonic()
    for evaluation_id in stalled:
        if now - _last_sent.get(evaluation_id, -1e9) < stale_s:
            continue  # sent recently; give that a chance first
        _last_sent[evaluation_id] = now
        with session_scope(database_url) as session:
            # Steps run over every turn of a question (worker/evaluation_steps.py): a question
            # of T turns on an L-layer architecture has steps 0 .. T*L - 1.
            pending = session.execute(text(
                "SELECT q.qid, coalesce(max(l.layer_index) + 1, 0), "
                "  jsonb_array_length(e.architecture->'layers') * greatest(1, "
                "    (SELECT jsonb_array_length(qs.turns) FROM questions qs WHERE "
                "     qs.benchmark = e.benchmark AND qs.question_id = q.qid)) "
                "FROM evaluations e "
                "CROSS JOIN LATERAL jsonb_array_elements_text(e.question_ids) AS q(qid) "
                "LEFT JOIN layer_outputs l ON l.evaluation_id = e.id AND l.question_id = q.qid "
                "WHERE e.id = :e AND NOT EXISTS (SELECT 1 FROM answers a WHERE "
                "a.evaluation_id = e.id AND a.question_id = q.qid) GROUP BY q.qid, e.id"),
                {"e": evaluation_id}).all()
        for question_id, next_step, steps in pending:
            # After the last step's output only the scoring is missing: rerun the last step,
            # which skips its calls and scores.
            step = min(int(next_step), int(steps) - 1)
            app.send_task(RUN_LAYER, args=[evaluation_id, question_id, step],
                          queue=LAYERS_QUEUE)
            sent += 1
        if pending:
            # Said out loud: each one is work the broker lost (or a dead worker still holds
            # until its visibility timeout), which a user may want to count.
            log.warning("evaluation %s: no progress for %.0f s; sent the next step of its %d "
                        "unanswered question(s) again", evaluation_id, stale_s, len(pending))
    return sent
