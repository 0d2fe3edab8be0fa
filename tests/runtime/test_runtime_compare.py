"""``compare_models``: several models on one image in one call, each with its time and card summary."""
from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_models import export_tiny

from translation.errors import TranslationError
from translation.imaging.io import read_image, write_image
from translation.imaging.preview import side_by_side
from translation.runtime import compare_models, get_engine, read_model_info, translate


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare-models")
    for stem, seed in (("epoch10", 0), ("epoch20", 1)):
        export_tiny(folder, stem, seed=seed)
    card = {"parameters": 123_456, "training": {"steps": 4200},
            "metrics": {"psnr": 21.456, "ssim": 0.7531, "command": "translation eval --model epoch20"}}
    (folder / "epoch20.json").write_text(json.dumps(card))
    return folder


def test_each_model_runs_on_the_same_image_in_order(folder, tmp_path, one_torch_thread):
    photo = write_image(tmp_path / "photo.png", np.random.default_rng(0).integers(0, 256, (24, 28, 3), np.uint8))
    before = photo.read_bytes()
    results = compare_models(photo, [folder / "epoch20.onnx", folder / "epoch10.onnx"], threads=1)
    assert [r.model.name for r in results] == ["epoch20", "epoch10"]
    for result in results:
        engine = get_engine(result.model, threads=1)
        assert np.array_equal(result.image.rgb, translate(photo, engine).rgb)   # what translate gives alone
        assert result.seconds > 0 and result.device == "CPU"
    assert not np.array_equal(results[0].image.rgb, results[1].image.rgb)
    assert photo.read_bytes() == before


def test_the_card_summary_says_network_size_training_and_scores(folder):
    carded, plain = read_model_info(folder / "epoch20.onnx"), read_model_info(folder / "epoch10.onnx")
    summary = compare_models(np.zeros((8, 8, 3), np.uint8), [carded], threads=1)[0].summary
    assert summary == "resnet_1blocks · 0.1 M parameters · 4,200 steps · held-out PSNR 21.46 dB, SSIM 0.753"
    assert compare_models(np.zeros((8, 8, 3), np.uint8), [plain], threads=1)[0].summary.startswith("resnet_1blocks")


def test_nothing_to_compare_or_a_bad_image_is_one_readable_error(folder, tmp_path):
    with pytest.raises(TranslationError, match="no models to compare"):
        compare_models(np.zeros((8, 8, 3), np.uint8), [])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(TranslationError, match="notes.png: not an image file"):
        compare_models(text, [folder / "epoch10.onnx"])
    with pytest.raises(TranslationError, match="nowhere"):
        compare_models(np.zeros((8, 8, 3), np.uint8), ["nowhere"])


def test_side_by_side_thumbnails_share_one_height(tmp_path):
    small = read_image(np.zeros((10, 12, 3), np.uint8))
    large = read_image(np.full((40, 48, 3), 200, np.uint8))
    thumb = side_by_side([small, large], 300, gap=2)
    assert thumb.shape == (40, 48 + 2 + 48, 3) and thumb.dtype == np.uint8
    assert (thumb[:, 48:50] == 255).all() and (thumb[:, :48] == 0).all()
    assert side_by_side([small, large], 20, gap=2).shape == (20, 24 + 2 + 24, 3)
