"""Plain helper functions for the simulator tests (no fixtures)."""

from __future__ import annotations

import re
from typing import Any

import httpx


def chat(client: httpx.Client, llm: str, content: str, **params: Any) -> httpx.Response:
    body = {"model": llm, "messages": [{"role": "user", "content": content}], **params}
    return client.post("/v1/chat/completions", json=body)


def texts(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["message"]["content"] for c in response.json()["choices"]]


def answer(text: str) -> str:
    """The number of the last ``Answer: N`` line of a reply (the form the tests ask for)."""
    found = re.findall(r"^Answer:\s*\$?(-?[\d,]+(?:\.\d+)?)", text, re.MULTILINE)
    assert found, f"no 'Answer: N' line in {text!r}"
    return found[-1].replace(",", "")
