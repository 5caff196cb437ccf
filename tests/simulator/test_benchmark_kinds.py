"""Multiple choice, MATH-style LaTeX, free form and MT-Bench: found, answered, skill-dependent.

Questions are framed as a benchmark would frame them (MixEval's own framing sentences, a
``\\boxed{}`` request), sent over HTTP; a strong simulated LLM must be right clearly more often
than a weak one, and its mistakes must look like answers of the same kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest

from . import prompts
from .conftest import Sim, require_datasets

T = TypeVar("T")
STRONG, WEAK = "sim-frontier", "sim-tiny"


def parallel(fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(fn, items))


_clients: dict[str, httpx.Client] = {}


def reply(sim: Sim, llm: str, messages: prompts.Messages, seed: int = 0) -> str:
    # One client per simulator, shared by the threads: a client per request would spend its
    # time building TLS contexts.
    client = _clients.get(sim.url) or _clients.setdefault(sim.url, sim.client())
    response = client.post("/v1/chat/completions",
                           json={"model": llm, "messages": messages, "seed": seed})
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.popitem()[1].close()


def unique(rows: list[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(json.dumps([row.get(f) for f in fields]), row)
    return list(seen.values())


def test_multiple_choice_letters_are_right_with_skill(sim: Sim) -> None:
    data = require_datasets() / "mixeval_hard" / "multiple-choice.json"
    rows = unique(list(json.loads(data.read_text()).values()), "context", "prompt", "options")
    rows = rows[:200]

    def framed(row: dict[str, Any]) -> prompts.Messages:
        options = "\n".join(f"{'ABCDEFGHIJ'[i]}. {o}" for i, o in enumerate(row["options"]))
        context = f"{row['context']}\n" if row["context"] else ""
        return prompts.ask(f"{context}{row['prompt']}\n{options}",
                           "Answer with the option letter from the given choices directly.")

    def score(llm: str) -> float:
        def one(row: dict[str, Any]) -> bool:
            text = reply(sim, llm, framed(row)).strip()
            assert re.fullmatch(r"[A-J]", text), text  # "directly": the letter alone
            assert text in "ABCDEFGHIJ"[: len(row["options"])]
            return text == "ABCDEFGHIJ"[row["target"][0]]

        return sum(parallel(one, rows)) / len(rows)

    strong, weak = score(STRONG), score(WEAK)
    assert strong > weak + 0.25, (strong, weak)
    assert weak > 0.1  # a weak LLM still guesses among the options


def test_multiple_choice_follows_another_answer_format(sim: Sim) -> None:
    data = require_datasets() / "mixeval_hard" / "multiple-choice.json"
    row = json.loads(data.read_text())["0"]
    options = "\n".join(f"({'ABCD'[i]}) {o}" for i, o in enumerate(row["options"]))
    text = reply(sim, STRONG, prompts.ask(
        f"{row['prompt']}\n{options}", "Think it over, then write 'The answer is (X)'."))
    assert re.search(r"The answer is \([A-D]\)\.", text), text


def _latex(text: str) -> str:
    return re.sub(r"\\left|\\right|\s|\$", "", text)


def test_math_style_answers_are_boxed_latex_right_with_skill(sim: Sim) -> None:
    rows = list(sim.math_style)[:200]

    def score(llm: str) -> tuple[float, list[tuple[str, str]]]:
        def one(row: dict[str, Any]) -> tuple[bool, str, str]:
            text = reply(sim, llm, prompts.ask(str(row["problem"]),
                                               "Put your final answer within \\boxed{}."))
            got = prompts.read_boxed(text)
            assert got is not None, text
            truth = str(row["answer_for_tests"])
            return _latex(got) == _latex(truth), got, truth

        results = parallel(one, rows)
        wrong = [(got, truth) for ok, got, truth in results if not ok]
        return sum(ok for ok, _, _ in results) / len(rows), wrong

    strong, _ = score(STRONG)
    weak, mistakes = score(WEAK)
    assert strong > weak + 0.25, (strong, weak)
    # Wrong answers are plausible LaTeX of the same shape: a wrong fraction is a fraction.
    fractions = [got for got, truth in mistakes if truth.startswith("\\frac")]
    assert fractions and all("\\frac" in got for got in fractions), fractions[:5]


def test_free_form_short_answers_are_right_with_skill(sim: Sim) -> None:
    data = require_datasets() / "mixeval_hard" / "free-form.json"
    rows = unique(list(json.loads(data.read_text()).values()), "context", "prompt")[:200]

    def norm(text: str) -> str:
        text = re.sub(r"[^\w\s]", " ", text.lower())
        return " ".join(w for w in text.split() if w not in ("a", "an", "the"))

    def score(llm: str) -> float:
        def one(row: dict[str, Any]) -> bool:
            context = f"{row['context']}\n" if row["context"] else ""
            text = reply(sim, llm, prompts.ask(f"{context}{row['prompt']}",
                                               "Answer the question shortly."))
            assert "\n" not in text.strip() and len(text) < 200, text
            return norm(text) in {norm(t) for t in row["target"]}

        return sum(parallel(one, rows)) / len(rows)

    strong, weak = score(STRONG), score(WEAK)
    assert strong > weak + 0.25, (strong, weak)


def test_an_mt_bench_second_turn_gets_a_reply_on_that_turn(sim: Sim) -> None:
    data = require_datasets() / "mt_bench" / "questions.jsonl"
    question = json.loads(data.read_text().splitlines()[0])
    first = reply(sim, "sim-large", prompts.ask(question["turns"][0]))
    conversation = [
        {"role": "user", "content": question["turns"][0]},
        {"role": "assistant", "content": first},
        {"role": "user", "content": question["turns"][1]},
    ]
    before = httpx.get(f"{sim.url}/health").json()["unplaced"]
    second = reply(sim, "sim-large", conversation)
    assert httpx.get(f"{sim.url}/health").json()["unplaced"] == before
    turn_words = {w for w in re.findall(r"[a-z]+", question["turns"][1].lower()) if len(w) > 4}
    assert turn_words & set(re.findall(r"[a-z]+", second.lower())), second
    assert second != first
    fused = reply(sim, "sim-large", prompts.archon_fuse(question["turns"][0], [first, second]))
    assert len(fused.split()) > 20 and ">" not in fused


@pytest.mark.parametrize("kind", ["choice", "latex"])
def test_a_strong_ranker_puts_a_right_answer_first_on_other_kinds(sim: Sim, kind: str) -> None:
    if kind == "choice":
        data = require_datasets() / "mixeval_hard" / "multiple-choice.json"
        rows = unique(list(json.loads(data.read_text()).values()), "context", "prompt",
                      "options")[:60]
        items = []
        for row in rows:
            options = "\n".join(f"{'ABCDEFGHIJ'[i]}. {o}" for i, o in enumerate(row["options"]))
            context = f"{row['context']}\n" if row["context"] else ""
            right = "ABCDEFGHIJ"[row["target"][0]]
            wrong = next(x for x in "ABCD" if x != right)
            items.append((f"{context}{row['prompt']}\n{options}",
                          [f"The answer is ({wrong}).", f"The answer is ({right})."]))
    else:
        items = [(str(r["problem"]), [f"So $\\boxed{{{r['answer_for_tests']}0}}$.",
                                      f"So $\\boxed{{{r['answer_for_tests']}}}$."])
                 for r in list(sim.math_style)[:60]]

    def first_is_right(llm: str) -> float:
        def one(item: tuple[str, list[str]]) -> bool:
            question, candidates = item
            text = reply(sim, llm, prompts.archon_rank(question, candidates))
            return prompts.read_ranking(text.splitlines()[0], 2)[0] == 2

        return sum(parallel(one, items)) / len(items)

    assert first_is_right("sim-critic") > first_is_right("sim-tiny") + 0.2
