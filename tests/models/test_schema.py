"""The schema: created on first use by many processes at once, beside Optuna's tables, and
unique where a task's repeated write must change nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import optuna
import psycopg
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url

from models.crud import create_probe, record_probe_result
from models.db import VERSION_TABLE, ensure_schema, session_scope, sqlalchemy_url
from models.tables import LayerOutput, LLMCall
from tests.services import RunServices

OURS = {"search_jobs", "questions", "evaluations", "answers", "layer_outputs", "llm_calls",
        "probes", "probe_results", VERSION_TABLE}


@pytest.fixture
def empty_database(services: RunServices) -> Iterator[str]:
    name = f"itas_schema_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(services.admin_database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(services.admin_database_url).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with psycopg.connect(services.admin_database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _tables(url: str) -> set[str]:
    engine = create_engine(sqlalchemy_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_many_processes_creating_the_schema_at_once_all_succeed(empty_database: str) -> None:
    def create() -> None:
        engine = create_engine(sqlalchemy_url(empty_database))
        try:
            ensure_schema(engine)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(6) as pool:
        for future in [pool.submit(create) for _ in range(6)]:
            future.result()  # any failure (duplicate table, ...) raises here
    assert OURS <= _tables(empty_database)
    create()  # and once more, on an up-to-date schema: nothing to do, no error


def test_a_database_at_an_older_revision_is_upgraded_on_first_use(empty_database: str) -> None:
    from alembic import command
    from alembic.config import Config

    from models.db import _MIGRATIONS

    engine = create_engine(sqlalchemy_url(empty_database))
    try:
        with engine.begin() as conn:  # as a deployment of the first release left it
            config = Config()
            config.set_main_option("script_location", str(_MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
        assert "questions" not in _tables(empty_database)
        ensure_schema(engine)
    finally:
        engine.dispose()
    assert OURS <= _tables(empty_database)


def test_schema_lives_beside_optunas_tables(empty_database: str) -> None:
    storage = optuna.storages.RDBStorage(sqlalchemy_url(empty_database))
    study = optuna.create_study(storage=storage, study_name="beside-itas")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    optuna_tables = _tables(empty_database)

    engine = create_engine(sqlalchemy_url(empty_database))
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()
    everything = _tables(empty_database)
    assert OURS <= everything
    assert not OURS & optuna_tables  # no name in common
    # Optuna still reads its study after our migration ran in the same database.
    assert len(optuna.load_study(study_name="beside-itas", storage=storage).trials) == 2
    storage.engine.dispose()


def test_repeated_writes_of_a_task_change_nothing(database_url: str) -> None:
    probe_id = str(uuid.uuid4())
    with session_scope(database_url) as session:
        create_probe(session, probe_id=probe_id, delay_s=0)
    with session_scope(database_url) as session:
        assert record_probe_result(session, probe_id=probe_id, worker="a") is True
    with session_scope(database_url) as session:
        assert record_probe_result(session, probe_id=probe_id, worker="b") is False

    call = {"request_hash": "h" * 64, "endpoint": "sim", "llm_name": "sim-llm", "tokens_in": 3}
    with session_scope(database_url) as session:
        for _ in range(3):  # a use without evaluation context: NULLs must still collide
            session.execute(insert(LLMCall).values(**call).on_conflict_do_nothing())
        count = session.execute(
            text("SELECT count(*) FROM llm_calls WHERE request_hash = :h"), {"h": "h" * 64}
        ).scalar_one()
    assert count == 1


def test_layer_output_is_unique_per_evaluation_question_layer(database_url: str) -> None:
    with session_scope(database_url) as session:
        eval_id = session.execute(text(
            "INSERT INTO evaluations (benchmark, split, architecture, architecture_hash, "
            "question_ids, status) VALUES ('synth-math', 'search', '{}', 'x', '[]', 'queued') "
            "RETURNING id")).scalar_one()
        row = {"evaluation_id": eval_id, "question_id": "q1", "layer_index": 0,
               "state": {"candidates": ["a"]}}
        first = session.execute(insert(LayerOutput).values(**row).on_conflict_do_nothing()
                                .returning(LayerOutput.id)).all()
        second = session.execute(insert(LayerOutput).values(
            **{**row, "state": {"candidates": ["b"]}}).on_conflict_do_nothing()
            .returning(LayerOutput.id)).all()
        assert (len(first), len(second)) == (1, 0)
        kept = session.execute(text(
            "SELECT state FROM layer_outputs WHERE evaluation_id = :e"), {"e": eval_id}).all()
    assert [r[0] for r in kept] == [{"candidates": ["a"]}]
