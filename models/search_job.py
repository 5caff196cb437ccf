"""Search jobs: what to search (benchmark, LLMs, space), under which budget, and how.

A search job is a YAML file, documented field by field in ``docs/search-job.md`` and in
``examples/search-demo.yaml``; ``itas validate job.yaml`` checks it. In short::

    name: demo                          # required
    benchmark: synth-math               # synth-math | gsm8k (gsm8k needs data:)
    llms: [sim-frontier, sim-large]     # >= 1, names from the endpoints registry
    space: {samples: [1, 3, 5], fusion_layers: [0, 1, 2], ...}
    budget: {usd_per_question: 0.01, total_usd: 5}
    sampler: tpe                        # tpe | gp | random | grid | nsga2
    pruner: successive_halving          # successive_halving | hyperband | median | none
    trials: 20

The space only lists *choices per axis*; how a choice becomes an Archon architecture (the
ordering rules) is :func:`scheduler.search_space.build_architecture`, so no file can write an
architecture that breaks them.

Every problem is reported at once: :class:`~models.errors.InvalidSearchJob` whose ``details``
are lines ``<file>: <path>: <what was expected>`` (``job.yaml: space.samples[2]: expected an
integer >= 1, got 0``). A YAML syntax error names its line and column. Unknown keys are
warnings naming the nearest known key (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from enum import StrEnum
from math import prod
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from models.errors import ConfigError, InvalidSearchJob
from models.problems import at, nearest, shown
from models.yaml_files import load_yaml

if TYPE_CHECKING:
    from models.endpoints import Registry

__all__ = ["Benchmark", "Budget", "FinalCheck", "JobReport", "Pruner", "Sampler", "SearchJob",
           "SearchSpace", "TokenEstimate", "check_search_job", "load_search_job",
           "parse_search_job", "read_job_yaml"]

#: The default ``space.generators`` is 1..len(llms), capped here (the paper stops at 10 LLMs;
#: five keeps a default search affordable).
MAX_DEFAULT_GENERATORS = 5


class Benchmark(StrEnum):
    SYNTH_MATH = "synth-math"
    GSM8K = "gsm8k"


class Sampler(StrEnum):
    TPE = "tpe"
    GP = "gp"
    RANDOM = "random"
    GRID = "grid"
    #: Multi-objective: score up, estimated cost down (the Pareto front).
    NSGA2 = "nsga2"


class Pruner(StrEnum):
    SUCCESSIVE_HALVING = "successive_halving"
    HYPERBAND = "hyperband"
    MEDIAN = "median"
    NONE = "none"


class FinalCheck(StrEnum):
    """What runs right before the last fuser (or the final pick when there is no fuser)."""

    NONE = "none"
    VERIFIER = "verifier"
    #: A unit_test_generator before the generators, a unit_test_evaluator here.
    UNIT_TESTS = "unit_tests"


_Count = Annotated[int, Field(ge=1)]
_Positive = Annotated[float, Field(gt=0)]


class SearchSpace(BaseModel):
    """The choices of each axis. Every trial picks one value per axis (all are always
    suggested, so that grid search sees a fixed space)."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    #: How many LLMs generate, taken best first from the power-ranked ``llms``.
    generators: list[_Count] = Field(default_factory=lambda: [1, 2, 3], min_length=1)
    #: Samples each generator writes.
    samples: list[_Count] = Field(default_factory=lambda: [1, 3, 5], min_length=1)
    #: Fusion layers after the generators (0: a ranker or the first candidate answers).
    fusion_layers: list[Annotated[int, Field(ge=0)]] = Field(
        default_factory=lambda: [0, 1, 2], min_length=1)
    #: Fusers in each fusion layer but the last, which has one fuser (the paper's rule).
    fusers_per_layer: list[_Count] = Field(default_factory=lambda: [1, 2, 3], min_length=1)
    #: A critic before each fusion layer.
    critic: list[bool] = Field(default_factory=lambda: [False, True], min_length=1)
    #: A ranker before each fusion layer.
    ranker: list[bool] = Field(default_factory=lambda: [False, True], min_length=1)
    #: How many candidates a ranker hands on (capped by those that reach it).
    ranker_top_k: list[_Count] = Field(default_factory=lambda: [5], min_length=1)
    #: What runs before the last fuser.
    final_check: list[Annotated[FinalCheck, Strict(False)]] = Field(
        default_factory=lambda: [FinalCheck.NONE, FinalCheck.VERIFIER, FinalCheck.UNIT_TESTS],
        min_length=1)
    #: Sampling temperature of every component.
    temperature: list[Annotated[float, Field(ge=0, le=2)]] = Field(
        default_factory=lambda: [0.7], min_length=1)
    #: max_tokens of every component.
    max_tokens: list[_Count] = Field(default_factory=lambda: [1024], min_length=1)

    def axes(self) -> dict[str, list[Any]]:
        """Axis name -> its choices, in a fixed order (the names trials suggest)."""
        return {name: [c.value if isinstance(c, FinalCheck) else c for c in getattr(self, name)]
                for name in type(self).model_fields}

    @property
    def size(self) -> int:
        """How many points the grid has (distinct parameter sets, not distinct stacks)."""
        return prod(len(choices) for choices in self.axes().values())


