"""Each technique on replies in and out of format: what goes on to the next layer, and that a
reply out of format is counted and handled by the technique's written rule, never guessed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from simulator.protocol import (
    Critique,
    Role,
    format_answer,
    format_critiques,
    format_ranking,
    format_test_results,
    format_unit_tests,
    format_verdict,
    parse_prompt,
)
from worker.layer import run_layer_calls
from worker.techniques.base import CallResult, CallSpec, Candidate, LayerState

QUESTION = "Ana has 3 apples and buys 4 more. How many apples does she have?"


@dataclass
class Comp:
    type: str
    model: str = "sim-medium"
    model_type: str | None = None
    samples: int = 1
    temperature: float = 0.7
    max_tokens: int = 256
    top_k: int | None = None
    use_critiques: bool = False
    first_k: int | None = None
    unit_test_cap: int | None = None


def _run(components: list[Comp], state: LayerState, reply) -> tuple[LayerState, list]:  # type: ignore[no-untyped-def]
    """Run a layer with `reply(spec) -> str | None` standing in for the LLM."""
    failures: list[CallResult] = []
    seen: list[CallSpec] = []

    def call(spec: CallSpec) -> CallResult:
        seen.append(spec)
        return CallResult(spec, reply(spec))

    with ThreadPoolExecutor(8) as pool:
        new = run_layer_calls(components, QUESTION, state, call=call, pool=pool,
                              on_parse_failure=failures.append)
    return new, seen


def _state(*texts: str) -> LayerState:
    return LayerState(candidates=[Candidate(t) for t in texts])


def test_generator_samples_are_distinct_seeds_and_all_become_candidates() -> None:
    new, seen = _run([Comp("generator", samples=5)], LayerState(),
                     lambda s: format_answer("3 + 4", str(7 + s.sample_index % 2)))
    assert sorted(s.sample_index for s in seen) == [0, 1, 2, 3, 4]
    assert all(parse_prompt(s.messages[0][1]).role is Role.GENERATE for s in seen)
    assert len(new.candidates) == 5 and new.parse_failures == 0


def test_generator_reply_without_answer_line_stays_but_is_counted() -> None:
    new, _ = _run([Comp("generator", samples=2)], LayerState(),
                  lambda s: "I think seven." if s.sample_index else format_answer("x", "7"))
    assert len(new.candidates) == 2
    assert new.parse_failures == 1


def test_two_generators_in_one_layer_concatenate_in_component_order() -> None:
    new, _ = _run([Comp("generator", model="a", samples=2), Comp("generator", model="b")],
                  LayerState(), lambda s: format_answer(s.llm, "7"))
    assert [c.text.splitlines()[0] for c in new.candidates] == ["a", "a", "b"]


def test_ranker_keeps_top_k_in_the_ranked_order() -> None:
    state = _state(*(format_answer(f"c{i}", str(i)) for i in range(1, 5)))
    new, seen = _run([Comp("ranker", top_k=2)], state,
                     lambda s: format_ranking([3, 1, 4, 2]))
    assert [c.text.splitlines()[0] for c in new.candidates] == ["c3", "c1"]
    assert len(parse_prompt(seen[0].messages[0][1]).candidates) == 4


def test_ranker_reply_out_of_format_keeps_input_order_and_is_counted() -> None:
    state = _state("a\nAnswer: 1", "b\nAnswer: 2", "c\nAnswer: 3")
    new, _ = _run([Comp("ranker", top_k=2)], state, lambda s: "Ranking: [1] > [1] > [2]")
    assert [c.text[0] for c in new.candidates] == ["a", "b"]
    assert new.parse_failures == 1


def test_critic_attaches_critiques_that_a_fuser_then_reads() -> None:
    state = _state("a\nAnswer: 7", "b\nAnswer: 8")
    critiques = {1: Critique("adds right", "none", True), 2: Critique("", "adds wrong", False)}
    after_critic, _ = _run([Comp("critic")], state, lambda s: format_critiques(critiques))
    assert [c.critique is not None for c in after_critic.candidates] == [True, True]
    _, seen = _run([Comp("fuser", use_critiques=True)], after_critic,
                   lambda s: format_answer("fused", "7"))
    assert set(parse_prompt(seen[0].messages[0][1]).critiques) == {1, 2}


def test_critic_reply_out_of_format_leaves_candidates_without_critiques() -> None:
    state = _state("a\nAnswer: 7", "b\nAnswer: 8")
    new, _ = _run([Comp("critic")], state, lambda s: "Both look fine to me.")
    assert [c.critique for c in new.candidates] == [None, None]
    assert [c.text for c in new.candidates] == [c.text for c in state.candidates]
    assert new.parse_failures == 1


def test_fuser_samples_replace_the_candidates() -> None:
    new, seen = _run([Comp("fuser", samples=3)], _state("a\nAnswer: 7", "b\nAnswer: 8"),
                     lambda s: format_answer("fused", "7"))
    assert len(seen) == 3 and len(new.candidates) == 3


def test_verifier_filters_but_never_empties_the_layer() -> None:
    state = _state("a\nAnswer: 7", "b\nAnswer: 8", "c\nAnswer: 9")
    new, _ = _run([Comp("verifier")], state,
                  lambda s: format_verdict("ok", "Answer: 7" in s.messages[0][1]))
    assert [c.text[0] for c in new.candidates] == ["a"]
    none, _ = _run([Comp("verifier")], state, lambda s: format_verdict("no", False))
    assert len(none.candidates) == 3


def test_verifier_unparseable_verdict_does_not_reject_and_is_counted() -> None:
    state = _state("a\nAnswer: 7", "b\nAnswer: 8")
    new, _ = _run([Comp("verifier")], state,
                  lambda s: format_verdict("", False) if "Answer: 8" in s.messages[0][1]
                  else "Looks plausible.")
    assert [c.text[0] for c in new.candidates] == ["a"]
    assert new.parse_failures == 1


def test_unit_tests_are_written_capped_then_used_to_sort_candidates() -> None:
    tests_layer, _ = _run([Comp("unit_test_generator", unit_test_cap=2)], LayerState(),
                          lambda s: format_unit_tests(["t1", "t2", "t3"]))
    assert tests_layer.unit_tests == ["t1", "t2"]
    assert tests_layer.candidates == []  # as in Archon: the tests go on, no candidates

    generated, _ = _run([Comp("generator", samples=3)], tests_layer,
                        lambda s: format_answer(f"c{s.sample_index}", str(6 + s.sample_index)))
    assert generated.unit_tests == ["t1", "t2"]  # later layers still see the tests

    def judge(spec: CallSpec) -> str:
        prompt = spec.messages[0][1]
        passes = {"Answer: 6": [False, False], "Answer: 7": [True, True],
                  "Answer: 8": [True, False]}
        return format_test_results(next(v for k, v in passes.items() if k in prompt))

    ranked, seen = _run([Comp("unit_test_evaluator", top_k=2)], generated, judge)
    assert all(parse_prompt(s.messages[0][1]).unit_tests == ("t1", "t2") for s in seen)
    assert [c.text.splitlines()[0] for c in ranked.candidates] == ["c1", "c2"]

    first, _ = _run([Comp("unit_test_evaluator", first_k=1)], generated, judge)
    assert [c.text.splitlines()[0] for c in first.candidates] == ["c1"]


def test_failed_calls_are_counted_and_skipped() -> None:
    new, _ = _run([Comp("generator", samples=4)], LayerState(),
                  lambda s: None if s.sample_index < 2 else format_answer("x", "7"))
    assert len(new.candidates) == 2 and new.failed_calls == 2
