"""Session fixtures: real PostgreSQL and Redis (see tests/services.py), real worker processes."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from scheduler.processes import stop
from tests.engine import CANARY_KEYS, Engine, datasets, start_cache_redis, start_simulator
from tests.services import (
    RunServices,
    ServiceMissing,
    boot_embedded,
    close_services,
    itas_home,
    open_services,
    stop_embedded,
)
from tests.workers import WorkerPool

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist sets COLUMNS=80 and LINES=24 in its worker processes; the CLIs the tests
    # run would then fit their tables and paths to 80 columns, unlike in a serial run or a pipe.
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)


_EMBEDDED_STARTED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist without the service URLs, the controller boots the embedded servers
    before the test processes start (they inherit the URLs): each process booting them itself
    would have the first to finish stop them under the others."""
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    if os.environ.get("ITAS_DATABASE_URL") and os.environ.get("ITAS_REDIS_URL"):
        return
    try:
        db_url, redis_url, started = boot_embedded()
    except Exception as exc:
        raise pytest.UsageError(
            f"the embedded PostgreSQL and Redis did not start ({exc}); set ITAS_DATABASE_URL "
            "and ITAS_REDIS_URL to servers of your own, or run one process: "
            "make test TEST_PROCESSES=1") from exc
    os.environ.update(ITAS_DATABASE_URL=db_url, ITAS_REDIS_URL=redis_url)
    config.stash[_EMBEDDED_STARTED] = started


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(_EMBEDDED_STARTED, False):
        stop_embedded(itas_home())


@pytest.fixture(scope="session")
def services() -> Iterator[RunServices]:
    try:
        opened = open_services()
    except ServiceMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    saved = {k: os.environ.get(k) for k in opened.env()}
    # In-process code (load_settings, the Celery app's lazy config) reads these.
    os.environ.update(opened.env())
    try:
        yield opened
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        close_services(opened)


@pytest.fixture(scope="session")
def database_url(services: RunServices) -> str:
    return services.database_url


@pytest.fixture
def workers(
    services: RunServices, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerPool]:
    """Start real `itas worker` processes on demand; every one is killed at the end."""
    pool = WorkerPool(services.env(), tmp_path_factory.mktemp("workers"))
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture(scope="session")
def engine(services: RunServices, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """Simulator + dedicated cache Redis + two worker processes, for the whole session."""
    directory = tmp_path_factory.mktemp("engine")
    simulator, simulator_url = start_simulator(directory)
    cache, cache_url = start_cache_redis(directory)
    env = {**services.env(), "ITAS_SIMULATOR_URL": simulator_url,
           "ITAS_CACHE_REDIS_URL": cache_url,
           "ITAS_SIM_KEY_1": CANARY_KEYS[0], "ITAS_SIM_KEY_2": CANARY_KEYS[1],
           **({"ITAS_DATASETS": str(datasets())} if datasets() else {})}
    pool = WorkerPool(env, directory)
    try:
        # Layer work only: tests of the control queue expect its messages to stay put.
        pool.start(concurrency=2, queues="itas.layers")
        yield Engine(simulator_url, cache_url, env, directory)
    finally:
        pool.stop_all()
        stop(cache)
        stop(simulator)
