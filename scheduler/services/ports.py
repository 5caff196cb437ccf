"""TCP port helpers for the embedded services."""

from __future__ import annotations

import socket

HOST = "127.0.0.1"


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    """A port the kernel says is free now (another process may still take it before we do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def choose_port(configured: int, remembered: int | None) -> int:
    """The configured port if any; else the one used last time if still free; else a free one.

    Reusing the remembered port keeps URLs stable across `down`/`up`, so a shell that ran
    `eval "$(itas services env)"` keeps working.
    """
    if configured:
        return configured
    if remembered and port_is_free(remembered):
        return remembered
    return free_port()
