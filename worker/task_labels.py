"""How itas's tasks read in Flower: ``worker.tasks.run_layer`` with ``evaluation=12
question=synth-3-17 layer=0`` instead of a bare ``[12, 'synth-3-17', 0]``.

Celery puts an ``argsrepr`` string in every message's headers and in its task-sent event, and
Flower shows that string. Tasks carry ids only, so the labelled form shows everything there is
and nothing secret. It is set where Celery builds a message (:class:`LabelledAMQP`, installed
by ``worker.celery_app``), so every sender gets it without passing anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery.app.amqp import AMQP

#: Task name -> the names of its positional arguments, in order. A probe's one id needs no
#: name (and tests read its default ``argsrepr``).
ARGUMENT_NAMES: dict[str, tuple[str, ...]] = {
    "worker.tasks.run_layer": ("evaluation", "question", "layer"),
}


def label_arguments(task_name: str, args: Sequence[Any] | None) -> str | None:
    """``evaluation=12 question=q7 layer=0`` for a known task called with its positional
    arguments; None (Celery's own repr) otherwise."""
    names = ARGUMENT_NAMES.get(task_name)
    if names is None or args is None or len(args) != len(names):
        return None
    return " ".join(f"{name}={value}" for name, value in zip(names, args, strict=True))


class LabelledAMQP(AMQP):  # type: ignore[misc]  # Celery is untyped
    """Celery's message factory, with :func:`label_arguments` as the default ``argsrepr``."""

    def as_task_v2(self, task_id: str, name: str, args: Sequence[Any] | None = None,
                   *rest: Any, **options: Any) -> Any:
        if options.get("argsrepr") is None:
            options["argsrepr"] = label_arguments(name, args)
        return super().as_task_v2(task_id, name, args, *rest, **options)
