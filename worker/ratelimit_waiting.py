"""Where the calls of one worker process wait for an endpoint's in-flight slot, so they do not
all poll Redis.

A call that finds every in-flight slot of an endpoint taken can only look again later: the
slot comes back when some call, in any process, releases it. With the threads pool a worker
has hundreds of calls waiting at once (worker/concurrency.py); each polling Redis every
``poll_s`` (20 ms) was thousands of limiter scripts a second for nothing, in the worker's one
core of Python and in Redis (tests/worker/test_ratelimit.py counts them).

So waiting callers of one process sleep in a room per (endpoint, keys):

- a slot released by *this* process wakes one of them, which asks the limiter at once (with
  one worker per machine, most releases);
- one of them at a time (the poller) looks again every ``poll_s`` for slots other processes
  released; when it gets in, it wakes the next to take over the polling;
- the asking itself is never serialised: callers that find a slot free, or are woken, ask
  Redis side by side. (A first version queued every ask behind one lock: under the GIL each
  ask then waited its turn for the interpreter, and a worker at zero latency made 87 calls a
  second instead of 143, bench/pipeline_throughput.py.)

Why not a blocking pop in Redis per slot (a Redis semaphore): each waiter would hold a Redis
connection for its whole wait, hundreds per worker, and the rate limits would still need the
script's exact waits. Nothing here decides admission: the Lua script does, atomically, for
every process; this only decides when a local thread asks again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

#: How long a waiter that is not the poller sleeps at most: a safety net for a wake-up lost
#: between its ask and its sleep; a release is normally what wakes it.
IDLE_S = 1.0


class WaitingRoom:
    """One (endpoint, keys)'s waiting callers in this process. Thread-safe."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._releases = 0
        self._poller = threading.Lock()

    def releases(self) -> int:
        """Slots released here so far: read before asking the limiter, and give it to
        :meth:`wait`, so a release in between is not slept through."""
        with self._changed:
            return self._releases

    def wait(self, seen: int, poll_s: float, limit_s: float) -> bool:
        """Sleep until a release in this process after ``seen`` wakes this caller, or, if it
        is the room's poller, ``poll_s``; never past ``limit_s``. True if it was the poller
        (then, once admitted, call :meth:`hand_over`)."""
        polling = self._poller.acquire(blocking=False)
        try:
            with self._changed:
                if self._releases != seen:
                    return polling
                self._changed.wait(max(0.0, min(poll_s if polling else IDLE_S, limit_s)))
        finally:
            if polling:
                self._poller.release()
        return polling

    def hand_over(self) -> None:
        """The poller got in: wake another waiter, which takes over the polling."""
        with self._changed:
            self._changed.notify(1)

    def released(self) -> None:
        with self._changed:
            self._releases += 1
            self._changed.notify(1)


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
        """A slot of ``key_id`` came back: wake a waiter of every room that can use it."""
        with self._lock:
            rooms = [r for (e, keys), r in self._rooms.items() if e == endpoint and key_id in keys]
        for room in rooms:
            room.released()