class Budget(BaseModel):
    """Limits, all optional. Per question: the static estimate of one architecture
    (``scheduler.search_space.estimate_cost``). Total: the whole job, every trial together."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    calls_per_question: _Count | None = None
    #: Input plus output tokens.
    tokens_per_question: _Count | None = None
    usd_per_question: _Positive | None = None
    total_calls: _Count | None = None
    total_tokens: _Count | None = None
    total_usd: _Positive | None = None


class TokenEstimate(BaseModel):
    """What the static cost estimate assumes of one question (tokens, rough)."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    #: The question with its instructions.
    prompt_tokens: _Count = 200
    #: One answer (a candidate, critique, ranking, verdict); also each candidate shown in a prompt.
    answer_tokens: _Count = 300


class SearchJob(BaseModel):
    """A checked search job. Read it with :func:`load_search_job` / :func:`parse_search_job`;
    constructing it directly skips the checks that span fields."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    benchmark: Benchmark = Field(strict=False)
    #: gsm8k: the folder holding test.jsonl, or the file; relative to the job file.
    data: Path | None = Field(default=None, strict=False)
    #: Share of the benchmark searched on; the rest ranks the finalists (the paper: 20/80).
    search_fraction: float = Field(default=0.2, gt=0, lt=1)
    #: At most this many search-split questions are used (None: all of them).
    questions: _Count | None = None
    #: At most this many held-out questions for the final ranking (None: all of them).
    final_questions: _Count | None = None
    #: How many of the best trials are re-evaluated on the held-out questions.
    final_top_k: _Count = 3
    #: The LLMs the search may use; the scheduler power-ranks them before the search.
    llms: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    #: Critic, ranker, verifier and unit tests; None: the best-ranked LLM.
    judge_llm: str | None = Field(default=None, min_length=1)
    #: Fusers; None: the best-ranked LLMs (the top ``fusers_per_layer`` in a layer).
    fuser_llm: str | None = Field(default=None, min_length=1)
    space: SearchSpace = Field(default_factory=SearchSpace)
    budget: Budget = Field(default_factory=Budget)
    estimate: TokenEstimate = Field(default_factory=TokenEstimate)
    sampler: Sampler = Field(default=Sampler.TPE, strict=False)
    pruner: Pruner = Field(default=Pruner.SUCCESSIVE_HALVING, strict=False)
    #: Growing shares of the search questions a trial is evaluated on, reported to the pruner
    #: after each; strictly increasing, the last 1.0. The default grows by 3, matching
    #: ``reduction_factor``, so that every rung but the last is a pruning check.
    rungs: list[Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=lambda: [0.11, 0.33, 1.0], min_length=1)
    #: Successive halving and hyperband keep the best 1/reduction_factor of the trials at each
    #: check; checks fall where a trial has answered rungs[0] x reduction_factor^k of the
    #: questions.
    reduction_factor: int = Field(default=3, ge=2)
    trials: _Count = 20
    parallel_trials: _Count = 4
    seed: int = Field(default=0, ge=0)

    def judge(self, ranked_llms: list[str]) -> str:
        """The LLM of critics, rankers, verifiers and unit tests."""
        return self.judge_llm or ranked_llms[0]


_TOP = list(SearchJob.model_fields)
_SECTIONS: dict[str, type[BaseModel]] = {"space": SearchSpace, "budget": Budget,
                                         "estimate": TokenEstimate}
_COUNT = "an integer >= 1"
_EXPECTED = {
    "name": "a non-empty string (at most 100 characters)",
    "benchmark": "one of " + ", ".join(b.value for b in Benchmark),
    "data": "a path to GSM8K's test.jsonl or the folder holding it",
    "search_fraction": "a number between 0 and 1 (exclusive)",
    **dict.fromkeys(("questions", "final_questions", "final_top_k", "trials",
                     "parallel_trials", "calls_per_question", "tokens_per_question",
                     "total_calls", "total_tokens", "prompt_tokens", "answer_tokens"), _COUNT),
    "llms": "a non-empty list of LLM names from the endpoints registry",
    "judge_llm": "the name of an LLM (or leave it out: the best-ranked LLM)",
    "fuser_llm": "the name of an LLM (or leave it out: the best-ranked LLMs)",
    "sampler": "one of " + ", ".join(s.value for s in Sampler),
    "pruner": "one of " + ", ".join(p.value for p in Pruner),
    "rungs": "a list of shares 0 < r <= 1, growing, ending with 1.0",
    "reduction_factor": "an integer >= 2",
    "seed": "an integer >= 0",
    **dict.fromkeys(("usd_per_question", "total_usd"), "a number of dollars > 0"),
    **dict.fromkeys(("generators", "samples", "fusers_per_layer", "ranker_top_k",
                     "max_tokens"), "a non-empty list of integers >= 1"),
    "fusion_layers": "a non-empty list of integers >= 0",
    **dict.fromkeys(("critic", "ranker"), "a non-empty list of true/false"),
    "final_check": "a non-empty list of " + ", ".join(c.value for c in FinalCheck),
    "temperature": "a non-empty list of numbers from 0 to 2",
}
#: What one item of a list field takes.
_ITEM = {
    **dict.fromkeys(("generators", "samples", "fusers_per_layer", "ranker_top_k", "max_tokens"),
                    _COUNT),
    "fusion_layers": "an integer >= 0",
    **dict.fromkeys(("critic", "ranker"), "true or false"),
    "final_check": "one of " + ", ".join(c.value for c in FinalCheck),
    "temperature": "a number from 0 to 2",
    "llms": "an LLM name (a non-empty string)",
    "rungs": "a share of the search questions, 0 < r <= 1",
}


def pruning_checks(rungs: list[float], reduction_factor: int) -> set[int]:
    """The rungs (indices, the last excluded) after which successive halving checks a trial.

    Optuna's pruner checks when the step reported, the questions answered so far, reaches
    rungs[0] x reduction_factor^k (k = 0, 1, ...); the rung that first reaches each is the one
    checked. Shares stand in for question counts here (rounding aside, the same thing).
    """
    checks, next_check = set(), rungs[0]
    for i, rung in enumerate(rungs[:-1]):
        if rung >= next_check * (1 - 1e-6):
            checks.add(i)
            while next_check <= rung * (1 + 1e-6):
                next_check *= reduction_factor
    return checks


def _problems(exc: ValidationError, base: str) -> list[str]:
    """One line per pydantic error, worded with _EXPECTED (a field) or _ITEM (a list item)."""
    lines = []
    for error in exc.errors():
        loc = [k for k in error.get("loc") or () if not (isinstance(k, str) and "[" in k)]
        path = base
        for key in loc:
            path = at(path, key if isinstance(key, int) else str(key))
        field = str(loc[0]) if loc else ""
        item = len(loc) > 1 and isinstance(loc[-1], int)
        wanted = (_ITEM if item else _EXPECTED).get(field)
        if error["type"] == "missing":
            lines.append(f"{path}: required, expected {wanted or 'a value'}")
        elif error["type"] == "extra_forbidden":
            continue  # reported as a warning with a hint
        elif error["type"] == "too_short" and error.get("input") == []:
            lines.append(f"{path}: expected {wanted}, got an empty list")
        else:
            got = error.get("input")
            lines.append(f"{path}: expected {wanted or error['msg']}, got {shown(got)}"
                         + (_NUMBER_AS_TEXT if _is_number_text(got) else ""))
    return lines


#: PyYAML (YAML 1.1) reads ``1e-2`` as a string; say so, or the error looks absurd.
_NUMBER_AS_TEXT = " (a string: YAML reads 1e-2 as text, write 0.01 or 1.0e-2)"


def _is_number_text(value: object) -> bool:
    if not isinstance(value, str) or "e" not in value.lower():
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def load_search_job(path: Path, *, registry: Registry | None = None,
                    structure_only: bool = False) -> tuple[SearchJob, list[str]]:
    """Read and check a search job file; see :func:`parse_search_job`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidSearchJob(f"{path}: cannot read the file: {reason}") from exc
    return parse_search_job(read_job_yaml(text, str(path)), str(path), registry=registry,
                            structure_only=structure_only, base_dir=path.parent)


