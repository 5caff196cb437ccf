"""Celery tasks. Each task carries ids only and is idempotent: with acks_late, a task whose
worker died runs again, and running it again must change nothing that already happened."""

from __future__ import annotations

import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init

from models.crud import count_delivery, get_probe, record_probe_result
from models.db import dispose_engines, session_scope
from models.errors import (
    ConfigError,
    LayerTimeout,
    RetryableEndpointError,
    ServiceUnavailable,
    SetupError,
)
from models.settings import load_settings, resolve_service_urls
from worker.celery_app import LAYERS_QUEUE, app, soft_time_limit_s

if TYPE_CHECKING:
    from models.tables import Evaluation, Question
    from worker.judging import Judged
    from worker.runtime import Runtime

log = logging.getLogger(__name__)


@worker_process_init.connect
def _fresh_pools(**_: object) -> None:
    # A forked pool process must not share the parent's database connections.
    dispose_engines(close=False)
    from worker.runtime import reset_after_fork

    reset_after_fork()


def _database_url() -> str:
    return resolve_service_urls(load_settings()).database_url


@app.task(name="worker.tasks.probe", bind=True)
def probe(self: Task, probe_id: str) -> bool:
    """A round trip through broker, worker and database.

    Counts the delivery, sleeps the probe's ``delay_s`` (a stand-in for a slow LLM layer), then
    writes the probe's result once. Returns False when the result already existed.
    """
    database_url = _database_url()
    with session_scope(database_url) as session:
        if count_delivery(session, probe_id=probe_id) == 0:
            # The scheduler writes the probe before queueing it; none means a stale message.
            return False
        found = get_probe(session, probe_id=probe_id)
        delay_s = found.delay_s if found else 0.0
    if delay_s > 0:
        time.sleep(delay_s)
    worker = getattr(self.request, "hostname", None) or socket.gethostname()
    with session_scope(database_url) as session:
        return record_probe_result(session, probe_id=probe_id, worker=worker)


class LayerTask(Task):  # type: ignore[misc]  # Celery is untyped
    """Gives a question whose layer failed for good a failed answer (see fail_question):
    no score, the cause in ``answers.error``, and its evaluation then ends ``failed``.

    ``max_retries`` is the ``layer_retries`` setting, read when a retry is decided.

    One exception: a transient error whose *retry* could not be queued (the broker was down
    when Celery sent the retry) is not a failure of the question. It is only logged; the
    message comes back from the broker's unacked set, or reconciliation sends the step again.
    """

    @property
    def max_retries(self) -> int:
        return load_settings().layer_retries

    def on_failure(self, exc: BaseException, task_id: str, args: tuple[Any, ...],
                   kwargs: dict[str, Any], einfo: Any) -> None:
        from worker.evaluation_steps import fail_question

        evaluation_id, question_id = args[0], args[1]
        # A refused key, an unknown model, a key variable unset: every question would fail
        # alike. The evaluation stops with the reason; no answer, so no score, is written.
        if isinstance(exc, SetupError | ConfigError):
            from models.evaluation_stops import stop_evaluation

            stop_evaluation(_database_url(), int(evaluation_id), f"{type(exc).__name__}: {exc}")
            return
        retries = getattr(self.request, "retries", 0) or 0
        if isinstance(exc, TRANSIENT) and retries < (self.max_retries or 0):
            log.warning("evaluation %s question %s: could not queue a retry (%s); left for "
                        "redelivery or reconciliation", evaluation_id, question_id, exc)
            return
        try:
            fail_question(_database_url(), int(evaluation_id), str(question_id),
                          f"{type(exc).__name__}: {exc}")
        except Exception:  # PostgreSQL itself may be what is down: reconciliation sees it
            log.exception("evaluation %s question %s: could not record its failure",
                          evaluation_id, question_id)


#: What a layer task retries with Celery's backoff: an endpoint down past the client's own
#: retries, a service (PostgreSQL, the cache's or the limiter's Redis, the broker) that does
#: not answer (models/service_errors.py maps the libraries' errors to these), and a layer
#: that ran into its soft time limit (stuck behind a dead single-flight leader, say: by the
#: retry its lease has ended; its finished calls are cached).
TRANSIENT = (RetryableEndpointError, ServiceUnavailable, SoftTimeLimitExceeded, LayerTimeout)

