"""The registry's value objects: :class:`Endpoint`, :class:`LLM`, :class:`Registry`.

Loaded and checked by :func:`models.endpoints.load_registry`; the file format is described
there. Import them from :mod:`models.endpoints`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.errors import ConfigError
from models.problems import close_matches


class EndpointKind(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    #: A reward model's scoring endpoint (``/v1/rerank``): only rankers can use its LLMs.
    RERANK = "rerank"


class Endpoint(BaseModel):
    """One server speaking one wire format. Limits are per API key."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    name: str
    kind: EndpointKind = Field(strict=False)
    base_url: str
    api_key_envs: list[str] = Field(default_factory=list)
    requests_per_min: int = Field(default=60, ge=1)
    tokens_per_min: int = Field(default=100_000, ge=1)
    max_in_flight: int = Field(default=8, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    model_types: list[str] = Field(default_factory=list)
    #: The endpoint takes OpenAI's ``n``: k samples of one prompt go as one request, which
    #: pays the prompt's tokens once instead of k times (kind openai only; OpenAI, vLLM, TGI
    #: and the simulator do, Anthropic and llama.cpp's server do not).
    supports_n: bool = False

    def keys_set(self, environ: Mapping[str, str] | None = None) -> dict[str, bool]:
        """Each key variable's name and whether it is set (non-empty). Never the values."""
        env = os.environ if environ is None else environ
        return {name: bool(env.get(name)) for name in self.api_key_envs}

    def api_keys(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """The values of the key variables that are set, in order (for rotation).

        ``[]`` for an endpoint without keys (a local server). Raises ConfigError naming the
        variables, never values, when the endpoint has key variables and none is set.
        """
        env = os.environ if environ is None else environ
        keys = [env[name] for name in self.api_key_envs if env.get(name)]
        if self.api_key_envs and not keys:
            raise ConfigError(f"endpoint {self.name}: none of its key variables is set "
                              f"({', '.join(self.api_key_envs)}); set one in the workers' "
                              "environment")
        return keys

    def serves(self, model_type: str) -> bool:
        # An empty model_type (Archon's reward-model rankers) leaves the choice to the registry.
        return not model_type or not self.model_types or model_type in self.model_types


#: OpenAI's ``reasoning_effort`` values (``minimal``: GPT-5-class models only).
ReasoningEffort = Literal["minimal", "low", "medium", "high"]
REASONING_EFFORTS: tuple[str, ...] = ("minimal", "low", "medium", "high")


class LLM(BaseModel):
    """One LLM as the architectures name it, where it is served and what it costs.

    ``reasoning`` marks a reasoning model (OpenAI's o-series, GPT-5 class): it is sent
    ``max_completion_tokens`` instead of ``max_tokens`` and no ``temperature``, which such
    models refuse (worker/clients/openai.py). ``reasoning_effort`` is its default effort, sent
    unless a component sets its own; only a reasoning model has one.
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    name: str
    endpoint: str
    #: The model name sent to the endpoint; defaults to ``name``.
    wire_model: str
    #: On a simulator's registry: the simulated LLM whose skill this name is given (the
    #: simulator's fleet ``clones``), shown by ``itas llms``. Says nothing to a real provider.
    like: str | None = None
    price_in_per_mtok: float = Field(ge=0)
    price_out_per_mtok: float = Field(ge=0)
    reasoning: bool = False
    #: Only with ``reasoning`` (the registry reader refuses it otherwise).
    reasoning_effort: ReasoningEffort | None = None

    def cost_usd(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.price_in_per_mtok + tokens_out * self.price_out_per_mtok) / 1e6


@dataclass(frozen=True)
class Registry:
    """The loaded registry; ``source`` names the file it came from."""

    endpoints: dict[str, Endpoint]
    llms: dict[str, LLM]
    source: str

    def llm(self, name: str) -> LLM:
        """The LLM called ``name``; ConfigError with the close matches when unknown."""
        try:
            return self.llms[name]
        except KeyError:
            pass
        similar = close_matches(name, self.llms)
        hint = (f"close matches: {', '.join(similar)}" if similar
                else f"known: {', '.join(sorted(self.llms)[:8])}"
                + (", ..." if len(self.llms) > 8 else ""))
        raise ConfigError(f"unknown LLM {name!r} ({hint}; `itas llms` lists all, "
                          f"from {self.source})") from None

    def in_flight_capacity(self) -> int:
        """The most calls the limiter lets be in flight at once over every endpoint: each
        key's ``max_in_flight``, summed over the keys (one for a keyless endpoint) of every
        endpoint. A worker that can hold this many calls is never the bottleneck; the
        limiter, shared by every worker, then keeps to the providers' limits."""
        return sum(e.max_in_flight * max(1, len(e.api_key_envs))
                   for e in self.endpoints.values())

    def endpoint_for(self, llm_name: str) -> Endpoint:
        return self.endpoints[self.llm(llm_name).endpoint]

    def is_reward_model(self, llm_name: str) -> bool:
        """Whether ``llm_name`` is served by a scoring (rerank) endpoint; False when unknown."""
        llm = self.llms.get(llm_name)
        return llm is not None and self.endpoints[llm.endpoint].kind is EndpointKind.RERANK

    def resolve(self, model: str, model_type: str) -> tuple[LLM, Endpoint]:
        """The LLM and endpoint an architecture's ``model`` / ``model_type`` pair names.

        The LLM decides the endpoint; ``model_type`` must be one the endpoint serves, so that
        a config written for one provider does not silently run on another.
        """
        llm = self.llm(model)
        endpoint = self.endpoints[llm.endpoint]
        if not endpoint.serves(model_type):
            raise ConfigError(
                f"model_type {model_type!r} does not map to endpoint {endpoint.name!r}, which "
                f"serves LLM {llm.name!r} (it takes {', '.join(endpoint.model_types)}; add "
                f"{model_type} to its model_types in {self.source} to allow it)")
        return llm, endpoint