def read_job_yaml(text: str, source: str) -> Any:
    """The YAML document in ``text``; a syntax error or a repeated key names line and column."""
    return load_yaml(text, source, error=InvalidSearchJob, loader=_StrictLoader)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML keeps the last one silently)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str | int | float | bool) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"{key!r} is given twice (first on line {seen[key]})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@dataclass
class JobReport:
    """What :func:`check_search_job` found; ``job`` is None when there are errors.

    Problems are ``<path>: <what>`` lines, without the file name.
    """

    job: SearchJob | None
    errors: list[str]
    warnings: list[str]

    def exception(self, source: str) -> InvalidSearchJob:
        if len(self.errors) == 1:
            return InvalidSearchJob(f"{source}: {self.errors[0]}")
        return InvalidSearchJob(f"{source}: {len(self.errors)} errors in the search job",
                                [f"{source}: {line}" for line in self.errors])


def parse_search_job(data: Any, source: str = "<search job>", *,
                     registry: Registry | None = None, structure_only: bool = False,
                     base_dir: Path | None = None) -> tuple[SearchJob, list[str]]:
    """Check a parsed search job document and return it with its warnings.

    Unless ``structure_only``, LLM names are looked up in ``registry`` (the endpoints registry
    in effect when None). A relative ``data`` path is taken from ``base_dir`` (the job file's
    folder). Raises :class:`InvalidSearchJob` listing every error as
    ``<source>: <path>: <what was expected>``; warnings come back as ``<path>: <warning>``.
    """
    report = check_search_job(data, registry=registry, structure_only=structure_only,
                              base_dir=base_dir)
    if report.job is None or report.errors:
        raise report.exception(source)
    return report.job, report.warnings


