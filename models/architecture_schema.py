"""The architecture schema: :class:`Component` and :class:`Architecture`, and what is derived
from a valid one (candidate counts, the canonical hash).

Read architectures through :mod:`models.architecture` (``parse_architecture``,
``load_architecture``), which applies Archon's rules; constructing these classes directly
skips them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from models.archon_types import EFFECTIVE_FIELDS, ComponentType, Shape, hands_on
from models.endpoint_types import ReasoningEffort
from models.limits import MAX_MAX_TOKENS, MAX_SAMPLES, MAX_TOP_K


class Component(BaseModel):
    """One technique on one LLM. Fields and defaults are Archon's."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    type: ComponentType = Field(strict=False)
    #: The LLM's name, looked up in the endpoints registry.
    model: str = Field(min_length=1)
    #: Archon's access point (OpenAI_API, Together_API, ...); the registry maps it to endpoints.
    #: Empty only on a ranker naming a reward model (Archon's PairRM configs): the registry
    #: then finds the model by name (the reader enforces this).
    model_type: str
    temperature: float = Field(ge=0, le=2)
    max_tokens: int = Field(ge=1, le=MAX_MAX_TOKENS)
    #: Generators and fusers: how many candidates they write. Others use one sample.
    samples: int = Field(default=1, ge=1, le=MAX_SAMPLES)
    #: Rankers, unit_test_evaluators: how many candidates go on.
    top_k: int | None = Field(default=None, ge=1, le=MAX_TOP_K)
    #: Rankers: show the critiques that reach them in the prompt.
    use_critiques: bool = False
    #: Fusers: ask for an answer no longer than the candidates.
    length_control: bool = False
    #: Verifiers, unit_test_evaluators: stop after this many candidates pass.
    first_k: int | None = Field(default=None, ge=1)
    #: Unit_test_evaluators: Archon's older spelling of ``first_k: 1`` (normalized on load).
    first_pass: bool = False
    #: Unit_test_generators: how many unit tests to write.
    unit_test_cap: int | None = Field(default=None, ge=1)
    #: Unit_test_evaluators: judge against the query without the tests appended to it.
    remove_unit_tests_from_prompt: bool = False
    #: Unit-test generators: write executable tests (Python asserts, or stdin/expected-output
    #: pairs); unit-test evaluators: run every candidate's code against them in the sandbox
    #: instead of asking an LLM (no LLM call). Code benchmarks only. Not one of Archon's fields.
    execute_tests: bool = False
    #: Rankers: Archon's batch size for local reward models; kept for fidelity.
    ranker_batch_size: int | None = Field(default=None, ge=1)
    #: Drop the system message when calling the LLM (Archon's ``no_system``).
    no_system: bool = False
    #: A reasoning model's effort (OpenAI's ``reasoning_effort``; ``minimal`` on GPT-5-class
    #: models); wins over the registry's default for the LLM. Not one of Archon's fields.
    reasoning_effort: ReasoningEffort | None = None

    @model_validator(mode="before")
    @classmethod
    def _first_pass_is_first_k_1(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("first_pass") is True \
                and data.get("first_k") is None:
            return {**data, "first_k": 1}
        return data

    @property
    def shape(self) -> Shape:
        return Shape(self.type, self.samples, self.top_k, self.first_k, self.use_critiques,
                     self.execute_tests)


class Architecture(BaseModel):
    """A validated architecture: ``layers[i][j]`` is component j of layer i."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    layers: list[list[Component]] = Field(min_length=1)
    _paths: list[list[str]] = PrivateAttr(default_factory=list)

    def path_of(self, layer: int, index: int) -> str:
        """Where component ``layers[layer][index]`` is in the file it came from."""
        try:
            return self._paths[layer][index]
        except IndexError:
            return f"layers[{layer}][{index}]"


def candidates_out(arch: Architecture) -> list[int]:
    """The most candidates each layer hands on to the next (see :mod:`models.archon_types`)."""
    counts: list[int] = []
    received: int | None = 0
    for layer in arch.layers:
        received = hands_on([c.shape for c in layer], received)
        counts.append(received or 0)
    return counts


def architecture_hash(arch: Architecture) -> str:
    """sha256 (hex) of the canonical JSON of what decides the answers.

    Canonical: per component, only the fields its type reads, without the defaults; keys sorted;
    the ``name`` left out (a label). So ``samples: 1`` written or omitted, ``first_pass: true``
    or ``first_k: 1``, a ``top_k`` on a generator, or a new optional field added to the schema
    later leave the hash unchanged, and two trials proposing the same stack share it.
    """
    layers = []
    for layer in arch.layers:
        rows = []
        for component in layer:
            wanted = EFFECTIVE_FIELDS[component.type] - {"first_pass"}
            dumped = component.model_dump(mode="json", exclude_defaults=True, include=set(wanted))
            rows.append({**dumped, "type": component.type.value})
        layers.append(rows)
    canonical = json.dumps({"layers": layers}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
