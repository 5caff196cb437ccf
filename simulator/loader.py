"""Building a :class:`server.Simulator` from a fleet file and the benchmarks' data.

Which data sets the simulator knows (each read in place, never copied):

* synth-math: always (the fleet's ``answer_keys.synth_math`` seeds and count);
* GSM8K: ``--data DIR``, else the fleet's ``gsm8k_dir``, else ``<datasets>/gsm8k``;
* MixEval-Hard: the fleet's ``mixeval_hard_dir``, else ``<datasets>/mixeval_hard``
  (``multiple-choice.json`` and ``free-form.json``, each if present);
* MT-Bench: the fleet's ``mt_bench_dir``, else ``<datasets>/mt_bench`` (``questions.jsonl``);
* the full MixEval (``<datasets>/mixeval``), Arena-Hard-Auto
  (``<datasets>/arena_hard/question.jsonl``) and AlpacaEval
  (``<datasets>/alpaca_eval/reference_outputs.json``), each if present;
* MATH-style JSONL: every ``--math-style FILE``, the fleet's ``math_style`` list,
  ``<datasets>/math-style.jsonl`` and the repository's ``benchmarks/data/math-style.jsonl``,
  each if present;
* code (simulator/code_keys.py): HumanEval (``<datasets>/humaneval/humaneval-python.jsonl``),
  MBPP (``<datasets>/mbpp/mbpp_test.jsonl``), and CodeContests from every
  ``--code-contests FILE``, ``<datasets>/code_contests/*.jsonl`` and the repository's
  ``benchmarks/data/code-contests.jsonl``, each if present.

``<datasets>`` is ``--datasets DIR`` (the layout of ../shared/datasets), else the fleet's
``datasets_dir``, else nothing. A directory or file named explicitly must exist; one found under
``<datasets>`` is optional.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import benchmarks
from simulator.answer_keys import (
    RECORDED_SYSTEMS,
    AnswerKey,
    KeyStore,
    load_gsm8k,
    synth_math_keys,
)
from simulator.code_keys import load_code_contests, load_humaneval, load_mbpp
from simulator.datasets import (
    load_alpaca_eval,
    load_arena_hard,
    load_math_style,
    load_mixeval_choice,
    load_mixeval_free_form,
    load_mt_bench,
)
from simulator.fleet import Fleet, FleetError, load_fleet
from simulator.server import Simulator

__all__ = ["PACKAGED_CODE_CONTESTS", "PACKAGED_MATH_STYLE", "load_keys", "load_simulator",
           "recorded_params"]

#: The MATH-style questions shipped with the benchmarks package, known when present.
PACKAGED_MATH_STYLE = Path(benchmarks.__file__).parent / "data" / "math-style.jsonl"
#: The CodeContests-format problems shipped with the benchmarks package, known when present
#: (read as data: the simulator imports no benchmark code).
PACKAGED_CODE_CONTESTS = Path(benchmarks.__file__).parent / "data" / "code-contests.jsonl"


def recorded_params(fleet: Fleet) -> dict[str, tuple[float, float]] | None:
    """(ability, discrimination) of each recorded GSM8K system, from the fleet's replay LLMs.

    None unless the fleet has a replay LLM for all four systems.
    """
    params = {
        llm.replay: (llm.ability, llm.discrimination)
        for llm in fleet.llms.values()
        if llm.replay is not None
    }
    return params if set(params) >= set(RECORDED_SYSTEMS) else None


def _load(path: Path, what: str, loader: Callable[[Path], list[AnswerKey]]) -> list[AnswerKey]:
    try:
        return loader(path)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise FleetError(f"{path}: cannot load {what} answer keys ({exc})") from exc


def load_keys(
    fleet: Fleet,
    data: Path | None = None,
    *,
    datasets: Path | None = None,
    math_style: Sequence[Path] = (),
    code_contests: Sequence[Path] = (),
) -> KeyStore:
    """Answer keys of every data set the options and the fleet name (module docstring)."""
    store = KeyStore(synth_math_keys(fleet.synth_math_seeds, fleet.synth_math_count))
    root = datasets or fleet.datasets_dir

    def under(name: str) -> Path | None:
        path = root / name if root is not None else None
        return path if path is not None and path.exists() else None

    gsm8k = data or fleet.gsm8k_dir or under("gsm8k")
    if gsm8k is not None:
        store.add(_load(gsm8k, "GSM8K", lambda d: load_gsm8k(d, recorded_params(fleet))))
    mixeval = fleet.mixeval_hard_dir or under("mixeval_hard")
    if mixeval is not None:
        found = [(mixeval / name, loader) for name, loader in (
            ("multiple-choice.json", load_mixeval_choice),
            ("free-form.json", load_mixeval_free_form),
        ) if (mixeval / name).exists()]
        if not found:
            raise FleetError(f"{mixeval}: neither multiple-choice.json nor free-form.json in it")
        for path, loader in found:
            store.add(_load(path, "MixEval-Hard", loader))
    mt_bench = fleet.mt_bench_dir or under("mt_bench")
    if mt_bench is not None:
        store.add(_load(mt_bench / "questions.jsonl", "MT-Bench", load_mt_bench))
    more: list[tuple[str, str, Callable[[Path], list[AnswerKey]]]] = [
        ("mixeval/multiple-choice.json", "MixEval",
         lambda p: load_mixeval_choice(p, "mixeval-mc")),
        ("mixeval/free-form.json", "MixEval", lambda p: load_mixeval_free_form(p, "mixeval-ff")),
        ("arena_hard/question.jsonl", "Arena-Hard", load_arena_hard),
        ("alpaca_eval/reference_outputs.json", "AlpacaEval", load_alpaca_eval),
    ]
    for name, what, load in more:
        if (found_file := under(name)) is not None:
            store.add(_load(found_file, what, load))
    files = [*math_style, *fleet.math_style]
    files += [p for p in (under("math-style.jsonl"), PACKAGED_MATH_STYLE)
              if p is not None and p.exists()]
    for path in dict.fromkeys(files):
        store.add(_load(path, "MATH-style", load_math_style))
    for name, what, load in (("humaneval/humaneval-python.jsonl", "HumanEval", load_humaneval),
                             ("mbpp/mbpp_test.jsonl", "MBPP", load_mbpp)):
        if (found_file := under(name)) is not None:
            store.add(_load(found_file, what, load))
    contests = [*code_contests]
    if (folder := under("code_contests")) is not None:
        contests += sorted(folder.glob("*.jsonl"))
    if PACKAGED_CODE_CONTESTS.exists():
        contests.append(PACKAGED_CODE_CONTESTS)
    for path in dict.fromkeys(contests):
        store.add(_load(path, "CodeContests", load_code_contests))
    return store


def load_simulator(
    fleet_path: Path | None = None,
    data: Path | None = None,
    *,
    datasets: Path | None = None,
    math_style: Sequence[Path] = (),
    code_contests: Sequence[Path] = (),
) -> Simulator:
    """Load the fleet (raises FleetError) and its answer keys."""
    fleet = load_fleet(fleet_path)
    return Simulator(fleet, load_keys(fleet, data, datasets=datasets, math_style=math_style,
                                      code_contests=code_contests))
