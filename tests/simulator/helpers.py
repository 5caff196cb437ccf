"""Plain helper functions for the simulator tests (no fixtures)."""

from __future__ import annotations

from typing import Any

import httpx


def chat(client: httpx.Client, llm: str, content: str, **params: Any) -> httpx.Response:
    body = {"model": llm, "messages": [{"role": "user", "content": content}], **params}
    return client.post("/v1/chat/completions", json=body)


def texts(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["message"]["content"] for c in response.json()["choices"]]
