"""The launcher: a few lines of Python that set the limits, then run the program in-process.

Why a launcher inside the sandbox rather than the alternatives: ``subprocess``'s
``preexec_fn`` is not safe in a threaded process (the worker runs sandboxes from a pool of
threads); ``resource.prlimit(pid, ...)`` after the spawn races the code, which may already run;
``prlimit(1)`` as a wrapper costs one more exec. The launcher is the interpreter that will run
the code, so its ``setrlimit`` calls are in force before the first line of the program, and
running the program with ``exec`` in a fresh ``__main__`` (not ``os.execv``) spares a second
interpreter start. Soft and hard limits are set equal, so the code cannot raise them again,
except CPU, whose hard limit is one second above the soft one: SIGXCPU first, SIGKILL if the
code ignores it.

It is run as ``python -I -S -c LAUNCHER LIMITS... ENTRY`` (``-I``: no environment variable, no
user site; ``-S``: no site-packages, so ``exit``/``quit`` are provided here). Its first act is
one byte on the marker fd: a run that ends without it never got as far as the code (bwrap could
not set up the sandbox), which :mod:`worker.sandbox.process` reports as ``refused``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SOURCE", "command"]

SOURCE = """\
import _signal, builtins, posix, resource, sys
marker, memory, cpu, processes, file_size, open_files, entry = sys.argv[1:]
posix.write(int(marker), b"S")
posix.close(int(marker))
def limit(kind, soft, hard=None):
    resource.setrlimit(kind, (soft, soft if hard is None else hard))
limit(resource.RLIMIT_AS, int(memory))
limit(resource.RLIMIT_CPU, int(cpu), int(cpu) + 1)
limit(resource.RLIMIT_NPROC, int(processes))
limit(resource.RLIMIT_FSIZE, int(file_size))
limit(resource.RLIMIT_NOFILE, int(open_files))
limit(resource.RLIMIT_CORE, 0)
# (_signal, not signal: the latter imports enum, a third of the launcher's start-up time;
# posix, not os: os imports stat, posixpath and _collections_abc, which `-S` spares a bare
# interpreter, about 2 ms of CPU per run; the program imports os itself when it needs it.)
# Python ignores SIGXFSZ (a write past the limit is then an OSError the code may swallow);
# the default action ends the run and names the limit.
_signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
builtins.exit = builtins.quit = sys.exit
sys.argv = [entry]
sys.path.insert(0, posix.getcwd())
main = type(sys)("__main__")
main.__file__ = entry
sys.modules["__main__"] = main
del builtins, marker, memory, cpu, processes, file_size, open_files, limit, main
try:
    with open(sys.argv[0], "rb") as f:
        code = compile(f.read(), sys.argv[0], "exec")
    exec(code, sys.modules["__main__"].__dict__)
except SystemExit:
    raise
except BaseException as exc:
    import traceback
    tb = None if isinstance(exc, SyntaxError) else getattr(exc.__traceback__, "tb_next", None)
    traceback.print_exception(type(exc), exc, tb)
    sys.stderr.flush()
    sys.exit(1)
"""


def command(executable: str, *, marker_fd: int, memory_bytes: int, cpu_s: int,
            processes: int, file_size_bytes: int, open_files: int, entry: str) -> list[str]:
    """The interpreter's command line running ``entry`` (relative to the working directory)
    under these limits."""
    limits: Sequence[int] = (marker_fd, memory_bytes, cpu_s, processes, file_size_bytes,
                             open_files)
    return [executable, "-I", "-S", "-c", SOURCE, *map(str, limits), entry]
