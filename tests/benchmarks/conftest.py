"""The public datasets beside the project (../shared/datasets, or $ITAS_DATASETS). A test that
needs one skips, saying so, when the folder is absent (a fresh clone); CI has it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def datasets_folder() -> Path | None:
    configured = os.environ.get("ITAS_DATASETS")
    folder = Path(configured) if configured else ROOT.parent / "shared" / "datasets"
    return folder if folder.is_dir() else None


@pytest.fixture
def datasets(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The datasets folder, also set as ITAS_DATASETS for the code under test."""
    folder = datasets_folder()
    if folder is None:
        pytest.skip("the public datasets are absent (set ITAS_DATASETS to the folder holding "
                    "gsm8k/, mixeval_hard/, mt_bench/; see ../shared/datasets/README.md)")
    monkeypatch.setenv("ITAS_DATASETS", str(folder))
    return folder
