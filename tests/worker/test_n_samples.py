"""k samples of one prompt as one ``n=k`` request, where the registry says the endpoint takes
``n``: against the simulator over HTTP, real Redis and PostgreSQL.

What a user notices: the prompt is paid once instead of k times; each sample still has its
own cache entry and its own record, so a later trial asking for sample 2 alone pays nothing;
an endpoint without ``supports_n`` gets k requests as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import text

from models.db import session_scope
from models.endpoints import parse_registry
from models.errors import ConfigError
from tests.engine import fleet_simulator
from tests.services import RunServices
from worker.cache import ResponseCache
from worker.layer import run_layer_calls
from worker.llm_calls import CallSite, LLMCaller
from worker.ratelimit import RateLimiter
from worker.sending import Sender
from worker.techniques.base import LayerState
from worker.techniques.conversation import Conversation
from worker.techniques.generator import Generator as GeneratorTechnique

KEY_ENV = "ITAS_TEST_N_KEY"


@dataclass
class Generator:
    type: str = "generator"
    model: str = "sim-n"
    model_type: str | None = None
    samples: int = 4
    temperature: float = 0.7
    max_tokens: int = 64


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work: Path = tmp_path_factory.mktemp("sim-n")
    with fleet_simulator(work, {
        "latency_scale": 0,
        "keys": [{"key": "k-n", "requests_per_min": 1_000_000, "tokens_per_min": 10**9}],
        "llms": {"sim-n": {"ability": 0, "judge": 0}},
    }) as url:
        yield url


def requests_served(sim: str) -> int:
    return int(httpx.get(f"{sim}/health").json()["responses"].get("200", 0))


def caller(sim: str, services: RunServices, *, supports_n: bool, site: CallSite,
           client: redis.Redis, prefix: str) -> LLMCaller:
    registry = parse_registry({
        "endpoints": {"sim": {"kind": "openai", "base_url": f"{sim}/v1",
                              "api_key_envs": [KEY_ENV], "requests_per_min": 100_000,
                              "tokens_per_min": 10**8, "supports_n": supports_n}},
        "llms": {"sim-n": {"endpoint": "sim", "price_in_per_mtok": 1.0,
                           "price_out_per_mtok": 2.0}},
    }, "test registry", simulator_url=None)
    return LLMCaller(registry=registry, cache=ResponseCache(client, prefix, services.database_url),
                     database_url=services.database_url, send=Sender(RateLimiter(client, prefix)),
                     site=site)


def records(database_url: str, question_id: str) -> list[tuple[int, int, int, bool]]:
    with session_scope(database_url) as session:
        rows = session.execute(text(
            "SELECT sample_index, tokens_in, tokens_out, cache_hit FROM llm_calls "
            "WHERE question_id = :q ORDER BY layer_index, sample_index"), {"q": question_id})
        return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.fixture
def client(services: RunServices, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    monkeypatch.setenv(KEY_ENV, "k-n")
    redis_client = redis.Redis.from_url(services.redis_url)
    yield redis_client
    redis_client.close()


def run_generator(call: LLMCaller, question: str) -> LayerState:
    with ThreadPoolExecutor(8) as pool:
        return run_layer_calls([Generator()], Conversation(query=question), LayerState(),
                               call=call, pool=pool, prefetch=call.prefetch)


def test_k_samples_go_as_one_request_and_each_keeps_its_cache_identity(
    sim: str, services: RunServices, client: redis.Redis,
) -> None:
    question_id = f"q-{uuid.uuid4().hex[:8]}"
    question = f"What is 17 + 25? ({question_id})"
    # The run's prefix, under a name of this test's: its own cache and limiter state.
    prefix = f"{services.redis_prefix}n-{uuid.uuid4().hex[:6]}:"
    call = caller(sim, services, supports_n=True, site=CallSite(None, question_id, 0),
                  client=client, prefix=prefix)
    before = requests_served(sim)
    state = run_generator(call, question)
    assert requests_served(sim) - before == 1  # four samples, one request
    assert len(state.candidates) == 4
    assert len({c.text for c in state.candidates}) > 1  # distinct samples, not one copied
    rows = records(services.database_url, question_id)
    assert [r[0] for r in rows] == [0, 1, 2, 3]  # one record per sample, each paid
    assert not any(r[3] for r in rows)
    prompt_once = sum(r[1] for r in rows)

    # A later trial asks for sample 2 alone: a cache hit with the same text, nothing sent.
    later = caller(sim, services, supports_n=True, site=CallSite(None, question_id, 1),
                   client=client, prefix=prefix)
    plan = GeneratorTechnique().plan(Generator(samples=3), Conversation(query=question),
                                     LayerState())
    result = later(plan[2])
    assert result.text == state.candidates[2].text
    assert requests_served(sim) - before == 1
    assert records(services.database_url, question_id)[-1][3] is True

    # The same four samples without n: four requests, each paying the whole prompt.
    other_id = f"q-{uuid.uuid4().hex[:8]}"
    plain = caller(sim, services, supports_n=False, site=CallSite(None, other_id, 0),
                   client=client, prefix=prefix)
    before = requests_served(sim)
    run_generator(plain, question.replace(question_id, other_id))
    assert requests_served(sim) - before == 4
    prompt_each = sum(r[1] for r in records(services.database_url, other_id))
    assert prompt_once * 4 == pytest.approx(prompt_each, rel=0.05)


def test_supports_n_is_refused_on_an_endpoint_kind_without_n() -> None:
    with pytest.raises(ConfigError, match=r"endpoints\.claude\.supports_n"):
        parse_registry({
            "endpoints": {"claude": {"kind": "anthropic", "base_url": "https://api.anthropic.com",
                                     "supports_n": True}},
            "llms": {"c": {"endpoint": "claude", "price_in_per_mtok": 1,
                           "price_out_per_mtok": 1}},
        }, "test registry", simulator_url=None)
