"""Fixtures of the worker tests: the transport-level double of the endpoint clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from worker.clients import transport as transport_module

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def mock_http(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[Handler], list[httpx.Request]]]:
    """Route this process's clients through a handler; returns the requests it saw."""

    def install(handler: Handler) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def record(req: httpx.Request) -> httpx.Response:
            req.read()
            seen.append(req)
            return handler(req)

        transport_module.reset_http_client()
        monkeypatch.setattr(transport_module, "new_client",
                            lambda: httpx.Client(transport=httpx.MockTransport(record)))
        return seen

    yield install
    transport_module.reset_http_client()