#: Celery's retries of a layer (``layer_retries`` of the settings, 12 by default): exponential
#: backoff from 5 s, capped at 5 minutes, with jitter; 12 wait about 35 minutes in all, which
#: outlasts a service restart or a provider's outage of several minutes. Past that the
#: question fails with the cause, and the run stops loudly (its evaluation ends ``failed``)
#: rather than scoring it.

#: Sending to the broker (handing a question on, or queueing a layer's retry) waits for a
#: broker that is down or restarting, with kombu's own retry policy: about 10 minutes, then
#: BrokerUnavailable. Without it Celery drops a retry it cannot send (``Reject``, no requeue).
BROKER_WAIT = {"max_retries": 60, "interval_start": 1, "interval_step": 2, "interval_max": 10}


@app.task(
    name="worker.tasks.run_layer",
    bind=True,
    base=LayerTask,
    # Try the layer again later. Its finished calls are recorded and cached, so a retry pays
    # only for what had not come back.
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    retry_kwargs={"retry": True, "retry_policy": BROKER_WAIT},
)
def run_layer(self: Task, evaluation_id: int, question_id: str, layer_index: int) -> str:
    """Run step ``layer_index`` of an evaluation on one question — layer ``layer_index % L``
    of turn ``layer_index // L`` for an L-layer architecture (see worker/evaluation_steps.py)
    — store its output, and queue the next step (or score the question after the last).

    Idempotent: a finished step is not run again, only handed on, and only if its next step
    has not started (a duplicate delivery must not start a second chain). Service errors
    are mapped to retryable ones at this one boundary (models/service_errors.py).
    """
    from models.service_errors import service_errors_mapped

    with service_errors_mapped():
        return _run_step(evaluation_id, question_id, layer_index)


def _run_step(evaluation_id: int, question_id: str, layer_index: int) -> str:
    from models.architecture import parse_architecture
    from models.evaluation_stops import is_stopped
    from worker import evaluation_steps as steps
    from worker.layer import run_layer_calls
    from worker.llm_calls import CallSite, LLMCaller
    from worker.runtime import runtime
    from worker.techniques.base import LayerState

    rt = runtime()
    evaluation = steps.load_evaluation(rt.database_url, evaluation_id)
    status, states = steps.step_inputs(rt.database_url, evaluation_id, question_id)
    if is_stopped(status):  # stopped by a setup error (the row above is cached)
        return "stopped"
    architecture, _ = parse_architecture(evaluation.architecture)
    question = steps.load_question(rt.database_url, evaluation.benchmark, question_id)
    layers = len(architecture.layers)
    last_step = len(steps.turns_of(question)) * layers - 1
    turn, layer = divmod(layer_index, layers)

    ran = False
    if layer_index not in states:
        ran = True
        conversation = steps.conversation_at(states, question, turn, layers)
        if conversation is None:  # an earlier turn gave no answer: nothing to go on with
            steps.finish_question(rt.database_url, evaluation, question, layer_index - 1,
                                  states, _judged(rt, evaluation, question, states, layers,
                                                  last_step))
            return "scored"
        previous: dict[str, Any] | None = None
        if layer > 0:
            previous = states.get(layer_index - 1)
            if previous is None:
                raise LookupError(f"step {layer_index - 1} of evaluation {evaluation_id} "
                                  f"question {question_id} has no output")
        caller = LLMCaller(registry=rt.registry, cache=rt.cache, database_url=rt.database_url,
                           send=rt.send, site=CallSite(evaluation_id, question_id, layer_index))
        started = time.monotonic()
        state = run_layer_calls(architecture.layers[layer], conversation,
                                LayerState.from_json(previous), call=caller, pool=rt.pool,
                                on_unusable=caller.mark_unusable,
                                is_reward_model=rt.registry.is_reward_model,
                                timeout_s=soft_time_limit_s(rt.settings),
                                prefetch=caller.prefetch,
                                test_runner=_test_runner(evaluation, question))
        stored = state.to_json() | {"elapsed_s": round(time.monotonic() - started, 4)}
        if steps.save_layer(rt.database_url, evaluation_id, question_id, layer_index, stored):
            states = {**states, layer_index: stored}
        else:  # another delivery of this step saved first: go on from what it stored
            _, states = steps.step_inputs(rt.database_url, evaluation_id, question_id)

    if layer_index < last_step:
        if not ran and steps.step_started(rt.database_url, evaluation_id, question_id,
                                          layer_index + 1):
            return "already handed on"
        _hand_on(evaluation_id, question_id, layer_index + 1)
        return "next"
    steps.finish_question(rt.database_url, evaluation, question, last_step, states,
                          _judged(rt, evaluation, question, states, layers, last_step))
    return "scored"


