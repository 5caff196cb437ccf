"""``python -m simulator ...`` runs the same app as ``itas simulator ...``."""

from __future__ import annotations

from simulator.cli import app

if __name__ == "__main__":
    app(prog_name="python -m simulator")
