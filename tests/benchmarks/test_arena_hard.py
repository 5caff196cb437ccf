"""Arena-Hard-Auto v0.1: the two swapped games and arena-hard's reading of a verdict (with its
follow-up), and `itas benchmarks score arena-hard --judgments` on verdict files written here,
checked against an independent computation: a direct maximum-likelihood fit of the
Bradley-Terry model with scipy on the same weighted games. Pure: no service."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from scipy.optimize import minimize_scalar

from benchmarks.judged.arena_hard import FOLLOW_UP, ArenaHard
from benchmarks.judged.arena_hard_files import read_answers
from benchmarks.judged.base import JudgeReply, QuestionJudgment, Verdict
from benchmarks.registry import load_questions
from tests.benchmarks.test_benchmarks_cli import itas

BENCH = ArenaHard()
#: Game 1 shows the baseline as A: B>A is the model's win there, A>B in game 2.
MODEL_WINS = {1: {"B>A": 1, "B>>A": 3}, 2: {"A>B": 1, "A>>B": 3}}
BASELINE_WINS = {1: {"A>B": 1, "A>>B": 3}, 2: {"B>A": 1, "B>>A": 3}}


def reference_score(games: list[tuple[str | None, str | None]]) -> float:
    """The model's score against the baseline, x 100: the Bradley-Terry rating difference d
    (in natural units) that maximises the likelihood of the weighted games, a tie counting as
    half a win and half a loss, then the predicted win rate 1 / (1 + e^-d)."""
    wins = losses = ties = 0.0
    for pair in games:
        for game, label in enumerate(pair, 1):
            wins += MODEL_WINS[game].get(label or "", 0)
            losses += BASELINE_WINS[game].get(label or "", 0)
            ties += label == "A=B"

    def minus_log_likelihood(d: float) -> float:
        log_win, log_loss = -math.log1p(math.exp(-d)), -math.log1p(math.exp(d))
        return -(wins * log_win + losses * log_loss + ties * 0.5 * (log_win + log_loss))

    d = minimize_scalar(minus_log_likelihood, bounds=(-30, 30), method="bounded",
                        options={"xatol": 1e-12}).x
    return 100.0 / (1.0 + math.exp(-d))


def judgment_file(path: Path, model: str, games: list[tuple[Any, Any]]) -> Path:
    path.write_text("".join(json.dumps({"question_id": f"q{i}", "model": model, "judge": "j",
                                        "games": [{"score": a, "judgment": "..."},
                                                  {"score": b, "judgment": "..."}]}) + "\n"
                            for i, (a, b) in enumerate(games)))
    return path


MIXED = [("B>A", "A=B"), ("A>>B", "B>>A"), ("B>>A", "A>B"), ("A=B", "A=B"), ("A>B", "B>A"),
         ("B>A", "A>B"), ("A=B", "A>>B"), ("B>A", "B>A")] * 5
#: file -> (games, expected score, ci_low, ci_high where the result is exact, n, unparsed)
TABLE: dict[str, tuple[list[tuple[Any, Any]], float, int, int]] = {
    "all-ties": ([("A=B", "A=B")] * 40, 50.0, 40, 0),
    "all-strong-wins": ([("B>>A", "A>>B")] * 40, 100.0, 40, 0),
    "all-strong-losses": ([("A>>B", "B>>A")] * 40, 0.0, 40, 0),
    "mixed": (MIXED, reference_score(MIXED), 40, 0),
    "unparseable": (MIXED + [(None, None), ("B>>A", None), ("[[A>B]]", "B=A")]
                    + [({"no": "score"}, "A>B>A")] * 2,
                    reference_score([*MIXED, ("B>>A", None)]), 41, 9),
}


@pytest.mark.parametrize("name", list(TABLE))
def test_score_judgments_matches_the_reference_computation(name: str, tmp_path: Path) -> None:
    games, expected, n, unparsed = TABLE[name]
    rows = [(a, b) if not isinstance(a, dict) else (None, b) for a, b in games]
    file = judgment_file(tmp_path / f"{name}.jsonl", name, rows)
    if name == "unparseable":  # a game without "score" at all
        lines = file.read_text().splitlines()
        lines[-1] = json.dumps({"question_id": "q99", "model": name,
                                "games": [{"judgment": "..."}, {"score": "A>B>A"}]})
        file.write_text("\n".join(lines) + "\n")
    done = itas("benchmarks", "score", "arena-hard", "--judgments", str(file), "--json")
    assert done.returncode == 0, done.stderr
    (model,) = json.loads(done.stdout)["models"]
    assert model["model"] == name and model["score"] == pytest.approx(expected, abs=1e-4)
    assert (model["n"], model["unparsed"]) == (n, unparsed)
    assert model["ci_low"] <= model["score"] + 1e-9 and model["score"] <= model["ci_high"] + 1e-9
    if name.startswith("all-"):  # every bootstrap sample is the same games
        assert model["ci_low"] == pytest.approx(expected, abs=1e-4)
        assert model["ci_high"] == pytest.approx(expected, abs=1e-4)
    else:
        assert model["ci_low"] < model["score"] - 1 and model["ci_high"] > model["score"] + 1


def test_all_ties_score_exactly_fifty_and_models_share_one_fit(tmp_path: Path) -> None:
    folder = tmp_path / "judgments"
    folder.mkdir()
    judgment_file(folder / "tie.jsonl", "tie", [("A=B", "A=B")] * 30)
    judgment_file(folder / "mixed.jsonl", "mixed", MIXED)
    judgment_file(folder / "gpt-4-0314.jsonl", "gpt-4-0314", [("A=B", "A=B")] * 3)  # ignored
    done = itas("benchmarks", "score", "arena-hard", "--judgments", str(folder))
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    assert lines[0] == ["model", "score", "ci_low", "ci_high", "n", "unparsed"]
    table = {line[0]: line[1:] for line in lines[1:3]}
    assert table["tie"] == ["50.00", "50.00", "50.00", "30", "0"]
    assert float(table["mixed"][0]) == pytest.approx(reference_score(MIXED), abs=0.005)
    assert "baseline gpt-4-0314 = 50" in done.stdout
    again = itas("benchmarks", "score", "arena-hard", "--judgments", str(folder))
    assert again.stdout == done.stdout  # the bootstrap is seeded


def test_a_malformed_judgment_is_named_with_file_and_line(tmp_path: Path) -> None:
    file = judgment_file(tmp_path / "j.jsonl", "m", [("A=B", "A=B")])
    file.write_text(file.read_text() + json.dumps({"question_id": "q1", "model": "m"}) + "\n")
    done = itas("benchmarks", "score", "arena-hard", "--judgments", str(file))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{file}:2: expected an arena-hard judgment" in done.stderr


def test_the_real_answer_files_load_with_gpt_4_0314_as_baseline(datasets: Path) -> None:
    folder = datasets / "arena_hard"
    answers = {name: read_answers(folder / "model_answer" / f"{name}.jsonl")
               for name in ("gpt-4-0314", "gpt-4-0613", "gpt-3.5-turbo-0125")}
    assert {name: len(a) for name, a in answers.items()} == {
        "gpt-4-0314": 500, "gpt-4-0613": 500, "gpt-3.5-turbo-0125": 500}
    definition = BENCH.judge_definition(folder / "question.jsonl", {})
    json.dumps(definition)
    assert definition["baseline_model"] == "gpt-4-0314"
    assert (definition["number_of_judgment_attempts"], definition["temperature"],
            definition["max_tokens"]) == (2, 0.0, 4096)
    items = load_questions("arena-hard", split="all")
    assert len(items) == 500 and all(i.item_id.startswith("ah-") for i in items)
    first = items[0].reference
    assert first["baseline"] == answers["gpt-4-0314"][first["question_id"]]
    other = load_questions("arena-hard", split="all", options={"baseline": "gpt-4-0613"})
    assert other[0].reference["baseline"] == answers["gpt-4-0613"][first["question_id"]]


@pytest.fixture
def definition(datasets: Path) -> dict[str, Any]:
    return BENCH.judge_definition(datasets / "arena_hard" / "question.jsonl", {})


def test_two_games_with_the_positions_swapped(definition: dict[str, Any]) -> None:
    item = load_questions("arena-hard", split="all", limit=1)[0]
    baseline = item.reference["baseline"]
    game_1, game_2 = BENCH.judge_calls(definition, item.reference, ["MY ANSWER"])
    assert (game_1.key, game_2.key) == ("game-1", "game-2")
    for call in (game_1, game_2):
        assert call.messages[0] == ("system", definition["system_prompt"])
        assert call.messages[1][1].startswith(f"<|User Prompt|>\n{item.turns[0]}\n")
        assert (call.temperature, call.max_tokens) == (0.0, 4096)
    assert f"Assistant A's Answer|>\n{baseline}\n<|The End of Assistant A" in game_1.messages[1][1]
    assert "Assistant B's Answer|>\nMY ANSWER\n<|The End" in game_1.messages[1][1]
    assert "Assistant A's Answer|>\nMY ANSWER\n<|The End" in game_2.messages[1][1]
    assert f"Assistant B's Answer|>\n{baseline}\n<|The End of Assistant B" in game_2.messages[1][1]


@pytest.mark.parametrize(("game", "reply", "value", "again"), [
    (1, "My final verdict is: [[B>>A]]", 2.0, False),
    (2, "My final verdict is: [[B>>A]]", -2.0, False),
    (1, "Assistant A is slightly better: [[A>B]]", -1.0, False),
    (2, "[[A>B]]", 1.0, False),
    (1, "tie: [[A=B]]", 0.0, False),
    (1, "[[B>A]] as I said, [[B>A]]", 1.0, False),       # the same label twice is one verdict
    (1, "first [[A>B]], finally [[B>A]]", None, False),  # several: unparsed, not asked again
    (1, "[[A<B]]", None, False),                         # not one of the five scores
    (1, "Both answers are good; I lean to B.", None, True),
    (1, "[[B>>A]", None, True),
])
def test_verdicts_are_read_as_get_score_reads_them(definition: dict[str, Any], game: int,
                                                   reply: str, value: float | None,
                                                   again: bool) -> None:
    item = load_questions("arena-hard", split="all", limit=1)[0]
    call = BENCH.judge_calls(definition, item.reference, ["x"])[game - 1]
    verdict = BENCH.read_verdict(definition, call, JudgeReply(reply))
    assert verdict.value == value
    follow = BENCH.follow_up(definition, call, JudgeReply(reply))
    assert (follow is not None) == again


def test_the_follow_up_continues_the_conversation_once(definition: dict[str, Any]) -> None:
    item = load_questions("arena-hard", split="all", limit=1)[0]
    call = BENCH.judge_calls(definition, item.reference, ["x"])[0]
    cut = JudgeReply("Let me first write my own answer. ...")
    follow = BENCH.follow_up(definition, call, cut)
    assert follow is not None and follow.attempt == 1 and follow.key == call.key
    assert follow.messages == (*call.messages, ("assistant", cut.text), ("user", FOLLOW_UP))
    assert BENCH.follow_up(definition, follow, cut) is None  # 2 attempts in all
    verdict = BENCH.read_verdict(definition, follow, JudgeReply("[[B>A]]"))
    assert (verdict.value, verdict.attempts) == (1.0, 2)


def test_question_score_and_summary_weigh_strong_verdicts_three_times(
        definition: dict[str, Any]) -> None:
    items = load_questions("arena-hard", split="all", limit=40)
    reference = items[0].reference
    strong_and_tie = [Verdict("game-1", 2.0, "B>>A"), Verdict("game-2", 0.0, "A=B")]
    assert BENCH.judged_score(definition, reference, ["x"], strong_and_tie).score == 0.875
    one_read = [Verdict("game-1", None), Verdict("game-2", -1.0, "B>A")]
    assert BENCH.judged_score(definition, reference, ["x"], one_read).score == 0.0
    assert BENCH.judged_score(definition, reference, ["x"],
                              [Verdict("game-1", None), Verdict("game-2", None)]).score is None
    labels = {2: ("B>>A", "A>>B"), 1: ("B>A", "A>B"), 0: ("A=B", "A=B"), -1: ("A>B", "B>A"),
              -2: ("A>>B", "B>>A")}
    margins = [(m1, m2) for m1, m2 in zip(
        [2, 1, 0, -1, -2, 1, 1, 0] * 5, [0, 1, 0, -2, 1, -1, 2, 1] * 5, strict=True)]
    judgments = [QuestionJudgment(item.item_id, item.reference, ("x",), (
        Verdict("game-1", float(m1), labels[m1][0]), Verdict("game-2", float(m2),
                                                             labels[m2][1])))
        for item, (m1, m2) in zip(items, margins, strict=True)]
    summary = BENCH.summarize(definition, judgments)
    expected = reference_score([(labels[m1][0], labels[m2][1]) for m1, m2 in margins])
    assert summary.score == pytest.approx(expected, abs=1e-4)
    assert (summary.n, summary.unparsed) == (40, 0)
    assert summary.ci_low is not None and summary.ci_high is not None
    assert summary.ci_low < expected < summary.ci_high
