"""Code problems for the simulator tests: the data rows, prompt wordings that are not itas's
worker wording, and a plain-subprocess runner of a reply's code against a problem's tests.

The runner is a test's own check (a bare ``python`` subprocess with a timeout); it is not the
sandbox, and runs only the datasets' reference programs and the simulator's edits of them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import CODE_CONTESTS_SAMPLE, datasets_dir

Row = dict[str, Any]
TIMEOUT_S = 5.0  # generous: the machine is shared; an infinite loop costs this much


@cache
def humaneval() -> list[Row]:
    path = datasets_dir() / "humaneval" / "humaneval-python.jsonl"
    if not path.is_file():
        pytest.skip(f"no humaneval/humaneval-python.jsonl under {datasets_dir()}")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@cache
def mbpp() -> list[Row]:
    path = datasets_dir() / "mbpp" / "mbpp_test.jsonl"
    if not path.is_file():
        pytest.skip(f"no mbpp/mbpp_test.jsonl under {datasets_dir()}")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@cache
def contests() -> list[Row]:
    return [json.loads(line) for line in CODE_CONTESTS_SAMPLE.read_text().splitlines()]


def entry_point(row: Row) -> str:
    return str(re.findall(r"^def (\w+)\(", row["prompt"], re.MULTILINE)[-1])


# --- prompts: Archon's DeepSeek-Coder instruction, MBPP's own layout, a plain contest one ---

def humaneval_prompt(row: Row) -> str:
    code = row["prompt"].replace("\n", "\r\n")  # a client that sends CRLF
    return ("Please continue to complete the function. You are not allowed to modify the given "
            "code and do the completion only. Please return all completed function in a "
            f"codeblock. Here is the given code to do completion:\n```python\n{code}\n```")


def mbpp_prompt(row: Row) -> str:
    tests = "\n".join(row["test"])
    return f">>> Problem:\n{row['prompt']}\n>>> Test Cases:\n{tests}\n>>> Code:\n"


def contest_prompt(row: Row) -> str:
    return ("Solve this competitive programming problem in Python 3; read from standard input "
            f"and write to standard output.\n\n{row['description']}")


def chat(client: httpx.Client, llm: str, content: str, *, seed: int = 0,
         temperature: float = 0.7, system: str | None = None) -> str:
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": content}]
    response = client.post("/v1/chat/completions", json={
        "model": llm, "messages": messages, "seed": seed, "temperature": temperature})
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


# --- reading and running code ------------------------------------------------------------------

_FENCE = re.compile(r"^```[\w+-]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def code_of(reply: str) -> str:
    """The last fenced block of a reply (as a client would take it)."""
    blocks = _FENCE.findall(reply)
    assert blocks, f"no fenced code block in {reply!r}"
    return str(blocks[-1])


def _python(source: str, stdin: str = "") -> tuple[bool, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(source)
    try:
        done = subprocess.run([sys.executable, handle.name], input=stdin, capture_output=True,
                              text=True, timeout=TIMEOUT_S)
        return done.returncode == 0, done.stdout
    except subprocess.TimeoutExpired:
        return False, ""
    finally:
        Path(handle.name).unlink()


def same_output(expected: str, actual: str) -> bool:
    """DeepMind's rule: whitespace-separated tokens, case-insensitive, numbers within 1e-6."""
    want, got = expected.split(), actual.split()
    if len(want) != len(got):
        return False
    for a, b in zip(want, got, strict=True):
        if a.lower() == b.lower():
            continue
        try:
            if abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a))):
                continue
        except ValueError:
            pass
        return False
    return True


def passes(source: str, row: Row, code: str) -> bool:
    """Whether ``code`` passes the tests of ``row`` (``source``: humaneval, mbpp, contest)."""
    if source == "humaneval":
        return _python(f"{code}\n\n{row['test']}\n")[0]
    if source == "mbpp":
        return _python(code + "\n\n" + "\n".join(row["test"]) + "\n")[0]
    for kind in ("public_tests", "private_tests", "generated_tests"):
        for given, expected in zip(row[kind]["input"], row[kind]["output"], strict=True):
            ok, out = _python(code, given)
            if not ok or not same_output(expected, out):
                return False
    return True


def run_asserts(code: str, asserts: Sequence[str]) -> list[bool]:
    """Which of ``asserts`` hold against ``code`` (one subprocess for all of them)."""
    checks = "\n".join(
        f"try:\n    {a}\n    print('ok')\nexcept BaseException:\n    print('bad')"
        for a in asserts)
    ok, out = _python(f"{code}\n\n{checks}\n")
    lines = out.split()
    return [i < len(lines) and lines[i] == "ok" for i in range(len(asserts))] if ok else (
        [False] * len(asserts))


def parallel(fn: Any, items: Sequence[Any], workers: int = 4) -> list[Any]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))
