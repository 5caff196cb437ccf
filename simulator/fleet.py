"""The fleet file: which simulated LLMs, API keys, limits and faults the simulator serves.

The format is documented in simulator/README.md and by the default fleet shipped next to this
module (``fleet.yaml``). :func:`load_fleet` validates the whole file up front; every problem is
a :class:`FleetError` whose message names the file and the field (``llms.sim-large.judge``),
which the CLI prints as one line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DEFAULT_FLEET",
    "FAULT_KINDS",
    "Fleet",
    "FleetError",
    "RECORDED_SYSTEMS",
    "KeySpec",
    "LLMSpec",
    "LLM_KINDS",
    "load_fleet",
    "parse_fault_rates",
]

DEFAULT_FLEET = Path(__file__).with_name("fleet.yaml")

# The recorded GSM8K systems a replay LLM can replay (example_model_solutions.jsonl).
RECORDED_SYSTEMS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")

_TOP_FIELDS = {
    "latency_scale",
    "hang_seconds",
    "default_seed",
    "faults",
    "answer_keys",
    "keys",
    "llms",
    "clones",
}
_LLM_FIELDS = {
    "description", "kind", "ability", "discrimination", "judge", "replay", "latency", "price",
    "server_concurrency", "context_window", "max_output_tokens", "reasoning",
}
_ANSWER_KEY_FIELDS = {"synth_math", "gsm8k_dir", "datasets_dir", "mixeval_hard_dir",
                      "mt_bench_dir", "math_style"}
#: What a simulated LLM serves: chat completions, or scores on the rerank route.
LLM_KINDS = ("chat", "reward")

# Fault kinds, in the order they are drawn (one uniform number picks at most one kind).
FAULT_KINDS: tuple[str, ...] = ("429", "500", "503", "hang", "malformed", "truncated", "empty")


class FleetError(Exception):
    """A fleet file (or a fault header) is invalid; the message names the file and field."""


@dataclass(frozen=True)
class LLMSpec:
    """One simulated LLM.

    ``ability`` and ``discrimination`` are its 2PL item-response parameters for generating
    (P(right) = sigmoid(discrimination * (ability - difficulty))); ``judge`` is the ability it
    brings to critique, rank, fuse, verify and unit-test roles on the same scale. ``replay``
    names a recorded GSM8K system whose real solutions it replays for sample 0. ``kind`` is
    ``chat`` (the completion routes) or ``reward`` (a reward model: the rerank route only).
    ``server_concurrency`` (None: unbounded) is how many of its completions run at once; the
    rest wait in the server's queue, first come first served, and still run when their client
    has given up (llama.cpp's server runs one completion at a time).
    """

    name: str
    ability: float
    discrimination: float
    judge: float
    ttft_median_s: float
    ttft_p95_s: float
    tokens_per_s: float
    input_per_mtok: float
    output_per_mtok: float
    replay: str | None = None
    description: str = ""
    kind: str = "chat"
    server_concurrency: int | None = None
    #: The most prompt tokens it reads (None: no limit); a longer prompt is a 400.
    context_window: int | None = None
    #: The largest max_tokens it takes (None: any); a larger one is a 400.
    max_output_tokens: int | None = None
    #: A reasoning model: refuses max_tokens and a temperature but 1 (simulator/reasoning.py).
    reasoning: bool = False


@dataclass(frozen=True)
class KeySpec:
    """An API key the simulator accepts, with its per-minute limits. ``limit_headers: false``
    leaves the ``x-ratelimit-*`` headers out of its answers (a provider that says nothing
    about its limits until it answers 429)."""

    key: str
    requests_per_min: int
    tokens_per_min: int
    limit_headers: bool = True


@dataclass(frozen=True)
class Fleet:
    """A validated fleet file. Paths are absolute (relative ones resolve against the file)."""

    source: Path
    llms: Mapping[str, LLMSpec]
    keys: Mapping[str, KeySpec]
    faults: Mapping[str, float]
    latency_scale: float
    hang_seconds: float
    default_seed: int | None
    synth_math_seeds: tuple[int, ...]
    synth_math_count: int
    gsm8k_dir: Path | None
    datasets_dir: Path | None = None
    mixeval_hard_dir: Path | None = None
    mt_bench_dir: Path | None = None
    math_style: tuple[Path, ...] = ()


def parse_fault_rates(text: str, where: str = "x-sim-fault") -> dict[str, float]:
    """Parse ``429=0.1,500=0.05,hang=0.02`` into rates for every kind (missing kinds are 0).

    Raises FleetError naming ``where`` for unknown kinds, rates outside [0, 1] or a sum > 1.
    """
    rates = dict.fromkeys(FAULT_KINDS, 0.0)
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, sep, value = item.partition("=")
        rates.update(_fault_rates({kind.strip(): value.strip() if sep else ""}, where))
    _check_fault_sum(rates, where)
    return rates


def _fault_rates(raw: Mapping[Any, Any], where: str) -> dict[str, float]:
    rates: dict[str, float] = {}
    for kind, value in raw.items():
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise FleetError(f"{where}: unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        rate = _number(value, f"{where}.{kind}")
        if not 0.0 <= rate <= 1.0:
            raise FleetError(f"{where}.{kind}: a rate must be between 0 and 1, got {rate}")
        rates[kind] = rate
    return rates


def _check_fault_sum(rates: Mapping[str, float], where: str) -> None:
    if sum(rates.values()) > 1.0 + 1e-9:
        raise FleetError(f"{where}: fault rates add up to more than 1")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FleetError(f"{where}: expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise FleetError(f"{where}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise FleetError(f"{where}: expected a finite number, got {value!r}")
    return number


def _positive(value: Any, where: str, *, allow_zero: bool = False) -> float:
    number = _number(value, where)
    if number < 0 or (number == 0 and not allow_zero):
        raise FleetError(
            f"{where}: expected a {'non-negative' if allow_zero else 'positive'} "
            f"number, got {value!r}"
        )
    return number


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FleetError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _no_unknown(raw: Mapping[str, Any], allowed: set[str], where: str, sep: str = ".") -> None:
    """Refuse fields the format does not have: a typo must not be silently ignored."""
    unknown = sorted(set(map(str, raw)) - allowed)
    if unknown:
        raise FleetError(
            f"{where}{sep}{unknown[0]}: unknown field; expected one of {sorted(allowed)}"
        )


def _llm(name: str, raw: Any, where: str) -> LLMSpec:
    raw = _mapping(raw, where)
    _no_unknown(raw, _LLM_FIELDS, where)
    latency = _mapping(raw.get("latency", {}), f"{where}.latency")
    _no_unknown(latency, {"ttft_median_ms", "ttft_p95_ms", "tokens_per_s"}, f"{where}.latency")
    price = _mapping(raw.get("price", {}), f"{where}.price")
    _no_unknown(price, {"input_per_mtok", "output_per_mtok"}, f"{where}.price")
    for required in ("ability", "judge"):
        if required not in raw:
            raise FleetError(f"{where}.{required}: missing")
    median = (
        _positive(
            latency.get("ttft_median_ms", 500), f"{where}.latency.ttft_median_ms", allow_zero=True
        )
        / 1000
    )
    p95 = (
        _positive(
            latency.get("ttft_p95_ms", median * 2000),
            f"{where}.latency.ttft_p95_ms",
            allow_zero=True,
        )
        / 1000
    )
    if p95 < median:
        raise FleetError(f"{where}.latency.ttft_p95_ms: must be >= ttft_median_ms")
    kind = str(raw.get("kind", "chat"))
    if kind not in LLM_KINDS:
        raise FleetError(f"{where}.kind: expected one of {LLM_KINDS}, got {kind!r}")
    concurrency = raw.get("server_concurrency")
    if concurrency is not None and (
        isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
    ):
        raise FleetError(
            f"{where}.server_concurrency: expected a positive integer, got {concurrency!r}"
        )
    window, most = raw.get("context_window"), raw.get("max_output_tokens")
    for field_name, value in (("context_window", window), ("max_output_tokens", most)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise FleetError(f"{where}.{field_name}: expected a positive integer, got {value!r}")
    reasoning = raw.get("reasoning", False)
    if not isinstance(reasoning, bool) or (reasoning and kind != "chat"):
        raise FleetError(f"{where}.reasoning: expected true or false (true on a chat LLM "
                         f"only), got {reasoning!r}")
    replay = raw.get("replay")
    if replay is not None and replay not in RECORDED_SYSTEMS:
        raise FleetError(f"{where}.replay: expected one of {RECORDED_SYSTEMS}, got {replay!r}")
    return LLMSpec(
        name=name,
        ability=_number(raw["ability"], f"{where}.ability"),
        discrimination=_positive(raw.get("discrimination", 2.0), f"{where}.discrimination"),
        judge=_number(raw["judge"], f"{where}.judge"),
        ttft_median_s=median,
        ttft_p95_s=p95,
        tokens_per_s=_positive(latency.get("tokens_per_s", 50), f"{where}.latency.tokens_per_s"),
        input_per_mtok=_positive(
            price.get("input_per_mtok", 0), f"{where}.price.input_per_mtok", allow_zero=True
        ),
        output_per_mtok=_positive(
            price.get("output_per_mtok", 0), f"{where}.price.output_per_mtok", allow_zero=True
        ),
        replay=str(replay) if replay is not None else None,
        description=str(raw.get("description", "")),
        kind=kind,
        server_concurrency=concurrency,
        context_window=window,
        max_output_tokens=most,
        reasoning=reasoning,
    )


def _clones(raw: Any, llms: Mapping[str, LLMSpec], where: str) -> dict[str, LLMSpec]:
    """``clones: {sim-large: [name, ...]}``: each name a simulated LLM of its own with the
    parameters (skill, latency, price) of the one it clones. Its own name makes its own draws
    (samples are seeded by the LLM's name), so several clones in one layer answer as several
    models of one skill do, not as one model repeated."""
    out: dict[str, LLMSpec] = {}
    for template, names in _mapping(raw, where).items():
        at = f"{where}.{template}"
        if str(template) not in llms:
            raise FleetError(f"{at}: not an LLM of this fleet's llms")
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise FleetError(f"{at}: expected a list of LLM names")
        for name in names:
            if name in llms or name in out:
                raise FleetError(f"{at}: {name!r} is already an LLM of this fleet")
            spec = llms[str(template)]
            out[name] = replace(spec, name=name, description=f"like {template}: "
                                f"{spec.description}".rstrip(": "))
    return out


def _key(raw: Any, where: str) -> KeySpec:
    raw = _mapping(raw, where)
    _no_unknown(raw, {"key", "requests_per_min", "tokens_per_min", "limit_headers"}, where)
    if not isinstance(raw.get("key"), str) or not raw["key"]:
        raise FleetError(f"{where}.key: expected a non-empty string")
    if not isinstance(raw.get("limit_headers", True), bool):
        raise FleetError(f"{where}.limit_headers: expected true or false")
    return KeySpec(
        key=raw["key"],
        requests_per_min=int(
            _positive(raw.get("requests_per_min", 600), f"{where}.requests_per_min")
        ),
        tokens_per_min=int(
            _positive(raw.get("tokens_per_min", 1_000_000), f"{where}.tokens_per_min")
        ),
        limit_headers=raw.get("limit_headers", True),
    )


def load_fleet(path: Path | str | None = None) -> Fleet:
    """Load and validate a fleet file (the shipped default when ``path`` is None)."""
    source = Path(path) if path is not None else DEFAULT_FLEET
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FleetError(f"{source}: cannot read fleet file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise FleetError(f"{source}: not valid YAML ({exc})".replace("\n", " ")) from exc
    where = str(source)
    raw = _mapping(raw, where)
    _no_unknown(raw, _TOP_FIELDS, where, sep=": ")
    llms_raw = _mapping(raw.get("llms"), f"{where}: llms")
    if not llms_raw:
        raise FleetError(f"{where}: llms: at least one LLM is required")
    llms = {str(n): _llm(str(n), v, f"{where}: llms.{n}") for n, v in llms_raw.items()}
    llms.update(_clones(raw.get("clones", {}), llms, f"{where}: clones"))
    keys_raw = raw.get("keys")
    if not isinstance(keys_raw, list) or not keys_raw:
        raise FleetError(f"{where}: keys: expected a non-empty list of keys")
    keys = {
        k.key: k for i, item in enumerate(keys_raw) for k in [_key(item, f"{where}: keys[{i}]")]
    }
    faults = dict.fromkeys(FAULT_KINDS, 0.0)
    faults.update(
        _fault_rates(_mapping(raw.get("faults", {}), f"{where}: faults"), f"{where}: faults")
    )
    _check_fault_sum(faults, f"{where}: faults")
    answer_keys = _mapping(raw.get("answer_keys", {}), f"{where}: answer_keys")
    _no_unknown(answer_keys, _ANSWER_KEY_FIELDS, f"{where}: answer_keys")
    synth = _mapping(answer_keys.get("synth_math", {}), f"{where}: answer_keys.synth_math")
    _no_unknown(synth, {"seeds", "count"}, f"{where}: answer_keys.synth_math")
    seeds = synth.get("seeds", list(range(10)))
    if not isinstance(seeds, list) or not all(isinstance(s, int) for s in seeds):
        raise FleetError(f"{where}: answer_keys.synth_math.seeds: expected a list of integers")
    def resolve(field: str) -> Path | None:
        value = answer_keys.get(field)
        return (source.parent / str(value)).resolve() if value else None

    math_style = answer_keys.get("math_style") or []
    if not isinstance(math_style, list) or not all(isinstance(p, str) for p in math_style):
        raise FleetError(f"{where}: answer_keys.math_style: expected a list of file paths")
    default_seed = raw.get("default_seed")
    return Fleet(
        source=source.resolve(),
        llms=llms,
        keys=keys,
        faults=faults,
        latency_scale=_positive(
            raw.get("latency_scale", 1.0), f"{where}: latency_scale", allow_zero=True
        ),
        hang_seconds=_positive(raw.get("hang_seconds", 120), f"{where}: hang_seconds"),
        default_seed=(
            None if default_seed is None
            else int(_number(default_seed, f"{where}: default_seed"))
        ),
        synth_math_seeds=tuple(seeds),
        synth_math_count=int(
            _positive(synth.get("count", 1000), f"{where}: answer_keys.synth_math.count")
        ),
        gsm8k_dir=resolve("gsm8k_dir"),
        datasets_dir=resolve("datasets_dir"),
        mixeval_hard_dir=resolve("mixeval_hard_dir"),
        mt_bench_dir=resolve("mt_bench_dir"),
        math_style=tuple((source.parent / p).resolve() for p in math_style),
    )
