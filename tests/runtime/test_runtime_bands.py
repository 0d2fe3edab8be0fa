"""Outputs made and written in row bands: the same pixels as in memory, PNG written band by band, memory
bounded by a row of tiles, and outputs that cannot be banded refused over --max-pixels."""
from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from translation.cli import main
from translation.convert import ConvertOptions, convert
from translation.export import export_generator
from translation.imaging.io import LoadedImage, read_image, write_image
from translation.imaging.png_stream import PngBandWriter
from translation.networks import GeneratorConfig, build_generator
from translation.runtime import Engine, translate
from translation.runtime.bands import write_in_bands, writes_in_bands
from translation.tasks import get_task


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("band-models")
    made = {}
    for task, channels in (("super-resolution", 3), ("sketch-to-photo", 1)):
        torch.manual_seed(0)
        config = GeneratorConfig.named("resnet_1blocks", ngf=4, in_channels=channels)
        made[task] = export_generator(build_generator(config), folder / f"{task}.onnx", task=task, config=config)
    return made


def textured(height: int, width: int, bits: int = 8, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([np.sin(x / 5.0 + seed), np.cos(y / 3.0), np.sin((x + y) / 7.0)], -1) * 0.5 + 0.5
    rgb = np.clip(rgb + np.random.default_rng(seed).normal(0, 0.05, rgb.shape), 0, 1)
    return np.round(rgb * (2 ** bits - 1)).astype(np.uint16 if bits == 16 else np.uint8)


def read_png(path: Path) -> np.ndarray:
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return pixels[:, :, [2, 1, 0, 3][:pixels.shape[2]]]


@pytest.mark.parametrize("compression", ["fast", "compact"])
@pytest.mark.parametrize("channels,bits", [(1, 8), (2, 16), (3, 8), (4, 16)])
def test_png_written_band_by_band_decodes_to_the_same_pixels(channels, bits, compression):
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 2 ** bits, (37, 29, channels)).astype(np.uint16 if bits == 16 else np.uint8)
    pixels[:20] = np.linspace(0, 2 ** bits - 1, 29).astype(pixels.dtype)[None, :, None]   # smooth: filters matter
    buffer = io.BytesIO()
    writer = PngBandWriter(buffer, 29, 37, channels, bits, compression=compression)
    for start in range(0, 37, 10):
        writer.write(pixels[start:start + 10])
    writer.close()
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        image.load()
        assert image.size == (29, 37)
    back = cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_UNCHANGED)
    back = back[:, :, None] if back.ndim == 2 else back
    back = back[:, :, {1: [0], 2: [0, 3], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[channels]]   # OpenCV: BGR(A)
    np.testing.assert_array_equal(back, pixels)
    with pytest.raises(ValueError, match="rows written"):
        PngBandWriter(io.BytesIO(), 29, 37, channels, bits).close()


def test_which_outputs_can_be_banded():
    assert writes_in_bands(get_task("super-resolution"), ".png")
    assert writes_in_bands(get_task("style-transfer"), ".PNG")
    assert not writes_in_bands(get_task("super-resolution"), ".jpg")
    assert not writes_in_bands(get_task("colorization"), ".png")              # working size: the whole image
    assert not writes_in_bands(get_task("sketch-to-photo"), ".png", sketch_from_photo=True)


@pytest.mark.parametrize("task", ["super-resolution", "sketch-to-photo"])
@pytest.mark.parametrize("bits,alpha", [(8, False), (16, True)])
def test_bands_give_the_pixels_of_the_in_memory_path(models, tmp_path, task, bits, alpha):
    engine = Engine(models[task], threads=1)
    top = 2 ** bits - 1
    mask = np.random.default_rng(1).integers(0, top, (45, 70)).astype(np.uint16 if bits == 16 else np.uint8)
    source = LoadedImage(textured(45, 70, bits), mask if alpha else None)
    expected = translate(source, engine, tile_size=32, overlap=8)
    written = write_in_bands(source, engine, tmp_path / "out.png", tile_size=32, overlap=8)
    pixels = read_png(written)
    np.testing.assert_array_equal(pixels[:, :, :3], expected.rgb)
    if alpha:
        np.testing.assert_array_equal(pixels[:, :, 3], expected.alpha)
    assert pixels.dtype == expected.rgb.dtype and [p.name for p in tmp_path.iterdir()] == ["out.png"]


def _peak_python_memory(run) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_convert_writes_large_outputs_in_bands_with_memory_bounded_by_a_row_of_tiles(models, tmp_path):
    write_image(tmp_path / "in" / "photo.png", textured(1024, 64))      # -> 4096 x 256 through the x4 model
    engine = Engine(models["super-resolution"], threads=1)
    whole = ConvertOptions(tile_size=128, overlap=16, band_pixels=10 ** 9)
    banded = ConvertOptions(tile_size=128, overlap=16, band_pixels=500_000)
    in_memory = _peak_python_memory(lambda: convert([tmp_path / "in"], tmp_path / "whole", engine, whole))
    in_bands = _peak_python_memory(lambda: convert([tmp_path / "in"], tmp_path / "bands", engine, banded))
    np.testing.assert_array_equal(read_image(tmp_path / "bands" / "photo.png").rgb,
                                  read_image(tmp_path / "whole" / "photo.png").rgb)
    output_floats = 4096 * 256 * 3 * 4                                    # one float32 copy of the output: 12.6 MB
    assert in_memory > 2 * output_floats                                 # held whole, several copies
    # a row of tiles is 0.4 MB per float copy (3 MB measured: two such buffers, the band's input,
    # the PNG encoder's zlib state and pending chunk, one tile batch, the decoded photo)
    assert in_bands < output_floats / 3 and in_bands < in_memory / 5, f"{in_bands / 1e6:.1f} MB at the peak"


def test_lanes_write_banded_and_whole_outputs_side_by_side(models, tmp_path):
    write_image(tmp_path / "in" / "big.png", textured(512, 64))          # 2048 x 256: over the band budget
    write_image(tmp_path / "in" / "small.png", textured(64, 48))
    engine = Engine(models["super-resolution"], threads=1)
    options = dict(tile_size=128, overlap=16, band_pixels=300_000)
    one = convert([tmp_path / "in"], tmp_path / "one", engine, ConvertOptions(**options))
    two = convert([tmp_path / "in"], tmp_path / "two", engine, ConvertOptions(**options, lanes=2))
    assert one.converted == two.converted == 2
    for name in ("big.png", "small.png"):
        np.testing.assert_array_equal(read_image(tmp_path / "two" / name).rgb, read_image(tmp_path / "one" / name).rgb)


def test_outputs_too_large_to_hold_are_refused_unless_written_in_bands(models, tmp_path, capsys):
    write_image(tmp_path / "in" / "small.png", textured(30, 40))        # 1200 px -> a 120 x 160 output
    model = models["super-resolution"]
    args = ["convert", "--model", str(model), str(tmp_path / "in"), "--max-pixels", "10000", "--threads", "1"]
    assert main([*args, "-o", str(tmp_path / "jpg"), "--format", "jpg"]) == 1
    failures = [line for line in capsys.readouterr().err.splitlines() if line.startswith("failed: ")]
    assert failures == [f"failed: {tmp_path / 'in' / 'small.png'}: the 160x120 output (0.0192 Mpx) exceeds the "
                        "0.01 Mpx limit for an output held in memory; write it as PNG (--format png), which is "
                        "written in row bands, or raise --max-pixels"]
    assert main([*args, "-o", str(tmp_path / "png")]) == 0              # PNG: written in bands
    assert read_image(tmp_path / "png" / "small.png").rgb.shape == (120, 160, 3)


def test_tiles_taller_than_the_band_budget_are_cut_on_wide_outputs(models, tmp_path, monkeypatch):
    from translation.runtime import bands

    assert bands.band_tile(2048, 2048) == 2048       # super-resolution's one tile for a 512 px photo
    assert bands.band_tile(2048, 16384) == 640       # a 4096 px photo: 640 rows x 16384 x 3 floats = 126 MB
    assert bands.band_tile(256, 16384) == 256
    source = read_image(write_image(tmp_path / "photo.png", textured(1024, 64)))   # -> 4096 x 256
    engine = Engine(models["super-resolution"], threads=1)
    monkeypatch.setattr(bands, "BAND_COPY_BYTES", 256 * 3 * 4 * 128)   # rows of 128 for this width
    monkeypatch.setattr(bands, "MIN_BAND_TILE", 64)
    peak = _peak_python_memory(lambda: write_in_bands(source, engine, tmp_path / "out.png", tile_size=4096,
                                                      overlap=16))
    output_floats = 4096 * 256 * 3 * 4
    assert peak < output_floats / 3, f"{peak / 1e6:.1f} MB at the peak: the 4096-row tile was not cut"
    assert read_image(tmp_path / "out.png").rgb.shape == (4096, 256, 3)
