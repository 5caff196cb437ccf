"""mixeval and mixeval-hard, judged as MixEval judges them: both parts load from the real files,
the judge's prompts come from judge_prompts.json (change the file, the judge is asked something
else), verdicts are read as real judges write them, an unread verdict is never a 0, and the
overall score weighs the parts by their size."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks.base import BenchmarkError, Item
from benchmarks.judged.base import (
    MAX_JUDGE_ATTEMPTS,
    JudgeCall,
    JudgeReply,
    QuestionJudgment,
    Verdict,
    is_judged,
)
from benchmarks.judged.mixeval import MIXEVAL, MIXEVAL_HARD, MixEvalJudged
from benchmarks.judged.mixeval_summary import summarize
from benchmarks.registry import get, load_questions

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = "mixeval_hard/judge_prompts.json"


def definition(benchmark: MixEvalJudged, datasets: Path, **options: Any) -> dict[str, Any]:
    data = datasets / str(benchmark.data_file)
    return benchmark.judge_definition(data, options)


def items_by_id(name: str, **options: Any) -> dict[str, Item]:
    return {item.item_id: item for item in load_questions(name, split="all", options=options)}


# -- loading ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "each"), [("mixeval", 2000), ("mixeval-hard", 500)])
def test_both_parts_load_from_the_real_files(name: str, each: int, datasets: Path) -> None:
    benchmark = get(name)
    assert benchmark.kind == "judged" and is_judged(benchmark)
    assert isinstance(benchmark, MixEvalJudged) and benchmark.pairwise is False
    items = items_by_id(name)
    parts = [item.reference["part"] for item in items.values()]
    assert parts.count("free_form") == each and parts.count("multiple_choice") == each
    assert {i[:3] for i in items} == {"ff-", "mc-"}
    for item in items.values():
        json.dumps(dict(item.reference))  # stored in PostgreSQL as JSON
        assert item.reference["question"] and item.reference["question"] in item.turns[0]
    alone = items_by_id(name, parts=["free_form"])
    assert len(alone) == each and all(i.startswith("ff-") for i in alone)
    assert len(items_by_id(name, parts=["multiple_choice"])) == each


def test_the_framing_of_the_deterministic_benchmarks_is_reused(datasets: Path) -> None:
    judged = items_by_id("mixeval-hard")
    for name in ("mixeval-hard-mc", "mixeval-hard-free"):
        for item_id, item in items_by_id(name).items():
            assert judged[item_id].turns == item.turns
            assert {k: v for k, v in judged[item_id].reference.items()
                    if k not in ("part", "question")} == item.reference


def test_subsets_filter_both_parts(datasets: Path) -> None:
    trivia = items_by_id("mixeval", subsets=["TriviaQA"])
    assert len(trivia) == 1247 and all(i.startswith("ff-") for i in trivia)
    agieval = items_by_id("mixeval", subsets=["AGIEval"])  # a source of both parts
    assert sum(i.startswith("ff-") for i in agieval) == 7
    assert sum(i.startswith("mc-") for i in agieval) == 123


def test_the_data_is_the_folder_or_either_file(datasets: Path, tmp_path: Path) -> None:
    every = load_questions("mixeval-hard", split="all")
    for data in ("mixeval_hard", "mixeval_hard/free-form.json",
                 "mixeval_hard/multiple-choice.json", "."):
        assert load_questions("mixeval-hard", data=datasets / data, split="all") == every
    (tmp_path / "free-form.json").write_bytes((datasets / "mixeval_hard/free-form.json")
                                             .read_bytes())
    free = load_questions("mixeval-hard", data=tmp_path, split="all",
                          options={"parts": ["free_form"]})
    assert len(free) == 500
    with pytest.raises(BenchmarkError, match=r"multiple-choice\.json does not exist: "
                                             r"mixeval-hard reads its multiple_choice part"):
        load_questions("mixeval-hard", data=tmp_path, split="all")


@pytest.mark.parametrize(("options", "problem"), [
    ({"parts": ["essay"]}, "parts[0]: expected one of multiple_choice, free_form, got 'essay'"),
    ({"parts": []}, "parts: expected a non-empty list of multiple_choice, free_form"),
    ({"subsets": ["MMLU", "Foo"]}, "subsets[1]: expected one of TriviaQA, DROP"),
    ({"judge_prompts": ""}, "judge_prompts: expected the path of a judge_prompts.json"),
    ({"judge": "gpt-4"}, "judge: unknown option; this benchmark takes parts, subsets, "
                         "judge_prompts"),
])
def test_bad_options_are_named(options: dict[str, Any], problem: str) -> None:
    problems = MIXEVAL.check_options(options)
    assert len(problems) == 1 and problems[0].startswith(problem)


# -- the judge's prompts ------------------------------------------------------------------------

def prompt_rows(datasets: Path) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in json.loads((datasets / PROMPTS).read_text())}


def test_the_free_form_judge_is_asked_with_the_question_gold_answers_and_reply(
        datasets: Path) -> None:
    rows = prompt_rows(datasets)
    judge = definition(MIXEVAL_HARD, datasets)
    assert (judge["temperature"], judge["max_tokens"]) == (1.0, 999)  # MixEval's API judge
    item = next(i for i in items_by_id("mixeval-hard").values()
                if i.reference["part"] == "free_form" and len(i.reference["targets"]) >= 2)
    reply = "Thinking it through.\nFinal answer: Zambia"
    [call] = MIXEVAL_HARD.judge_calls(judge, item.reference, [reply])
    assert call.key == "grade" and call.attempt == 0
    assert (call.temperature, call.max_tokens) == (1.0, 999)
    (system_role, system), (user_role, user) = call.messages
    assert (system_role, user_role) == ("system", "user")
    assert system == rows["closeended_freeform_judge/system"]["text"]
    targets = item.reference["targets"]
    assert f"Question: {item.reference['question']}\n" in user
    assert (f"Golden Answer(s): <answer 1> {targets[0]}; <answer 2> {targets[1]}" in user)
    assert user.endswith(f"Model's Answer: {reply}\nYour Judgment: \n")
    template = rows["closeended_freeform_judge/user"]["text"]
    assert user.startswith(template[:template.index("{prompt}")])
    # the same inputs are the same call (one cached judgment in every trial and job)
    assert MIXEVAL_HARD.judge_calls(judge, item.reference, [reply]) == [call]


def test_the_option_extractor_is_asked_with_the_options_as_mixeval_lists_them(
        datasets: Path) -> None:
    rows = prompt_rows(datasets)
    judge = definition(MIXEVAL_HARD, datasets)
    item = items_by_id("mixeval-hard")["mc-1"]
    options = item.reference["options"]
    [call] = MIXEVAL_HARD.judge_calls(judge, item.reference, ["Hard to say."])
    assert call.key == "extract" and call.context == {"part": "multiple_choice",
                                                      "options": len(options)}
    assert call.messages[0][1] == rows["closeended_multiplechoice_parser/system"]["text"]
    lines = "\n".join(f"{'ABCDEFGHIJ'[i]}. {o}" for i, o in enumerate(options))
    assert f"Question: {item.reference['question']}\nOptions: \n{lines}\n" in call.messages[1][1]
    assert call.messages[1][1].endswith("Model's Answer: Hard to say.\nYour Judgment: \n")


def test_mixeval_reads_the_judge_of_mixeval_hard(datasets: Path) -> None:
    judge = definition(MIXEVAL, datasets)
    assert judge["file"] == str(datasets / "mixeval" / ".." / PROMPTS)
    assert judge["free_form"] == definition(MIXEVAL_HARD, datasets)["free_form"]


def test_no_judge_prompt_is_written_in_the_code(datasets: Path, tmp_path: Path) -> None:
    rows = json.loads((datasets / PROMPTS).read_text())
    for row in rows:
        row["text"] = row["text"].replace("act as a judge", "act as a strict grader") \
            .replace("Golden Answer(s):", "Accepted answers:")
    changed = tmp_path / "judge_prompts.json"
    changed.write_text(json.dumps(rows))
    judge = definition(MIXEVAL, datasets, judge_prompts=str(changed))
    item = items_by_id("mixeval")["ff-0"]
    [call] = MIXEVAL.judge_calls(judge, item.reference, ["James Ellroy"])
    assert call.messages[0][1] == "In this task, I want you to act as a strict grader."
    assert "Accepted answers: <answer 1> JAMES ELROY\n" in call.messages[1][1]
    assert "Golden Answer(s)" not in call.messages[1][1]
    # and none of the prompts' sentences is pasted into the package
    source = "\n".join(p.read_text() for p in (ROOT / "benchmarks").rglob("*.py"))
    for row in json.loads((datasets / PROMPTS).read_text()):
        for sentence in re.split(r"(?<=[.:])\s+", row["text"]):
            assert len(sentence) < 30 or sentence not in source, sentence


def test_a_malformed_prompts_file_is_named(datasets: Path, tmp_path: Path) -> None:
    rows = json.loads((datasets / PROMPTS).read_text())
    rows[1]["text"] = rows[1]["text"].replace("{gold_ans}", "(the gold answers)")
    broken = tmp_path / "judge_prompts.json"
    broken.write_text(json.dumps(rows))
    with pytest.raises(BenchmarkError, match=rf"{re.escape(str(broken))}: "
                                             r"closeended_freeform_judge/user: expected the "
                                             r"placeholders \{prompt\}, \{gold_ans\}, "
                                             r"\{response\} in 'text'; missing gold_ans"):
        definition(MIXEVAL, datasets, judge_prompts=str(broken))
    with pytest.raises(BenchmarkError, match="no prompt named 'closeended_multiplechoice_parser/"
                                             "system'"):
        broken.write_text((datasets / PROMPTS).read_text().replace(
            "closeended_multiplechoice_parser/system", "option_extractor/system"))
        definition(MIXEVAL, datasets, judge_prompts=str(broken))
    with pytest.raises(BenchmarkError, match="cannot read the file"):
        definition(MIXEVAL, datasets, judge_prompts=str(tmp_path / "absent.json"))


def test_placeholder_like_text_in_a_reply_is_left_as_written(datasets: Path) -> None:
    judge = definition(MIXEVAL_HARD, datasets)
    item = next(i for i in items_by_id("mixeval-hard").values()
                if i.reference["part"] == "free_form")
    [call] = MIXEVAL_HARD.judge_calls(judge, item.reference, ["Final answer: {gold_ans}"])
    assert "Model's Answer: Final answer: {gold_ans}\n" in call.messages[1][1]


def test_the_verdict_formats_are_those_the_file_describes(datasets: Path) -> None:
    rows = prompt_rows(datasets)
    assert r"\[\[(\d+\.?\d*)\]\], else of \[(\d+\.?\d*)\]" in \
        rows["closeended_freeform_judge/user"]["purpose"]
    assert r"\[\[([A-Z])\]\], else of \[([A-Z])\]" in \
        rows["closeended_multiplechoice_parser/user"]["purpose"]
    assert "max_tokens 999" in rows["closeended_freeform_judge/user"]["purpose"]


# -- reading verdicts ---------------------------------------------------------------------------

GRADE = JudgeCall("grade", (("user", "q"),), context={"part": "free_form"})
EXTRACT = JudgeCall("extract", (("user", "q"),), context={"part": "multiple_choice",
                                                          "options": 4})

#: (what a judge wrote, the grade read; None: unread)
GRADES: list[tuple[str, float | None]] = [
    ("The model's answer names the same author. The correctness score: [[1.0]].", 1.0),
    ("The correctness score: [[0.8]]", 0.8),
    ("Score: [[1.0]]", 1.0),
    ("[[0.5]]", 0.5),
    ("The correctness score: [[0]]", 0.0),
    ("The correctness score: [[1]]", 1.0),
    ("The correctness score: [0.3]", 0.3),  # MixEval's fallback: single brackets
    ("It says [0.3] first, but the correctness score: [[0.9]]", 0.9),  # double brackets first
    ("First I thought [[0.2]], but on reflection [[0.7]].", 0.2),  # several: the first
    ("The correctness score: 0.8", None),  # no brackets
    ("**Correctness score:** 0.5/1.0", None),
    ("The correctness score must strictly follow this format: [[score]]", None),
    ("The correctness score: [[8]]", None),  # out of range
    ("The correctness score: [[10.0]]", None),
    ("The correctness score: [[-0.5]]", None),
    ("The correctness score: [[ 0.7 ]]", None),  # MixEval's pattern allows no spaces
    ("", None),
]

#: (what an extractor wrote, the option index read; None: unread), four options
OPTIONS: list[tuple[str, int | None]] = [
    ("The model's response identifies \"C. refrigerator\". The option chosen by the model: "
     "[[C]].", 2),
    ("[[A]]", 0),
    ("The option chosen by the model: [D]", 3),
    ("It hesitates between [[B]] and [[C]]; the first it commits to is B.", 1),
    ("The option chosen by the model: [[b]]", None),  # MixEval reads capitals only
    ("The model chose option C.", None),
    ("The option chosen by the model: [[E]]", None),  # not one of A-D
    ("The extracted option must follow this format: [[option letter]]", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), GRADES)
def test_free_form_grades_are_read_as_mixeval_reads_them(text: str,
                                                         expected: float | None) -> None:
    verdict = MIXEVAL.read_verdict({}, GRADE, JudgeReply(text))
    assert verdict.key == "grade" and verdict.value == expected
    assert (verdict.note is None) == (expected is not None)


@pytest.mark.parametrize(("text", "expected"), OPTIONS)
def test_extracted_options_are_read_as_mixeval_reads_them(text: str,
                                                          expected: int | None) -> None:
    verdict = MIXEVAL.read_verdict({}, EXTRACT, JudgeReply(text))
    assert verdict.key == "extract"
    assert verdict.value == (None if expected is None else float(expected))
    assert (verdict.note is None) == (expected is not None)


def test_an_unread_verdict_is_asked_again_then_given_up() -> None:
    asks = [GRADE]
    while (call := MIXEVAL.follow_up({}, asks[-1], JudgeReply("no score"))) is not None:
        asks.append(call)
    assert [call.attempt for call in asks] == list(range(MAX_JUDGE_ATTEMPTS))
    assert all(call.messages == GRADE.messages and call.key == "grade" for call in asks)
    verdict = MIXEVAL.read_verdict({}, asks[-1], JudgeReply("no score"))
    assert verdict.attempts == MAX_JUDGE_ATTEMPTS and verdict.value is None


# -- a question's score -------------------------------------------------------------------------

CAPITALS = {"part": "multiple_choice", "question": "What is the capital of France?",
            "options": ["Lyon", "Paris", "Marseille", "Nice"], "answer": "B", "subset": "MMLU"}
AUTHOR = {"part": "free_form", "question": "Who wrote the book 'LA Confidential'?",
          "targets": ["JAMES ELROY"], "subset": "TriviaQA"}


def verdict(key: str, value: float | None, label: str | None = None) -> Verdict:
    return Verdict(key, value, label, None if value is not None else "unread")


def test_an_option_the_rule_reads_needs_no_judge(datasets: Path) -> None:
    judge = definition(MIXEVAL_HARD, datasets)
    for reply, score in (("Paris is the capital.\nFinal answer: B", 1.0), ("(C)", 0.0)):
        assert MIXEVAL_HARD.judge_calls(judge, CAPITALS, [reply]) == []
        scored = MIXEVAL_HARD.judged_score(judge, CAPITALS, [reply], [])
        assert scored.score == score
        assert MIXEVAL_HARD.score(CAPITALS, reply) == scored


def test_an_option_the_judge_extracts_is_scored_by_the_key(datasets: Path) -> None:
    judge = definition(MIXEVAL_HARD, datasets)
    reply = "Both Lyon and Paris are big; hard to say which is meant."
    assert [c.key for c in MIXEVAL_HARD.judge_calls(judge, CAPITALS, [reply])] == ["extract"]
    right = MIXEVAL_HARD.judged_score(judge, CAPITALS, [reply], [verdict("extract", 1.0, "B")])
    wrong = MIXEVAL_HARD.judged_score(judge, CAPITALS, [reply], [verdict("extract", 0.0, "A")])
    assert (right.extracted, right.score) == ("B", 1.0) and (wrong.extracted, wrong.score) == \
        ("A", 0.0)
    assert right.note and right.note.startswith("option extracted by the judge")


def test_an_unread_verdict_is_no_score_never_a_zero(datasets: Path) -> None:
    judge = definition(MIXEVAL_HARD, datasets)
    unread_mc = MIXEVAL_HARD.judged_score(judge, CAPITALS, ["No idea."],
                                          [verdict("extract", None)])
    unread_ff = MIXEVAL_HARD.judged_score(judge, AUTHOR, ["Final answer: Ellroy"],
                                          [verdict("grade", None)])
    not_yet = MIXEVAL_HARD.judged_score(judge, AUTHOR, ["Final answer: Ellroy"], [])
    assert unread_mc.score is None and unread_ff.score is None and not_yet.score is None
    assert unread_ff.note and "could not be read" in unread_ff.note
    assert MIXEVAL_HARD.score(AUTHOR, "Final answer: Ellroy").score is None
    graded = MIXEVAL_HARD.judged_score(judge, AUTHOR, ["Final answer: James Ellroy"],
                                       [verdict("grade", 0.9, "0.9")])
    assert (graded.extracted, graded.score) == ("James Ellroy", 0.9)


# -- the overall score --------------------------------------------------------------------------

def test_the_overall_score_weighs_the_parts_by_their_size() -> None:
    # MixEval: overall = ff * n_ff / n + mc * n_mc / n, not the mean of the two parts
    summary = summarize([("free_form", 1.0)] * 3 + [("multiple_choice", 0.0)])
    assert summary.score == pytest.approx(75.0)
    assert summary.figures["free_form"] == 100.0 and summary.figures["multiple_choice"] == 0.0
    ff = [0.2, 0.9, 1.0, 0.5, 0.0]
    mc = [1.0, 0.0, 1.0]
    summary = summarize([("free_form", s) for s in ff] + [("multiple_choice", s) for s in mc])
    assert summary.score == pytest.approx(
        100 * (sum(ff) / 5 * 5 / 8 + sum(mc) / 3 * 3 / 8))
    assert (summary.n, summary.unparsed) == (8, 0)


def test_unread_verdicts_are_left_out_and_counted() -> None:
    scored = ([("free_form", 1.0)] * 3 + [("free_form", None)]
              + [("multiple_choice", 0.0)] * 4)
    summary = summarize(scored)
    # the part keeps its weight (4 of 8); its mean is over the 3 it has
    assert summary.score == pytest.approx(50.0)
    assert (summary.n, summary.unparsed) == (7, 1)
    assert summary.figures["free_form_n"] == 3 and summary.figures["multiple_choice_n"] == 4
    only_mc = summarize([("free_form", None), ("multiple_choice", 1.0)])
    assert only_mc.score == 100.0 and only_mc.figures["free_form"] is None
    assert summarize([("free_form", None)]).score is None
    assert summarize([]).score is None


def test_the_interval_is_a_seeded_bootstrap() -> None:
    scored = [("free_form", (i % 11) / 10) for i in range(200)] + \
             [("multiple_choice", float(i % 3 == 0)) for i in range(200)]
    summary = summarize(scored)
    assert summary.ci_low is not None and summary.ci_high is not None and summary.score
    assert summary.ci_low < summary.score < summary.ci_high
    assert 2 < summary.ci_high - summary.ci_low < 15
    assert summarize(scored) == summary
    assert summarize(scored, seed=1).ci_low != summary.ci_low


Judge = Callable[[JudgeCall], str]


def judge_all(benchmark: MixEvalJudged, judge: dict[str, Any], items: list[Item],
              replies: dict[str, str], llm: Judge) -> list[QuestionJudgment]:
    """The flow of benchmarks.judged.base's docstring, with ``llm`` as the judge."""
    judged = []
    for item in items:
        answers = (replies[item.item_id],)
        verdicts = []
        for call in benchmark.judge_calls(judge, item.reference, answers):
            reply = JudgeReply(llm(call))
            read = benchmark.read_verdict(judge, call, reply)
            asked: JudgeCall | None = call
            while read.value is None and asked is not None:
                asked = benchmark.follow_up(judge, asked, reply)
                if asked is not None:
                    reply = JudgeReply(llm(asked))
                    read = benchmark.read_verdict(judge, asked, reply)
            verdicts.append(read)
        judged.append(QuestionJudgment(item.item_id, item.reference, answers, tuple(verdicts)))
    return judged


