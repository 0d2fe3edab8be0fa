"""PNG outputs, fast (Up filter, ISA-L deflate) and compact (libpng's Paeth, zlib): the same pixels,
read back by other decoders, and the trade they make (the compact file is the smaller one)."""
from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from translation.cli import main
from translation.errors import TranslationError
from translation.imaging.io import read_image, write_image
from translation.imaging.png_stream import PngBandWriter

from convert_fixtures import export_tiny_style_model


def photo_like(height: int, width: int, bits: int = 8) -> np.ndarray:
    """Smooth gradients with a little noise: what filters and deflate see in model outputs."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    rgb = np.stack([np.sin(6 * x + 2 * y), np.cos(4 * y), np.sin(3 * (x + y))], -1) * 0.45 + 0.5
    rgb = np.clip(rgb + np.random.default_rng(0).normal(0, 0.01, rgb.shape), 0, 1)
    return np.round(rgb * (2 ** bits - 1)).astype(np.uint16 if bits == 16 else np.uint8)


def filter_types(path) -> set[int]:
    """The filter type byte of every row of an 8-bit RGB PNG (from its decompressed IDAT stream)."""
    data = path.read_bytes()[8:]
    idat, width = b"", 0
    while data:
        length, kind = struct.unpack(">I4s", data[:8])
        if kind == b"IHDR":
            width = struct.unpack(">I", data[8:12])[0]
        if kind == b"IDAT":
            idat += data[8:8 + length]
        data = data[12 + length:]
    raw = zlib.decompress(idat)
    stride = 1 + width * 3
    return {raw[i] for i in range(0, len(raw), stride)}


@pytest.mark.parametrize("bits,alpha", [(8, False), (8, True), (16, False), (16, True)])
def test_fast_and_compact_pngs_hold_the_same_pixels(tmp_path, bits, alpha):
    rgb = photo_like(67, 91, bits)
    mask = rgb[:, :, 0].copy() if alpha else None
    fast = write_image(tmp_path / "fast.png", rgb, mask)
    compact = write_image(tmp_path / "compact.png", rgb, mask, png_compression="compact")
    for path in (fast, compact):
        back = read_image(path)
        np.testing.assert_array_equal(back.rgb, rgb)
        if alpha:
            np.testing.assert_array_equal(back.alpha, mask)
        with Image.open(path) as image:   # a second decoder agrees
            image.load()
            assert image.size == (91, 67)
    opencv = cv2.imread(str(fast), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(opencv[:, :, [2, 1, 0]], rgb)


def test_fast_png_uses_the_up_filter_and_compact_is_smaller(tmp_path):
    rgb = photo_like(256, 256)
    fast = write_image(tmp_path / "fast.png", rgb)
    compact = write_image(tmp_path / "compact.png", rgb, png_compression="compact")
    assert filter_types(fast) == {2}                       # Up, every row
    assert compact.stat().st_size < fast.stat().st_size    # what the compact form buys


def test_unknown_png_compression_is_refused(tmp_path):
    with pytest.raises(TranslationError, match="unknown PNG compression 'tiny'"):
        write_image(tmp_path / "a.png", photo_like(4, 4), png_compression="tiny")
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="choose one of fast, compact"):
        PngBandWriter(open(tmp_path / "b.png", "wb"), 4, 4, 3, compression="tiny")


def test_convert_writes_compact_pngs_when_asked(tmp_path):
    model = export_tiny_style_model(tmp_path)
    source = tmp_path / "in"
    source.mkdir()
    write_image(source / "a.png", photo_like(48, 64))
    outputs = {}
    for choice in ("fast", "compact"):
        out = tmp_path / choice
        assert main(["convert", "--model", str(model), str(source), "-o", str(out),
                     "--device", "cpu", "--png-compression", choice]) == 0
        outputs[choice] = out / "a.png"
    np.testing.assert_array_equal(read_image(outputs["fast"]).rgb, read_image(outputs["compact"]).rgb)
    assert filter_types(outputs["fast"]) == {2} and filter_types(outputs["compact"]) != {2}
