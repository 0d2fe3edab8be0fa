"""Super-resolution x4: the network refines the bicubic upscale of a small photo (rgb -> rgb).

It learns from photos shrunk the way cameras and the web shrink them (``degrade``), and is measured
against plain bicubic upscaling, the baseline it has to beat.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..imaging.io import to_float, to_uint8
from .processing import as_float_rgb, encode_input, resize, to_chw
from .spec import Examples, Measure, ModelUnderTest, Task, TaskSpec, register_task
from .tab import AppTab

DEGRADED_DRAWS = 4   # degraded copies per photo for the degraded_* scores (one draw swings a score by a dB)


def degrade(rgb: np.ndarray, scale: int, rng: np.random.Generator, rate: float = 1.0) -> np.ndarray:
    """A low-resolution version of a photo as cameras and the web make them: sometimes a little blur,
    an area downscale by ``scale``, sometimes sensor noise and JPEG.
    H x W x 3 float [0, 1] -> (H // scale) x (W // scale) x 3 float32.
    ``rate`` scales how often each degradation happens (0: clean area downscales only).

    Each degradation is applied to only part of the samples, so clean downscales (what most
    low-resolution files are) stay common: a model trained only on heavy blur over-sharpens clean
    inputs and loses to bicubic on them. Every choice is drawn from ``rng`` and handed to
    albumentations as a fixed value (its own seeding draws the same number for every transform of a
    pipeline, which would couple the degradations), so a seeded generator gives the same result every time.
    """
    import albumentations as A

    rgb = as_float_rgb(rgb)
    height, width = rgb.shape[:2]
    steps: list = []
    if rng.random() < 0.1 * rate:
        sigma = float(rng.uniform(0.2, max(0.3, 0.25 * scale)))  # at x4: up to 1 px before the downscale
        steps.append(A.GaussianBlur(sigma_limit=(sigma, sigma), blur_limit=0, p=1.0))
    steps.append(A.Resize(max(1, height // scale), max(1, width // scale), interpolation=cv2.INTER_AREA))
    if rng.random() < 0.15 * rate:
        std = float(rng.uniform(0.003, 0.02))
        steps.append(A.GaussNoise(std_range=(std, std), per_channel=bool(rng.random() < 0.7), p=1.0))
    if rng.random() < 0.2 * rate:
        quality = int(rng.integers(60, 96))
        steps.append(A.ImageCompression(compression_type="jpeg", quality_range=(quality, quality), p=1.0))
    pipeline = A.Compose(steps)
    pipeline.set_random_seed(int(rng.integers(2**31)))  # the noise pattern
    return pipeline(image=to_uint8(rgb))["image"].astype(np.float32) / 255.0


def super_resolution_pair(spec: TaskSpec, rgb: np.ndarray, rng: np.random.Generator,
                          degradation: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A photo crop -> (the bicubic upscale of its degraded copy, the crop itself); ``degradation``: the
    rate of ``degrade``'s blur, noise and JPEG (``translation train --degradation``)."""
    height, width = rgb.shape[:2]
    upscaled = np.clip(resize(degrade(rgb, spec.scale, rng, degradation), height, width, cv2.INTER_CUBIC), 0.0, 1.0)
    return encode_input(spec, upscaled), to_chw(rgb * 2.0 - 1.0)


def _scores(model: ModelUnderTest, photo: np.ndarray, seed: int) -> dict[str, float]:
    """From an area downscale of the photo, then from a few degraded copies (degraded_*): the model
    and plain bicubic upscaling, each against the photo."""
    from .. import metrics  # imports torch: only when measuring

    scale = model.spec.scale
    h, w = photo.shape[:2]

    def scores(low: np.ndarray, prefix: str) -> dict[str, float]:
        low = to_uint8(low)  # what a user's 8-bit file holds
        output = model.translate(low)
        bicubic = np.clip(cv2.resize(to_float(low), (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)
        return {f"{prefix}psnr": metrics.psnr(output, photo), f"{prefix}ssim": metrics.ssim(output, photo),
                f"{prefix}bicubic_psnr": metrics.psnr(bicubic, photo),
                f"{prefix}bicubic_ssim": metrics.ssim(bicubic, photo)}

    row = scores(cv2.resize(photo, (w // scale, h // scale), interpolation=cv2.INTER_AREA), "")
    rng = np.random.default_rng(seed)
    draws = [scores(degrade(photo, scale, rng), "degraded_") for _ in range(DEGRADED_DRAWS)]
    return {**row, **{key: float(np.mean([d[key] for d in draws])) for key in draws[0]}}


EXAMPLE_SIDE = 160   # long side of the example inputs


def low_resolution_example(rgb: np.ndarray) -> np.ndarray:
    """A held-out picture shrunk to a long side of ``EXAMPLE_SIDE`` (area average: a clean downscale)."""
    height, width = rgb.shape[:2]
    ratio = EXAMPLE_SIDE / max(height, width)
    return cv2.resize(rgb, (max(1, round(width * ratio)), max(1, round(height * ratio))), interpolation=cv2.INTER_AREA)


TASK = register_task(Task(
    spec=TaskSpec("super-resolution", "rgb", "rgb", scale=4),
    make_pair=super_resolution_pair,
    pair_options=("degradation",),
    measure=Measure("PSNR/SSIM vs the photo, and the bicubic baseline's, from a clean (area) downscale "
                    "and from copies degraded like the training inputs (degraded_*)", _scores),
    model_names=("super-resolution",),
    examples=Examples(("fresh-flower", "green-meadow", "one-stands-out", "wood"), make=low_resolution_example),
    app=AppTab("Super-resolution", "super_resolve", "Upscale",
               "Enlarge a small or blurry photo four times, restoring detail."),
))
