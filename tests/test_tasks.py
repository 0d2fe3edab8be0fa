"""Tasks: prepare/finish round trips, metadata, training pairs, sketches and degradations."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from translation.errors import TranslationError
from translation.imaging.colour import lab_to_rgb, rgb_to_lab
from translation.tasks import (
    TASKS,
    TaskSpec,
    degrade,
    extract_sketch,
    finish,
    get_task,
    prepare,
    training_pair,
)


def smooth_photo(height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth, colourful float32 image in [0, 1], like a downscaled photo."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.dstack([0.5 + 0.4 * np.sin(x / 9.0), 0.5 + 0.35 * np.cos(y / 7.0), 0.3 + 0.5 * (x + y) / (height + width)])
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def shapes_photo(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A light background with a dark filled square; returns the image and the square's mask."""
    rgb = np.full((size, size, 3), (0.85, 0.8, 0.75), np.float32)
    mask = np.zeros((size, size), np.uint8)
    mask[16:48, 20:44] = 1
    rgb[mask == 1] = (0.15, 0.2, 0.45)
    return rgb, mask


# ----------------------------------------------------------------------------------- specs and metadata

def test_builtin_tasks():
    assert set(TASKS) == {"style-transfer", "colorization", "super-resolution", "sketch-to-photo", "custom"}
    color = get_task("colorization")
    assert (color.input_space, color.output_space, color.in_channels, color.out_channels) == ("lab_l", "lab_ab", 1, 2)
    assert color.working_size == 512
    sr = get_task("super-resolution")
    assert (sr.in_channels, sr.out_channels, sr.scale) == (3, 3, 4)
    sketch = get_task("sketch-to-photo")
    assert (sketch.input_space, sketch.in_channels, sketch.out_channels) == ("gray", 1, 3)
    assert get_task("style-transfer").scale == 1 and get_task("custom").input_space == "rgb"


def test_unknown_task_and_bad_specs():
    with pytest.raises(TranslationError, match="unknown task 'painting'"):
        get_task("painting")
    with pytest.raises(TranslationError, match="unknown input space"):
        TaskSpec("custom", "hsv", "rgb")
    with pytest.raises(TranslationError, match="scale"):
        TaskSpec("custom", "rgb", "rgb", scale=0)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_metadata_round_trip(name):
    spec = TASKS[name]
    meta = spec.to_metadata()
    assert set(meta) == {"task", "input_space", "output_space", "in_channels", "out_channels", "scale", "working_size"}
    assert all(isinstance(value, str) for value in meta.values())
    assert TaskSpec.from_metadata(meta) == spec


def test_from_metadata_tolerates_missing_keys():
    assert TaskSpec.from_metadata({}) == TaskSpec("custom", "rgb", "rgb")
    gray = TaskSpec.from_metadata({"in_channels": "1", "out_channels": "1", "network": "unet_256"})
    assert (gray.name, gray.input_space, gray.output_space) == ("custom", "gray", "gray")
    assert (gray.in_channels, gray.out_channels) == (1, 1)
    assert TaskSpec.from_metadata({"task": "super-resolution", "scale": "2"}).scale == 2
    assert TaskSpec.from_metadata({"task": "my-own-task"}) == TaskSpec("my-own-task", "rgb", "rgb")


def test_from_metadata_rejects_contradictions():
    with pytest.raises(TranslationError, match="in_channels"):
        TaskSpec.from_metadata({"input_space": "rgb", "in_channels": "1"})
    with pytest.raises(TranslationError, match="channels"):
        TaskSpec.from_metadata({"in_channels": "5"})
    with pytest.raises(TranslationError, match="integer"):
        TaskSpec.from_metadata({"scale": "four"})


# ----------------------------------------------------------------------------------- prepare / finish

@pytest.mark.parametrize("name", ["style-transfer", "custom"])
def test_identity_network_is_identity_for_rgb_tasks(name):
    photo = smooth_photo()
    network_input, context = prepare(get_task(name), photo)
    assert network_input.shape == (3, 48, 64) and network_input.dtype == np.float32
    assert network_input.min() >= -1.0 and network_input.max() <= 1.0
    np.testing.assert_allclose(finish(get_task(name), network_input, context), photo, atol=1e-6)


