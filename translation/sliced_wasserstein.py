"""How far a set of images lies from another as distributions, with no learned weights: the sliced
Wasserstein distance between their Laplacian-pyramid patches (Karras et al. 2018, "Progressive growing
of GANs", section 5), in place of FID / KID, whose Inception weights would have to be downloaded.

Each image is split into a Laplacian pyramid (the finest level at full size, each next one at half the
size, the coarsest the low-pass remainder); from every level of every image ``patches`` 7 x 7 x 3
neighbourhoods are cut at random places. Per level, the two sets of descriptors are standardised with
the same per-channel statistics (of both sets together, so a shift of colour or contrast counts; Karras
et al. standardise each set on its own) and compared by the sliced Wasserstein distance: the mean,
over random unit directions, of the 1-D Wasserstein distance between the projected sets. The reported
``swd`` is the mean over the levels, times 1000 as in the paper: 0 for sets with the same patch
statistics, larger the further apart; only comparable between runs with the same settings and sizes.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

PATCH = 7            # the side of a neighbourhood
PATCHES = 128        # neighbourhoods per image and level
DIRECTIONS = 512     # random projections per repeat
REPEATS = 4
COARSEST = 16        # the smallest level's short side is at least this


def laplacian_pyramid(rgb: np.ndarray, levels: int) -> list[np.ndarray]:
    """``levels`` band-pass images of an H x W x 3 float picture, finest first; the last is the low-pass rest."""
    pyramid, current = [], rgb.astype(np.float32)
    for _ in range(levels - 1):
        smaller = cv2.pyrDown(current)
        pyramid.append(current - cv2.pyrUp(smaller, dstsize=(current.shape[1], current.shape[0])))
        current = smaller
    return pyramid + [current]


def level_count(sizes: Sequence[tuple[int, int]], coarsest: int = COARSEST) -> int:
    """How many octaves every image of ``sizes`` (h, w) has with a short side of at least ``coarsest``."""
    shortest = min(min(h, w) for h, w in sizes)
    if shortest < coarsest:
        raise ValueError(f"images of {shortest} px are too small for the distance (at least {coarsest} px)")
    return int(np.floor(np.log2(shortest / coarsest))) + 1


def _neighbourhoods(level: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random PATCH x PATCH x 3 neighbourhoods of one level, flattened: count x (PATCH * PATCH * 3)."""
    h, w = level.shape[:2]
    ys = rng.integers(0, h - PATCH + 1, count)
    xs = rng.integers(0, w - PATCH + 1, count)
    windows = np.lib.stride_tricks.sliding_window_view(level, (PATCH, PATCH), axis=(0, 1))  # h' x w' x 3 x P x P
    return windows[ys, xs].reshape(count, -1)


def descriptors(images: Sequence[np.ndarray], levels: int, rng: np.random.Generator,
                patches: int = PATCHES) -> list[np.ndarray]:
    """Per level, the neighbourhoods of all ``images``: ``levels`` arrays of (len(images) * patches) x 147."""
    per_level: list[list[np.ndarray]] = [[] for _ in range(levels)]
    for image in images:
        for index, level in enumerate(laplacian_pyramid(image, levels)):
            per_level[index].append(_neighbourhoods(level, patches, rng))
    return [np.concatenate(found) for found in per_level]


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, directions: int = DIRECTIONS,
                       repeats: int = REPEATS) -> float:
    """The sliced Wasserstein distance between two sets of vectors (n x d and m x d; n and m may differ)."""
    quantiles = (np.arange(max(len(a), len(b))) + 0.5) / max(len(a), len(b))
    distances = []
    for _ in range(repeats):
        axes = rng.standard_normal((a.shape[1], directions))
        axes /= np.linalg.norm(axes, axis=0, keepdims=True)
        projected_a, projected_b = np.sort(a @ axes, axis=0), np.sort(b @ axes, axis=0)
        if len(a) != len(b):  # compare the two quantile functions on a common grid
            projected_a, projected_b = (_quantiles(p, quantiles) for p in (projected_a, projected_b))
        distances.append(np.abs(projected_a - projected_b).mean())
    return float(np.mean(distances))


def _quantiles(sorted_values: np.ndarray, at: np.ndarray) -> np.ndarray:
    positions = (np.arange(len(sorted_values)) + 0.5) / len(sorted_values)
    return np.stack([np.interp(at, positions, column) for column in sorted_values.T], axis=1)


def swd(images: Sequence[np.ndarray], reference: Sequence[np.ndarray], *, seed: int = 0,
        patches: int = PATCHES) -> dict[str, float | list[float]]:
    """The distance of ``images`` from ``reference`` (H x W x 3 float pictures in [0, 1], sizes may vary):
    ``swd`` (the mean over the levels, x 1000) and ``levels`` (each level's, finest first)."""
    if not images or not reference:
        raise ValueError("the distance needs at least one image on each side")
    levels = level_count([image.shape[:2] for image in (*images, *reference)])
    rng = np.random.default_rng(seed)
    ours, theirs = descriptors(images, levels, rng, patches), descriptors(reference, levels, rng, patches)
    per_level = []
    for a, b in zip(ours, theirs):
        both = np.concatenate([a, b]).reshape(-1, 3, PATCH * PATCH)
        mean = both.mean(axis=(0, 2)).repeat(PATCH * PATCH)
        std = both.std(axis=(0, 2)).repeat(PATCH * PATCH) + 1e-8
        per_level.append(1e3 * sliced_wasserstein((a - mean) / std, (b - mean) / std, rng))
    return {"swd": float(np.mean(per_level)), "levels": per_level}
