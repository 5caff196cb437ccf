"""MT-Bench judged as FastChat's llm_judge judges it: the prompts it sends (checked against the
real GPT-4 judgments' own prompts), the rating parser's fallback, pairwise games and FastChat's
tie rule, the re-ask, and the figures of `itas benchmarks score mt-bench --judgments` on the
real judgments. Pure: no service."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks.judged.base import JudgeReply, QuestionJudgment, Verdict
from benchmarks.judged.mt_bench_verdicts import pair_outcome, pair_winner, parse_rating
from benchmarks.mt_bench import MTBench
from tests.benchmarks.test_benchmarks_cli import itas

BENCH = MTBench()


@pytest.mark.parametrize(("text", "grade"), [
    ("The answer is correct and complete. Rating: [[10]]", 10.0),
    ("Rating: [[7.5]]", 7.5),
    ('**Rating: [[3]]**', 3.0),
    ("I give it [[5.]] because ...", 5.0),
    ("Rating: [8]", 8.0),                        # the fallback: single brackets
    ("[[2]] at first glance, but on reflection [[9]]", 2.0),  # FastChat takes the first
    ("See reference [1]. Rating: [[6]]", 6.0),   # [[N]] wins over an earlier [N]
    ("See reference [1]. Overall a 6.", 1.0),    # ...and the fallback reads a citation
    ("Rating: 8/10", None),
    ("Rating: [[8/10]]", None),
    ("Rating: [[ 8 ]]", None),
    ('rate it by strictly following this format: "[[rating]]"', None),
    ("", None),
])
def test_ratings_are_read_with_fastchats_fallback(text: str, grade: float | None) -> None:
    assert parse_rating(text) == grade


@pytest.mark.parametrize(("text", "winner"), [
    ("Assistant A is better. [[A]]", "A"), ("[[B]]", "B"), ("It is a tie: [[C]]", "tie"),
    ("[[B]] ... no wait, [[A]]", "A"),  # FastChat tests [[A]] first
    ("Assistant B", None), ("[B]", None),
])
def test_pairwise_verdicts_are_read_as_fastchat_reads_them(text: str,
                                                           winner: str | None) -> None:
    assert pair_winner(text) == winner


@pytest.mark.parametrize(("game_1", "game_2", "outcome"), [
    (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (0.5, 0.5, 0.5),
    (1.0, 0.0, 0.5), (0.0, 1.0, 0.5), (1.0, 0.5, 0.5), (0.5, 1.0, 0.5),  # disagree: a tie
    (None, 1.0, None), (1.0, None, None),
])
def test_disagreeing_orders_count_as_a_tie(game_1: float | None, game_2: float | None,
                                           outcome: float | None) -> None:
    assert pair_outcome(game_1, game_2) == outcome


def _real_answers(user_prompt: str) -> tuple[str, str]:
    """The two answers quoted in a turn-2 judge prompt of FastChat."""
    found = re.search(r"### Assistant A:\n(.*)\n\n### User:\n.*?\n\n### Assistant A:\n(.*)\n\n"
                      r"<\|The End of Assistant A", user_prompt, re.S)
    assert found
    return found.group(1), found.group(2)


def test_judge_calls_are_fastchats_prompts_per_category_and_turn(datasets: Path) -> None:
    questions = datasets / "mt_bench" / "questions.jsonl"
    items = {item.reference["question_id"]: item for item in BENCH.load(questions, {})}
    definition = BENCH.judge_definition(questions, {})
    json.dumps(definition)  # stored with an evaluation
    rows = [json.loads(line) for line in (datasets / "mt_bench" / "model_judgment"
                                          / "gpt-4_single.jsonl").read_text().splitlines()]
    prompts = {(r["question_id"], r["turn"]): (r["user_prompt"], r["judge"][1]) for r in rows}
    checked = 0
    for (question_id, turn), (user_prompt, _) in prompts.items():
        if turn != 2:
            continue
        calls = BENCH.judge_calls(definition, items[question_id].reference,
                                  _real_answers(user_prompt))
        assert [c.key for c in calls] == ["turn-1", "turn-2"]
        for call, t in zip(calls, (1, 2), strict=True):
            want, name = prompts[(question_id, t)]
            assert call.messages[1] == ("user", want), (question_id, t)
            assert call.messages[0] == ("system",
                                        definition["prompts"][name]["system_prompt"])
            assert (call.temperature, call.max_tokens) == (0.0, 2048)
            checked += 1
    assert checked == 160
    math = items[111]  # a math question: the reference-guided prompt, GPT-4's answer in it
    assert math.reference["category"] == "math"
    call_1, call_2 = BENCH.judge_calls(definition, math.reference, ["one", "two"])
    assert "[The Start of Reference Answer]" in call_1.messages[1][1]
    assert definition["reference_answers"]["111"][0] in call_1.messages[1][1]
    assert definition["reference_answers"]["111"][1] in call_2.messages[1][1]
    writing = BENCH.judge_calls(definition, items[81].reference, ["one", "two"])
    assert "Reference" not in writing[0].messages[1][1]


def test_pairwise_mode_plays_both_orders_against_the_baseline(datasets: Path) -> None:
    questions = datasets / "mt_bench" / "questions.jsonl"
    options = {"mode": "pairwise", "baseline": "Qwen2-72B-Instruct"}
    assert BENCH.check_options(options) == []
    items = BENCH.load(questions, options)
    item = next(i for i in items if i.reference["category"] == "reasoning")
    assert len(item.reference["baseline"]) == 2
    definition = BENCH.judge_definition(questions, options)
    calls = BENCH.judge_calls(definition, item.reference, ["MINE-1", "MINE-2"])
    assert [c.key for c in calls] == ["turn-1-game-1", "turn-1-game-2", "turn-2-game-1",
                                      "turn-2-game-2"]
    game_1, game_2 = calls[0].messages[1][1], calls[1].messages[1][1]
    baseline = item.reference["baseline"][0]
    assert "[The Start of Assistant A's Answer]\nMINE-1\n" in game_1
    assert f"[The Start of Assistant B's Answer]\n{baseline}\n" in game_1
    assert f"[The Start of Assistant A's Answer]\n{baseline}\n" in game_2
    assert "[The Start of Assistant B's Answer]\nMINE-1\n" in game_2
    assert "[The Start of Reference Answer]" in game_1  # pair-math-v1 for reasoning
    replies = ["[[A]]", "[[B]]", "[[A]]", "[[A]]"]  # turn 1: wins both; turn 2: disagree
    verdicts = [BENCH.read_verdict(definition, c, JudgeReply(r))
                for c, r in zip(calls, replies, strict=True)]
    assert [v.value for v in verdicts] == [1.0, 1.0, 1.0, 0.0]
    scored = BENCH.judged_score(definition, item.reference, ["a", "b"], verdicts)
    assert scored.score == 0.75  # (win + tie) / 2
    summary = BENCH.summarize(definition, [QuestionJudgment(item.item_id, item.reference,
                                                            ("a", "b"), tuple(verdicts))])
    assert summary.score == 75.0 and summary.figures["wins"] == 1.0
    assert summary.figures["ties"] == 1.0 and summary.figures["win_rate"] == 50.0


def test_pairwise_takes_a_baseline_file_or_none_here() -> None:
    # Without a file, the baseline is an architecture's (`--baseline-architecture`); a run
    # with neither is refused before anything is queued (tests/scheduler/test_judged_runs.py).
    assert BENCH.check_options({"mode": "pairwise"}) == []
    assert BENCH.check_options({"mode": "pairwise", "baseline": 3}) == [
        "baseline: expected the baseline's answers (a name under model_answer/ or a path)"]
    assert "mode: expected single or pairwise" in BENCH.check_options({"mode": "pair"})[0]


def test_an_unreadable_grade_is_asked_once_more_then_left_out(datasets: Path) -> None:
    questions = datasets / "mt_bench" / "questions.jsonl"
    item = BENCH.load(questions, {})[0]
    definition = BENCH.judge_definition(questions, {})
    call = BENCH.judge_calls(definition, item.reference, ["a", "b"])[0]
    bad = JudgeReply("A solid answer, I'd say 8 out of 10.")
    verdict = BENCH.read_verdict(definition, call, bad)
    assert verdict.value is None and "[[rating]]" in (verdict.note or "")
    again = BENCH.follow_up(definition, call, bad)
    assert again is not None and again.attempt == 1 and again.messages == call.messages
    assert BENCH.follow_up(definition, again, bad) is None
    assert BENCH.follow_up(definition, call, JudgeReply("Rating: [[8]]")) is None
    turn_2 = Verdict("turn-2", 6.0, "6", context={"turn": 2})
    scored = BENCH.judged_score(definition, item.reference, ["a", "b"],
                                [Verdict("turn-1", None, context={"turn": 1}), turn_2])
    assert scored.score == 6.0 and "left out" in (scored.note or "")
    none = BENCH.judged_score(definition, item.reference, ["a", "b"],
                              [Verdict("turn-1", None, context={"turn": 1})])
    assert none.score is None  # never a 0


def test_summarize_gives_fastchats_means_on_the_real_grades(datasets: Path) -> None:
    questions = datasets / "mt_bench" / "questions.jsonl"
    items = {item.reference["question_id"]: item for item in BENCH.load(questions, {})}
    definition = BENCH.judge_definition(questions, {})
    verdicts: dict[int, list[Verdict]] = {}
    judged = datasets / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl"
    for line in judged.read_text().splitlines():
        row = json.loads(line)
        call = BENCH.judge_calls(definition, items[row["question_id"]].reference,
                                 ["a", "b"])[row["turn"] - 1]
        verdicts.setdefault(row["question_id"], []).append(
            BENCH.read_verdict(definition, call, JudgeReply(row["judgment"])))
    judgments = [QuestionJudgment(items[q].item_id, items[q].reference, ("a", "b"), tuple(v))
                 for q, v in verdicts.items()]
    summary = BENCH.summarize(definition, judgments)
    assert (round(summary.score or 0, 2), summary.n, summary.unparsed) == (8.60, 80, 0)
    assert round(summary.figures["turn_1"] or 0, 2) == 9.27
    assert round(summary.figures["turn_2"] or 0, 2) == 7.91
    assert summary.ci_low is not None and summary.ci_high is not None
    assert summary.ci_low < 8.60 < summary.ci_high
    assert BENCH.summarize(definition, judgments) == summary  # seeded


def test_score_judgments_prints_fastchats_figures(datasets: Path) -> None:
    file = datasets / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl"
    done = itas("benchmarks", "score", "mt-bench", "--judgments", str(file))
    assert done.returncode == 0, done.stderr
    header, line = done.stdout.splitlines()[:2]
    assert header.split() == ["model", "score", "turn_1", "turn_2", "ci_low", "ci_high", "n",
                              "parse_failures"]
    assert line.split()[:4] == ["archon-1-110F-2-110M", "8.60", "9.27", "7.91"]
    assert line.split()[-2:] == ["80", "0"]
    assert "162 judgments, 0 whose rating could not be parsed" in done.stdout
    as_json = json.loads(itas("benchmarks", "score", "mt-bench", "--judgments", str(file),
                              "--json").stdout)
    (model,) = as_json["models"]
    assert (model["judged"], model["parse_failures"], model["score_disagreements"]) == \
        (162, 0, 0)


def test_score_judgments_groups_models_and_counts_failures(tmp_path: Path) -> None:
    rows = [{"question_id": 81, "model": "m1", "turn": 1, "judgment": "Rating: [[9]]"},
            {"question_id": 81, "model": "m1", "turn": 2, "judgment": "Rating: 7 of 10",
             "score": -1},
            {"question_id": 82, "model": "m1", "turn": 1, "judgment": "[5]", "score": 5},
            {"question_id": 81, "model": "m2", "turn": 1, "judgment": "[[4]]", "score": 3}]
    file = tmp_path / "j.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = itas("benchmarks", "score", "mt-bench", "--judgments", str(file), "--json")
    assert done.returncode == 0, done.stderr
    models = {m["model"]: m for m in json.loads(done.stdout)["models"]}
    assert (models["m1"]["score"], models["m1"]["turn_1"], models["m1"]["turn_2"]) == \
        (7.0, 7.0, None)
    assert (models["m1"]["parse_failures"], models["m1"]["n"]) == (1, 2)
    assert (models["m2"]["score"], models["m2"]["score_disagreements"]) == (4.0, 1)


def test_a_malformed_judgment_file_is_named_with_its_line(tmp_path: Path) -> None:
    file = tmp_path / "j.jsonl"
    file.write_text(json.dumps({"question_id": 81, "turn": 1, "judgment": "[[9]]"}) + "\n"
                    + json.dumps({"question_id": 81, "judgment": "[[9]]"}) + "\n")
    done = itas("benchmarks", "score", "mt-bench", "--judgments", str(file))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{file}:2: expected a FastChat single-grading judgment" in done.stderr
    done = itas("benchmarks", "score", "gsm8k", "--judgments", str(file))
    assert done.returncode == 2 and "gsm8k has no judgment file format" in done.stderr


def test_predictions_are_judged_so_they_need_a_judge(datasets: Path, tmp_path: Path) -> None:
    file = tmp_path / "p.jsonl"
    file.write_text(json.dumps({"id": "mt-81", "prediction": ["Aloha!", "A trip..."]}) + "\n")
    done = itas("benchmarks", "score", "mt-bench", "--predictions", str(file), "--data",
                str(datasets / "mt_bench"))
    assert done.returncode == 2
    assert "mt-bench is scored by an LLM judge: name it with --judge LLM" in done.stderr
