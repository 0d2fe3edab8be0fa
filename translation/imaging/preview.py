"""Small 8-bit copies of images for showing them (a page's before / after slider)."""
from __future__ import annotations

import cv2
import numpy as np

from .io import LoadedImage, to_uint8


def preview_size(image: LoadedImage, longest_side: int) -> tuple[int, int]:
    """(width, height) of ``image`` shrunk to at most ``longest_side`` on its long side (never enlarged)."""
    ratio = min(1.0, longest_side / max(image.height, image.width))
    return max(1, round(image.width * ratio)), max(1, round(image.height * ratio))


def preview_pixels(image: LoadedImage, size: tuple[int, int]) -> np.ndarray:
    """``image`` as 8-bit RGB (RGBA with its alpha) at ``size`` (width, height)."""
    pixels = to_uint8(image.rgb)
    if image.alpha is not None:
        pixels = np.dstack([pixels, to_uint8(image.alpha)])
    if (pixels.shape[1], pixels.shape[0]) != size:
        shrinking = size[0] < pixels.shape[1]
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    return pixels
