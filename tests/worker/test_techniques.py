"""Each technique on replies in and out of format: what goes on to the next layer, what each
call sends, and that a reply out of format is asked again and finally handled by the
technique's written rule, never guessed. The LLM is a plain function here (the techniques'
rules, not the transport, are under test); tests/worker/test_layers_on_simulator.py runs the
same techniques through workers and the simulator over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from models.errors import LayerTimeout
from worker.layer import run_layer_calls
from worker.techniques.base import MAX_ATTEMPTS, CallResult, CallSpec, Candidate, LayerState, Role
from worker.techniques.conversation import DEFAULT_SYSTEM_PROMPT, Conversation

QUERY = "Ana has 3 apples and buys 4 more. How many apples does she have?"
CONVERSATION = Conversation(query=QUERY)


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
    length_control: bool = False
    no_system: bool = False
    remove_unit_tests_from_prompt: bool = False


Reply = Callable[[CallSpec], "str | None | tuple[str, str]"]


def _run(components: list[Comp], state: LayerState, reply: Reply,
         conversation: Conversation = CONVERSATION) -> tuple[LayerState, list[CallSpec],
                                                              list[CallResult]]:
    """Run a layer with ``reply(spec)`` standing in for the LLM: a text, None (the call
    failed), or (text, finish_reason)."""
    unusable: list[CallResult] = []
    seen: list[CallSpec] = []

    def call(spec: CallSpec) -> CallResult:
        seen.append(spec)
        out = reply(spec)
        if isinstance(out, tuple):
            return CallResult(spec, out[0], finish_reason=out[1])
        return CallResult(spec, out, finish_reason="stop")

    with ThreadPoolExecutor(8) as pool:
        new = run_layer_calls(components, conversation, state, call=call, pool=pool,
                              on_unusable=unusable.append)
    return new, seen, unusable


def _state(*texts: str) -> LayerState:
    return LayerState(candidates=[Candidate(t) for t in texts])


def _user(spec: CallSpec) -> str:
    return spec.messages[-1][1]


def test_generator_sends_the_conversation_as_is_with_distinct_sample_indices() -> None:
    new, seen, _ = _run([Comp("generator", samples=5)], LayerState(), lambda s: "It is 7.")
    assert sorted(s.sample_index for s in seen) == [0, 1, 2, 3, 4]
    assert seen[0].messages == (("system", DEFAULT_SYSTEM_PROMPT), ("user", QUERY))
    assert all(s.role is Role.GENERATE for s in seen)
    assert len(new.candidates) == 5 and new.parse_failures == 0


def test_generator_uses_the_benchmarks_system_prompt_and_no_system_drops_it() -> None:
    conversation = Conversation(query=QUERY, system="Answer like a maths teacher.")
    _, seen, _ = _run([Comp("generator")], LayerState(), lambda s: "7", conversation)
    assert seen[0].messages[0] == ("system", "Answer like a maths teacher.")
    _, seen, _ = _run([Comp("generator", no_system=True)], LayerState(), lambda s: "7",
                      conversation)
    assert [role for role, _ in seen[0].messages] == ["user"]


def test_second_turn_carries_the_first_turn_and_the_architectures_answer() -> None:
    conversation = Conversation(query="Now double it.", history=((QUERY, "She has 7."),))
    _, seen, _ = _run([Comp("generator")], LayerState(), lambda s: "14", conversation)
    assert seen[0].messages[1:] == (("user", QUERY), ("assistant", "She has 7."),
                                    ("user", "Now double it."))
    _, seen, _ = _run([Comp("fuser")], _state("14", "15"), lambda s: "14", conversation)
    roles = [role for role, _ in seen[0].messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert "Now double it." in _user(seen[0]) and "She has 7." == seen[0].messages[2][1]


def test_truncated_reply_is_asked_again_then_dropped_and_counted() -> None:
    new, seen, unusable = _run([Comp("generator", samples=2)], LayerState(),
                               lambda s: ("She has 7 app", "length") if s.sample_index == 0
                               else "She has 7 apples.")
    attempts = sorted((s.sample_index, s.attempt) for s in seen)
    assert attempts == [(0, a) for a in range(MAX_ATTEMPTS)] + [(1, 0)]
    assert len({s.seed for s in seen}) == len(seen)  # every attempt is a new sample
    assert [c.text for c in new.candidates] == ["She has 7 apples."]
    assert new.parse_failures == 1 and len(unusable) == MAX_ATTEMPTS


def test_two_generators_in_one_layer_concatenate_in_component_order() -> None:
    new, _, _ = _run([Comp("generator", model="a", samples=2), Comp("generator", model="b")],
                     LayerState(), lambda s: s.llm)
    assert [c.text for c in new.candidates] == ["a", "a", "b"]


def test_generator_after_layer_0_answers_afresh_and_replaces_candidates() -> None:
    new, seen, _ = _run([Comp("generator")], _state("old one", "old two"), lambda s: "new")
    assert [c.text for c in new.candidates] == ["new"]
    assert "old one" not in str(seen[0].messages)


def test_ranker_keeps_top_k_in_the_ranked_order_whatever_way_it_is_written() -> None:
    state = _state("c1", "c2", "c3", "c4")
    for reply in ("I compared them.\nRanking: [3] > [1] > [4] > [2]",
                  "**Ranking:** 3 > 1 > 4 > 2", "Answer: [3] > [1] > [4] > [2]",
                  "Response 3 > Response 1 > Response 4 > Response 2"):
        new, seen, _ = _run([Comp("ranker", top_k=2)], state, lambda s, r=reply: r)
        assert [c.text for c in new.candidates] == ["c3", "c1"], reply
        assert new.parse_failures == 0
    prompt = _user(seen[0])
    assert all(f"[{i}]\nc{i}" in prompt for i in range(1, 5))
    assert "[5]" in prompt  # its example names a fifth response, so a copy is refused


def test_ranker_copying_its_example_is_asked_again_then_keeps_input_order() -> None:
    state = _state("a", "b", "c")
    new, seen, _ = _run([Comp("ranker", top_k=2)], state,
                        lambda s: "Ranking: [4] > [1] > [2] > [3]")
    assert len(seen) == MAX_ATTEMPTS
    assert [c.text for c in new.candidates] == ["a", "b"] and new.parse_failures == 1


def test_ranker_accepts_a_partial_ranking_that_covers_top_k() -> None:
    new, _, _ = _run([Comp("ranker", top_k=1)], _state("a", "b", "c"), lambda s: "[2] > [3]")
    assert [c.text for c in new.candidates] == ["b"] and new.parse_failures == 0


def test_critic_attaches_critiques_that_rankers_and_fusers_then_read() -> None:
    reply = ("[1]\nStrengths:\n- adds correctly\nWeaknesses:\n- terse\n\n"
             "**[2]**\nStrengths: clear\nWeaknesses: adds wrong\n\n"
             "[3]\nStrengths: none\nWeaknesses: there is no third response")
    after, seen, _ = _run([Comp("critic")], _state("7", "8"), lambda s: reply)
    assert seen[0].role is Role.CRITIQUE
    assert [bool(c.critique) for c in after.candidates] == [True, True]
    assert "adds wrong" in (after.candidates[1].critique or "")
    _, seen, _ = _run([Comp("ranker", top_k=1)], after, lambda s: "[1] > [2]")
    assert "Critique of [2]:" in _user(seen[0])  # rankers see critiques whenever they exist
    _, seen, _ = _run([Comp("fuser")], after, lambda s: "7")
    assert "adds wrong" in _user(seen[0])


def test_critic_reply_out_of_format_is_retried_then_keeps_what_parsed() -> None:
    new, seen, _ = _run([Comp("critic")], _state("7", "8"),
                        lambda s: "[1] Strengths: right. Weaknesses: none.\n[2] Fine.")
    assert len(seen) == MAX_ATTEMPTS
    assert new.candidates[0].critique and new.candidates[1].critique is None
    assert [c.text for c in new.candidates] == ["7", "8"] and new.parse_failures == 1


def test_fuser_samples_replace_the_candidates_and_length_control_is_asked() -> None:
    new, seen, _ = _run([Comp("fuser", samples=3, length_control=True)], _state("7", "8"),
                        lambda s: "She has 7 apples.")
    assert len(seen) == 3 and len(new.candidates) == 3
    assert "no longer than the longest" in _user(seen[0])


def test_verifier_filters_but_never_empties_the_layer() -> None:
    state = _state("She has 7.", "She has 8.", "She has 9.")
    verdict = {True: "The sum is right.\n**Verdict:** Correct",
               False: "3 + 4 is not that.\nVerdict: incorrect"}
    new, _, _ = _run([Comp("verifier")], state,
                     lambda s: verdict["She has 7." in _user(s)])
    assert [c.text for c in new.candidates] == ["She has 7."]
    none, _, _ = _run([Comp("verifier")], state, lambda s: verdict[False])
    assert len(none.candidates) == 3


def test_verifier_first_k_keeps_the_first_verified_in_input_order() -> None:
    new, _, _ = _run([Comp("verifier", first_k=1)], _state("Eight.", "Seven.", "Seven!"),
                     lambda s: "[Incorrect]" if "Eight." in _user(s) else "[Correct]")
    assert [c.text for c in new.candidates] == ["Seven."]


def test_verifier_copying_both_options_is_not_a_verdict() -> None:
    new, seen, _ = _run([Comp("verifier")], _state("a", "b"),
                        lambda s: "Verdict: correct or incorrect")
    assert len(seen) == 2 * MAX_ATTEMPTS
    assert len(new.candidates) == 2 and new.parse_failures == 2


def test_unit_tests_reach_later_layers_and_sort_candidates() -> None:
    tests_layer, seen, _ = _run(
        [Comp("unit_test_generator", unit_test_cap=2)], LayerState(),
        lambda s: "1. The answer states 7.\n2. The answer adds 3 and 4.\n3. extra")
    assert "exactly 2 unit tests" in _user(seen[0])
    assert tests_layer.unit_tests == ["The answer states 7.", "The answer adds 3 and 4."]

    generated, seen, _ = _run([Comp("generator", samples=3)], tests_layer,
                              lambda s: f"She has {6 + s.sample_index}.")
    assert "The answer adds 3 and 4." in _user(seen[0])  # appended to the query, as Archon does
    assert generated.unit_tests == tests_layer.unit_tests

    results = {"She has 6.": "Test 1: fail\nTest 2: fail",
               "She has 7.": "Unit Test #1: [Passed]\nUnit Test #2: [Passed]",
               "She has 8.": "- Test 1: FAIL\n- Test 2: pass"}

    def judge(spec: CallSpec) -> str:
        return next(v for k, v in results.items() if f"Response:\n{k}" in _user(spec))

    ranked, seen, _ = _run([Comp("unit_test_evaluator", top_k=2)], generated, judge)
    assert [c.text for c in ranked.candidates] == ["She has 7.", "She has 8."]
    first, _, _ = _run([Comp("unit_test_evaluator", first_k=1)], generated, judge)
    assert [c.text for c in first.candidates] == ["She has 7."]
    removed, seen, _ = _run([Comp("unit_test_evaluator", remove_unit_tests_from_prompt=True)],
                            generated, judge)
    assert _user(seen[0]).count("The answer adds 3 and 4.") == 1  # listed once, not in query


def test_unit_test_generator_layer_hands_the_candidates_on() -> None:
    new, _, _ = _run([Comp("unit_test_generator")], _state("a", "b"),
                     lambda s: "['The answer is short.', 'The answer is polite.']")
    assert [c.text for c in new.candidates] == ["a", "b"]
    assert new.unit_tests == ["The answer is short.", "The answer is polite."]


def test_failed_calls_are_counted_and_skipped() -> None:
    new, _, _ = _run([Comp("generator", samples=4)], LayerState(),
                     lambda s: None if s.sample_index < 2 else "7")
    assert len(new.candidates) == 2 and new.failed_calls == 2


def test_a_ranker_on_a_reward_model_scores_the_candidates_in_one_call() -> None:
    unusable: list[CallResult] = []
    seen: list[CallSpec] = []

    def call(spec: CallSpec) -> CallResult:
        seen.append(spec)
        return CallResult(spec, '{"scores": [0.1, 0.9, 0.5]}', finish_reason="stop")

    with ThreadPoolExecutor(2) as pool:
        new = run_layer_calls([Comp("ranker", model="llm-blender/PairRM", top_k=2)],
                              CONVERSATION, _state("a", "b", "c"), call=call, pool=pool,
                              on_unusable=unusable.append,
                              is_reward_model=lambda llm: llm == "llm-blender/PairRM")
    assert [s.role for s in seen] == [Role.SCORE]
    assert seen[0].documents == ("a", "b", "c") and seen[0].messages == (("user", QUERY),)
    assert [c.text for c in new.candidates] == ["b", "c"] and not unusable


def test_a_layer_past_its_time_limit_raises_and_cancels_the_calls_not_started() -> None:
    # The threads pool enforces no task time limit: the layer bounds itself (timeout_s).
    import threading

    import pytest

    release = threading.Event()
    seen: list[CallSpec] = []

    def call(spec: CallSpec) -> CallResult:
        seen.append(spec)
        release.wait(5)
        return CallResult(spec, "It is 7.", finish_reason="stop")

    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(LayerTimeout, match="not finished within"):
            run_layer_calls([Comp("generator", samples=3)], CONVERSATION, LayerState(),
                            call=call, pool=pool, timeout_s=0.2)
        release.set()
    assert len(seen) == 1  # the two calls still queued were cancelled, never sent
