"""read_image / write_image on every kind of file users throw at them, made on the fly."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from translation.atomic import TEMP_PREFIX
from translation.imaging.io import (
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    LoadedImage,
    orient_array,
    read_image,
    read_rgb8,
    to_uint8,
    write_image,
)
from translation.errors import TranslationError


def gradient(height: int = 24, width: int = 32) -> np.ndarray:
    """A smooth, asymmetric uint8 RGB image (so rotations and channel swaps are visible)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1),
                      (x + 2 * y) * 255 // max(1, width + 2 * height - 3)]).astype(np.uint8)


def save_pil(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def test_to_uint8_clips_rounds_half_to_even_and_keeps_the_shape():
    rng = np.random.default_rng(0)
    pixels = rng.random((48, 64, 3), dtype=np.float32) * 1.4 - 0.2          # out of range both ways
    ties = (np.arange(256, dtype=np.float32) + 0.5) / 255
    pixels[0, :, :] = np.stack([ties[:64], np.nextafter(ties[:64], 2), np.nextafter(ties[:64], -2)], axis=1)
    pixels[1, :2, 0] = [0.0, 1.0]
    expected = np.round(np.clip(pixels, 0.0, 1.0) * np.float32(255)).astype(np.uint8)
    for array in (pixels, pixels.astype(np.float64), pixels[:, ::2], pixels[:, :, 0], pixels[0, :, 0]):
        reference = np.round(np.clip(np.asarray(array, np.float32), 0, 1) * np.float32(255)).astype(np.uint8)
        np.testing.assert_array_equal(to_uint8(array), reference)
    np.testing.assert_array_equal(to_uint8(pixels), expected)
    assert to_uint8(np.zeros((0, 4, 3), np.float32)).shape == (0, 4, 3)
    assert to_uint8(np.array([np.nan, np.inf, -np.inf, 0.5], np.float32)).tolist() == [0, 255, 0, 128]
    assert to_uint8(np.full((2, 2), 65535, np.uint16)).max() == 255


# ----------------------------------------------------------------------------------- decoding cases

def test_png_round_trip_is_exact(tmp_path):
    pixels = gradient()
    loaded = read_image(save_pil(Image.fromarray(pixels), tmp_path / "a.png"))
    assert isinstance(loaded, LoadedImage)
    assert loaded.rgb.dtype == np.uint8 and loaded.bit_depth == 8 and loaded.alpha is None
    np.testing.assert_array_equal(loaded.rgb, pixels)
    assert loaded.path == tmp_path / "a.png"
    as_float = loaded.to_float()
    assert as_float.dtype == np.float32 and as_float.shape == (24, 32, 3)
    assert as_float.min() >= 0.0 and as_float.max() == pytest.approx(1.0)


def test_exif_rotated_jpeg_is_transposed(tmp_path):
    pixels = gradient(20, 36)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = save_pil(Image.fromarray(pixels), tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=98)
    loaded = read_image(path)
    assert loaded.rgb.shape == (36, 20, 3)
    expected = np.rot90(pixels, -1).astype(np.int16)
    assert np.abs(loaded.rgb.astype(np.int16) - expected).mean() < 4


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_array_matches_pillow(orientation):
    pixels = gradient(5, 7)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", exif=exif.tobytes())
    from_pillow = read_image(buffer.getvalue()).rgb
    np.testing.assert_array_equal(orient_array(pixels, orientation), from_pillow)


def test_rgba_keeps_alpha(tmp_path):
    pixels = np.dstack([gradient(), np.arange(24 * 32, dtype=np.uint8).reshape(24, 32)])
    loaded = read_image(save_pil(Image.fromarray(pixels, "RGBA"), tmp_path / "a.png"))
    np.testing.assert_array_equal(loaded.rgb, pixels[:, :, :3])
    np.testing.assert_array_equal(loaded.alpha, pixels[:, :, 3])


def test_palette_with_transparency_gives_alpha(tmp_path):
    indices = np.zeros((8, 10), np.uint8)
    indices[2:6, 3:7] = 1
    image = Image.fromarray(indices, "P")
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    path = save_pil(image, tmp_path / "p.png", transparency=0)
    loaded = read_image(path)
    assert loaded.alpha is not None
    assert loaded.alpha[0, 0] == 0 and loaded.alpha[3, 4] == 255
    np.testing.assert_array_equal(loaded.rgb[3, 4], [0, 0, 255])


def test_palette_without_transparency_has_no_alpha(tmp_path):
    image = Image.fromarray(gradient()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    loaded = read_image(save_pil(image, tmp_path / "p.png"))
    assert loaded.alpha is None and loaded.rgb.shape == (24, 32, 3)


def test_gray_alpha(tmp_path):
    gray = np.full((6, 9), 100, np.uint8)
    alpha = np.full((6, 9), 30, np.uint8)
    loaded = read_image(save_pil(Image.fromarray(np.dstack([gray, alpha]), "LA"), tmp_path / "la.png"))
    assert loaded.rgb.shape == (6, 9, 3)
    assert (loaded.rgb == 100).all() and (loaded.alpha == 30).all()


def test_gray_and_bilevel(tmp_path):
    gray = gradient()[:, :, 0]
    loaded = read_image(save_pil(Image.fromarray(gray, "L"), tmp_path / "g.png"))
    np.testing.assert_array_equal(loaded.rgb, np.dstack([gray] * 3))
    bilevel = Image.fromarray(gray > 128).convert("1")
    loaded = read_image(save_pil(bilevel, tmp_path / "b.png"))
    assert set(np.unique(loaded.rgb)) <= {0, 255} and loaded.rgb.shape == (24, 32, 3)


def test_cmyk_jpeg(tmp_path):
    image = Image.fromarray(np.full((10, 12, 3), (200, 40, 40), np.uint8)).convert("CMYK")
    path = save_pil(image, tmp_path / "cmyk.jpg", quality=98)
    assert Image.open(path).mode == "CMYK"
    loaded = read_image(path)
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.shape == (10, 12, 3)
    assert np.abs(loaded.rgb.astype(int) - (200, 40, 40)).max() < 12


def test_sixteen_bit_gray_png(tmp_path):
    gray = (np.arange(40 * 30, dtype=np.uint32).reshape(30, 40) * 53).astype(np.uint16)
    assert cv2.imwrite(str(tmp_path / "g16.png"), gray)
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    loaded = read_image(tmp_path / "g16.png")
    assert loaded.rgb.dtype == np.uint16 and loaded.bit_depth == 16
    assert loaded.rgb.max() > 255
    np.testing.assert_array_equal(loaded.rgb, np.dstack([gray] * 3))


def test_sixteen_bit_rgb_png_keeps_depth_and_channel_order(tmp_path):
    rgb = (np.random.default_rng(0).random((9, 11, 3)) * 65535).astype(np.uint16)
    assert cv2.imwrite(str(tmp_path / "c16.png"), rgb[:, :, ::-1])  # OpenCV writes BGR
    loaded = read_image(tmp_path / "c16.png")
    assert loaded.rgb.dtype == np.uint16 and loaded.alpha is None
    np.testing.assert_array_equal(loaded.rgb, rgb)
    assert read_rgb8(tmp_path / "c16.png").dtype == np.uint8


def test_sixteen_bit_rgb_png_with_exif_orientation(tmp_path):
    rgb = (np.random.default_rng(1).random((4, 7, 3)) * 65535).astype(np.uint16)
    plain = tmp_path / "plain.png"
    write_image(plain, rgb)
    # add an eXIf chunk (orientation 8) before IEND, as a camera app would
    exif = Image.Exif()
    exif[0x0112] = 8
    payload = exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif\x00\x00") else exif.tobytes()
    data = plain.read_bytes()
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + payload) & 0xFFFFFFFF)
    rotated = tmp_path / "rotated.png"
    rotated.write_bytes(data[:-12] + chunk + data[-12:])
    loaded = read_image(rotated)
    assert loaded.rgb.dtype == np.uint16 and loaded.rgb.shape == (7, 4, 3)
    np.testing.assert_array_equal(loaded.rgb, np.rot90(rgb, 1))


