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


@pytest.fixture
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine two threads per process
    can run several times slower than one."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
