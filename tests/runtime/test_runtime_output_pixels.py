"""Network output -> pixels in OpenCV's saturating passes: the values of ``finish`` followed by the numpy
quantisation they replace (clip, scale, round half to even), for every layout the runtime hands over;
and super-resolution's input made small and upscaled plane by plane, as the photo upscaled first."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from translation.runtime.pipeline import output_pixels, quantise
from translation.tasks import TaskSpec, finish, get_task, lab_ab_to_rgb, prepare
from translation.tasks.processing import encode_input, resize


def numpy_quantise(rgb: np.ndarray, bits: int) -> np.ndarray:
    top = 65535.0 if bits == 16 else 255.0
    scaled = np.clip(rgb.astype(np.float32), 0.0, 1.0) * np.float32(top)
    return np.rint(scaled).astype(np.uint16 if bits == 16 else np.uint8)


def grid(channels: int, low: float, high: float) -> np.ndarray:
    """channels x 400 x 500 float32 values spaced 1e-5 apart: every rounding boundary is crossed many times."""
    values = np.linspace(low, high, channels * 400 * 500, dtype=np.float64).astype(np.float32)
    return np.random.default_rng(0).permutation(values).reshape(channels, 400, 500)


@pytest.mark.parametrize("bits", [8, 16])
def test_quantise_gives_numpys_values(bits):
    rgb = grid(3, -0.1, 1.1).transpose(1, 2, 0).copy()
    pixels = quantise(rgb, bits)
    np.testing.assert_array_equal(pixels, numpy_quantise(rgb, bits))
    assert pixels.dtype == (np.uint16 if bits == 16 else np.uint8) and pixels.shape == rgb.shape


@pytest.mark.parametrize("space,channels", [("rgb", 3), ("gray", 1)])
@pytest.mark.parametrize("layout", ["planes", "interleaved", "cropped view"])
@pytest.mark.parametrize("bits", [8, 16])
def test_output_pixels_equal_finish_then_quantise(space, channels, layout, bits):
    spec = TaskSpec("custom", "rgb", space)
    output = grid(channels, -1.05, 1.05)                     # a little beyond the network's range too
    if layout == "interleaved":                               # blended tiles: H x W x C, handed over as C x H x W
        output = output.transpose(1, 2, 0).copy().transpose(2, 0, 1)
    elif layout == "cropped view":                            # one padded tile, cropped: strided planes
        padded = np.zeros((channels, 408, 512), np.float32)
        padded[:, :400, :500] = output
        output = padded[:, :400, :500]
    pixels = output_pixels(spec, output, {"output_size": (400, 500)}, bits)
    expected = numpy_quantise(finish(spec, output, {"output_size": (400, 500)}), bits)
    np.testing.assert_array_equal(pixels, expected)
    assert pixels.shape == (400, 500, 3)


def test_output_pixels_that_need_a_resize_or_lab_take_the_general_path():
    spec = TaskSpec("custom", "rgb", "rgb")
    output = grid(3, -1, 1)[:, :100, :120]
    context = {"output_size": (150, 180)}
    np.testing.assert_array_equal(output_pixels(spec, output, context, 8), numpy_quantise(finish(spec, output, context), 8))
    colorization = get_task("colorization")
    photo = np.random.default_rng(1).random((64, 80, 3)).astype(np.float32)
    tensor, context = prepare(colorization, photo)
    ab = np.random.default_rng(2).uniform(-0.5, 0.5, (2, *tensor.shape[1:])).astype(np.float32)
    np.testing.assert_array_equal(output_pixels(colorization, ab, context, 8),
                                  numpy_quantise(finish(colorization, ab, context), 8))


def test_super_resolution_input_is_the_upscaled_photo_encoded():
    spec = get_task("super-resolution")
    photo = np.random.default_rng(3).random((37, 53, 3)).astype(np.float32)
    tensor, context = prepare(spec, photo)
    upscaled_first = encode_input(spec, np.clip(resize(photo, 148, 212, cv2.INTER_CUBIC), 0.0, 1.0))
    assert tensor.shape == (3, 148, 212) and context["output_size"] == (148, 212)
    np.testing.assert_allclose(tensor, upscaled_first, atol=2e-6)
    assert tensor.min() >= -1.0 and tensor.max() <= 1.0


def test_lab_ab_planes_upsampled_as_they_lie_give_the_interleaved_values():
    colorization = get_task("colorization")
    photo = np.random.default_rng(4).random((90, 130, 3)).astype(np.float32)
    _, context = prepare(colorization, photo)
    ab = np.random.default_rng(5).uniform(-0.6, 0.6, (2, 40, 56)).astype(np.float32)  # a non-integer upscale
    interleaved = cv2.resize(ab.transpose(1, 2, 0) * np.float32(110.0), (130, 90), interpolation=cv2.INTER_LINEAR)
    expected = cv2.cvtColor(np.dstack([context["lab_l"], interleaved]).astype(np.float32), cv2.COLOR_Lab2RGB)
    rgb = lab_ab_to_rgb(ab, context)
    assert rgb.shape == (90, 130, 3) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb, expected, atol=1e-4)
    with pytest.raises(ValueError, match="2 channels"):
        lab_ab_to_rgb(ab[:1], context)
    with pytest.raises(ValueError, match="lab_l"):
        lab_ab_to_rgb(ab, {"output_size": (90, 130)})
