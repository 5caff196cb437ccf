"""The endpoints registry: where each LLM is served, with which keys, how fast we may call it.

A YAML file (the packaged ``models/endpoints.default.yaml`` unless ``ITAS_ENDPOINTS_FILE``
names another)::

    endpoints:
      together:
        kind: openai                # openai: any OpenAI-compatible server (OpenAI, Together,
                                    # Groq, vLLM, Ollama, llama.cpp, TGI); or anthropic; or
                                    # rerank: a reward model's /v1/rerank (vLLM, Infinity,
                                    # Jina, Cohere), usable by rankers only
        base_url: https://api.together.xyz/v1   # as the provider's SDK takes it; the client
                                    # appends only the operation (see "Base URLs" below)
        api_key_envs: [TOGETHER_KEY_A, TOGETHER_KEY_B]   # variable NAMES, rotated; may be []
        requests_per_min: 600       # limits of ONE key (each key has its own), a ceiling
        tokens_per_min: 1000000     # the limiter lowers from the provider's headers, 429s
                                    # and timeouts (worker/ratelimit.py); defaults
                                    # 60 / 100000 / 8 / 120
        max_in_flight: 16
        timeout_s: 120
        supports_n: true            # takes OpenAI's n: k samples of one prompt in one request
        model_types: [Together_API] # Archon model_type values this endpoint serves ([]: any)
    llms:
      Qwen/Qwen2-72B-Instruct:
        endpoint: together
        wire_model: Qwen/Qwen2-72B-Instruct   # the name sent on the wire; default: the key
        # like: sim-large                     # a simulator's registry only: the simulated LLM
                                              # this name clones (shown by itas llms)
        price_in_per_mtok: 0.9                # USD per million tokens, required (0 if free)
        price_out_per_mtok: 0.9
      o4-mini:
        endpoint: openai
        price_in_per_mtok: 1.1
        price_out_per_mtok: 4.4
        reasoning: true                       # a reasoning model: max_completion_tokens, no
                                              # temperature (default false)
        reasoning_effort: medium              # default effort (minimal, low, medium, high);
                                              # a component's reasoning_effort wins

**Base URLs.** The client appends only the operation to ``base_url``: ``/chat/completions``
(openai), ``/messages`` (anthropic), ``/rerank`` (rerank), ``/models`` (the preflight's model
list). So any path works: ``https://api.openai.com/v1``,
``https://generativelanguage.googleapis.com/v1beta/openai`` (Gemini's OpenAI-compatible
endpoint), ``https://RESOURCE.openai.azure.com/openai/v1``. A query string stays at the end
(``...?api-version=...``). A base URL with no path at all (``https://api.anthropic.com``,
``http://localhost:8000``) means ``/v1`` below the host, as the providers' SDKs and older
registries have it.

**Reasoning models.** ``reasoning: true`` on an LLM sends it ``max_completion_tokens`` (the
component's ``max_tokens``) and no ``temperature``, plus ``reasoning_effort`` when the
component or the LLM's ``reasoning_effort`` sets one. An LLM not marked so still works: when
the provider refuses ``max_tokens`` or ``temperature`` with OpenAI's 400, the worker resends
once in that form and keeps to it for the LLM from then on (worker/clients/reasoning.py).

Keys never appear in the file: only the names of the environment variables that hold them, and
only the workers read those. A literal that looks like a key (``sk-...``) is refused. A variable
that is not set is an error only when a call needs it (:meth:`Endpoint.api_keys`).

``base_url`` may contain ``${ITAS_SIMULATOR_URL}``, replaced by the setting of that name (the
simulator's address, default http://127.0.0.1:8300). No other variable is substituted: a URL
built from the environment could carry a secret into logs and ``itas llms``.

Every problem in the file is reported at once, each with the file and the path inside it
(``endpoints.simulator.kind``), as one :class:`~models.errors.ConfigError`.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from models.endpoint_types import LLM, REASONING_EFFORTS, Endpoint, EndpointKind, Registry
from models.errors import ConfigError
from models.problems import at, close_matches, field_problems, nearest, shown
from models.settings import load_settings
from models.yaml_files import load_yaml

__all__ = ["LLM", "Endpoint", "EndpointKind", "Registry", "load_registry", "parse_registry",
           "read_yaml"]

DEFAULT_REGISTRY = "endpoints.default.yaml"


def load_registry(path: Path | None = None, *, simulator_url: str | None = None) -> Registry:
    """Load and check a registry: ``path``, else ``ITAS_ENDPOINTS_FILE``, else the default.

    ``simulator_url`` replaces ``${ITAS_SIMULATOR_URL}``; unset, the setting is used. Raises
    ConfigError listing every problem, each ``<file>: <path>: <what was expected>``.
    """
    if path is None:
        path = load_settings().endpoints_file
    if path is None:
        source = f"{DEFAULT_REGISTRY} (packaged)"
        text = resources.files("models").joinpath(DEFAULT_REGISTRY).read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(f"{source}: cannot read the endpoints registry: {reason}"
                              " (ITAS_ENDPOINTS_FILE)") from exc
    if simulator_url is None and "${ITAS_SIMULATOR_URL}" in text:
        simulator_url = load_settings().simulator_url
    return parse_registry(read_yaml(text, source), source, simulator_url=simulator_url)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: How the keys of common providers begin (OpenAI, Anthropic, Groq, Google, Hugging Face, ...).
_KEY_PREFIXES = ("sk-", "sk_", "gsk_", "AIza", "hf_", "xai-", "pplx-", "r8_", "nvapi-", "tgp_",
                 "Bearer ")
_SECRET_FIELDS = {"api_key", "api_keys", "apikey", "key", "keys", "token", "secret",
                  "password", "authorization"}
_NO_SECRETS = ("keys are never written in the registry: put each key in an environment "
               "variable of the workers and list the variable names in api_key_envs")
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_EXPECTED = {
    "kind": "openai (any OpenAI-compatible server), anthropic, or rerank (a reward model's "
            "scoring endpoint)",
    "base_url": "an http(s) URL such as https://api.openai.com/v1",
    "api_key_envs": "a list of environment variable names",
    "requests_per_min": "an integer >= 1 (per key)",
    "tokens_per_min": "an integer >= 1 (per key)",
    "max_in_flight": "an integer >= 1 (per key)",
    "timeout_s": "a number of seconds > 0",
    "model_types": "a list of Archon model_type values such as OpenAI_API",
    "supports_n": "true or false (whether the endpoint takes OpenAI's n)",
    "endpoint": "the name of an endpoint",
    "wire_model": "the model name the endpoint expects (a string)",
    "like": "the name of another LLM of this registry (the simulated LLM this one clones)",
    "price_in_per_mtok": "a number >= 0 (USD per million input tokens)",
    "price_out_per_mtok": "a number >= 0 (USD per million output tokens)",
    "reasoning": "true or false (a reasoning model: max_completion_tokens, no temperature)",
    "reasoning_effort": "one of " + ", ".join(REASONING_EFFORTS),
}
_ENDPOINT_FIELDS = [f for f in Endpoint.model_fields if f != "name"]
_LLM_FIELDS = [f for f in LLM.model_fields if f != "name"]


def read_yaml(text: str, source: str) -> Any:
    """The YAML document in ``text``; a syntax error names its line and column."""
    return load_yaml(text, source)


def parse_registry(data: Any, source: str, *, simulator_url: str | None) -> Registry:
    """Check a parsed registry document; ConfigError listing every problem."""
    problems: list[str] = []
    endpoints: dict[str, Endpoint] = {}
    llms: dict[str, LLM] = {}
    if not isinstance(data, dict):
        problems.append(f"(top level): expected a mapping with endpoints and llms, "
                        f"got {shown(data)}")
    else:
        _unknown_keys(problems, "", data, ("endpoints", "llms"))
        for name, raw in _section(problems, data, "endpoints").items():
            endpoint = _endpoint(problems, name, raw, simulator_url)
            if endpoint is not None:
                endpoints[name] = endpoint
        names = [str(n) for n in data.get("endpoints") or {}] if isinstance(
            data.get("endpoints"), dict) else []
        for name, raw in _section(problems, data, "llms").items():
            llm = _llm(problems, name, raw, names)
            if llm is not None:
                llms[name] = llm
        for llm in llms.values():
            if llm.like is not None and (llm.like not in llms or llm.like == llm.name):
                problems.append(f"{at(at('llms', llm.name), 'like')}: expected "
                                f"{_EXPECTED['like']}, got {shown(llm.like)}")
    if problems:
        count = len(problems)
        raise ConfigError("\n  ".join(
            [f"{source}: {count} problem{'' if count == 1 else 's'} in the endpoints registry",
             *(f"{source}: {p}" for p in problems)]))
    return Registry(endpoints=endpoints, llms=llms, source=source)


def _section(problems: list[str], data: dict[Any, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict) or not value:
        what = "endpoint" if key == "endpoints" else "LLM"
        problems.append(f"{key}: {'required, ' if key not in data else ''}expected a mapping "
                        f"of {what} names to their settings"
                        + ("" if key not in data else f", got {shown(value)}"))
        return {}
    return {str(k): v for k, v in value.items()}


def _unknown_keys(problems: list[str], path: str, raw: dict[Any, Any],
                  known: list[str] | tuple[str, ...]) -> None:
    for key in raw:
        where = at(path, str(key))
        if str(key).lower() in _SECRET_FIELDS:
            problems.append(f"{where}: {_NO_SECRETS}")
        elif key not in known:
            hint = nearest(str(key), known)
            problems.append(f"{where}: unknown field"
                            + (f"; did you mean {hint}?" if hint else
                               f"; expected one of {', '.join(known)}"))


def _endpoint(problems: list[str], name: str, raw: Any,
              simulator_url: str | None) -> Endpoint | None:
    path = at("endpoints", name)
    if not isinstance(raw, dict):
        problems.append(f"{path}: expected a mapping of settings (kind, base_url, ...), "
                        f"got {shown(raw)}")
        return None
    before = len(problems)
    _unknown_keys(problems, path, raw, _ENDPOINT_FIELDS)
    fields = {k: v for k, v in raw.items() if k in _ENDPOINT_FIELDS}
    # Checked here for clearer messages; a value reported here is replaced by a harmless one
    # so that pydantic reports only the other fields.
    if isinstance(fields.get("base_url"), str):
        checked = len(problems)
        url = _base_url(problems, at(path, "base_url"), fields["base_url"], simulator_url)
        fields["base_url"] = url if len(problems) == checked else "http://reported.invalid"
    if isinstance(fields.get("api_key_envs"), str):  # a single name is fine too
        fields["api_key_envs"] = [fields["api_key_envs"]]
    if isinstance(fields.get("api_key_envs"), list):
        checked = len(problems)
        for i, value in enumerate(fields["api_key_envs"]):
            _key_env(problems, at(at(path, "api_key_envs"), i), value)
        if len(problems) > checked:
            fields["api_key_envs"] = []
    try:
        endpoint = Endpoint.model_validate({**fields, "name": name})
    except ValidationError as exc:
        problems.extend(field_problems(exc, path, _EXPECTED))
        return None
    if endpoint.supports_n and endpoint.kind != EndpointKind.OPENAI:
        problems.append(f"{at(path, 'supports_n')}: only an openai endpoint takes n "
                        f"(this one is {endpoint.kind.value})")
    return endpoint if len(problems) == before else None


def _base_url(problems: list[str], path: str, url: str, simulator_url: str | None) -> str:
    for match in _PLACEHOLDER.finditer(url):
        if match.group(1) != "ITAS_SIMULATOR_URL":
            problems.append(f"{path}: only ${{ITAS_SIMULATOR_URL}} is substituted, got "
                            f"${{{match.group(1)}}}; write the URL itself")
            return url
    if simulator_url is not None:
        url = url.replace("${ITAS_SIMULATOR_URL}", simulator_url.rstrip("/"))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Not echoed when it carries credentials (user:password@host).
        got = "a URL with credentials" if "@" in parts.netloc else shown(url)
        problems.append(f"{path}: expected {_EXPECTED['base_url']}, got {got}")
    return url.rstrip("/")


def _key_env(problems: list[str], path: str, value: Any) -> None:
    # The value is never echoed: if it is a key, the error message must not leak it.
    if not isinstance(value, str):
        problems.append(f"{path}: expected an environment variable name, got {shown(value)}")
    elif value.startswith(_KEY_PREFIXES) or (
            len(value) >= 24 and any(c.islower() for c in value)
            and any(c.isdigit() for c in value)):
        problems.append(f"{path}: this looks like an API key itself, not the name of a "
                        f"variable; {_NO_SECRETS}")
    elif not _ENV_NAME.fullmatch(value):
        problems.append(f"{path}: expected an environment variable name such as "
                        "OPENAI_API_KEY (letters, digits and _, not starting with a digit)")


def _llm(problems: list[str], name: str, raw: Any, endpoints: list[str]) -> LLM | None:
    path = at("llms", name)
    if not isinstance(raw, dict):
        problems.append(f"{path}: expected a mapping with endpoint and prices, got {shown(raw)}")
        return None
    _unknown_keys(problems, path, raw, _LLM_FIELDS)
    fields = {k: v for k, v in raw.items() if k in _LLM_FIELDS}
    fields.setdefault("wire_model", name)
    endpoint = fields.get("endpoint")
    ok = True
    if isinstance(endpoint, str) and endpoints and endpoint not in endpoints:
        similar = close_matches(endpoint, endpoints)
        problems.append(f"{at(path, 'endpoint')}: unknown endpoint {shown(endpoint)}; "
                        + (f"close matches: {', '.join(similar)}" if similar
                           else f"endpoints: {', '.join(endpoints)}"))
        ok = False
    try:
        llm = LLM.model_validate({**fields, "name": name})
    except ValidationError as exc:
        problems.extend(field_problems(exc, path, _EXPECTED))
        return None
    if llm.reasoning_effort is not None and not llm.reasoning:
        # A model that is not a reasoning model refuses the parameter on every call.
        problems.append(f"{at(path, 'reasoning_effort')}: only a reasoning model takes one; "
                        "set reasoning: true too, or leave reasoning_effort out")
        ok = False
    return llm if ok else None
