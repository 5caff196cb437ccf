"""Reconciliation: work whose messages the broker lost is found in PostgreSQL and sent again,
from each question's last finished layer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest

from benchmarks.registry import load_questions
from models.architecture import architecture_hash, load_architecture
from scheduler.evaluations import summarize
from scheduler.reconcile import redispatch_stalled
from tests.engine import Engine
from tests.services import RunServices

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def test_an_evaluation_whose_messages_were_lost_is_finished_after_redispatch(
    engine: Engine, services: RunServices
) -> None:
    arch, _ = load_architecture(REPO / "examples" / "architectures"
                                / "generate10-rank5-fuse.json")
    questions = load_questions("synth-math", split="test", limit=4)
    with psycopg.connect(services.database_url, autocommit=True) as conn:
        for q in questions:
            conn.execute("INSERT INTO questions (benchmark, question_id, text, answer, turns, "
                         "reference) VALUES ('synth-math', %s, %s, %s, %s, %s) "
                         "ON CONFLICT DO NOTHING",
                         (q.item_id, q.turns[0], str(q.reference.get("answer", "")),
                          json.dumps(list(q.turns)), json.dumps(dict(q.reference))))
        # Queued as `itas run` would, except that no message ever reached the broker.
        row = conn.execute(
            "INSERT INTO evaluations (benchmark, split, architecture, architecture_hash, "
            "question_ids, status, created_at) VALUES ('synth-math', 'test', %s, %s, %s, "
            "'running', now() - interval '1 hour') RETURNING id",
            (json.dumps(arch.model_dump(mode="json")), architecture_hash(arch),
             json.dumps([q.item_id for q in questions]))).fetchone()
        assert row is not None
        evaluation_id = int(row[0])
        # The first question had finished its first layer before the loss.
        conn.execute(
            "INSERT INTO layer_outputs (evaluation_id, question_id, layer_index, state, "
            "created_at) VALUES (%s, %s, 0, %s, now() - interval '1 hour')",
            (evaluation_id, questions[0].item_id, json.dumps({
                "candidates": [{"text": "3 + 4 = 7\nFinal answer: 7", "critique": None}],
                "unit_tests": [], "parse_failures": 0, "failed_calls": 0})))
    sent_fresh = redispatch_stalled(services.database_url, evaluation_ids=[evaluation_id],
                                    stale_s=7200)
    assert sent_fresh == 0  # not stalled by a 2-hour measure: nothing is sent
    sent = redispatch_stalled(services.database_url, evaluation_ids=[evaluation_id], stale_s=60)
    assert sent == 4
    deadline = time.monotonic() + 120
    while summarize(services.database_url, evaluation_id).questions < 4:
        assert time.monotonic() < deadline, "the re-sent work did not finish"
        time.sleep(0.2)
    with psycopg.connect(services.database_url) as conn:
        status = conn.execute("SELECT status FROM evaluations WHERE id = %s",
                              (evaluation_id,)).fetchone()
        layers = conn.execute("SELECT count(*) FROM layer_outputs WHERE evaluation_id = %s",
                              (evaluation_id,)).fetchone()
        redone = conn.execute(
            "SELECT count(*) FROM llm_calls WHERE evaluation_id = %s AND question_id = %s "
            "AND layer_index = 0", (evaluation_id, questions[0].item_id)).fetchone()
    assert status == ("finished",)
    assert layers == (4 * 3,)
    assert redone == (0,)  # resumed after its finished layer, not from the start
    # Sent again right away: within its own stale window nothing more goes out.
    assert redispatch_stalled(services.database_url, evaluation_ids=[evaluation_id],
                              stale_s=60) == 0
