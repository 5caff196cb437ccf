"""The benchmarks' judges: single grades, pairwise verdicts, preference labels, free-form
scores and extracted options, read from whatever wording the judge prompt uses.

A judge prompt is recognised by what it asks (first match, over the system and user messages):

===========  ==================================================================================
task         cue
===========  ==================================================================================
extract      an option extractor / "which option ... chosen by the model" (MixEval MC)
score        a correctness score / golden answers (MixEval free form, ``[[0.0-1.0]]``)
prefer       model identifiers to name the best output (AlpacaEval's ``m`` / ``M``)
pairwise     two answers labelled A and B and a verdict or "which is better" (MT-Bench
             ``[[A]]/[[B]]/[[C]]``, Arena-Hard ``[[A>>B]]`` ... ``[[B>>A]]``)
grade        a rating on a scale of 1 to 10 (MT-Bench ``[[rating]]``), one answer
===========  ==================================================================================

Answers are read from ``[The Start of ...]`` / ``<|The Start of ...|>`` blocks (a block named
"Reference" is the reference answer; in a conversation block the last assistant turn is the
answer judged), AlpacaEval's ``"model_identifier"`` / ``"output"`` pairs, ``<answer_a>``-style
tags or ``Response A:`` labels. The question and its turn are found by content like any other
(simulator/matching.py). Answers to open questions are perceived with
simulator/perception.py; answers the simulator did not write get the default quality of
simulator/quality.py and are counted (``judged_foreign`` on ``/health``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from simulator.answer_keys import AnswerKey, Placement
from simulator.fleet import LLMSpec
from simulator.perception import Perceiver
from simulator.quality import OpenAnswer, read_answer
from simulator.skill import Sampler, sigmoid
from simulator.text import normalize_number, normalize_question
from simulator.values import Kind, extract, normalize_text

__all__ = ["JudgeTask", "Task", "Verdict", "find_task", "judge"]

_I = re.IGNORECASE
_IS = re.IGNORECASE | re.DOTALL
_IM = re.IGNORECASE | re.MULTILINE


class Task(StrEnum):
    EXTRACT = "extract"
    SCORE = "score"
    PREFER = "prefer"
    PAIRWISE = "pairwise"
    GRADE = "grade"


_EXTRACT = re.compile(
    r"option extractor|\bextract\w*\b[^.\n]{0,60}\boption|\boptions? (?:letter )?(?:that )?"
    r"(?:is |was )?(?:chosen|selected|picked) by|which (?:of the )?(?:listed |given )?"
    r"(?:option|choice|letter)s? (?:did|does|was|is) (?:the )?(?:model|response|answer|reply)",
    _I)
_SCORE = re.compile(
    r"correctness score|gold(?:en)? answer|\b(?:score|grade|rate)\b[^.\n]{0,60}\b(?:between|from)"
    r" 0(?:\.0)? (?:and|to) 1(?:\.0)?\b", _I)
_PREFER = re.compile(
    r"model[ _]identifier|identifier of the (?:best|better)|\bidentifiers?\b[^.\n]{0,80}\bbest\b",
    _I)
_PAIR_CUE = re.compile(
    r"\bverdict\b|\bbetter\b|\[\[A\]\]|A>>?B|\bprefer", _I)
_GRADE = re.compile(
    r"\[\[rating\]\]|\bscale (?:of|from) 1 (?:to|-) ?10\b|\bfrom 1 to 10\b|\b1 ?- ?10\b"
    r"|\bout of 10\b|\brat(?:e|ing)\b[^.\n]{0,80}\b10\b", _I)

_BLOCK = re.compile(
    r"[\[<]\|?[ \t]*The Start of (?P<name>[^\]|>\n]+?)[ \t]*\|?[\]>][ \t]*\n?(?P<body>.*?)\n?"
    r"[ \t]*[\[<]\|?[ \t]*The End of (?P=name)[ \t]*\|?[\]>]", _IS)
_IDENTIFIED = re.compile(
    r"\"model_identifier\"\s*:\s*\"(?P<id>[^\"]+)\"\s*,\s*\"output\"\s*:\s*\"\"\"(?P<body>.*?)\"\"\"",
    re.DOTALL)
_TAG = re.compile(
    r"<(?P<noun>answer|response|output|reply)(?:[ _-]?(?P<id>[A-Za-z0-9]{1,2}))?>(?P<body>.*?)"
    r"</(?P=noun)(?:[ _-]?(?P=id))?>", _IS)
_LABEL = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*)?(?i:assistant|response|answer|output)[ \t]+\(?(?P<id>[AB])"
    r"\)?(?:\*\*)?[ \t]*:?(?:\*\*)?[ \t]*$|^[ \t]*(?:\*\*)?(?i:assistant|response|answer|output)"
    r"[ \t]+\(?(?P<id2>[AB])\)?(?:\*\*)?[ \t]*:", re.MULTILINE)
_LAST_ASSISTANT = re.compile(r"^#{1,6}[ \t]*Assistant(?:[ \t]+[AB])?[ \t]*:[ \t]*$", re.MULTILINE)
_TURN_MARK = re.compile(r"^#{1,6}[ \t]*(?:User|Assistant[^:\n]*|Reference answer)[ \t]*:[ \t]*$",
                        _IM)


@dataclass(frozen=True)
class Shown:
    """One answer as the prompt shows it: its identifier (A, B, m, ...) and text."""

    ident: str
    text: str


@dataclass(frozen=True)
class JudgeTask:
    """A benchmark judge's request, read (see the module docstring)."""

    task: Task
    prompt: str
    answers: tuple[Shown, ...] = ()
    reference: bool = False
    options: tuple[str, ...] = ()
    gold: tuple[str, ...] = ()
    response: str = ""


