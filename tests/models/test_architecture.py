"""Architectures: Archon's configs load as they are; every broken one is refused with the path of
its error, all errors at once. Pure: no service needed."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from models.architecture import (
    Architecture,
    architecture_hash,
    candidates_out,
    check_llms,
    load_architecture,
    parse_architecture,
)
from models.endpoints import load_registry, parse_registry
from models.errors import InvalidArchitecture

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "architectures"


def comp(kind: str, model: str = "sim-large", **fields: Any) -> dict[str, Any]:
    return {"type": kind, "model": model, "model_type": "OpenAI_API", "temperature": 0.7,
            "max_tokens": 2048, **fields}


def gen(samples: int = 1, **fields: Any) -> dict[str, Any]:
    return comp("generator", samples=samples, **fields)


def arch(*layers: Any, name: str = "t") -> dict[str, Any]:
    return {"name": name, "layers": list(layers)}


def errors_of(data: Any) -> list[str]:
    with pytest.raises(InvalidArchitecture) as caught:
        parse_architecture(data, source="a.json")
    assert str(caught.value).count("\n") == len(caught.value.details)  # all of them printed
    return caught.value.details


# (id, architecture, exact path of the error, words the message must contain)
MALFORMED: list[tuple[str, Any, str, str]] = [
    ("ranker in layer 0", arch([comp("ranker", top_k=1)]), "layers[0][0]",
     "first layer receives none"),
    ("fuser in layer 0", arch([comp("fuser")]), "layers[0][0]", "works on candidates"),
    ("critic in layer 0", arch([comp("critic")], [comp("fuser")]), "layers[0][0]",
     "works on candidates"),
    ("verifier in layer 0", arch([comp("verifier")]), "layers[0][0]", "works on candidates"),
    ("top_k above the samples", arch([gen(3), gen(3)], [comp("ranker", top_k=7)],
                                     [comp("fuser")]),
     "layers[1][0].top_k", "expected at most 6"),
    ("top_k counted through a critic", arch([gen(2), gen(2)], [comp("critic")],
                                            [comp("ranker", top_k=5)]),
     "layers[2][0].top_k", "expected at most 4"),
    ("top_k counted from fusers' outputs", arch([gen(5)], [comp("fuser"), comp("fuser")],
                                                [comp("ranker", top_k=3)]),
     "layers[2][0].top_k", "expected at most 2"),
    ("ranker without top_k", arch([gen(5)], [comp("ranker")]), "layers[1][0].top_k",
     "required for a ranker"),
    ("critic beside a ranker", arch([gen(4)], [comp("critic"), comp("ranker", top_k=2)]),
     "layers[1][0]", "the ranker beside it hands on other candidates"),
    ("critic beside a generator", arch([gen(4)], [gen(2), comp("critic")], [comp("fuser")]),
     "layers[1][1]", "the generator beside it hands on other candidates"),
    ("samples 0", arch([gen(0)]), "layers[0][0].samples",
     "expected an integer from 1 to 10000, got 0"),
    ("samples above the limit", arch([gen(10_001)]), "layers[0][0].samples",
     "expected an integer from 1 to 10000, got 10001"),
    ("max_tokens above the limit", arch([gen(max_tokens=10**7)]), "layers[0][0].max_tokens",
     "expected an integer from 1 to 2000000, got 10000000"),
    ("top_k above the limit", arch([gen(3)], [comp("ranker", top_k=1001)]),
     "layers[1][0].top_k", "expected an integer from 1 to 1000, got 1001"),
    ("samples as a string", arch([comp("generator", samples="3")]), "layers[0][0].samples",
     'got "3"'),
    ("temperature too high", arch([gen(temperature=2.5)]), "layers[0][0].temperature",
     "a number from 0 to 2, got 2.5"),
    ("temperature not a number", arch([gen(temperature="hot")]), "layers[0][0].temperature",
     "a number from 0 to 2"),
    ("max_tokens 0", arch([gen(max_tokens=0)]), "layers[0][0].max_tokens",
     "integer from 1 to"),
    ("max_tokens missing", arch([{k: v for k, v in gen().items() if k != "max_tokens"}]),
     "layers[0][0].max_tokens", "required"),
    ("unknown type", arch([comp("genrator")]), "layers[0][0].type", "did you mean generator?"),
    ("type missing", arch([{k: v for k, v in gen().items() if k != "type"}]),
     "layers[0][0].type", "required, expected one of generator"),
    ("empty model", arch([gen(model="")]), "layers[0][0].model", "name of an LLM"),
    ("model_type missing", arch([{k: v for k, v in gen().items() if k != "model_type"}]),
     "layers[0][0].model_type", "required"),
    ("flag not a boolean", arch([gen(3)], [comp("ranker", top_k=2, use_critiques="yes")]),
     "layers[1][0].use_critiques", "true or false"),
    ("top_k 0", arch([gen(3)], [comp("ranker", top_k=0)]), "layers[1][0].top_k",
     "integer from 1 to"),
    ("first_k 0", arch([gen(3)], [comp("verifier", first_k=0)]), "layers[1][0].first_k",
     "integer >= 1"),
    ("no layers", arch(), "layers", "non-empty list of layers"),
    ("layers missing", {"name": "t"}, "layers", "required"),
    ("name missing", {"layers": [[gen()]]}, "name", "required"),
    ("top level not an object", [[gen()]], "(top level)", "expected an object"),
    ("layer not a list", arch([gen()], 7), "layers[1]", "expected a list of components"),
    ("empty layer", arch([gen()], []), "layers[1]", "empty layer"),
    ("single component as a layer", arch([gen(2)], comp("fuser")), "layers[1]",
     "write the layer as [ {...} ]"),
    ("component not an object", arch([gen(), "sim-small"]), "layers[0][1]",
     "expected a component"),
    ("legacy layer without models", arch({"branches": 1, "model": [gen()]}), "layers[0]",
     'did you mean "models"?'),
    ("legacy models not a list", arch({"models": "generator"}), "layers[0].models",
     "non-empty list of components"),
    ("error inside a legacy layer", arch({"models": [gen(2)]},
                                         {"models": [comp("ranker", top_k=3)]}),
     "layers[1].models[0].top_k", "expected at most 2"),
    ("unit_test_evaluator without tests", arch([gen(3)], [comp("unit_test_evaluator")]),
     "layers[1][0]", "no earlier layer has a unit_test_generator"),
    ("fuser right after unit tests", arch([comp("unit_test_generator")], [comp("fuser")]),
     "layers[1][0]", "layer 0 hands on none"),
    ("unit_test_evaluator top_k too large",
     arch([comp("unit_test_generator")], [gen(2)], [comp("unit_test_evaluator", top_k=4)]),
     "layers[2][0].top_k", "expected at most 2"),
    ("no answer at the end", arch([comp("unit_test_generator")]), "layers[0]",
     "gives no answer"),
    ("empty model_type on a generator", arch([gen(model_type="")]),
     "layers[0][0].model_type", "non-empty string"),
    ("unknown reasoning_effort", arch([gen(reasoning_effort="max")]),
     "layers[0][0].reasoning_effort", "expected one of minimal, low, medium, high"),
]


@pytest.mark.parametrize(("data", "path", "words"), [case[1:] for case in MALFORMED],
                         ids=[case[0] for case in MALFORMED])
def test_malformed_architecture_is_refused_at_its_path(data: Any, path: str, words: str) -> None:
    lines = [line for line in errors_of(data) if line.startswith(f"a.json: {path}: ")]
    assert lines, f"no error at {path}: {errors_of(data)}"
    assert any(words in line for line in lines), lines


def test_every_error_is_reported_not_just_the_first() -> None:
    details = errors_of(arch([gen(3, temperature=9)], [comp("ranker", top_k=5)],
                             [comp("fuser", max_tokens=-1)]))
    assert [line.split(": ")[1] for line in details] == [
        "layers[0][0].temperature", "layers[1][0].top_k", "layers[2][0].max_tokens"]


def test_an_unreadable_component_does_not_cause_echo_errors_after_it() -> None:
    # The generator's type is wrong; counting the ranker's candidates would only repeat it.
    details = errors_of(arch([comp("genrator", samples=3)], [comp("ranker", top_k=2)]))
    assert len(details) == 1 and "layers[0][0].type" in details[0]


def test_archon_quick_start_config_loads_with_its_candidate_counts() -> None:
    config = arch([gen(10, top_k=1)], [comp("ranker", top_k=5)], [comp("fuser", samples=1)])
    loaded, warnings = parse_architecture(config)
    assert [[c.type.value for c in layer] for layer in loaded.layers] == [
        ["generator"], ["ranker"], ["fuser"]]
    assert candidates_out(loaded) == [10, 5, 1]
    # Archon's own quick-start puts top_k: 1 on its generator, where it does nothing in Archon
    # either: its template value, not worth a warning.
    assert warnings == []


def test_a_field_warns_only_when_its_value_asks_for_what_will_not_happen() -> None:
    # top_k 3 on a generator of 10 samples reads as "keep 3", but all 10 go on (as in Archon).
    _, warnings = parse_architecture(arch([gen(10, top_k=3)], [comp("ranker", top_k=5)],
                                          [comp("fuser", top_k=1, use_critiques=True)]))
    assert warnings == ["layers[0][0].top_k: has no effect on a generator, ignored (as in Archon)"]
    # what Archon's templates carry where it does nothing is silent
    _, warnings = parse_architecture(arch(
        [gen(2, checkpoint=""), gen(2, top_k=2)], [comp("critic", top_k=1, ranker_batch_size=16)],
        [comp("verifier", batch_num=2)], [comp("fuser")]))
    assert warnings == []


def test_several_components_of_a_kind_in_a_layer_count_as_in_archon() -> None:
    # Each extends the layer's candidates with what it hands on: two rankers 2 + 3.
    loaded, warnings = parse_architecture(arch(
        [gen(3), gen(3)], [comp("critic"), comp("critic", "sim-critic")],
        [comp("ranker", top_k=2, use_critiques=True), comp("ranker", "sim-critic", top_k=3)],
        [comp("verifier"), comp("verifier", "sim-critic")],
        [comp("unit_test_generator"), comp("unit_test_generator", "sim-critic")],
        [comp("unit_test_evaluator", top_k=2), comp("unit_test_evaluator", top_k=1)],
        [comp("fuser")]))
    assert candidates_out(loaded) == [6, 6, 5, 10, 10, 3, 1]
    assert warnings == []  # the critics' critiques reach the rankers beside each other
    # a ranker's top_k is bounded by what reaches it, not by what its layer hands on
    errors = errors_of(arch([gen(3)], [comp("ranker", top_k=2), comp("ranker", top_k=4)],
                            [comp("fuser")]))
    assert errors == ["a.json: layers[1][1].top_k: expected at most 3 (the candidates that can "
                      "reach this ranker from layer 0), got 4"]


def test_legacy_layer_form_is_the_same_architecture() -> None:
    modern, _ = parse_architecture(arch([gen(2), gen(2)], [comp("fuser")]))
    legacy, warnings = parse_architecture(
        arch({"branches": 1, "models": [gen(2), gen(2)]},
             {"branches": 1, "models": [comp("fuser")]}))
    assert legacy.layers == modern.layers
    assert architecture_hash(legacy) == architecture_hash(modern)
    assert warnings == []


def test_typo_field_warns_with_the_nearest_known_field() -> None:
    _, warnings = parse_architecture(arch([gen(3)], [comp("fuser", length_contorl=True)]))
    assert warnings == ["layers[1][0].length_contorl: unknown field, ignored; "
                        "did you mean length_control?"]


def test_warnings_for_settings_that_do_nothing() -> None:
    _, warnings = parse_architecture(arch(
        [gen(4)], [comp("ranker", top_k=2, use_critiques=True, samples=3)], [comp("fuser")]))
    assert any(w.startswith("layers[1][0].use_critiques: no critiques reach") for w in warnings)
    assert any(w.startswith("layers[1][0].samples: a ranker uses one sample") for w in warnings)
    _, warnings = parse_architecture(arch([gen(5)]))
    assert warnings == [
        "layers[0]: the last layer hands on up to 5 candidates but an architecture answers "
        "with one; end with a fuser or a ranker with top_k 1 to choose it"]


def test_hash_covers_what_decides_the_answers_only() -> None:
    base = architecture_hash(parse_architecture(arch([gen(3)], [comp("fuser")]))[0])
    same = [arch([gen(3)], [comp("fuser", samples=1)], name="other name"),
            arch([gen(3, top_k=1)], [comp("fuser")])]
    for data in same:
        assert architecture_hash(parse_architecture(data)[0]) == base
    other = arch([gen(3, temperature=0.2)], [comp("fuser")])
    assert architecture_hash(parse_architecture(other)[0]) != base
    assert len(base) == 64


def test_first_pass_is_archons_spelling_of_first_k_1() -> None:
    unit_tests = [comp("unit_test_generator")], [gen(5)]
    old, _ = parse_architecture(arch(*unit_tests, [comp("unit_test_evaluator", first_pass=True,
                                                        top_k=1)]))
    new, _ = parse_architecture(arch(*unit_tests, [comp("unit_test_evaluator", first_k=1,
                                                        top_k=1)]))
    assert old.layers[2][0].first_k == 1
    assert architecture_hash(old) == architecture_hash(new)
    assert candidates_out(old) == [0, 5, 1]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_examples_are_valid_against_the_default_registry(path: Path) -> None:
    loaded, warnings = load_architecture(path)
    assert warnings == []
    assert candidates_out(loaded)[-1] == 1
    assert check_llms(loaded, load_registry(simulator_url="http://127.0.0.1:8300")) == []


def test_unknown_llm_is_named_with_its_path_and_close_matches() -> None:
    loaded, _ = parse_architecture(arch([gen(3, model="sim-larg")], [comp("fuser")]))
    errors = check_llms(loaded, load_registry(simulator_url="http://127.0.0.1:8300"))
    assert len(errors) == 1
    assert errors[0].startswith("layers[0][0].model: unknown LLM 'sim-larg'")
    assert "sim-large" in errors[0]


def test_model_type_its_endpoint_does_not_serve_is_an_error() -> None:
    registry = parse_registry({
        "endpoints": {"openai": {"kind": "openai", "base_url": "https://api.openai.com/v1",
                                 "model_types": ["OpenAI_API"]}},
        "llms": {"gpt-4o": {"endpoint": "openai", "price_in_per_mtok": 2.5,
                            "price_out_per_mtok": 10}},
    }, "reg.yaml", simulator_url=None)
    loaded, _ = parse_architecture(arch([comp("generator", "gpt-4o", model_type="Together_API")]))
    errors = check_llms(loaded, registry)
    assert len(errors) == 1 and errors[0].startswith("layers[0][0].model_type: ")
    assert "Together_API" in errors[0] and "openai" in errors[0]


def test_non_json_file_names_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x",\n  "layers": [[}\n')
    with pytest.raises(InvalidArchitecture, match=r"broken\.json: line 2, column 15: not valid"):
        load_architecture(broken)


def test_errors_survive_pickling_with_their_details() -> None:
    # Celery carries exceptions between processes by pickling them.
    with pytest.raises(InvalidArchitecture) as caught:
        parse_architecture(arch([comp("ranker", top_k=1)]))
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.details == caught.value.details and str(copy) == str(caught.value)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_stored_form_reads_back_as_the_same_architecture(path: Path) -> None:
    # The scheduler stores model_dump(mode="json"); workers parse it again.
    loaded, _ = parse_architecture(json.loads(path.read_text()))
    stored = json.loads(json.dumps(loaded.model_dump(mode="json")))
    again, warnings = parse_architecture(stored)
    assert warnings == []
    assert again.layers == loaded.layers
    assert architecture_hash(again) == architecture_hash(loaded)
    assert architecture_hash(Architecture.model_validate(stored)) == architecture_hash(loaded)


def test_moa_layered_proposers_load_and_answer_afresh_as_in_archon() -> None:
    # Archon's archon-8-proposer-2-layer config: generators in layer 1 too.
    loaded, warnings = parse_architecture(arch([gen(1), gen(1)], [gen(1), gen(1), gen(1)],
                                               [comp("fuser")]))
    assert candidates_out(loaded) == [2, 3, 1]
    assert any(w.startswith("layers[1][0]: a generator answers the query afresh")
               for w in warnings)


def test_unit_test_generator_after_candidates_hands_them_on() -> None:
    loaded, _ = parse_architecture(arch([gen(3)], [comp("unit_test_generator")],
                                        [comp("unit_test_evaluator", top_k=1)]))
    assert candidates_out(loaded) == [3, 3, 1]


def test_archons_pairrm_config_loads_and_its_reward_model_is_in_the_default_registry() -> None:
    # The shape of Archon's archon-1-110bFuser-1-PairRM3-8-70BM.json: legacy layers, an empty
    # model_type and a ranker_batch_size on the reward-model ranker.
    pairrm = {"type": "ranker", "model": "llm-blender/PairRM", "model_type": "", "top_k": 3,
              "temperature": 0.7, "max_tokens": 2048, "samples": 1, "ranker_batch_size": 4}
    data = arch({"models": [gen(2), gen(2), gen(1)]}, {"models": [pairrm]},
                {"models": [comp("fuser")]})
    loaded, warnings = parse_architecture(data)
    assert candidates_out(loaded) == [5, 3, 1]
    assert warnings == []  # Archon's own form of a reward-model ranker: nothing to warn about
    registry = load_registry(simulator_url="http://127.0.0.1:8300")
    assert check_llms(loaded, registry) == []
    assert registry.is_reward_model("llm-blender/PairRM")


def test_a_reward_model_anywhere_but_a_ranker_is_refused() -> None:
    loaded, _ = parse_architecture(arch([gen(3)], [comp("fuser", "sim-pairrm")]))
    errors = check_llms(loaded, load_registry(simulator_url="http://127.0.0.1:8300"))
    assert len(errors) == 1 and "only a ranker can use" in errors[0]


def test_a_components_reasoning_effort_is_read_and_decides_the_hash() -> None:
    plain = parse_architecture(arch([gen(3)], [comp("fuser")]))[0]
    effort = parse_architecture(arch([gen(3, reasoning_effort="high")], [comp("fuser")]))
    assert effort[0].layers[0][0].reasoning_effort == "high" and not effort[1]  # no warning
    assert plain.layers[0][0].reasoning_effort is None
    # Absent, it leaves the hash of every existing architecture as it was.
    assert architecture_hash(effort[0]) != architecture_hash(plain)
