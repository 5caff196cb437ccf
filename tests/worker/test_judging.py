"""worker/judging.py on its own: which answers are judged. Pure: the caller given here stands
for the workers' LLMCaller (tests/scheduler/test_judged_runs.py runs the real one over HTTP)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from benchmarks.registry import get_judged, load_questions
from tests.engine import datasets as datasets_folder
from worker.judging import judge_answer
from worker.techniques.base import CallResult, CallSpec


@pytest.fixture
def datasets() -> Path:
    folder = datasets_folder()
    if folder is None:
        pytest.skip("the public datasets are absent (set ITAS_DATASETS to the folder holding "
                    "mt_bench/; ../shared/datasets)")
    return folder


def never_called(spec: CallSpec) -> CallResult:
    raise AssertionError(f"a judge call was made: {spec.messages[-1][1][:80]}")


@pytest.mark.parametrize("answers", [("", "a second answer"), ("a first answer", ""),
                                     ("", "")])
def test_a_turn_without_an_answer_is_not_judged_and_gets_no_score(
        datasets: Path, answers: tuple[str, str]) -> None:
    benchmark = get_judged("mt-bench")
    assert benchmark is not None
    data = datasets / "mt_bench" / "questions.jsonl"
    item = load_questions("mt-bench", data=data, split="all", limit=1)[0]
    definition = benchmark.judge_definition(data, {})
    with ThreadPoolExecutor(2) as pool:
        judged = judge_answer(benchmark, definition, item.reference, answers,
                              judge_llm="sim-frontier", call=never_called, pool=pool)
    assert judged.scored.score is None and judged.verdicts == ()
    assert "not judged" in (judged.scored.note or "")
    assert judged.judgment()["unparsed"] == 0 and judged.answers == answers
