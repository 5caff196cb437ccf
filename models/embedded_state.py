"""Where the embedded services run: a small JSON file under ``ITAS_HOME``.

Written by ``itas services up`` (scheduler.services), read by every process that was not given
service URLs. Kept here, with no service code, so that models/ stays free of process handling.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = "services.json"


@dataclass(frozen=True)
class EmbeddedState:
    postgres_port: int | None = None
    redis_port: int | None = None
    postgres_url: str | None = None
    redis_url: str | None = None


def read_embedded_state(home: Path) -> EmbeddedState:
    """The recorded state, or an empty one if services were never started under ``home``."""
    path = Path(home) / STATE_FILE
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return EmbeddedState()
    except (OSError, ValueError):
        # A damaged state file only loses the port choice; `services up` rewrites it.
        return EmbeddedState()
    known = {k: raw.get(k) for k in EmbeddedState.__dataclass_fields__}
    return EmbeddedState(**known)


def write_embedded_state(home: Path, state: EmbeddedState) -> None:
    """Replace the state file atomically (a reader never sees half a file)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / f".{STATE_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    tmp.replace(home / STATE_FILE)
