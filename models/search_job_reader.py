"""Reading and checking a search job file (the job itself is :mod:`models.search_job`).

Every problem is reported at once: :class:`~models.errors.InvalidSearchJob` whose ``details``
are lines ``<file>: <path>: <what was expected>`` (``job.yaml: space.samples[2]: expected an
integer >= 1, got 0``). A YAML syntax error names its line and column. Unknown keys are
warnings naming the nearest known key (a typo must not silently fall back to a default).
Checks that span fields (rungs against the pruner, generators against the LLMs, ...) live
here too, since a job constructed directly skips them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ValidationError

from benchmarks.base import BenchmarkError
from benchmarks.registry import check_options as check_benchmark_options
from benchmarks.registry import get as get_benchmark
from benchmarks.registry import resolve_data
from models.errors import ConfigError, InvalidArchitecture, InvalidSearchJob
from models.limits import (
    MAX_MAX_TOKENS,
    MAX_PARALLEL_TRIALS,
    MAX_SAMPLES,
    MAX_TOP_K,
    MAX_TRIALS,
    count_up_to,
)
from models.problems import at, nearest, shown
from models.search_job import (
    MAX_DEFAULT_GENERATORS,
    Benchmark,
    Budget,
    FinalCheck,
    Pruner,
    Sampler,
    SearchJob,
    SearchSpace,
    TokenEstimate,
)
from models.yaml_files import load_yaml

if TYPE_CHECKING:
    from models.endpoints import Registry

__all__ = ["JobReport", "check_search_job", "load_search_job", "parse_search_job",
           "pruning_checks", "read_job_yaml"]


_TOP = list(SearchJob.model_fields)
_SECTIONS: dict[str, type[BaseModel]] = {"space": SearchSpace, "budget": Budget,
                                         "estimate": TokenEstimate}
_COUNT = "an integer >= 1"
_EXPECTED = {
    "name": "a non-empty string (at most 100 characters)",
    "benchmark": "one of " + ", ".join(b.value for b in Benchmark),
    "data": "a path to the benchmark's data file or the folder holding it",
    "benchmark_options": "a mapping of the benchmark's options (name: value)",
    "search_fraction": "a number between 0 and 1 (exclusive)",
    "trials": count_up_to(MAX_TRIALS),
    "parallel_trials": count_up_to(MAX_PARALLEL_TRIALS),
    **dict.fromkeys(("questions", "final_questions", "final_top_k",
                     "calls_per_question", "tokens_per_question",
                     "total_calls", "total_tokens", "prompt_tokens", "answer_tokens"), _COUNT),
    "llms": "a non-empty list of LLM names from the endpoints registry",
    "judge_llm": "the name of an LLM (or leave it out: the best-ranked LLM)",
    "benchmark_judge": "the name of an LLM (the judge of a judged benchmark)",
    "baseline_architecture": "a path to an architecture (Archon JSON), the baseline of a "
                             "pairwise judged benchmark",
    "fuser_llm": "the name of an LLM (or leave it out: the best-ranked LLMs)",
    "sampler": "one of " + ", ".join(s.value for s in Sampler),
    "pruner": "one of " + ", ".join(p.value for p in Pruner),
    "rungs": "a list of shares 0 < r <= 1, growing, ending with 1.0",
    "reduction_factor": "an integer >= 2",
    "seed": "an integer >= 0",
    "unsafe_no_sandbox": "true or false",
    **dict.fromkeys(("usd_per_question", "total_usd"), "a number of dollars > 0"),
    **dict.fromkeys(("generators", "fusers_per_layer"), "a non-empty list of integers >= 1"),
    "samples": f"a non-empty list of integers from 1 to {MAX_SAMPLES}",
    "ranker_top_k": f"a non-empty list of integers from 1 to {MAX_TOP_K}",
    "max_tokens": f"a non-empty list of integers from 1 to {MAX_MAX_TOKENS}",
    "fusion_layers": "a non-empty list of integers >= 0",
    **dict.fromkeys(("critic", "ranker"), "a non-empty list of true/false"),
    "final_check": "a non-empty list of " + ", ".join(c.value for c in FinalCheck),
    "temperature": "a non-empty list of numbers from 0 to 2",
}
#: What one item of a list field takes.
_ITEM = {
    **dict.fromkeys(("generators", "fusers_per_layer"), _COUNT),
    "samples": count_up_to(MAX_SAMPLES),
    "ranker_top_k": count_up_to(MAX_TOP_K),
    "max_tokens": count_up_to(MAX_MAX_TOKENS),
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


def _check_data(job: SearchJob, errors: list[str], warnings: list[str],
                updates: dict[str, Any], base_dir: Path | None) -> None:
    """``data`` against what the benchmark takes; a relative path is taken from the job file's
    folder (and stored resolved). The ITAS_DATASETS default of ``itas run`` does not apply:
    a job file names its data, so it means the same wherever the scheduler runs."""
    benchmark = get_benchmark(job.benchmark.value)
    if benchmark.data_help is None:
        if job.data is not None:
            warnings.append(f"data: {job.benchmark.value} needs no data file, ignored")
        return
    if job.data is None:
        if benchmark.needs_data:
            errors.append(f"data: required for {job.benchmark.value}, expected "
                          f"{benchmark.data_help}")
        return
    resolved = job.data if job.data.is_absolute() or base_dir is None else base_dir / job.data
    try:
        resolve_data(benchmark, resolved)
    except BenchmarkError as exc:
        errors.append(str(exc) if str(exc).startswith("data: ") else f"data: {exc}")
    updates["data"] = resolved


def _check_baseline_architecture(job: SearchJob, errors: list[str], updates: dict[str, Any],
                                 base_dir: Path | None) -> None:
    """The baseline architecture of a judged benchmark: read (a path is taken from the job
    file's folder), checked, and stored as the architecture itself."""
    from models.architecture import parse_architecture, read_json

    if get_benchmark(job.benchmark.value).kind != "judged":
        errors.append(f"baseline_architecture: {job.benchmark.value} is scored without a "
                      "judge; leave it out")
        return
    given = job.baseline_architecture
    try:
        if isinstance(given, dict):
            parsed, _ = parse_architecture(given, "baseline_architecture")
        else:
            assert given is not None
            path = given if given.is_absolute() or base_dir is None else base_dir / given
            parsed, _ = parse_architecture(read_json(path), str(path))
    except InvalidArchitecture as exc:
        errors.append(f"baseline_architecture: {exc.summary}"
                      + "".join(f"; {line}" for line in exc.details))
        return
    updates["baseline_architecture"] = parsed.model_dump(mode="json")


def _check_benchmark_options(job: SearchJob, errors: list[str]) -> None:
    benchmark = get_benchmark(job.benchmark.value)
    for line in check_benchmark_options(benchmark, job.benchmark_options):
        errors.append(f"benchmark_options.{line}")


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
        named += [(key, getattr(job, key)) for key in ("judge_llm", "fuser_llm",
                                                       "benchmark_judge") if valid(key)]
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

    if valid("benchmark", "benchmark_judge"):
        judged = get_benchmark(job.benchmark.value).kind == "judged"
        if judged and job.benchmark_judge is None:
            errors.append(f"benchmark_judge: {job.benchmark.value} is scored by an LLM judge; "
                          "name it (an LLM of `itas llms`; not judge_llm, which is the "
                          "architecture's critics and rankers)")
        elif not judged and job.benchmark_judge is not None:
            errors.append(f"benchmark_judge: {job.benchmark.value} is scored without a judge; "
                          "leave benchmark_judge out")
    if valid("benchmark", "data"):
        _check_data(job, errors, warnings, updates, base_dir)
    if valid("benchmark", "baseline_architecture") and job.baseline_architecture is not None:
        _check_baseline_architecture(job, errors, updates, base_dir)
    if valid("benchmark", "benchmark_options"):
        _check_benchmark_options(job, errors)
    if valid("benchmark", "unsafe_no_sandbox") and job.unsafe_no_sandbox \
            and get_benchmark(job.benchmark.value).kind != "code":
        errors.append(f"unsafe_no_sandbox: {job.benchmark.value} runs no code; leave it out")

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