def test_animated_gif_gives_first_frame(tmp_path):
    frames = [Image.fromarray(np.full((8, 8, 3), value, np.uint8)) for value in (10, 250)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert Image.open(path).n_frames == 2
    loaded = read_image(path)
    assert loaded.rgb.shape == (8, 8, 3) and np.abs(loaded.rgb.astype(int) - 10).max() <= 2


def test_one_pixel_image_is_valid(tmp_path):
    loaded = read_image(save_pil(Image.new("RGB", (1, 1), (1, 2, 3)), tmp_path / "dot.png"))
    np.testing.assert_array_equal(loaded.rgb, [[[1, 2, 3]]])


def test_png_named_jpg_decodes(tmp_path):
    path = save_pil(Image.fromarray(gradient()), tmp_path / "actually_png.jpg", format="PNG")
    np.testing.assert_array_equal(read_image(path).rgb, gradient())


def test_bytes_and_pil_sources():
    buffer = io.BytesIO()
    Image.fromarray(gradient()).save(buffer, format="PNG")
    from_bytes = read_image(buffer.getvalue())
    assert from_bytes.path is None
    np.testing.assert_array_equal(from_bytes.rgb, gradient())
    np.testing.assert_array_equal(read_image(Image.fromarray(gradient()).convert("RGBA")).rgb, gradient())


@pytest.mark.parametrize("shape", [(5, 6), (5, 6, 1), (5, 6, 3), (5, 6, 4)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_array_sources(shape, dtype):
    rng = np.random.default_rng(2)
    values = rng.random(shape)
    if dtype == np.uint8:
        array = (values * 255).astype(np.uint8)
    elif dtype == np.uint16:
        array = (values * 65535).astype(np.uint16)
    else:
        array = values.astype(np.float32)
    loaded = read_image(array)
    assert loaded.rgb.shape == (5, 6, 3)
    assert loaded.rgb.dtype == (np.uint16 if dtype == np.uint16 else np.uint8)
    assert (loaded.alpha is not None) == (len(shape) == 3 and shape[2] == 4)
    expected = values[:, :, :3] if len(shape) == 3 and shape[2] >= 3 else np.dstack([values.reshape(5, 6)] * 3)
    assert np.abs(loaded.to_float() - expected).max() <= 1 / 255 + 1e-6


def test_array_with_bad_shape_is_an_error():
    with pytest.raises(TranslationError, match="shape"):
        read_image(np.zeros((4, 4, 5), np.uint8))


# ----------------------------------------------------------------------------------- bad files

def test_missing_file(tmp_path):
    with pytest.raises(TranslationError, match=r"x\.jpg: file not found"):
        read_image(tmp_path / "x.jpg")


def test_empty_file(tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"")
    with pytest.raises(TranslationError, match=r"x\.jpg: file is empty"):
        read_image(tmp_path / "x.jpg")


def test_text_file_named_jpg(tmp_path):
    (tmp_path / "photo.jpg").write_text("not really a photo\n")
    with pytest.raises(TranslationError, match=r"photo\.jpg: not an image file \(cannot identify image format\)"):
        read_image(tmp_path / "photo.jpg")


@pytest.mark.parametrize("fmt,suffix", [("JPEG", ".jpg"), ("PNG", ".png")])
def test_truncated_files(tmp_path, fmt, suffix):
    noise = (np.random.default_rng(3).random((64, 64, 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format=fmt)
    path = tmp_path / f"photo{suffix}"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(TranslationError, match=rf"photo\{suffix}: truncated or corrupt image data"):
        read_image(path)


def test_pixel_limit_from_header(tmp_path):
    path = save_pil(Image.fromarray(gradient(24, 32)), tmp_path / "big.png")
    with pytest.raises(TranslationError, match=r"big\.png: 32x24 = 0\.000768 Mpx exceeds the 0\.0005 Mpx limit "
                                               r"\(raise --max-pixels, or max_pixels in Python, to allow it\)"):
        read_image(path, max_pixels=500)
    assert read_image(path, max_pixels=768).rgb.shape == (24, 32, 3)
    assert read_image(path, max_pixels=None).rgb.shape == (24, 32, 3)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size; the (absent) pixel data is never reached."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [9000, 20000])  # below and above Pillow's own bomb limits
def test_decompression_bomb_is_refused_before_decoding(tmp_path, side):
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(side, side))
    with pytest.raises(TranslationError, match=r"big\.png: .*Mpx exceeds the 64 Mpx limit \(raise --max-pixels"):
        read_image(path)
    assert DEFAULT_MAX_PIXELS == 64_000_000


def test_decompression_bomb_above_pillow_limit_with_our_limit_lifted(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(20000, 20000))
    with pytest.raises(TranslationError, match=r"big\.png: 400 Mpx exceeds Pillow's decompression-bomb limit"):
        read_image(path, max_pixels=None)


# ----------------------------------------------------------------------------------- writing

@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
def test_lossless_round_trip(tmp_path, suffix):
    pixels = gradient()
    written = write_image(tmp_path / "deep" / "folder" / f"out{suffix}", pixels)
    assert written == tmp_path / "deep" / "folder" / f"out{suffix}"
    np.testing.assert_array_equal(read_image(written).rgb, pixels)


def test_float_input_is_written_as_8_bit(tmp_path):
    pixels = gradient().astype(np.float32) / 255.0
    loaded = read_image(write_image(tmp_path / "f.png", pixels))
    assert loaded.rgb.dtype == np.uint8
    np.testing.assert_array_equal(loaded.rgb, gradient())


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_round_trip_with_alpha(tmp_path, suffix):
    rng = np.random.default_rng(4)
    rgb = (rng.random((7, 9, 3)) * 65535).astype(np.uint16)
    alpha = (rng.random((7, 9)) * 65535).astype(np.uint16)
    loaded = read_image(write_image(tmp_path / f"deep{suffix}", rgb, alpha))
    assert loaded.rgb.dtype == np.uint16
    np.testing.assert_array_equal(loaded.rgb, rgb)
    np.testing.assert_array_equal(loaded.alpha, alpha)


def test_png_alpha_round_trip(tmp_path):
    alpha = np.tile(np.arange(32, dtype=np.uint8) * 8, (24, 1))
    loaded = read_image(write_image(tmp_path / "a.png", gradient(), alpha))
    np.testing.assert_array_equal(loaded.rgb, gradient())
    np.testing.assert_array_equal(loaded.alpha, alpha)


def test_jpeg_drops_alpha_and_reduces_16_bit(tmp_path):
    rgb16 = gradient().astype(np.uint16) * 257
    loaded = read_image(write_image(tmp_path / "a.jpeg", rgb16, np.zeros((24, 32), np.uint16), quality=97))
    assert loaded.alpha is None and loaded.rgb.dtype == np.uint8
    assert np.abs(loaded.rgb.astype(int) - gradient()).mean() < 3  # alpha dropped, not composited


def test_webp_keeps_alpha_and_quality_matters(tmp_path):
    noise = (np.random.default_rng(5).random((48, 48, 3)) * 255).astype(np.uint8)
    alpha = np.full((48, 48), 77, np.uint8)
    low = write_image(tmp_path / "low.webp", noise, alpha, quality=10)
    high = write_image(tmp_path / "high.webp", noise, alpha, quality=95)
    assert low.stat().st_size < high.stat().st_size
    loaded = read_image(high)
    assert loaded.alpha is not None and np.abs(loaded.alpha.astype(int) - 77).max() <= 2
    small_jpeg = write_image(tmp_path / "low.jpg", noise, quality=10)
    assert small_jpeg.stat().st_size < write_image(tmp_path / "high.jpg", noise, quality=95).stat().st_size


def test_unknown_suffix_is_an_error(tmp_path):
    with pytest.raises(TranslationError, match=r"out\.xyz: unknown image format"):
        write_image(tmp_path / "out.xyz", gradient())
    assert not list(tmp_path.iterdir())


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "out.png"
    write_image(target, gradient())
    write_image(target, np.zeros((3, 3, 3), np.uint8))  # overwrite in place
    assert read_image(target).rgb.shape == (3, 3, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
    assert not any(p.name.startswith(TEMP_PREFIX) for p in tmp_path.iterdir())


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.png"
    write_image(target, gradient())
    before = target.read_bytes()
    with pytest.raises(TranslationError):
        write_image(target, np.zeros((3, 3, 7), np.uint8))  # invalid pixels
    with pytest.raises(TranslationError):
        write_image(target, gradient(), np.zeros((2, 2), np.uint8))  # alpha of the wrong shape
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_every_readable_suffix_can_be_written(tmp_path):
    for suffix in sorted(IMAGE_SUFFIXES):
        loaded = read_image(write_image(tmp_path / f"x{suffix}", gradient()))
        assert loaded.rgb.shape == (24, 32, 3), suffix


UNUSUAL_MODES = {
    "RGBa": lambda rgb: rgb.convert("RGBA").convert("RGBa"),
    "La": lambda rgb: rgb.convert("LA").convert("La"),
    "PA": lambda rgb: rgb.convert("P").convert("PA"),
    "YCbCr": lambda rgb: rgb.convert("YCbCr"),
    "HSV": lambda rgb: rgb.convert("HSV"),
    "LAB": lambda rgb: rgb.convert("LAB"),
    "RGBX": lambda rgb: rgb.convert("RGBX"),
}


@pytest.mark.parametrize("mode", sorted(UNUSUAL_MODES))
def test_unusual_pil_modes_become_rgb(mode):
    image = UNUSUAL_MODES[mode](Image.fromarray(gradient()))
    assert image.mode == mode
    loaded = read_image(image)
    assert loaded.rgb.shape == (24, 32, 3) and loaded.rgb.dtype == np.uint8
    assert (loaded.alpha is not None) == (mode in ("RGBa", "La", "PA"))
    if mode in ("YCbCr", "RGBX", "RGBa"):
        assert np.abs(loaded.rgb.astype(int) - gradient()).max() <= 3


def test_wide_gray_pil_modes_become_uint16():
    values = np.array([[0, 300], [40000, 65535]], np.uint16)
    big_endian = Image.frombytes("I;16B", (2, 2), values.astype(">u2").tobytes())
    np.testing.assert_array_equal(read_image(big_endian).rgb[..., 0], values)
    as_int32 = Image.fromarray(np.array([[-5, 70000], [1000, 2]], np.int32), "I")
    np.testing.assert_array_equal(read_image(as_int32).rgb[..., 1], [[0, 65535], [1000, 2]])
    as_float = Image.fromarray(np.array([[0.0, 0.5], [1.0, 0.25]], np.float32), "F")
    assert read_image(as_float).rgb[1, 0, 2] == 65535 and read_image(as_float).rgb.dtype == np.uint16


def test_lazy_pil_image_with_exif_is_oriented(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save_pil(Image.fromarray(gradient(10, 30)), tmp_path / "r.png", exif=exif.tobytes())
    with Image.open(path) as lazy:
        assert read_image(lazy).rgb.shape == (30, 10, 3)


def test_unwritable_target_is_a_translation_error(tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    with pytest.raises(TranslationError, match="cannot write"):
        write_image(tmp_path / "blocker" / "out.png", gradient())


def test_pixel_limit_applies_to_pil_images():
    with pytest.raises(TranslationError, match=r"image: 32x24 = .* exceeds"):
        read_image(Image.fromarray(gradient()), max_pixels=100)


def test_refuses_to_decode_when_truncated_images_are_allowed(tmp_path, monkeypatch):
    path = save_pil(Image.fromarray(gradient()), tmp_path / "a.png")
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        read_image(path)
