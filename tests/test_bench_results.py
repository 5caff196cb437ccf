"""The figures contract of `make bench` (bench/results.py): what scripts write, what the runner
reads and renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.results import figure, meets, read_figures, render_markdown, write_figures


def test_a_scripts_figures_round_trip_and_render(tmp_path: Path) -> None:
    out = tmp_path / "f.json"
    figures = [figure("latency_hiding_efficiency", 0.912345, "ratio", goal=">= 0.9",
                      baseline="ideal 15.6 s", command="python bench/x.py"),
               figure("worker_rss_mb", float("nan"), "MB", goal=None, baseline=None,
                      command="python bench/y.py", note="not | measured")]
    write_figures(out, figures)
    read = read_figures(out)
    assert read[0]["value"] == 0.9123 and read[1]["value"] is None
    page = render_markdown(read, machine="2 cores", date="2026-12-02", notes=["took 1 s"])
    assert "| `latency_hiding_efficiency` | 0.9123 | ratio | >= 0.9 | yes |" in page
    assert "not | measured" in page and "2 cores" in page and "took 1 s" in page


def test_goals_are_read_both_ways() -> None:
    assert meets(0.95, ">= 0.9") is True
    assert meets(0.3, "<= 0.2") is False
    assert meets(None, ">= 0.9") is None and meets(1.0, None) is None


def test_a_file_that_is_not_a_list_of_figures_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x"}))
    with pytest.raises(ValueError, match="bad.json"):
        read_figures(bad)