def test_super_resolution_output_is_four_times_larger():
    spec = get_task("super-resolution")
    photo = smooth_photo(12, 16)
    network_input, context = prepare(spec, photo)
    assert network_input.shape == (3, 48, 64)  # the network refines the bicubic upscale
    result = finish(spec, network_input, context)
    assert result.shape == (48, 64, 3)
    bicubic = np.clip(cv2.resize(photo, (64, 48), interpolation=cv2.INTER_CUBIC), 0, 1)
    np.testing.assert_allclose(result, bicubic, atol=1e-6)
    # downscaling the identity result gets the input back (roughly: bicubic is not invertible)
    assert np.abs(cv2.resize(result, (16, 12), interpolation=cv2.INTER_AREA) - photo).mean() < 0.02


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


def test_sketch_to_photo_input_is_gray_and_sketch_from_photo_extracts_lines():
    spec = get_task("sketch-to-photo")
    photo, _ = shapes_photo()
    network_input, context = prepare(spec, photo)
    assert network_input.shape == (1, 64, 64)
    expected_gray = (0.299 * photo[..., 0] + 0.587 * photo[..., 1] + 0.114 * photo[..., 2]) * 2 - 1
    np.testing.assert_allclose(network_input[0], expected_gray, atol=1e-5)
    from_photo, _ = prepare(spec, photo, sketch_from_photo=True)
    np.testing.assert_allclose(from_photo[0], extract_sketch(photo) * 2 - 1, atol=1e-5)
    assert finish(spec, np.zeros((3, 64, 64), np.float32), context).shape == (64, 64, 3)


def test_one_channel_rgb_output_is_replicated():
    spec = TaskSpec.from_metadata({"in_channels": "3", "out_channels": "1", "output_space": "rgb"})
    network_input, context = prepare(spec, smooth_photo())
    result = finish(spec, network_input[:1], context)
    assert result.shape == (48, 64, 3)
    np.testing.assert_array_equal(result[..., 0], result[..., 2])


# ----------------------------------------------------------------------------------- training pairs

@pytest.mark.parametrize("name,in_channels,out_channels",
                         [("colorization", 1, 2), ("super-resolution", 3, 3), ("sketch-to-photo", 1, 3)])
def test_training_pair_shapes_ranges_and_determinism(name, in_channels, out_channels):
    spec = get_task(name)
    photo = smooth_photo(32, 32)
    source, target = training_pair(spec, photo, np.random.default_rng(7))
    assert source.shape == (in_channels, 32, 32) and target.shape == (out_channels, 32, 32)
    for array in (source, target):
        assert array.dtype == np.float32 and array.min() >= -1.0 and array.max() <= 1.0
    again = training_pair(spec, photo, np.random.default_rng(7))
    np.testing.assert_array_equal(source, again[0])
    np.testing.assert_array_equal(target, again[1])


def test_super_resolution_pair_is_a_degraded_photo():
    spec = get_task("super-resolution")
    photo = smooth_photo(32, 32)
    source, target = training_pair(spec, photo, np.random.default_rng(1))
    np.testing.assert_allclose(target, photo.transpose(2, 0, 1) * 2 - 1, atol=1e-6)
    difference = np.abs(source - target).mean()
    assert 0.001 < difference < 0.3  # degraded, but still the same picture
    other, _ = training_pair(spec, photo, np.random.default_rng(2))
    assert not np.array_equal(source, other)  # the degradation is random


def test_colorization_pair_matches_prepare():
    spec = get_task("colorization")
    photo = smooth_photo(32, 32)
    source, target = training_pair(spec, photo, np.random.default_rng(0))
    network_input, context = prepare(spec, photo)
    np.testing.assert_allclose(source, network_input, atol=1e-6)
    np.testing.assert_allclose(finish(spec, target, context), photo, atol=0.01)


def test_tasks_without_self_supervision_refuse_pairs():
    with pytest.raises(TranslationError, match="paired or unpaired dataset"):
        training_pair(get_task("style-transfer"), smooth_photo(), np.random.default_rng(0))


