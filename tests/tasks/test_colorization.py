"""Colorization: L in, ab out, merged with the full-resolution lightness."""
from __future__ import annotations

import cv2
import numpy as np
from task_photos import smooth_photo

from translation.imaging.colour import rgb_to_lab
from translation.tasks import finish, get_task, prepare, training_pair


def test_colorization_round_trip_with_true_colours():
    spec = get_task("colorization")
    photo = smooth_photo()
    network_input, context = prepare(spec, photo)
    assert network_input.shape == (1, 48, 64)
    true_ab = rgb_to_lab(photo)[:, :, 1:].transpose(2, 0, 1) / 110.0
    assert np.abs(true_ab).max() <= 1.0
    np.testing.assert_allclose(finish(spec, true_ab, context), photo, atol=0.01)


def test_colorization_keeps_full_resolution_luminance_when_working_size_is_smaller():
    spec = get_task("colorization").replace(working_size=16)
    photo = smooth_photo(48, 64)
    network_input, context = prepare(spec, photo)
    assert network_input.shape == (1, 12, 16)  # long side at most the working size
    small = cv2.resize(photo, (16, 12), interpolation=cv2.INTER_AREA)
    predicted_ab = rgb_to_lab(small)[:, :, 1:].transpose(2, 0, 1) / 110.0
    result = finish(spec, predicted_ab, context)
    assert result.shape == (48, 64, 3)
    lightness_error = np.abs(rgb_to_lab(result)[:, :, 0] - rgb_to_lab(photo)[:, :, 0])
    assert lightness_error.mean() < 0.3 and lightness_error.max() < 1.5
    assert np.abs(result - photo).mean() < 0.02  # and the colours come back too
    # a network that predicts "no colour" gives a gray image with exactly the input's lightness
    gray = finish(spec, np.zeros((2, 12, 16), np.float32), context)
    np.testing.assert_allclose(rgb_to_lab(gray)[:, :, 0], rgb_to_lab(photo)[:, :, 0], atol=0.5)
    assert np.abs(gray[:, :, 0] - gray[:, :, 2]).max() < 0.01


def test_a_square_working_shape_feeds_the_whole_photo_as_a_square_and_brings_the_colour_back_to_its_shape():
    spec = get_task("colorization").replace(working_size=16, working_shape="square")
    photo = smooth_photo(24, 64)
    network_input, context = prepare(spec, photo)
    assert network_input.shape == (1, 16, 16)  # stretched, not padded: the shape a resize_and_crop run learnt from
    squeezed = cv2.resize(photo, (16, 16), interpolation=cv2.INTER_AREA)
    predicted_ab = rgb_to_lab(squeezed)[:, :, 1:].transpose(2, 0, 1) / 110.0
    result = finish(spec, predicted_ab, context)
    assert result.shape == (24, 64, 3)
    assert np.abs(result - photo).mean() < 0.02
    # a photo smaller than the square is enlarged for the network, and the output keeps the photo's size
    small_input, small_context = prepare(spec, smooth_photo(6, 10))
    assert small_input.shape == (1, 16, 16) and finish(spec, np.zeros((2, 16, 16), np.float32), small_context).shape == (6, 10, 3)


def test_the_chroma_gain_scales_the_predicted_colour_and_keeps_the_lightness():
    photo = smooth_photo(32, 48)
    predicted_ab = rgb_to_lab(photo)[:, :, 1:].transpose(2, 0, 1) / 110.0 * 0.5  # a muted prediction
    results = {}
    for gain in (1.0, 2.0):
        spec = get_task("colorization").replace(working_size=0, chroma_gain=gain)
        _, context = prepare(spec, photo)
        results[gain] = rgb_to_lab(finish(spec, predicted_ab, context))
    np.testing.assert_allclose(results[2.0][:, :, 1:], 2 * results[1.0][:, :, 1:], atol=1.0)  # gamut clipping
    np.testing.assert_allclose(results[2.0][:, :, 1:], rgb_to_lab(photo)[:, :, 1:], atol=0.6)  # the gain undoes it
    np.testing.assert_allclose(results[2.0][:, :, 0], results[1.0][:, :, 0], atol=0.5)


def test_colorization_pair_matches_prepare():
    spec = get_task("colorization")
    photo = smooth_photo(32, 32)
    source, target = training_pair(spec, photo, np.random.default_rng(0))
    network_input, context = prepare(spec, photo)
    np.testing.assert_allclose(source, network_input, atol=1e-6)
    np.testing.assert_allclose(finish(spec, target, context), photo, atol=0.01)


def test_training_shows_a_colorization_pair_as_the_runtime_finishes_it():
    import torch

    from translation.training.metrics import to_display

    spec = get_task("colorization")
    photo = smooth_photo(32, 32)
    source, target = training_pair(spec, photo, np.random.default_rng(0))
    shown = to_display(torch.from_numpy(target)[None], spec.output_space, torch.from_numpy(source)[None])
    assert shown.shape == (1, 3, 32, 32) and shown.dtype == torch.float32
    _, context = prepare(spec, photo)
    np.testing.assert_allclose(shown[0].permute(1, 2, 0).numpy(), finish(spec, target, context), atol=1e-5)


def test_the_network_sees_the_photos_lightness_resized_and_8_bit_photos_take_tables():
    from translation.imaging.colour import is_gray, lightness

    spec = get_task("colorization").replace(working_size=16, working_shape="square")
    rng = np.random.default_rng(0)
    levels = rng.permutation(np.tile(np.arange(256, dtype=np.uint8), 12))[:40 * 60].reshape(40, 60)
    gray = np.repeat(levels[:, :, None], 3, axis=2)   # every gray level, at many places in a row
    colour = gray.copy()
    colour[5, 7, 1] ^= 1
    assert is_gray(gray) and not is_gray(colour)
    np.testing.assert_array_equal(lightness(gray), rgb_to_lab(gray / np.float32(255))[:, :, 0])
    np.testing.assert_array_equal(lightness(levels), lightness(gray))
    # 8-bit colour pixels take tables too: the formulas exactly, within 0.2 L of OpenCV's float conversion
    photo = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    for pixels in (colour, photo):
        error = np.abs(lightness(pixels) - rgb_to_lab(pixels / np.float32(255))[:, :, 0])
        assert error.max() < 0.2 and error.mean() < 0.1
    np.testing.assert_array_equal(lightness(np.dstack([photo, np.full((40, 60), 9, np.uint8)])), lightness(photo))

    network_input, context = prepare(spec, gray)
    as_floats, float_context = prepare(spec, gray / np.float32(255))   # the general path: the same values
    np.testing.assert_array_equal(network_input, as_floats)
    np.testing.assert_array_equal(context["lab_l"], float_context["lab_l"])
    resized = cv2.resize(context["lab_l"], (16, 16), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(network_input[0], np.clip(resized / 50.0 - 1.0, -1, 1), atol=1e-6)
    with_alpha = np.dstack([gray, np.full((40, 60), 128, np.uint8)])
    np.testing.assert_array_equal(prepare(spec, with_alpha)[0], network_input)
