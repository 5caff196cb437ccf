"""Prompt wordings for the simulator tests, written here (not itas's techniques, not Archon's).

Two families per role: ``archon_*`` follows the *shape* of Archon's prompts (bracketed
identifiers, ``Instruction:`` recap, ``Responses from models:`` numbered lines, ``Critique:``
after each, ``Response:`` for the verifier, ``[Correct]``, ``Unit Test #1: [Passed]``), in our
own words; ``other_*`` uses other common delimiters and formats (tags, labels, markdown
headings, ``Yes``/``No``). Each builder returns chat messages. Plain readers of the replies,
as a client would write them, follow.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

Messages = list[dict[str, str]]


def _chat(user: str, system: str | None = None) -> Messages:
    return ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": user}
    ]


# --- generate -------------------------------------------------------------------------------

def ask(question: str, framing: str = "", system: str | None = None) -> Messages:
    """A question as a benchmark frames it: the framing sentence after the question."""
    return _chat(f"{question}\n\n{framing}".strip(), system)


# --- rank -----------------------------------------------------------------------------------

def archon_rank(query: str, responses: Sequence[str], critiques: Sequence[str] = ()) -> Messages:
    n = len(responses)
    text = (f"Below are {n} answers, each tagged with a number in square brackets. Put them in "
            f"order of how well they answer this instruction: {query}.\n")
    for i, response in enumerate(responses):
        text += f"\n[{i + 1}] {response}"
        if critiques:
            text += f"\n\nCritique:\n{critiques[i]}"
    text += (f"\n\nInstruction: {query}.\n\nRank all {n} answers above, best first, naming each "
             "by its identifier. Write the order as [] > [], for instance [3] > [1]. Say briefly "
             "why. Your ranking should start with Answer: and be on the first line.")
    return _chat(text, "You are an assistant that ranks several answers.")


def other_rank(query: str, responses: Sequence[str]) -> Messages:
    body = "\n".join(f"<response_{i}>\n{r}\n</response_{i}>" for i, r in enumerate(responses, 1))
    text = (f"Question:\n{query}\n\nHere are candidate answers to the question.\n\n{body}\n\n"
            "Order these candidates from best to worst. On the last line write the order "
            "as numbers only, like 2 > 1 > 3.")
    return _chat(text)


# --- critique -------------------------------------------------------------------------------

def archon_critique(query: str, responses: Sequence[str]) -> Messages:
    n = len(responses)
    text = (f"You will see {n} responses, each marked with an identifier in brackets []. Judge "
            f"the strengths and weaknesses of each one against the instruction: {query}.\n")
    for i, response in enumerate(responses):
        text += f"\n[{i + 1}] {response}"
    text += (f"\n\nInstruction: {query}.\n\nCover all {n} responses, each introduced by its "
             "identifier (such as [1]) and followed by its strengths and weaknesses. Give both "
             "strengths and weaknesses for every response, leave a blank line between "
             "critiques, and add nothing before or after them. Use this layout: [1]\n"
             "Strengths:\n- ...\nWeaknesses:\n- ...\n\n")
    return _chat(text, "You are a careful critic.")


def other_critique(query: str, responses: Sequence[str]) -> Messages:
    body = "\n\n".join(f"### Response {i}\n{r}" for i, r in enumerate(responses, 1))
    text = (f"A user asked:\n\n{query}\n\n{body}\n\nWrite a critique of each response above: "
            "what it does well and what it gets wrong.")
    return _chat(text)


# --- fuse -----------------------------------------------------------------------------------

def archon_fuse(query: str, responses: Sequence[str], critiques: Sequence[str] = ()) -> Messages:
    text = (f"Several open models answered the latest user query, which is {query}. Your job is "
            "to synthesize their responses into one single, high-quality response. Weigh them "
            "critically, since some may be biased or wrong; do not just copy one, give a "
            "refined, accurate and complete reply.\n"
            f"Once again, the query is: {query}\nResponses from models:")
    for i, response in enumerate(responses):
        text += f"\n{i + 1}. {response}"
        if critiques:
            text += f" \n\nCritique:\n{critiques[i]}\n"
    return _chat(text, "You are a helpful assistant who fuses several answers into one.")


def other_fuse(query: str, responses: Sequence[str]) -> Messages:
    body = "\n\n".join(f"Response {i}: {r}" for i, r in enumerate(responses, 1))
    text = (f"{query}\n\nSome drafts already exist:\n\n{body}\n\nMerge the drafts into one "
            "improved answer to the problem. Give the final answer in \\boxed{}.")
    return _chat(text)


# --- verify ---------------------------------------------------------------------------------

def archon_reason(query: str, response: str) -> Messages:
    text = (f"You will get a response labelled 'Response'. Give the reasoning for why it "
            f"accurately and fully addresses the instruction: {query}.\n\nResponse: {response}"
            f"\n\nInstruction: {query}.\n\nGive that reasoning, judging relevance, completeness "
            "and accuracy against the instruction, and nothing else.")
    return _chat(text, "You write reasoning about instructions and their responses.")


def archon_verdict(query: str, response: str, reasoning: str) -> Messages:
    text = ("Given the query, the response and the reasoning below, decide whether or not the "
            "response is correct.\n- Take into account how the response fits the reasoning and "
            "the query, and whether the reasoning itself holds.\n- Explain first, then end with "
            "the verdict '[Correct]' or '[Incorrect]'.\n- The verdict must be one of '[Correct]' "
            f"or '[Incorrect]'.\n\nQuery: {query}\nResponse: {response}\nReasoning: {reasoning}\n")
    return _chat(text, "You judge responses and their reasoning.")


def other_verify(query: str, response: str) -> Messages:
    text = (f"Problem: {query}\n\nAnswer to check: {response}\n\nIs this answer correct? "
            "Think it through, then reply Yes or No on the last line.")
    return _chat(text)


# --- unit tests -----------------------------------------------------------------------------

def archon_write_tests(query: str, count: int) -> Messages:
    text = (f"For the query below, produce a set of {count} unit tests that would check whether "
            "a response to it is correct.\n- Together the tests should cover the query well.\n"
            "- Each test states what it expects.\n- Phrase them like 'The answer states ...' or "
            "'The answer mentions ...'.\n- Output only the tests, as a list of strings (e.g. "
            f"['unit test #1', 'unit test #2']), with nothing before or after.\n\nQuery: {query}\n")
    return _chat(text, "You are a unit test generator.")


def other_write_tests(query: str, count: int) -> Messages:
    return _chat(f"Write {count} unit tests, one bullet per line, that any correct answer to "
                 f"this problem must pass.\n\n{query}")


def archon_apply_tests(query: str, response: str, tests: Sequence[str]) -> Messages:
    text = ("Given a query, a candidate response and unit tests, evaluate whether the response "
            "passes each unit test.\n- Give your reasoning first.\n- Finish with one verdict "
            "per unit test, '[Passed]' or '[Failed]', one per line, for example:\n"
            "Unit Test #1: [Passed]\nUnit Test #2: [Failed]\n\n"
            f"Query: {query}\n\nCandidate Response: {response}\n\nUnit Tests:\n")
    text += "".join(f"Unit Test #{i}: {t}\n" for i, t in enumerate(tests, 1))
    return _chat(text, "You are a unit test evaluator")


def other_apply_tests(query: str, response: str, tests: Sequence[str]) -> Messages:
    listed = "\n".join(f"{i}. {t}" for i, t in enumerate(tests, 1))
    text = (f"Task: {query}\n\n<answer_1>\n{response}\n</answer_1>\n\nTests:\n{listed}\n\n"
            "Decide for every test whether the answer would pass or fail it, one line each: "
            "`Test 1: pass`.")
    return _chat(text)


# --- readers --------------------------------------------------------------------------------

def read_ranking(text: str, count: int) -> list[int]:
    """The first line holding ``count`` distinct ids separated by '>' (brackets optional)."""
    for line in text.splitlines():
        if ">" in line:
            ids = [int(x) for x in re.findall(r"\d+", line)]
            if sorted(ids) == list(range(1, count + 1)):
                return ids
    raise AssertionError(f"no ranking of {count} in {text!r}")


def read_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 1, start + len("\\boxed{")
    while i < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start + len("\\boxed{") : i - 1]


def read_python_list(text: str) -> list[str]:
    value = ast.literal_eval(text.strip())
    assert isinstance(value, list) and all(isinstance(t, str) for t in value)
    return value


def read_archon_results(text: str, count: int) -> list[bool]:
    found = dict(re.findall(r"Unit Test #(\d+): \[(Passed|Failed)\]", text))
    assert sorted(int(k) for k in found) == list(range(1, count + 1)), text
    return [found[str(i)] == "Passed" for i in range(1, count + 1)]