@dataclass
class Verdict:
    """A judge's reply: its text, the distribution of its one-token label (``label_probs``,
    for log-probabilities) and how many answers it judged that the simulator did not write."""

    text: str
    label_probs: dict[str, float] | None = None
    foreign: int = 0
    notes: list[str] = field(default_factory=list)


def _conversation_answer(body: str) -> str:
    """The last assistant turn of a conversation block, else the block itself."""
    marks = list(_LAST_ASSISTANT.finditer(body))
    if not marks:
        return body.strip()
    rest = body[marks[-1].end():]
    after = _TURN_MARK.search(rest)
    return (rest[: after.start()] if after else rest).strip()


def _answers(prompt: str) -> tuple[list[Shown], bool]:
    """The answers a judge prompt shows, in order, and whether it gives a reference answer."""
    blocks = list(_BLOCK.finditer(prompt))
    if blocks:
        shown, reference = [], False
        for m in blocks:
            name = m.group("name")
            if "reference" in name.lower():
                reference = True
                continue
            ident = re.search(r"\b([AB])(?:'s|\b)", name)
            body = _conversation_answer(m.group("body"))
            shown.append(Shown(ident.group(1) if ident else "", body))
        return shown, reference
    reference = bool(re.search(r"\breference (?:answer|solution)", prompt, _I))
    identified = [Shown(m.group("id"), m.group("body").strip())
                  for m in _IDENTIFIED.finditer(prompt)]
    if identified:
        return identified, reference
    tags = [m for m in _TAG.finditer(prompt) if "reference" not in m.group("noun").lower()]
    if tags:
        return [Shown(m.group("id") or "", m.group("body").strip()) for m in tags], reference
    labels = list(_LABEL.finditer(prompt))
    if len(labels) >= 2:
        out = []
        for i, m in enumerate(labels[:2]):
            end = labels[i + 1].start() if i == 0 else _body_end(prompt, m.end())
            name = (m.group("id") or m.group("id2")).upper()
            out.append(Shown(name, prompt[m.end():end].strip()))
        return out, reference
    return [], reference


_PARAGRAPH_INSTRUCTION = re.compile(
    r"\n[ \t]*\n[ \t]*(?:please|now|which|compare|decide|judge|evaluate|output|reply|respond|give"
    r"|say|tell|answer with|your (?:task|job))\b", _I)


def _body_end(text: str, start: int) -> int:
    found = _PARAGRAPH_INSTRUCTION.search(text, start)
    return found.start() if found else len(text)