def test_degrade_is_smaller_and_deterministic():
    photo = smooth_photo(32, 48)
    low = degrade(photo, 4, np.random.default_rng(3))
    assert low.shape == (8, 12, 3) and low.dtype == np.float32
    assert 0.0 <= low.min() and low.max() <= 1.0
    np.testing.assert_array_equal(low, degrade(photo, 4, np.random.default_rng(3)))
    reference = cv2.resize(photo, (12, 8), interpolation=cv2.INTER_AREA)
    assert np.abs(low - reference).mean() < 0.1


def test_degrade_keeps_clean_downscales_common():
    photo = cv2.GaussianBlur(np.random.default_rng(0).random((64, 64, 3)).astype(np.float32), (0, 0), 1.5)
    photo = (photo - photo.min()) / (photo.max() - photo.min())
    clean = np.round(cv2.resize(np.round(photo * 255).astype(np.uint8), (16, 16), interpolation=cv2.INTER_AREA))
    draws = [degrade(photo, 4, np.random.default_rng(seed)) for seed in range(60)]
    untouched = sum(np.array_equal(np.round(low * 255), clean) for low in draws)
    assert 25 <= untouched <= 50  # most samples are plain area downscales (about 60%), the rest degraded
    distinct = {np.round(low * 255).astype(np.uint8).tobytes() for low in draws}
    assert len(distinct) >= 60 - untouched - 2  # degraded samples differ from each other (faint noise may round away)


# ----------------------------------------------------------------------------------- sketches

def test_extract_sketch_draws_dark_lines_along_edges_on_white():
    photo, mask = shapes_photo()
    sketch = extract_sketch(photo)
    assert sketch.shape == (64, 64) and sketch.dtype == np.float32
    assert sketch.min() >= 0.0 and sketch.max() <= 1.0
    assert (sketch > 0.9).mean() > 0.8  # mostly white paper
    edges = cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
    near_edges = cv2.dilate(edges.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    dark = sketch < 0.5
    assert dark.sum() > 0.5 * edges.sum() / 2  # the outline is drawn ...
    assert dark[~near_edges].sum() == 0  # ... and nothing else
    inner_and_outer = ~cv2.dilate(edges.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert sketch[inner_and_outer].min() > 0.95  # flat areas are white, however dark the photo is there
    # every side of the square carries a line
    for side in (dark[14:19, 22:42], dark[45:50, 22:42], dark[18:46, 18:23], dark[18:46, 41:46]):
        assert side.any()


def test_extract_sketch_of_a_flat_image_is_blank():
    assert (extract_sketch(np.full((16, 16, 3), 0.1, np.float32)) == 1.0).all()


def test_from_metadata_fills_gaps_from_the_builtin_task():
    assert TaskSpec.from_metadata({"task": "colorization"}) == get_task("colorization")
    assert TaskSpec.from_metadata({"task": "super-resolution", "in_channels": "3"}).scale == 4
    assert TaskSpec.from_metadata({"task": "colorization", "working_size": "0"}).working_size == 0
    # a gray style-transfer model without spaces in its metadata: channels win over the built-in default
    gray_style = TaskSpec.from_metadata({"task": "style-transfer", "in_channels": "1", "out_channels": "3"})
    assert (gray_style.input_space, gray_style.output_space) == ("gray", "rgb")


def test_lab_conversions_agree_with_kornia():
    import kornia
    import torch

    rgb = np.random.default_rng(5).random((64, 64, 3)).astype(np.float32)
    as_tensor = lambda x: torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]  # noqa: E731
    ours = rgb_to_lab(rgb)
    theirs = kornia.color.rgb_to_lab(as_tensor(rgb))[0].permute(1, 2, 0).numpy()
    assert np.abs(ours - theirs).max() < 1.0  # Lab units (L 0..100, ab about +-110)
    back = kornia.color.lab_to_rgb(as_tensor(ours))[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(lab_to_rgb(ours), np.clip(back, 0, 1), atol=2e-3)
