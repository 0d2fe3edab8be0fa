"""Shared test fixtures. Everything runs on CPU with tiny models and tiny images."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = Path(__file__).resolve().parent / "fixtures" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE_DIR / "reference_state_dicts.json").is_file():
        pytest.fail(f"reference key layout missing: {REFERENCE_DIR / 'reference_state_dicts.json'}")
    return REFERENCE_DIR