def _last_section(text: str, label: str) -> str | None:
    """The text after the last line starting with ``label``: up to the next ``Your judgment``
    style label or the end."""
    found = list(re.finditer(rf"^[ \t]*(?:{label})[ \t]*:[ \t]*", text, _IM))
    if not found:
        return None
    rest = text[found[-1].end():]
    stop = re.search(r"^[ \t]*(?:your judg\w*|judg\w*|evaluation|assessment|your (?:reasoning|"
                     r"verdict|score|grade))[ \t]*:", rest, _IM)
    rest = rest[: stop.start()] if stop else rest
    return rest[: _body_end(rest, 0)].strip()


_RESPONSE = (r"(?:the )?(?:model|candidate|student|assistant|system)(?:'s)?[ \t]+(?:answer"
             r"|response|reply|output)|response|model output")
_GOLD = r"gold(?:en)?[ \t]+answers?(?:\(s\))?|reference[ \t]+answers?(?:\(s\))?|correct[ \t]+" \
        r"answers?(?:\(s\))?|expected[ \t]+answers?(?:\(s\))?|targets?"


def _strip_answers(text: str) -> str:
    for pattern in (_BLOCK, _IDENTIFIED, _TAG):
        text = pattern.sub(" ", text)
    return text


def find_task(prompt: str, cues: str | None = None) -> JudgeTask | None:
    """The benchmark judge task a prompt asks, if any.

    ``prompt`` is the system and user messages joined; ``cues`` the same with the question
    masked out (simulator/reading.py), read for what is asked, so a question that happens to
    mention options or ratings is not taken for a judge's instructions.
    """
    said = _strip_answers(prompt if cues is None else cues)
    if _EXTRACT.search(said):
        block = _last_section(prompt, r"options?|choices")
        options: list[str] = []
        for line in (block or "").splitlines():
            m = re.match(r"^[ \t]*\(?([A-J])[.)][ \t]+(.+?)[ \t]*$", line)
            if m and ord(m.group(1)) - ord("A") == len(options):
                options.append(m.group(2))
            elif options:
                break
        response = _last_section(prompt, _RESPONSE)
        if response is not None and len(options) >= 2:
            return JudgeTask(Task.EXTRACT, prompt, options=tuple(options), response=response)
    if _SCORE.search(said):
        gold_line = (_last_section(prompt, _GOLD) or "").split("\n")[0]
        gold = [g.strip() for g in re.split(r"<answer \d+>|;|\|", gold_line) if g.strip()]
        response = _last_section(prompt, _RESPONSE)
        if response is not None and gold:
            return JudgeTask(Task.SCORE, prompt, gold=tuple(gold), response=response)
    answers, reference = _answers(prompt)
    if _PREFER.search(said) and len(answers) >= 2:
        return JudgeTask(Task.PREFER, prompt, tuple(answers), reference)
    if len(answers) >= 2 and _PAIR_CUE.search(said):
        return JudgeTask(Task.PAIRWISE, prompt, tuple(answers[:2]), reference)
    if _GRADE.search(said) and len(answers) == 1:
        return JudgeTask(Task.GRADE, prompt, tuple(answers), reference)
    return None


# -- judging ---------------------------------------------------------------------------------


def _sampler(llm: LLMSpec, task: JudgeTask, key: AnswerKey | None, turn: int, seed: object,
             temperature: float) -> Sampler:
    """Draws labelled by what is judged (the question, the answers in their order), not by the
    prompt's wording, so a follow-up asking for the label again gets the same verdict."""
    shown = "\x1e".join(normalize_question(a.text) for a in task.answers) or (
        normalize_question(task.response) + "\x1e" + "|".join(task.gold + task.options))
    question = key.question if key is not None else ""
    return Sampler((llm.name, "judge", task.task.value, question, turn, shown,
                    "greedy" if temperature <= 0 else seed, round(temperature, 3)))


