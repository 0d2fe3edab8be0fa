"""`translation eval` measures models against their task's baseline on real image files."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from translation.cli import main
from translation.imaging.io import write_image
from translation.errors import TranslationError
from translation.evaluation import evaluate, list_photos
from translation.export import export_generator
from translation.networks import GeneratorConfig, build_generator


def _silent_model(path, task, in_channels=3, out_channels=3):
    """A U-Net whose weights are all zero: it outputs 0 everywhere (mid-gray, or no chroma)."""
    net = build_generator(GeneratorConfig.named("unet_32", ngf=4, in_channels=in_channels, out_channels=out_channels))
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    return export_generator(net.eval(), path, task=task)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(2):
        y, x = np.mgrid[0:72, 0:96] / 96.0
        photo = np.stack([x, y, 0.5 + 0.4 * np.sin(6 * x + i)], axis=2) + rng.normal(0, 0.01, (72, 96, 3))
        write_image(folder / f"photo{i}.png", np.clip(photo, 0, 1))
    (folder / "notes.txt").write_text("not a photo")
    return folder


def test_list_photos_skips_other_files_and_refuses_empty_folders(photos, tmp_path):
    assert [p.name for p in list_photos(photos)] == ["photo0.png", "photo1.png"]
    with pytest.raises(TranslationError, match="no images"):
        list_photos(tmp_path)


def test_super_resolution_is_compared_with_bicubic(photos, tmp_path):
    model = _silent_model(tmp_path / "sr.onnx", "super-resolution")
    result = evaluate(model, list_photos(photos))
    assert result.images == 2
    # A flat gray output must score far below plain bicubic upscaling of the same input.
    assert result.summary["bicubic_psnr"] > result.summary["psnr"] + 5
    # and from the degraded copies too, whose bicubic upscale is further from the photo than the clean one's
    assert result.summary["degraded_bicubic_psnr"] > result.summary["degraded_psnr"] + 5
    assert result.summary["degraded_bicubic_psnr"] < result.summary["bicubic_psnr"]
    again = evaluate(model, list_photos(photos)).summary
    assert again["degraded_bicubic_psnr"] == result.summary["degraded_bicubic_psnr"]  # seeded


def test_colorization_without_chroma_scores_like_the_gray_input(photos, tmp_path):
    model = _silent_model(tmp_path / "color.onnx", "colorization", in_channels=1, out_channels=2)
    summary = evaluate(model, list_photos(photos)).summary
    assert summary["colourfulness"] < 1.0 < summary["photo_colourfulness"]
    assert summary["psnr"] == pytest.approx(summary["gray_psnr"], abs=0.2)


def test_style_transfer_needs_the_way_back(photos, tmp_path):
    there = _silent_model(tmp_path / "there.onnx", "style-transfer")
    back = _silent_model(tmp_path / "back.onnx", "style-transfer")
    with pytest.raises(TranslationError, match="back-model"):
        evaluate(there, list_photos(photos))
    summary = evaluate(there, list_photos(photos), back_model=back).summary
    assert summary["cycle_l1"] > 0.05
    # silent models answer every picture with the same one: the way there changed it as much as the cycle did
    assert summary["change_l1"] == pytest.approx(summary["cycle_l1"], rel=1e-3)


def test_eval_command_writes_json(photos, tmp_path, capsys):
    model = _silent_model(tmp_path / "sketch.onnx", "sketch-to-photo", in_channels=1)
    out = tmp_path / "metrics.json"
    assert main(["eval", "--model", str(model), "--photos", str(photos), "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["task"] == "sketch-to-photo" and written["images"] == 2
    assert set(written["summary"]) == {"psnr", "ssim", "l1", "mean_colour_psnr", "mean_colour_ssim"}
    assert "sketch-to-photo" in capsys.readouterr().out
