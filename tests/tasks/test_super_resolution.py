"""Super-resolution: the bicubic upscale refined, pairs from degraded photos."""
from __future__ import annotations

import cv2
import numpy as np
from task_photos import smooth_photo

from translation.tasks import finish, get_task, prepare, training_pair
from translation.tasks.super_resolution import degrade


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


def test_super_resolution_pair_is_a_degraded_photo():
    spec = get_task("super-resolution")
    photo = smooth_photo(32, 32)
    source, target = training_pair(spec, photo, np.random.default_rng(1))
    np.testing.assert_allclose(target, photo.transpose(2, 0, 1) * 2 - 1, atol=1e-6)
    difference = np.abs(source - target).mean()
    assert 0.001 < difference < 0.3  # degraded, but still the same picture
    other, _ = training_pair(spec, photo, np.random.default_rng(2))
    assert not np.array_equal(source, other)  # the degradation is random


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


def test_the_degradation_rate_scales_how_often_inputs_are_degraded():
    photo = cv2.GaussianBlur(np.random.default_rng(0).random((64, 64, 3)).astype(np.float32), (0, 0), 1.5)
    photo = (photo - photo.min()) / (photo.max() - photo.min())
    clean = np.round(cv2.resize(np.round(photo * 255).astype(np.uint8), (16, 16), interpolation=cv2.INTER_AREA))

    def untouched(rate: float) -> int:
        draws = [degrade(photo, 4, np.random.default_rng(seed), rate) for seed in range(60)]
        return sum(np.array_equal(np.round(low * 255), clean) for low in draws)

    assert untouched(0.0) == 60                        # clean area downscales only
    assert untouched(0.5) > untouched(1.0) > untouched(5.0)
    assert untouched(5.0) <= 2                          # JPEG on every input (a faint noise alone may round away)
    # training_pair passes the rate on: at 0 the input is the bicubic upscale of the clean downscale, whatever the draw
    spec = get_task("super-resolution")
    inputs = {training_pair(spec, photo, np.random.default_rng(seed), degradation=0.0)[0].tobytes() for seed in range(8)}
    assert len(inputs) == 1
