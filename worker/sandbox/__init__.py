"""Running untrusted code: generated programs, their tests, a benchmark's reference solutions.

One interface, :func:`run`, in front of one mechanism (bubblewrap: new user, network, PID, IPC
and UTS namespaces, no network at all, an unprivileged uid with no capabilities, a private tmpfs
as the working directory, the interpreter read-only, setrlimit limits, an empty environment,
a wall-clock timeout that kills the whole tree)::

    >>> from worker.sandbox import run, Limits
    >>> result = run("print(input()[::-1])", stdin="abc\\n", timeout=5)
    >>> result.status, result.stdout
    (<Status.OK: 'ok'>, 'cba\\n')

Contracts:

- :func:`run` never raises for anything the code does: a crash is ``error``, a run past its
  ``timeout`` is ``timeout`` (killed, whole tree), a limit hit is ``killed`` with
  ``limit`` naming it (``memory``, ``cpu``, ``processes``, ``file_size``, ``open_files``,
  ``output``), a run the sandbox will not start is ``refused`` with ``reason``.
- It returns within ``timeout`` + about a second, whatever the code does.
- Nothing of the caller's environment reaches the code (no variable, no file writable, no
  socket): API keys held by the worker stay there.
- Thread-safe. At most :func:`slots` runs go at once in one process (sized from the cores);
  further callers wait their turn, so callers may submit many runs from a pool of threads.
- :func:`availability` says, in one line, why no sandbox can be set up here and what to change
  (None when it can). With ``unsafe=True`` the code runs as a bare subprocess (rlimits, empty
  environment, a temporary directory, but no isolation): only for a user's explicit
  ``--unsafe-no-sandbox``.
"""

from __future__ import annotations

from worker.sandbox.api import Limits, Result, Status, availability, run, slots

__all__ = ["Limits", "Result", "Status", "availability", "run", "slots"]
