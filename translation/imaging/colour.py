"""Colour conversions on H x W x C float pixels (numpy / OpenCV).

Lab uses OpenCV's float32 CIE Lab (D65, sRGB). kornia's ``rgb_to_lab`` / ``lab_to_rgb`` compute the
same space (they agree within 0.6 Lab units: a test checks it) but take 1.1 s for a 4096x4096 photo on
two CPU cores where OpenCV takes 0.05 s, with torch-sized temporaries on top, so the per-image path
uses OpenCV; training's display code uses kornia on tensors.
"""
from __future__ import annotations

import cv2
import numpy as np

from .io import to_float

_LUMA_601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 float [0, 1] sRGB -> H x W x 3 float32 CIE Lab (L in [0, 100], ab roughly +-110)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2Lab)


def _gray_levels_lightness() -> np.ndarray:
    """CIE L of the 256 gray levels of 8-bit pixels, as ``rgb_to_lab`` computes it for them."""
    levels = np.multiply(np.arange(256, dtype=np.uint8), np.float32(1 / 255.0), dtype=np.float32)
    return rgb_to_lab(np.repeat(levels[None, :, None], 3, axis=2))[0, :, 0].copy()


_GRAY_LIGHTNESS = _gray_levels_lightness()

# 8-bit colour pixels: CIE Y as the sum of what each channel's level adds (its linear light times its
# sRGB -> XYZ weight, one table per channel), then L from Y in 65,535 steps. The formulas exactly,
# within 0.2 L of OpenCV's float conversion (whose sRGB curve is an interpolated table), at a third of its
# work and without a float copy of the photo.
_Y_STEPS = 65535.0


def _level_luminance() -> np.ndarray:
    levels = np.arange(256, dtype=np.float64) / 255.0
    linear = np.where(levels <= 0.04045, levels / 12.92, ((levels + 0.055) / 1.055) ** 2.4)
    weights = np.array([0.212671, 0.715160, 0.072169])   # the Y row of sRGB (D65) -> XYZ, as OpenCV's
    return (linear[:, None] * weights[None, :]).astype(np.float32)[None]   # 1 x 256 x 3: cv2.LUT's layout


def _lightness_of_luminance() -> np.ndarray:
    y = np.arange(int(_Y_STEPS) + 1, dtype=np.float64) / _Y_STEPS
    return np.where(y > 0.008856, 116.0 * np.cbrt(y) - 16.0, 903.3 * y).astype(np.float32)


_LEVEL_LUMINANCE = _level_luminance()
_LIGHTNESS_OF_LUMINANCE = _lightness_of_luminance()
_SUM_CHANNELS = np.ones((1, 3), dtype=np.float32)


def _colour_lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L of H x W x 3 uint8 sRGB pixels (H x W float32)."""
    luminance = cv2.transform(cv2.LUT(np.ascontiguousarray(rgb), _LEVEL_LUMINANCE), _SUM_CHANNELS)
    return _LIGHTNESS_OF_LUMINANCE[cv2.multiply(luminance, _Y_STEPS, dtype=cv2.CV_16U)]


def is_gray(pixels: np.ndarray) -> bool:
    """Whether H x W x C pixels have R = G = B everywhere (a black-and-white photo stored as RGB)."""
    return bool(np.array_equal(pixels[:, :, 0], pixels[:, :, 1]) and np.array_equal(pixels[:, :, 0], pixels[:, :, 2]))


def lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L (H x W float32 in [0, 100], its own array) of H x W x 3 pixels (uint8, uint16 or float [0, 1]), or
    of 8-bit gray H x W: ``rgb_to_lab`` of the pixels as floats, its first plane.

    8-bit gray pixels (a 2-D array, or R = G = B) are looked up in a table of the 256 gray levels' L:
    the same values at a fifteenth of the work, for the black-and-white photos colorization is fed.
    Other 8-bit pixels go through tables too (``_colour_lightness``: within 0.2 L of the float path).
    """
    pixels = np.asarray(rgb)
    if pixels.dtype == np.uint8:
        if pixels.ndim == 2:
            return _GRAY_LIGHTNESS[pixels]
        if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
            return _GRAY_LIGHTNESS[pixels[:, :, 0]] if is_gray(pixels) else _colour_lightness(pixels[:, :, :3])
    colour = pixels[:, :, :3]
    return cv2.extractChannel(rgb_to_lab(colour if colour.dtype.kind == "f" else to_float(colour)), 0)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """H x W x 3 float32 CIE Lab -> H x W x 3 float32 sRGB clipped to [0, 1]."""
    rgb = cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of H x W x 3 float pixels -> H x W float32."""
    return np.clip(rgb.astype(np.float32, copy=False) @ _LUMA_601, 0.0, 1.0)
