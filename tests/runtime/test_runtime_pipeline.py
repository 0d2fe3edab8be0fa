"""translate(): any size, alpha, bit depth and task through one call."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from tiny_models import export_tiny

from translation.imaging.io import LoadedImage, read_image, write_image
from translation.errors import TranslationError
from translation.runtime import Engine, convert_image, get_engine, translate
from translation.tasks import TaskSpec, finish, prepare


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("pipeline")


@pytest.fixture(scope="module")
def unet(folder):
    return Engine(export_tiny(folder, "unet", "unet_32", ngf=4))


def _photo(height: int, width: int, channels: int = 3, dtype=np.uint8) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([np.sin(x / 17.0), np.cos(y / 11.0), np.sin((x + y) / 23.0), (x % 7) / 7.0], -1)[..., :channels]
    top = np.iinfo(dtype).max
    return np.round((base * 0.5 + 0.5) * top).astype(dtype)


def test_odd_sizes_come_back_at_their_own_size_padded_by_reflection(unet):
    image = _photo(300, 517)
    result = translate(image, unet, tile_size=1024)   # one piece: padded to 320 x 544
    assert result.rgb.shape == (300, 517, 3) and result.rgb.dtype == np.uint8 and result.alpha is None
    # the same thing by hand: reflect-pad to multiples of 32, run, crop
    tensor, _ = prepare(unet.info.task, image.astype(np.float32) / 255)
    padded = np.pad(tensor, ((0, 0), (0, 20), (0, 27)), mode="reflect")
    expected = unet.run(padded[None])[0, :, :300, :517]
    expected = np.round(np.clip((expected.transpose(1, 2, 0) + 1) / 2, 0, 1) * 255)
    assert np.abs(result.rgb.astype(int) - expected).max() <= 1


def test_large_images_are_tiled_with_progress(unet):
    calls = []
    result = translate(_photo(200, 260), unet, tile_size=64, overlap=16, batch_size=3,
                       progress=lambda done, total: calls.append((done, total)))
    assert result.rgb.shape == (200, 260, 3)
    assert calls[-1][0] == calls[-1][1] > 1 and len(calls) == -(-calls[-1][1] // 3)


def test_alpha_is_reattached_and_sixteen_bits_are_kept(unet, folder):
    rgba = _photo(70, 90, channels=4)
    result = translate(rgba, unet)
    np.testing.assert_array_equal(result.alpha, rgba[:, :, 3])
    path = folder / "deep.png"
    write_image(path, _photo(40, 50, dtype=np.uint16))
    deep = translate(path, unet)
    assert deep.rgb.dtype == np.uint16 and deep.path == path
    assert len(np.unique(deep.rgb)) > 256                      # not an 8-bit image in a 16-bit container
    # the same precise input with an 8-bit output: the 16-bit result rounds to it
    eight = translate(LoadedImage(rgb=read_image(path).rgb.astype(np.float32) / 65535), unet)
    assert eight.rgb.dtype == np.uint8
    assert np.abs(deep.rgb.astype(float) / 257 - eight.rgb).max() <= 0.51


def test_gray_input_and_a_colorization_model(folder):
    engine = Engine(export_tiny(folder, "color", "unet_32", ngf=4, task="colorization", in_channels=1, out_channels=2))
    gray = _photo(48, 80, channels=1)[:, :, 0]
    result = translate(gray, engine)
    assert result.rgb.shape == (48, 80, 3)
    # the task's own pre- and post-processing around the network, nothing else
    spec = engine.info.task
    tensor, context = prepare(spec, np.repeat(gray[:, :, None], 3, 2).astype(np.float32) / 255)
    assert tensor.shape == (1, 48, 80)
    padded = np.pad(tensor, ((0, 0), (0, 16), (0, 16)), mode="reflect")
    expected = finish(spec, engine.run(padded[None])[0, :, :48, :80], context)
    assert np.abs(result.rgb.astype(float) - expected * 255).max() <= 0.51


def test_super_resolution_scales_the_image_and_its_alpha(folder):
    spec = TaskSpec("super-resolution", "rgb", "rgb", scale=2)
    engine = Engine(export_tiny(folder, "sr", "resnet_1blocks", task=spec))
    rgba = _photo(30, 44, channels=4)
    result = translate(LoadedImage(rgb=rgba[:, :, :3].copy(), alpha=rgba[:, :, 3].copy()), engine)
    assert result.rgb.shape == (60, 88, 3) and result.alpha.shape == (60, 88)
    expected = cv2.resize(rgba[:, :, 3], (88, 60), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(result.alpha, expected)


def test_sketch_from_photo_only_for_sketch_models(folder, unet):
    sketcher = Engine(export_tiny(folder, "sketch", "resnet_1blocks", task="sketch-to-photo", in_channels=1))
    assert translate(_photo(40, 40), sketcher, sketch_from_photo=True).rgb.shape == (40, 40, 3)
    with pytest.raises(TranslationError, match="sketch"):
        translate(_photo(40, 40), Engine(export_tiny(folder, "painter", "resnet_1blocks")), sketch_from_photo=True)


def test_convert_image_builds_the_engine_once(folder, unet):
    image = _photo(40, 64)
    first = convert_image(image, unet.info.path, providers="cpu")
    assert get_engine(unet.info.path, providers="cpu") is get_engine(str(unet.info.path), providers=["cpu"])
    again = convert_image(image, "unet", extra_dirs=[folder], providers="cpu")
    np.testing.assert_array_equal(first.rgb, again.rgb)
    np.testing.assert_array_equal(first.rgb, translate(image, unet).rgb)


def test_unreadable_inputs_raise_translation_errors(folder, unet):
    bad = folder / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    with pytest.raises(TranslationError, match="bad.jpg"):
        translate(bad, unet)
