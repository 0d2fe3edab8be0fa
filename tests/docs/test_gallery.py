"""docs/make_gallery.py draws a row per model: its task's example inputs next to the model's outputs."""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
from conftest import REPO_ROOT
from PIL import Image

sys.path.insert(0, str(REPO_ROOT / "tests" / "app"))
from app_fixtures import export_tiny_models, write_test_image  # noqa: E402

GALLERY = runpy.run_path(str(REPO_ROOT / "docs" / "make_gallery.py"))


def test_gallery_has_a_row_per_model_with_examples(tmp_path: Path):
    export_tiny_models(tmp_path / "models")
    examples = tmp_path / "examples"
    for task, count in (("colorization", 2), ("super-resolution", 3)):
        for i in range(count):
            write_test_image(examples / task / f"{i}.png", 64, 48, gray=task == "colorization")
    out = GALLERY["main"](["--models", str(tmp_path / "models"), "--examples", str(examples),
                           "--per-model", "2", "-o", str(tmp_path / "gallery.png")])
    rows = dict(GALLERY["gallery_rows"](tmp_path / "models", examples, 2))
    assert sorted(rows) == ["colorization", "super-resolution"]  # the other tasks have no examples here
    assert all(len(cells) == 4 for cells in rows.values())  # two examples, each input then output
    sheet = np.asarray(Image.open(out))
    assert sheet.shape[0] == len(rows) * (GALLERY["CELL_HEIGHT"] + GALLERY["GAP"]) + GALLERY["GAP"]
    widest = max(sum(cell.width for cell in cells) for cells in rows.values())
    assert GALLERY["LABEL_WIDTH"] + widest < sheet.shape[1]  # no row is cut off at the right
    low, high = rows["super-resolution"][:2]
    assert low.height == high.height == GALLERY["CELL_HEIGHT"]
    assert np.abs(np.asarray(low, dtype=int) - np.asarray(high.resize(low.size), dtype=int)).mean() > 1
