"""Fixtures: one real simulator subprocess per test session, reached over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .math_style import write_math_style

REPO = Path(__file__).resolve().parents[2]
#: CodeContests-format problems written for the simulator tests (the columns of Hugging Face's
#: deepmind/code_contests), loaded with --code-contests.
CODE_CONTESTS_SAMPLE = Path(__file__).resolve().parent / "data" / "code-contests-sample.jsonl"
KEY = "sim-key-1"
ZERO_LATENCY = {"x-sim-latency-scale": "0"}


def datasets_dir() -> Path:
    """Where the shared data sets are: $ITAS_DATASETS, else <repo>/../shared/datasets."""
    return Path(os.environ.get("ITAS_DATASETS", REPO.parent / "shared" / "datasets"))


def gsm8k_dir() -> Path | None:
    path = datasets_dir() / "gsm8k"
    return path if (path / "test.jsonl").is_file() else None


def require_gsm8k() -> Path:
    path = gsm8k_dir()
    if path is None:
        pytest.skip(
            f"GSM8K not found under {datasets_dir()} (set ITAS_DATASETS to the folder "
            "that holds gsm8k/)"
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_datasets() -> Path:
    """The shared datasets directory (MixEval-Hard, MT-Bench, GSM8K); as
    ../shared/datasets/README.md asks, a test needing it skips, saying why, when it is absent."""
    path = datasets_dir()
    if not (path / "mixeval_hard" / "multiple-choice.json").is_file():
        pytest.skip(f"no mixeval_hard/ under {datasets_dir()}: set ITAS_DATASETS to the "
                    "folder that holds the shared datasets (../shared/datasets)")
    return path


@dataclass(frozen=True)
class Sim:
    """A running simulator: its base URL, whether GSM8K keys are loaded, its MATH-style set."""

    url: str
    has_gsm8k: bool
    math_style: tuple[dict[str, object], ...] = ()

    def client(self, key: str = KEY, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            timeout=timeout,
            headers={"authorization": f"Bearer {key}", **ZERO_LATENCY},
        )


def start_simulator(*args: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``python -m simulator`` on a free port, logging to ``log``; wait for /health."""
    port = free_port()
    env = dict(os.environ)
    if not datasets_dir().is_dir():  # a clone without ../shared: do not point the simulator there
        env.pop("ITAS_DATASETS", None)
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--port", str(port), *args],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the simulator exited with {proc.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the simulator did not answer /health within 60 s")


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    data = gsm8k_dir()
    directory = tmp_path_factory.mktemp("simulator")
    log = directory / "simulator.log"
    rows = write_math_style(directory / "math-style.jsonl")
    args = ["--math-style", str(directory / "math-style.jsonl"),
            "--code-contests", str(CODE_CONTESTS_SAMPLE)]
    if datasets_dir().is_dir():
        args += ["--datasets", str(datasets_dir())]
    proc, url = start_simulator(*(["--data", str(data)] if data else []), *args, log=log)
    try:
        yield Sim(url, data is not None, tuple(rows))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