def judge(llm: LLMSpec, task: JudgeTask, placement: Placement | None, *, seed: int,
          temperature: float) -> Verdict:
    """The reply of judge ``llm`` to ``task`` (rules: simulator/README.md, "Judging")."""
    key = placement.key if placement is not None and placement.key.kind is Kind.OPEN else None
    turn = placement.turn if placement is not None else 0
    sampler = _sampler(llm, task, key, turn, seed, temperature)
    if task.task is Task.EXTRACT:
        return _extract(llm, task, sampler)
    if task.task is Task.SCORE:
        return _score(llm, task, sampler)
    perceiver = Perceiver(llm, key, turn, sampler, task.reference)
    read = [read_answer(a.text, key, turn) for a in task.answers]
    foreign = sum(not r.simulated for r in read)
    if task.task is Task.GRADE:
        return _grade(perceiver, task, read[0], foreign)
    scores = [perceiver.score(r, i, first=i == 0) for i, r in enumerate(read)]
    if task.task is Task.PAIRWISE:
        return _pairwise(perceiver, task, read, scores, foreign)
    return _prefer(task, scores, foreign, sampler, temperature)


def _grade(perceiver: Perceiver, task: JudgeTask, answer: OpenAnswer, foreign: int) -> Verdict:
    score = perceiver.score(answer, 0)
    if perceiver.sees_mistake(answer, 0):
        # As GPT-4 grades a wrong answer (mt_bench/model_judgment: 1: 4, 2: 10, 3: 4 of 18).
        weights = [0.25, 0.5, 0.25] if answer.quality >= 0.5 else [0.5, 0.5, 0.0]
        grade = int(perceiver.sampler.pick(["1", "2", "3"], weights, "low-grade"))
        said = ("The response contains a substantive error: one of its claims does not hold, "
                "so it cannot be relied on despite its other content.")
    else:
        grade = min(10, max(1, round(1 + 9 * score)))
        said = _explain(answer, grade)
    prompt = task.prompt
    if re.search(r"\[\[(?:rating|score|grade|[a-z]|\d+)\]\]", prompt, _I):
        line = f"Rating: [[{grade}]]"
    elif re.search(r"\[(?:rating|score|grade|\d+)\]", prompt, _I):
        line = f"Rating: [{grade}]"
    elif re.search(r"\d+ ?/ ?10\b", prompt):
        line = f"Rating: {grade}/10"
    else:
        line = f"Rating: {grade}"
    return Verdict(f"{said}\n\n{line}", foreign=foreign)


def _explain(answer: OpenAnswer, grade: int) -> str:
    if not answer.simulated:
        return ("The response is on topic and reasonably organised; judged on its substance and "
                "level of detail as presented.")
    if grade >= 9:
        return ("The response is helpful, relevant and accurate, and covers the important "
                "aspects of the question in good detail.")
    if grade >= 6:
        return ("The response is relevant and mostly helpful, but it leaves out some aspects "
                "of the question that a thorough answer would address.")
    return ("The response touches on the question but misses most of what it asks, so it is "
            "of limited help.")


_FIVE = (("A>>B", "Assistant A is significantly better"), ("A>B", "Assistant A is slightly better"),
         ("A=B", "tie, relatively the same"), ("B>A", "Assistant B is slightly better"),
         ("B>>A", "Assistant B is significantly better"))
TIE_BAND = 0.05
STRONG_BAND = 0.2


def _pairwise(perceiver: Perceiver, task: JudgeTask, read: Sequence[OpenAnswer],
              scores: Sequence[float], foreign: int) -> Verdict:
    d = scores[0] - scores[1]
    mistakes = [perceiver.sees_mistake(r, i) for i, r in enumerate(read)]
    reasons = []
    for name, seen in zip("AB", mistakes, strict=True):
        if seen:
            reasons.append(f"Assistant {name} makes a claim that does not hold.")
    better = "A" if d > 0 else "B"
    if abs(d) < TIE_BAND:
        reasons.append("Both answers address the question to a similar degree.")
    else:
        reasons.append(f"Assistant {better}'s answer covers more of what the question asks "
                       "and is more helpful overall.")
    explanation = " ".join(reasons)
    five = bool(re.search(r"A>>B|B>>A|\[\[A>B\]\]", task.prompt))
    if five:
        index = 2 if abs(d) < TIE_BAND else (0 if d >= STRONG_BAND else 1) if d > 0 else (
            4 if d <= -STRONG_BAND else 3)
        label, phrase = _FIVE[index]
        return Verdict(f"{explanation}\n\nMy final verdict is {phrase}: [[{label}]]",
                       foreign=foreign)
    label = "C" if abs(d) < TIE_BAND else better
    return Verdict(f"{explanation}\n\n[[{label}]]", foreign=foreign)


