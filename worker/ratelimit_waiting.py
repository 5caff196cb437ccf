"""Where the calls of one worker process wait for the limiter, so they do not all poll Redis.

A call the limiter does not admit can only ask again later. With the threads pool a worker
has hundreds of calls waiting on one endpoint at once (worker/concurrency.py sizes the pool
from every endpoint's slots together); each asking Redis every ``poll_s`` (20 ms) for an
in-flight slot, or all at the same instant when a rate said when, cost about 53 asks of the
limiter's script per provider call in `bench/search_rpm.py` (2026-12-03: 270,000-342,000
Redis scripts for about 5,300 calls, 24-26 s of Redis's time), in the worker's one core of Python
and in Redis. With the rooms: 47,305-51,962 scripts, 4.5-5.3 s (bench/README.md).

So waiting callers of one process sleep in a room per (endpoint, keys):

- a slot released by *this* process wakes one of them, which asks at once (with one worker
  per machine, most releases);
- one of them at a time, the poller, asks again when the limiter said to (``poll_s`` for
  other processes' in-flight releases, or the exact wait of a rate or a pause); once it gets
  in, or gives up, it wakes another to take over;
- the others ask only when woken, or after ``IDLE_S`` (a safety net);
- asking itself is never serialised: callers that find a slot free, or are woken, ask Redis
  side by side (a first version, 2026-12-02, queued every ask behind one lock; under the GIL
  that cut a zero-latency worker from 143 calls/s to 87).

Why not a blocking pop in Redis per slot (a Redis semaphore): each waiter would hold a Redis
connection for its whole wait, hundreds per worker, and the rates would still need the
script's exact waits. Nothing here decides admission: the Lua script does, atomically, for
every process; this only decides when a local thread asks again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

#: How long a waiter that is not the poller sleeps at most before it asks again on its own.
IDLE_S = 1.0


class WaitingRoom:
    """The waiting callers of one (endpoint, keys) in this process. Thread-safe."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._releases = 0
        self._poller = threading.Lock()

    def releases(self) -> int:
        """Slots released here so far. Read it before asking the limiter and pass it to
        :meth:`wait`, so that a release in between is not slept through."""
        with self._changed:
            return self._releases

    def wait(self, seen: int, wait_s: float, limit_s: float) -> bool:
        """Sleep until a release here after ``seen`` or a hand-over wakes this caller, or,
        if it becomes the room's poller, until ``wait_s`` (what the limiter said); never past
        ``limit_s``. True if it was the poller: then call :meth:`hand_over` when it leaves
        the room (admitted or given up)."""
        polling = self._poller.acquire(blocking=False)
        try:
            with self._changed:
                if self._releases != seen:
                    return polling
                self._changed.wait(max(0.0, min(wait_s if polling else IDLE_S, limit_s)))
        finally:
            if polling:
                self._poller.release()
        return polling

    def hand_over(self) -> None:
        """The poller leaves: wake another waiter, which takes over the polling."""
        with self._changed:
            self._changed.notify(1)

    def released(self) -> None:
        with self._changed:
            self._releases += 1
            self._changed.notify(1)


class WaitingRooms:
    """The rooms of one limiter, made on first use; a forked child starts with none (a
    parent's thread may have held a room's lock at the fork)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rooms: dict[tuple[str, tuple[str, ...]], WaitingRoom] = {}
        self._pid = os.getpid()

    def room(self, endpoint: str, key_ids: Sequence[str]) -> WaitingRoom:
        self._after_fork()
        key = (endpoint, tuple(key_ids))
        with self._lock:
            room = self._rooms.get(key)
            if room is None:
                room = self._rooms[key] = WaitingRoom()
            return room

    def released(self, endpoint: str, key_id: str) -> None:
        """A slot of ``key_id`` came back: wake a waiter of every room that can use it."""
        self._after_fork()
        with self._lock:
            rooms = [r for (e, keys), r in self._rooms.items() if e == endpoint and key_id in keys]
        for room in rooms:
            room.released()

    def _after_fork(self) -> None:
        if self._pid != os.getpid():
            self._lock = threading.Lock()
            self._rooms = {}
            self._pid = os.getpid()
