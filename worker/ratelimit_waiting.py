"""Where the calls of one worker process wait for an endpoint's limiter, so they do not all poll.

A call that finds every in-flight slot of an endpoint taken can only look again later: the
slot comes back when some call, in any process, releases it. With the threads pool a worker
has hundreds of calls waiting at once (worker/concurrency.py); each polling Redis every
``poll_s`` cost the worker's one core of Python more than the calls themselves
(bench/pipeline_throughput.py, ``latency_hiding_efficiency``), and every poll that lost was
wasted twice, in the worker and in Redis.

So callers of one process wait in a room per (endpoint, keys): the first in line (the head)
asks the limiter; the others wait on a lock behind it. When the head is admitted it leaves
and the next becomes head and asks at once. A slot released by *this* process wakes the head
at once (most releases, with one worker per machine); a slot released by another process is
seen by the head's next poll. Waits the limiter says exactly (rates, a 429's pause) are slept
by the head alone; those behind it would be told the same.

Why not a blocking pop in Redis per slot (a Redis semaphore): each waiter would hold a Redis
connection for its whole wait, hundreds per worker, and the rate limits would still need the
script's exact waits. Nothing here decides admission: the Lua script does, atomically, for
every process; this only decides which local thread asks next and when.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence


class WaitingRoom:
    """One (endpoint, keys)'s waiting callers in this process. Thread-safe."""

    def __init__(self) -> None:
        self._head = threading.Lock()
        self._changed = threading.Condition()
        self._generation = 0

    def enter(self, timeout_s: float) -> bool:
        """Become the head within ``timeout_s``; False if the time ran out first."""
        return self._head.acquire(timeout=max(0.0, timeout_s))

    def leave(self) -> None:
        self._head.release()

    def generation(self) -> int:
        """How many releases this room has heard of: read it before asking the limiter, and
        give it to :meth:`wait_release` so a release in between is not slept through."""
        with self._changed:
            return self._generation

    def wait_release(self, seen: int, timeout_s: float) -> None:
        """Sleep until a slot is released in this process after ``seen``, or ``timeout_s``."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._changed:
            while self._generation == seen:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)

    def released(self) -> None:
        with self._changed:
            self._generation += 1
            self._changed.notify_all()


class WaitingRooms:
    """The rooms of one limiter, made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rooms: dict[tuple[str, tuple[str, ...]], WaitingRoom] = {}

    def room(self, endpoint: str, key_ids: Sequence[str]) -> WaitingRoom:
        key = (endpoint, tuple(key_ids))
        with self._lock:
            room = self._rooms.get(key)
            if room is None:
                room = self._rooms[key] = WaitingRoom()
            return room

    def released(self, endpoint: str, key_id: str) -> None:
        """A slot of ``key_id`` came back: wake the heads of every room that can use it."""
        with self._lock:
            rooms = [r for (e, keys), r in self._rooms.items() if e == endpoint and key_id in keys]
        for room in rooms:
            room.released()
