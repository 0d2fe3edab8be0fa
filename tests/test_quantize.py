"""INT8 static quantisation (translation/quantize.py and `translation quantize`): a QDQ model close to
fp32, with the source's metadata, served by the runtime; refusals that name the file."""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import torch

from translation.commands import quantize as quantize_command
from translation.errors import TranslationError
from translation.export import export_generator
from translation.networks import GeneratorConfig, build_generator
from translation.quantize import model_crops, phase_convolutions, quantize_model
from translation.runtime import Engine, read_metadata, translate
from translation.tasks import get_task

TILE = 64


def photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Smooth colour fields with texture, like a photo (8-bit RGB)."""
    coarse = rng.uniform(0, 255, (5, 5, 3)).astype(np.float32)
    image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("calibration")
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(80, 96), (72, 72), (48, 56), (100, 70)]):  # one smaller than a crop
        (folder / ("nested" if i == 3 else "")).mkdir(exist_ok=True)
        cv2.imwrite(str(folder / ("nested" if i == 3 else "") / f"{i}.png"), photo(rng, h, w))
    return folder


@pytest.fixture(scope="module")
def fp32_model(tmp_path_factory) -> Path:
    """A tiny U-Net with PyTorch's default initialisation (outputs with real contrast, unlike the papers'
    N(0, 0.02) start) and batch-norm statistics gathered from images, exported for the CPU."""
    torch.manual_seed(0)
    config = GeneratorConfig.named("unet_32", ngf=8)
    net = build_generator(config, initialise=False)
    with torch.no_grad():
        for _ in range(4):
            net(torch.rand(4, 3, 32, 32) * 2 - 1)
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    return export_generator(net.eval(), path, task="style-transfer", config=config, tile_size=TILE)


def test_int8_model_is_close_to_fp32_and_keeps_the_metadata(fp32_model, photos, tmp_path):
    out = tmp_path / "tiny-int8.onnx"
    result = quantize_model(fp32_model, out, photos, crops=6, check_crops=3, threads=1)
    assert (result.path, result.calibration_crops, result.check_crops, result.crop_size) == (out, 6, 3, TILE)
    assert 25 < result.psnr < 80  # close, but really quantised

    source, quantised = read_metadata(fp32_model), read_metadata(out)
    assert quantised.pop("precision") == "int8" and source.pop("precision") == "fp32"
    details = json.loads(quantised.pop("quantization"))
    assert quantised == source
    assert details["calibration_crops"] == 6 and details["psnr_vs_fp32_db"] == round(result.psnr, 2)

    model = onnx.load(str(out))
    ops = Counter(node.op_type for node in model.graph.node)
    assert ops["QuantizeLinear"] > 0 and ops["DequantizeLinear"] > ops["Conv"] + ops["ConvTranspose"]
    int8_weights = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8 and len(t.dims) == 4]
    assert len(int8_weights) == ops["Conv"] + ops["ConvTranspose"]  # every convolution's weights in int8
    assert out.stat().st_size < fp32_model.stat().st_size / 2

    # The runtime serves it like the fp32 model, and the images agree.
    image = photo(np.random.default_rng(5), 90, 120)
    want = translate(image, Engine(fp32_model, providers="cpu", threads=1), tile_size=TILE).rgb.astype(float)
    got = translate(image, Engine(out, providers="cpu", threads=1), tile_size=TILE).rgb.astype(float)
    assert got.shape == want.shape == (90, 120, 3)
    assert 10 * np.log10(255.0 ** 2 / np.mean((got - want) ** 2)) > 25


def test_a_psnr_below_the_limit_writes_nothing(fp32_model, photos, tmp_path):
    out = tmp_path / "refused.onnx"
    with pytest.raises(TranslationError, match=r"refused\.onnx: the INT8 model's output is .*below --min-psnr 200"):
        quantize_model(fp32_model, out, photos, crops=2, check_crops=1, min_psnr=200, threads=1)
    assert list(tmp_path.iterdir()) == []


def test_refusals_name_the_file(fp32_model, photos, tmp_path):
    with pytest.raises(TranslationError, match="would overwrite the source model"):
        quantize_model(fp32_model, fp32_model, photos)
    with pytest.raises(TranslationError, match=r"x\.png: the output file must end in \.onnx"):
        quantize_model(fp32_model, tmp_path / "x.png", photos)
    with pytest.raises(TranslationError, match=r"nowhere: not a folder of calibration images"):
        quantize_model(fp32_model, tmp_path / "x.onnx", tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TranslationError, match=r"empty: no images"):
        quantize_model(fp32_model, tmp_path / "x.onnx", tmp_path / "empty")
    with pytest.raises(TranslationError, match=r"--crop-size 48 is not a multiple of 32"):
        quantize_model(fp32_model, tmp_path / "x.onnx", photos, crop_size=48)

    torch.manual_seed(0)
    config = GeneratorConfig.named("unet_32", ngf=4)
    fp16 = export_generator(build_generator(config).eval(), tmp_path / "half.onnx", config=config, fp16=True)
    with pytest.raises(TranslationError, match=r"half\.onnx: a fp16 model; quantise the fp32 export"):
        quantize_model(fp16, tmp_path / "x.onnx", photos)
    assert not (tmp_path / "x.onnx").exists()


def test_unreadable_calibration_images_are_skipped(fp32_model, photos, tmp_path, caplog):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "good.png").write_bytes((photos / "0.png").read_bytes())
    result = quantize_model(fp32_model, tmp_path / "m.onnx", folder, crops=2, check_crops=1, threads=1)
    assert result.path.exists() and "broken.png" in caplog.text

    only_broken = tmp_path / "broken"
    only_broken.mkdir()
    (only_broken / "a.jpg").write_bytes(b"nope")
    with pytest.raises(TranslationError, match="none of the 1 calibration images could be read"):
        quantize_model(fp32_model, tmp_path / "n.onnx", only_broken, crops=2, check_crops=1)


@pytest.mark.parametrize("name", ["unet_32", "resnet_1blocks"])
def test_transposed_convolutions_become_exact_phase_convolutions(name, tmp_path):
    """U-Net: kernel 4, stride 2, pad 1; ResNet: kernel 3, stride 2, pad 1, output padding 1 (and a bias)."""
    import onnxruntime as ort

    torch.manual_seed(0)
    config = GeneratorConfig.named(name, ngf=4)
    path = export_generator(build_generator(config, initialise=False).eval(), tmp_path / "m.onnx", config=config)
    model = onnx.load(str(path))
    before = Counter(node.op_type for node in model.graph.node)["ConvTranspose"]
    rewritten, count = phase_convolutions(model)
    ops = Counter(node.op_type for node in rewritten.graph.node)
    assert count == before == (5 if name == "unet_32" else 2) and ops["ConvTranspose"] == 0
    assert ops["DepthToSpace"] == count and ops["Conv"] == Counter(
        n.op_type for n in onnx.load(str(path)).graph.node)["Conv"] + 4 * count
    onnx.checker.check_model(rewritten)

    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 64, 96)).astype(np.float32)
    def run(proto):
        session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(run(rewritten), run(onnx.load(str(path))), atol=1e-5)


@pytest.mark.parametrize("task,channels,side", [("super-resolution", 3, 16), ("colorization", 1, 64),
                                                ("sketch-to-photo", 1, 64)])
def test_crops_are_prepared_like_the_runtimes_tiles(task, channels, side, photos):
    """A crop is cut at the size whose *prepared* form is one tile: a super-resolution crop is
    1/scale of the tile (the task upscales it); colorization feeds the L channel."""
    spec = get_task(task)
    crops = model_crops(spec, sorted(photos.rglob("*.png")), 64, 32, np.random.default_rng(0))
    for _ in range(5):  # every image, including the one smaller than a crop
        model_input, context = next(crops)
        assert model_input.shape == (1, channels, 64, 64) and model_input.dtype == np.float32
        assert -1.0 <= model_input.min() and model_input.max() <= 1.0
        assert context["input_size"] == (side, side)


def test_command(fp32_model, photos, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    quantize_command.register(parser.add_subparsers(), "quantize", "quantise a model to INT8")
    model = tmp_path / "style.onnx"
    model.write_bytes(fp32_model.read_bytes())
    args = parser.parse_args(["quantize", str(model), "--calibration", str(photos), "--crops", "3",
                              "--check-crops", "1", "--threads", "1"])
    assert args.handler(args) == 0
    written = tmp_path / "style-int8.onnx"
    assert read_metadata(written)["precision"] == "int8"
    printed = capsys.readouterr().out
    assert f"wrote {written}" in printed and "calibrated on 3 crops of 64 px" in printed and "PSNR" in printed


def test_cli_reports_a_refusal_in_one_line(fp32_model, photos, tmp_path, capsys):
    from translation.cli import main

    out = tmp_path / "strict.onnx"
    code = main(["quantize", str(fp32_model), "-o", str(out), "--calibration", str(photos), "--crops", "2",
                 "--check-crops", "1", "--min-psnr", "200", "--threads", "1"])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and not out.exists()
    assert error[-1].startswith("error: ") and "strict.onnx" in error[-1] and "--min-psnr 200" in error[-1]
