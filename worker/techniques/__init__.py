"""The inference-time techniques of Archon, one module each (and beside each, the module of
its prompt and of the parser of its replies); see base.py for the contract."""

from __future__ import annotations

from worker.techniques.base import Technique
from worker.techniques.critic import Critic
from worker.techniques.fuser import Fuser
from worker.techniques.generator import Generator
from worker.techniques.ranker import Ranker
from worker.techniques.unit_tests import UnitTestEvaluator, UnitTestGenerator
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
