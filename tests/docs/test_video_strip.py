"""docs/make_video_strip.py draws frames of a pan through a model, frame by frame and stabilised, with their flicker."""
from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import torch
from conftest import REPO_ROOT
from PIL import Image

from translation.export import export_generator
from translation.networks import GeneratorConfig, build_generator

STRIP = runpy.run_path(str(REPO_ROOT / "docs" / "make_video_strip.py"))


def test_strip_shows_both_ways_and_the_stabilised_flicker_is_smaller(tmp_path: Path, one_torch_thread):
    torch.manual_seed(0)
    config = GeneratorConfig.named("resnet_1blocks", ngf=4)
    model = export_generator(build_generator(config, initialise=False), tmp_path / "tiny.onnx", task="style-transfer",
                             config=config)
    rows = STRIP["strip_rows"](model, width=64, height=48, frames=8, shown=3)
    labels = [label.split("\n")[0].strip() for label, _ in rows]
    assert labels == ["input", "frame by frame", f"its flicker (x{STRIP['AMPLIFY']})", "stabilised",
                      f"its flicker (x{STRIP['AMPLIFY']})"]
    assert all(len(frames) == 3 and frames[0].shape == (48, 64, 3) for _, frames in rows)
    plain_flicker, steady_flicker = (np.mean(rows[i][1]) for i in (2, 4))
    assert steady_flicker < 0.6 * plain_flicker
    out = STRIP["main"](["--model", str(model), "--size", "64x48", "--frames", "8", "--shown", "3",
                         "-o", str(tmp_path / "strip.png")])
    sheet = Image.open(out)
    assert sheet.width >= STRIP["LABEL_WIDTH"] + 3 * 64 and sheet.height >= 5 * 48
