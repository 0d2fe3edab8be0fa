"""The sliced Wasserstein distance on Laplacian-pyramid patches: zero-ish for the same pictures, larger the
further a set's colours or textures move from the reference's, per pyramid level where the change is."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from translation.sliced_wasserstein import laplacian_pyramid, level_count, sliced_wasserstein, swd


def pictures(seed: int, count: int = 12, size: tuple[int, int] = (48, 64)) -> list[np.ndarray]:
    """Warm pictures: smooth gradients and discs, red above green above blue."""
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(count):
        y, x = np.mgrid[0:size[0], 0:size[1]] / max(size)
        picture = np.stack([0.6 + 0.3 * x, 0.4 * y + 0.2, 0.1 + 0.1 * x * y], axis=2)
        for _ in range(3):
            centre = tuple(int(v) for v in rng.integers(8, min(size) - 8, 2))
            cv2.circle(picture, centre, int(rng.integers(3, 10)), tuple(float(c) for c in rng.random(3) * [1, .6, .3]), -1)
        found.append((picture + rng.normal(0, 0.02, picture.shape)).clip(0, 1).astype(np.float32))
    return found


def test_the_pyramid_adds_back_up_to_the_picture():
    picture = pictures(0, 1)[0]
    levels = laplacian_pyramid(picture, 3)
    assert [level.shape[:2] for level in levels] == [(48, 64), (24, 32), (12, 16)]
    rebuilt = levels[-1]
    for band in reversed(levels[:-1]):
        rebuilt = cv2.pyrUp(rebuilt, dstsize=(band.shape[1], band.shape[0])) + band
    assert np.abs(rebuilt - picture).max() < 1e-5
    assert level_count([(48, 64), (130, 40)]) == 2 and level_count([(256, 300)]) == 5
    with pytest.raises(ValueError, match="too small"):
        level_count([(12, 64)])


def test_distance_grows_as_the_set_moves_away():
    reference = pictures(1)
    same_kind = swd(pictures(2), reference)["swd"]
    shifted = swd([np.clip(p + 0.1, 0, 1) for p in pictures(2)], reference)["swd"]
    permuted = swd([p[:, :, [2, 0, 1]] for p in pictures(2)], reference)["swd"]
    assert same_kind < 0.5 * shifted < shifted < permuted, (same_kind, shifted, permuted)
    # seeded: the same sets give the same distance; the other way round, a close one
    assert swd(pictures(2), reference)["swd"] == same_kind
    assert swd(reference, pictures(2))["swd"] == pytest.approx(same_kind, rel=0.5)


def test_a_blur_shows_on_the_fine_levels():
    reference = pictures(3)
    blurred = swd([cv2.GaussianBlur(p, (0, 0), 2.0) for p in pictures(4)], reference)
    sharp = swd(pictures(4), reference)
    assert len(blurred["levels"]) == 2  # 48 px: 48 and 24 (the low-pass rest)
    assert blurred["levels"][0] > 2 * sharp["levels"][0]
    assert blurred["levels"][1] < 2 * sharp["levels"][1]


def test_sets_of_other_sizes_and_counts():
    reference = pictures(5, 12, (48, 64))
    result = swd(pictures(6, 5, (64, 40)), reference)
    assert len(result["levels"]) == 2 and np.isfinite(result["swd"])
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 8))
    assert sliced_wasserstein(a, a[:150], rng) < 0.2 < sliced_wasserstein(a, a[:150] + 1.0, rng)
    with pytest.raises(ValueError, match="at least one image"):
        swd([], reference)
