"""Fault injection: which fault, if any, a request suffers.

Rates come from the fleet file (``faults:``) or, for one request, from the header
``x-sim-fault: 429=0.1,500=0.05,503=0,hang=0.02,malformed=0.01,truncated=0.01,empty=0.01``
(kinds left out are 0; the header replaces the fleet's rates). One uniform number picks at most
one kind: kinds occupy consecutive slices of [0, 1) in :data:`fleet.FAULT_KINDS` order.

The number is drawn at random per HTTP request, as real faults are (a retry of the same request
may succeed), unless the request carries ``x-sim-request-id``: then it is a hash of that id, so
a test can replay exactly the same fault.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from simulator.fleet import FAULT_KINDS
from simulator.skill import draw

__all__ = ["pick_fault"]

_random = random.Random()


def pick_fault(rates: Mapping[str, float], request_id: str | None = None) -> str | None:
    """The fault kind for one request, or None for a healthy answer."""
    if not any(rates.values()):
        return None
    u = draw("fault", request_id) if request_id else _random.random()
    for kind in FAULT_KINDS:
        u -= rates.get(kind, 0.0)
        if u < 0:
            return kind
    return None