#: How sharply a preference label follows the perceived difference (quality units).
PREFERENCE_TEMPERATURE = 0.08
#: Probability mass a judge puts on tokens other than the labels (spread over a few).
_OTHER_MASS = 0.002
_OTHER_TOKENS = ("Model", "The", "Based")


def _prefer(task: JudgeTask, scores: Sequence[float], foreign: int, sampler: Sampler,
            temperature: float) -> Verdict:
    first, second = task.answers[0].ident, task.answers[1].ident
    p_first = sigmoid((scores[0] - scores[1]) / PREFERENCE_TEMPERATURE)
    p_first = min(max(p_first, 1e-6), 1 - 1e-6)
    probs = {first: (1 - _OTHER_MASS) * p_first, second: (1 - _OTHER_MASS) * (1 - p_first)}
    for token in _OTHER_TOKENS:
        probs[token] = _OTHER_MASS / len(_OTHER_TOKENS)
    if temperature <= 0:
        label = first if p_first >= 0.5 else second
    else:
        # Sampling at temperature T reshapes the distribution as p^(1/T).
        weight = p_first ** (1 / temperature)
        rest = (1 - p_first) ** (1 / temperature)
        label = first if sampler.uniform("label") * (weight + rest) < weight else second
    return Verdict(label, label_probs=probs, foreign=foreign)


def _score(llm: LLMSpec, task: JudgeTask, sampler: Sampler) -> Verdict:
    """A free-form answer graded against the gold answers the prompt shows."""
    response = task.response
    truth = _matches_gold(response, task.gold)
    see = sigmoid(llm.discrimination * (llm.judge + 1.0))  # grading against gold is easy
    if sampler.chance(see, "see"):
        value = truth
    else:
        value = sampler.pick(["1.0", "0.5", "0.0"], [1, 1, 1], "guess")
    if value == "1.0":
        said = "The model's answer states the same thing as one of the golden answers."
    elif value == "0.5":
        said = "The model's answer is related to the golden answers but not precise enough."
    else:
        said = "The model's answer does not match any of the golden answers."
    form = (f"[[{value}]]" if re.search(r"\[\[(?:score|\d(?:\.\d)?)\]\]", task.prompt, _I)
            else value)
    return Verdict(f"{said} The correctness score: {form}")


def _matches_gold(response: str, gold: Sequence[str]) -> str:
    """1.0 when the response states a gold answer, 0.5 when it shares most of one's words."""
    text = normalize_text(response)
    numbers = {normalize_number(n) for n in re.findall(r"-?\d[\d,]*(?:\.\d+)?", response)}
    best = "0.0"
    for g in gold:
        canon = normalize_text(g)
        if not canon:
            continue
        if re.search(rf"(?:^| ){re.escape(canon)}(?: |$)", text):
            return "1.0"
        if normalize_number(g) is not None and normalize_number(g) in numbers and \
                re.fullmatch(r"[\d,.\s$-]+", g.strip()):
            return "1.0"
        gold_words = set(canon.split())
        if gold_words and len(gold_words & set(text.split())) * 2 >= len(gold_words) + 1:
            best = "0.5"
    return best


def _extract(llm: LLMSpec, task: JudgeTask, sampler: Sampler) -> Verdict:
    """The option a response chose, as a careful reader finds it."""
    letters = "ABCDEFGHIJ"[: max(len(task.options), 2)]
    letter = extract(Kind.CHOICE, task.response, task.options) if task.response else None
    slip = 0.3 * sigmoid(-1.5 * llm.judge)
    if letter is None or letter not in letters:
        letter = letters[int(sampler.uniform("none") * len(letters))]
        said = "The model's answer does not clearly choose an option; the closest reading is"
    elif sampler.chance(slip, "slip"):
        others = [x for x in letters if x != letter]
        letter = others[int(sampler.uniform("other") * len(others))]
        said = "The model's answer seems to point to"
    else:
        said = "The model's answer clearly identifies"
    return Verdict(f"{said} option {letter}. The option chosen by the model: [[{letter}]].")
