"""The inference-time techniques of Archon, one module each (and beside each, the module of
its prompt and of the parser of its replies); see base.py for the contract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.errors import ConfigError
from worker.techniques.base import CodeTestRunner, Technique
from worker.techniques.critic import Critic
from worker.techniques.fuser import Fuser
from worker.techniques.generator import Generator
from worker.techniques.ranker import Ranker
from worker.techniques.reward_ranker import RewardRanker
from worker.techniques.unit_tests import (
    ExecutedUnitTestEvaluator,
    UnitTestEvaluator,
    UnitTestGenerator,
)
from worker.techniques.verifier import Verifier

TECHNIQUES: dict[str, Technique] = {
    "generator": Generator(),
    "critic": Critic(),
    "ranker": Ranker(),
    "fuser": Fuser(),
    "verifier": Verifier(),
    "unit_test_generator": UnitTestGenerator(),
    "unit_test_evaluator": UnitTestEvaluator(),
}

REWARD_RANKER: Technique = RewardRanker()


def technique_for(component: Any, is_reward_model: Callable[[str], bool],
                  test_runner: CodeTestRunner | None = None) -> Technique:
    """The technique that runs ``component``: a ranker whose LLM is a reward model (served by a
    scoring endpoint) scores instead of prompting; a unit-test evaluator with
    ``execute_tests`` runs the tests with ``test_runner`` (the question's, which only a code
    benchmark has: ConfigError without one)."""
    if component.type == "ranker" and is_reward_model(str(component.model)):
        return REWARD_RANKER
    if component.type == "unit_test_evaluator" and getattr(component, "execute_tests", False):
        if test_runner is None:
            raise ConfigError("a unit_test_evaluator with execute_tests runs code, which only "
                              "a code benchmark's questions can be checked by (humaneval, "
                              "mbpp, code-contests)")
        return ExecutedUnitTestEvaluator(test_runner)
    return TECHNIQUES[component.type]