def _test_runner(evaluation: Evaluation, question: Question) -> Any:
    """The question's runner of generated unit tests (worker/test_runs.py) when its benchmark
    is a code benchmark; None otherwise (``itas ask`` has no benchmark)."""
    if evaluation.purpose == "ask":
        return None
    from benchmarks.code.base import CodeBenchmark, is_code
    from benchmarks.registry import get as get_benchmark

    benchmark = get_benchmark(evaluation.benchmark)
    if not is_code(benchmark):
        return None
    from typing import cast

    from worker.test_runs import BenchmarkTestRunner

    return BenchmarkTestRunner(cast(CodeBenchmark, benchmark), question.reference,
                               unsafe=evaluation.unsafe_no_sandbox)


def _judged(rt: Runtime, evaluation: Evaluation, question: Question,
            states: dict[int, dict[str, Any]], layers: int, last_step: int) -> Judged | None:
    """A judged benchmark's verdicts on the question's answers (worker/judging.py), made at
    the step after the last; None for a benchmark scored without a judge, or `itas ask`."""
    if evaluation.benchmark_judge is None or evaluation.purpose == "ask":
        return None
    from benchmarks.judged.base import BASELINE, BASELINE_SOURCE
    from benchmarks.registry import get_judged
    from worker import evaluation_steps as steps
    from worker.judging import judge_answer
    from worker.llm_calls import CallSite, LLMCaller

    benchmark = get_judged(evaluation.benchmark)
    if benchmark is None or evaluation.judge_definition is None:
        raise ConfigError(f"evaluation {evaluation.id}: {evaluation.benchmark} has no judge "
                          "definition to judge with")
    caller = LLMCaller(registry=rt.registry, cache=rt.cache, database_url=rt.database_url,
                       send=rt.send, site=CallSite(evaluation.id, question.question_id,
                                                   last_step + 1))
    reference = dict(question.reference)
    source = evaluation.judge_definition.get(BASELINE_SOURCE)
    if source:  # a pairwise benchmark's baseline, stored apart from the question
        reference[BASELINE] = steps.baseline_answer(rt.database_url, str(source),
                                                    question.question_id)
    return judge_answer(benchmark, evaluation.judge_definition, reference,
                        steps.turn_answers(states, question, layers),
                        judge_llm=evaluation.benchmark_judge, call=caller, pool=rt.pool,
                        on_unusable=caller.mark_unusable)


def _hand_on(evaluation_id: int, question_id: str, step: int) -> None:
    """Queue the question's next step, waiting out a broker that is down (BROKER_WAIT). A
    pooled connection that a broker restart left broken (kombu's AttributeError, see
    models/service_errors.py) is replaced by a fresh one, once."""
    from models.service_errors import raised_in_kombu

    args = [evaluation_id, question_id, step]
    try:
        app.send_task("worker.tasks.run_layer", args=args, queue=LAYERS_QUEUE, retry=True,
                      retry_policy=BROKER_WAIT)
    except AttributeError as exc:
        if not raised_in_kombu(exc):
            raise
        with app.connection_for_write() as connection:
            app.send_task("worker.tasks.run_layer", args=args, queue=LAYERS_QUEUE,
                          connection=connection, retry=True, retry_policy=BROKER_WAIT)
