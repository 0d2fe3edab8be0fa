"""The README's first two commands are the ones CI runs, word for word."""
from __future__ import annotations

import re

from conftest import REPO_ROOT


def _readme_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks[:2] for line in block.splitlines() if line.strip()]


def test_readme_opens_with_setup_and_test_commands():
    setup, test = _readme_commands()[:2]
    assert "pip install" in setup and "pytest" in test


def test_ci_runs_exactly_the_readme_commands():
    ci_lines = [line.strip() for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()]
    for command in _readme_commands()[:2]:
        assert command in ci_lines, f"README command not run by .ci/run: {command}"
