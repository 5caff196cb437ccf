"""alpaca-eval's judge: the call made for an answer, the reading of the judge's reply, the
question's score and the benchmark's summary. The definition is read from the real judge
files; the replies are written for the test, in a table."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from benchmarks.judged.alpaca_eval import AlpacaEval
from benchmarks.judged.alpaca_eval_stats import (
    preference_from_label,
    preference_from_logprobs,
    sem,
    win_rate,
)
from benchmarks.judged.base import JudgeReply, QuestionJudgment, Verdict, is_judged
from benchmarks.registry import get, load_questions, resolve_data

BENCH = AlpacaEval()


@pytest.fixture(scope="module")
def setting() -> tuple[dict[str, Any], list[Any], Path]:
    """(judge definition, items, datasets folder), read once: the definition's difficulty is
    a joint fit of a few seconds."""
    from tests.benchmarks.conftest import datasets_folder

    folder = datasets_folder()
    if folder is None:
        pytest.skip("the public datasets are absent (set ITAS_DATASETS to the folder holding "
                    "alpaca_eval/; see ../shared/datasets/README.md)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ITAS_DATASETS", str(folder))
        items = load_questions("alpaca-eval", split="all")
        definition = BENCH.judge_definition(resolve_data(BENCH, None), {})
    return definition, items, folder


def p_m(m: float, big_m: float) -> float:
    """P(m) / (P(m) + P(M)) from two logprobs."""
    return math.exp(m) / (math.exp(m) + math.exp(big_m))


#: (reply text, top logprobs, switched) -> (preference, read from the label)
READINGS: list[tuple[str, tuple[tuple[str, float], ...], bool, float | None, bool]] = [
    ("m", (), False, 1.0, True),
    ("M", (), False, 2.0, True),
    ("m", (), True, 2.0, True),
    ("M", (), True, 1.0, True),
    (" M\n", (), False, 2.0, True),
    ('"m"', (), False, 1.0, True),
    ("The best model is m", (), False, None, False),
    ("", (), False, None, False),
    ("mM", (), False, None, False),
    ("M", (("M", -0.1), ("m", -2.4), ("The", -9.0)), False, 2 - p_m(-2.4, -0.1), False),
    ("M", (("M", -0.1), ("m", -2.4)), True, 1 + p_m(-2.4, -0.1), False),
    # a label missing from the top 5 has probability 0, as in alpaca_eval's logprob_parser
    ("M", (("M", -0.01), ("The", -5.0), ("Model", -6.0)), False, 2.0, False),
    ("M", (("M", -0.01), ("The", -5.0)), True, 1.0, False),
    ("m", (("m", -0.01), ("\n", -7.0)), False, 1.0, False),
    # no label among the logprobs: read from the text, else unparsed
    ("M", (("The", -0.5), ("Based", -1.0)), False, 2.0, True),
    ("The", (("The", -0.5), (" m", -1.0)), False, None, False),
]


@pytest.mark.parametrize(("text", "logprobs", "switched", "expected", "from_label"), READINGS)
def test_read_verdict_reads_the_preference_as_alpaca_eval(
        setting: tuple[dict[str, Any], list[Any], Path], text: str,
        logprobs: tuple[tuple[str, float], ...], switched: bool, expected: float | None,
        from_label: bool) -> None:
    definition, items, _ = setting
    call = BENCH.judge_calls(definition, items[0].reference, ["an answer"])[0]
    call = replace(call, context={**call.context, "switched": switched})
    verdict = BENCH.read_verdict(definition, call, JudgeReply(text, logprobs))
    if expected is None:
        assert verdict.value is None and verdict.note and verdict.note.startswith("unparsed")
        assert BENCH.judged_score(definition, items[0].reference, ["an answer"],
                                  [verdict]).score is None  # never a 0
        return
    assert verdict.value == pytest.approx(expected, abs=1e-12)
    assert (verdict.note is not None and "label" in verdict.note) == from_label
    scored = BENCH.judged_score(definition, items[0].reference, ["an answer"], [verdict])
    assert scored.score == pytest.approx(expected - 1.0)


def test_the_reading_helpers_on_their_own() -> None:
    assert preference_from_logprobs([], "m", ("m", "M"), switched=False) is None
    assert preference_from_label("M", "m", ("m", "M"), switched=False) == 2.0
    assert sem([1.0]) is None and sem([0.0, 1.0]) == pytest.approx(0.5)
    assert win_rate([None, float("nan")]) == (None, None, 0)
    rate, error, n = win_rate([1.0, 2.0, 0.0, None])  # 0 is the old encoding of a draw
    assert (rate, n) == (50.0, 3) and error == pytest.approx(100 * 0.5 / math.sqrt(3))


def test_the_definition_comes_from_the_judge_files(
        setting: tuple[dict[str, Any], list[Any], Path]) -> None:
    definition, items, _ = setting
    benchmark = get("alpaca-eval")
    assert is_judged(benchmark) and benchmark.kind == "judged"
    assert (definition["max_tokens"], definition["temperature"], definition["top_logprobs"],
            definition["numerator_token"], definition["denominator_tokens"]) == \
        (1, 1.0, 5, "m", ["m", "M"])
    assert [role for role, _ in definition["messages"]] == ["system", "user"]
    assert len(definition["difficulty"]) == 805 and definition["difficulty"][0] == 0.0
    json.dumps(definition)  # stored with an evaluation
    assert len(items) == 805 and items[804].item_id == "ae-804"
    assert items[3].reference["baseline_generator"] == "gpt4_1106_preview"


def test_calls_show_the_outputs_in_alpaca_eval_order(
        setting: tuple[dict[str, Any], list[Any], Path]) -> None:
    definition, items, folder = setting
    rows = [json.loads(line) for line in
            (folder / "alpaca_eval/annotations/vicuna-13b.jsonl").read_text().splitlines()]
    for row in rows:  # the recorded order of every instruction
        reference = items[row["index"]].reference
        call, = BENCH.judge_calls(definition, reference, ["ANSWER"])
        assert call.context["switched"] is row["is_switched_outputs"]
    reference = items[0].reference
    call, = BENCH.judge_calls(definition, reference, ["ANSWER"])
    user = call.messages[1][1]
    baseline_at, answer_at = user.index(reference["baseline"][:200]), user.index("ANSWER")
    assert (answer_at < baseline_at) is call.context["switched"]
    assert reference["instruction"] in user and "{output_1}" not in user
    assert (call.key, call.max_tokens, call.top_logprobs) == ("preference", 1, 5)
    # the same answer is the same call (one cached judgment in every trial)
    assert BENCH.judge_calls(definition, reference, ["ANSWER"]) == [call]
    # asked again while attempts remain, then given up
    again = BENCH.follow_up(definition, call, JudgeReply("?"))
    assert again is not None and again.attempt == 1 and again.messages == call.messages
    last = BENCH.follow_up(definition, again, JudgeReply("?"))
    assert last is not None and BENCH.follow_up(definition, last, JudgeReply("?")) is None


def test_an_answer_equal_to_the_baseline_is_a_draw_without_a_call(
        setting: tuple[dict[str, Any], list[Any], Path]) -> None:
    definition, items, _ = setting
    reference = items[5].reference
    assert BENCH.judge_calls(definition, reference, [reference["baseline"]]) == []
    scored = BENCH.judged_score(definition, reference, [reference["baseline"]], [])
    assert scored.score == 0.5 and scored.note and "draw" in scored.note


def test_summary_of_a_recorded_system_is_its_leaderboard_row(
        setting: tuple[dict[str, Any], list[Any], Path]) -> None:
    """claude-2.1's annotations carry its outputs: judged as an architecture's answers, the
    summary gives the published win rate, and the LC of the leaderboard computation."""
    from benchmarks.judged.alpaca_eval_data import read_annotations
    from benchmarks.judged.alpaca_eval_leaderboard import leaderboard

    definition, items, folder = setting
    path = folder / "alpaca_eval/annotations/claude-2.1.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    judgments = [QuestionJudgment(
        f"ae-{row['index']}", items[row["index"]].reference, (row["output_2"],),
        (Verdict("preference", row["preference"], label="M"),)) for row in rows]
    summary = BENCH.summarize(definition, judgments)
    expected = leaderboard([read_annotations(path)], difficulty=definition["difficulty"])[0]
    assert summary.score == pytest.approx(15.733507, abs=1e-5)  # published win_rate
    assert summary.figures["standard_error"] == pytest.approx(expected.standard_error)
    assert summary.figures["lc_win_rate"] == pytest.approx(expected.lc_win_rate, abs=1e-6)
    assert summary.figures["lc_regularised"] == 0.0
    assert (summary.n, summary.unparsed) == (805, 0)
    # an unread verdict is left out and counted, never a 0
    unread = [QuestionJudgment(j.question_id, j.reference, j.answers,
                               (Verdict("preference", None, note="unparsed"),))
              for j in judgments[:5]] + judgments[5:]
    partial = BENCH.summarize(definition, unread)
    assert (partial.n, partial.unparsed) == (800, 5)
    # too few questions for the GLM: no LC, said by its absence
    few = BENCH.summarize(definition, judgments[:3])
    assert few.score is not None and few.figures["lc_win_rate"] is None


def test_the_win_rates_interval_stays_within_0_and_100(
        setting: tuple[dict[str, Any], list[Any], Path]) -> None:
    """Eleven questions, ten won outright and one lost: mean ± 1.96 SE would reach past 100
    (a real small judge did this, bench/README.md); the interval stops at 100."""
    definition, items, _ = setting
    definition = {**definition, "difficulty": None}  # the raw win rate alone: no GLM fit
    judgments = [QuestionJudgment(
        f"ae-{i}", items[i].reference, ("an answer",),
        (Verdict("preference", 2.0 if i else 1.0, label="M"),)) for i in range(11)]
    summary = BENCH.summarize(definition, judgments)
    assert summary.score == pytest.approx(100 * 10 / 11)
    assert summary.ci_low is not None and summary.ci_high == 100.0
    assert 0.0 <= summary.ci_low < summary.score