def check_search_job(data: Any, *, registry: Registry | None = None,
                     structure_only: bool = False, base_dir: Path | None = None) -> JobReport:
    """:func:`parse_search_job` without raising: every error and warning, job or not."""
    errors: list[str] = []
    warnings: list[str] = []
    if not isinstance(data, dict):
        errors.append(f"(top level): expected a mapping with name, benchmark, llms, ..., "
                      f"got {shown(data)}")
        return JobReport(None, errors, warnings)
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _TOP:
            _unknown(warnings, str(key), str(key), _TOP)
        elif key in _SECTIONS:
            section = _section(errors, warnings, key, value)
            if section is not None:
                fields[key] = section
        else:
            fields[key] = value
    # A field with errors stands in as its default (or a placeholder), so that the rules
    # spanning fields still run on the others: every error of the file comes out at once.
    bad = {k for k in _SECTIONS if k in data and k not in fields}
    job: SearchJob | None = None
    try:
        job = SearchJob.model_validate({**fields, **{k: _SECTIONS[k]() for k in bad}})
    except ValidationError as exc:
        errors.extend(_problems(exc, ""))
        bad |= {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
        kept = {k: v for k, v in fields.items() if k not in bad}
        try:
            job = SearchJob.model_validate({**_PLACEHOLDERS, **kept})
        except ValidationError:
            job = None
    if job is not None:
        job = _check_job(job, data, errors, warnings, base_dir=base_dir, skip=bad,
                         registry=None if structure_only else registry or _registry())
    return JobReport(None if errors else job, errors, warnings)


_PLACEHOLDERS: dict[str, Any] = {"name": "-", "benchmark": "synth-math", "llms": ["-"]}


def _section(errors: list[str], warnings: list[str], key: str, value: Any) -> BaseModel | None:
    model = _SECTIONS[key]
    if value is None:  # every sub-key commented out: the defaults
        return model()
    if not isinstance(value, dict):
        errors.append(f"{key}: expected a mapping of {', '.join(model.model_fields)}, "
                      f"got {shown(value)}")
        return None
    known = list(model.model_fields)
    for sub in value:
        if sub not in known:
            _unknown(warnings, at(key, str(sub)), str(sub), known)
    try:
        return model.model_validate({k: v for k, v in value.items() if k in known})
    except ValidationError as exc:
        errors.extend(_problems(exc, key))
        return None


def _unknown(warnings: list[str], path: str, key: str, known: list[str]) -> None:
    hint = nearest(key, known)
    warnings.append(f"{path}: unknown key, ignored"
                    + (f"; did you mean {hint}?" if hint else
                       f"; expected one of {', '.join(known)}"))


def _registry() -> Registry:
    from models.endpoints import load_registry

    return load_registry()


def _check_job(job: SearchJob, data: dict[str, Any], errors: list[str], warnings: list[str], *,
               base_dir: Path | None, registry: Registry | None, skip: set[str]) -> SearchJob:
    """The rules that span fields; returns the job with its derived defaults filled in."""
    def valid(*keys: str) -> bool:  # the fields read their values from the file
        return not skip.intersection(keys)

    updates: dict[str, Any] = {}
    first: dict[str, int] = {}
    for i, name in enumerate(job.llms if valid("llms") else []):
        if name in first:
            errors.append(f"llms[{i}]: {name!r} is already llms[{first[name]}]")
        first.setdefault(name, i)
    if registry is not None:
        named = [(at("llms", i), name) for i, name in enumerate(job.llms) if valid("llms")]
        named += [(key, getattr(job, key)) for key in ("judge_llm", "fuser_llm") if valid(key)]
        for path, name in named:
            try:
                if name is not None:
                    registry.llm(name)
            except ConfigError as exc:
                errors.append(f"{path}: {exc}")

    space = job.space
    if not valid("space", "llms"):
        pass
    elif "generators" not in (data.get("space") or {}):
        space = space.model_copy(update={"generators": list(
            range(1, min(len(job.llms), MAX_DEFAULT_GENERATORS) + 1))})
        updates["space"] = space
    for i, count in enumerate(space.generators if valid("space", "llms") else []):
        if count > len(job.llms):
            errors.append(f"space.generators[{i}]: expected at most {len(job.llms)} (the LLMs "
                          f"in llms), got {count}")
    for axis, choices in space.axes().items():
        for i, choice in enumerate(choices):
            if choice in choices[:i]:
                errors.append(f"space.{axis}[{i}]: {shown(choice)} is already a choice")

    if not valid("benchmark", "data"):
        pass
    elif job.benchmark is Benchmark.GSM8K:
        if job.data is None:
            errors.append(f"data: required for gsm8k, expected {_EXPECTED['data']}")
        else:
            resolved = job.data if job.data.is_absolute() or base_dir is None \
                else base_dir / job.data
            if not resolved.exists():
                errors.append(f"data: {resolved} does not exist, expected {_EXPECTED['data']}")
            updates["data"] = resolved
    elif job.data is not None:
        warnings.append(f"data: {job.benchmark.value} needs no data file, ignored")

    for i, rung in enumerate(job.rungs[1:] if valid("rungs") else [], 1):
        if rung <= job.rungs[i - 1]:
            errors.append(f"rungs[{i}]: expected more than {job.rungs[i - 1]} (rungs grow), "
                          f"got {rung}")
    if valid("rungs") and job.rungs[-1] != 1.0:
        errors.append(f"rungs[{len(job.rungs) - 1}]: the last rung must be 1.0 (all the "
                      f"search questions), got {job.rungs[-1]}")
    if valid("questions", "rungs") and job.questions is not None \
            and job.questions * job.rungs[0] < 1:
        warnings.append(f"rungs[0]: {job.rungs[0]} of {job.questions} questions is less than "
                        "one question; the first rung uses one")

    pruner = job.pruner
    if valid("sampler", "pruner") and job.sampler is Sampler.NSGA2 and pruner is not Pruner.NONE:
        if "pruner" in data:
            skip = skip | {"rungs"}
            errors.append(f"pruner: nsga2 searches score and cost together, and Optuna cannot "
                          f"prune a multi-objective study; set pruner: none, got {pruner.value}")
        pruner = updates["pruner"] = Pruner.NONE
    if pruner is Pruner.SUCCESSIVE_HALVING and valid("rungs", "reduction_factor"):
        checks = pruning_checks(job.rungs, job.reduction_factor)
        for i, rung in enumerate(job.rungs[:-1]):
            if i not in checks:
                warnings.append(
                    f"rungs[{i}]: the pruner does not check at {rung} with reduction_factor "
                    f"{job.reduction_factor} (it checks once a trial has answered "
                    f"{job.rungs[0]} x {job.reduction_factor}^k of the questions); make the "
                    "rungs grow by the reduction factor")
    if pruner is Pruner.NONE and "rungs" in data and len(job.rungs) > 1 and valid("rungs"):
        warnings.append("rungs: with pruner none every trial runs on all its questions; "
                        "rungs only matter to a pruner")
    if valid("sampler", "trials", "space") and job.sampler is Sampler.GRID \
            and job.trials > space.size:
        warnings.append(f"trials: the grid has {space.size} points, so grid search stops after "
                        f"{space.size} trials, not {job.trials}")
    if valid("sampler") and job.sampler is Sampler.GP and (
            importlib.util.find_spec("torch") is None or importlib.util.find_spec("scipy") is None):
        warnings.append("sampler: Optuna's gp sampler needs torch and scipy, which are not "
                        "installed here (pip install torch scipy where the scheduler runs)")
    if valid("parallel_trials", "trials") and job.parallel_trials > job.trials:
        warnings.append(f"parallel_trials: {job.parallel_trials} is more than the "
                        f"{job.trials} trials; at most {job.trials} run at once")
    if valid("final_top_k", "trials") and job.final_top_k > job.trials:
        warnings.append(f"final_top_k: {job.final_top_k} is more than the {job.trials} trials")
    return job.model_copy(update=updates) if updates else job