def test_mixeval_hard_end_to_end_with_a_scripted_judge(datasets: Path) -> None:
    items = load_questions("mixeval-hard", split="all")
    judge = definition(MIXEVAL_HARD, datasets)
    replies = {}
    for n, item in enumerate(items):
        ref = item.reference
        if ref["part"] == "multiple_choice":
            # a third state the key's letter, a third a wrong one, a third no option at all
            replies[item.item_id] = [f"Final answer: {ref['answer']}",
                                     f"Final answer: {'B' if ref['answer'] == 'A' else 'A'}",
                                     "I would rather not say."][n % 3]
        else:
            replies[item.item_id] = f"Final answer: {ref['targets'][0]}"
    asked: list[JudgeCall] = []

    def llm(call: JudgeCall) -> str:
        asked.append(call)
        if call.key == "extract":  # the extractor answers A; one in ten, only on a re-ask
            first_ask_fails = len(asked) % 10 == 0 and call.attempt == 0
            return "No option is named." if first_ask_fails else "The option chosen: [[A]]."
        return "The correctness score: [[0.8]]." if len(asked) % 7 else "Correct, 1.0"

    summary = MIXEVAL_HARD.summarize(judge, judge_all(MIXEVAL_HARD, judge, items, replies, llm))
    mc = [i for i in items if i.reference["part"] == "multiple_choice"]
    by_rule = [i for n, i in enumerate(items) if i in mc and n % 3 == 0]
    wrong = [i for n, i in enumerate(items) if i in mc and n % 3 == 1]
    extracted = [i for n, i in enumerate(items) if i in mc and n % 3 == 2]
    assert {c.key for c in asked} == {"grade", "extract"}
    assert sum(c.key == "extract" and c.attempt == 0 for c in asked) == len(extracted)
    expected_mc = (len(by_rule) + sum(i.reference["answer"] == "A" for i in extracted)) / 500
    assert len(by_rule) + len(wrong) + len(extracted) == 500
    assert summary.figures["multiple_choice"] == pytest.approx(100 * expected_mc)
    # the grader's "Correct, 1.0" has no brackets: re-asked, and read at a later attempt
    assert summary.figures["free_form"] == pytest.approx(80.0)
    assert summary.unparsed == 0 and summary.n == 1000
    assert summary.score == pytest.approx(100 * (expected_mc + 0.8) / 2)
    assert summary.ci_low is not None and summary.ci_low < summary.score < (summary.ci_high or 0)
