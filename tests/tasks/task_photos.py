"""Small synthetic photos for the task tests (not a conftest.py: see tests/app/app_fixtures.py)."""
from __future__ import annotations

import numpy as np


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
