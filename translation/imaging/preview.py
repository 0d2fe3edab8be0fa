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


def side_by_side(images: list[LoadedImage], height: int, gap: int = 6) -> np.ndarray:
    """``images`` at one height (``height``, or the tallest one's if less), left to right on white with
    ``gap`` pixels between them: one 8-bit RGB thumbnail (alpha composited over white)."""
    height = min(height, max(image.height for image in images))
    tiles = []
    for image in images:
        pixels = preview_pixels(image, (max(1, round(image.width * height / image.height)), height))
        if pixels.shape[2] == 4:
            alpha = pixels[:, :, 3:].astype(np.float32) / 255.0
            pixels = np.rint(pixels[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
        tiles += [pixels, np.full((height, gap, 3), 255, np.uint8)]
    return np.concatenate(tiles[:-1], axis=1)
