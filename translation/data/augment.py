"""Augmentation pipelines (albumentations): the same random resize / crop / flip for both halves of a pair.

A pipeline is re-seeded for every sample from (run seed, epoch, sample index), so what a sample looks
like depends on nothing else: not on worker processes, not on where a resumed run picked up.
"""
from __future__ import annotations

from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np
import torch

from ..errors import TranslationError

PREPROCESS_MODES = ("resize_and_crop", "crop", "scale_width", "random_scale", "none")
PREPROCESS_HELP = """\
  resize_and_crop  resize to --load-size x --load-size, then crop --crop-size (the papers' default)
  crop             crop --crop-size from the full-size image
  scale_width      scale the width to --load-size keeping the aspect ratio, then crop --crop-size
  random_scale     scale the short side to a random size from --crop-size to --load-size (aspect kept),
                   then crop --crop-size: detail at many scales from few large photos (--no-enlarge: sizes
                   above the picture's own short side are not drawn)
  none             full size, padded (reflection) to the generator's size multiple; needs --batch-size 1"""


@dataclass(frozen=True)
class AugmentConfig:
    preprocess: str = "resize_and_crop"
    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    rotate: bool = False    # all eight symmetries of the square (90-degree turns and flips) instead of flip
    size_multiple: int = 1  # "none" pads height and width up to a multiple of this
    colour_jitter: float = 0.0   # strength (0-1) of random brightness, contrast, saturation and hue shifts
    enlarge: bool = True    # random_scale may draw sizes above the picture's own (False: only down, or to the crop)

    def __post_init__(self) -> None:
        if self.preprocess not in PREPROCESS_MODES:
            raise TranslationError(f"unknown --preprocess {self.preprocess!r}; choose one of {', '.join(PREPROCESS_MODES)}")
        if self.preprocess in ("resize_and_crop", "random_scale") and self.load_size < self.crop_size:
            raise TranslationError(f"--load-size {self.load_size} is smaller than --crop-size {self.crop_size}; "
                                   "the crop is taken from the resized image")
        if not 0.0 <= self.colour_jitter <= 1.0:
            raise TranslationError(f"--colour-jitter {self.colour_jitter}: choose a strength from 0 (off) to 1")


def build_pipeline(config: AugmentConfig, *, train: bool) -> A.Compose:
    """Resize step, then a random crop and flip (or turn) when training (a centre crop, no flip, otherwise),
    and colour shifts when asked (training only).

    Call it with ``image=`` and optionally ``image_b=``: both get exactly the same transform.
    """
    resize = dict(interpolation=cv2.INTER_CUBIC, area_for_downscale="image")
    steps: list[A.BasicTransform] = []
    if config.preprocess == "resize_and_crop":
        steps.append(A.Resize(config.load_size, config.load_size, **resize))
    elif config.preprocess == "scale_width":
        steps.append(A.LongestMaxSize(max_size_hw=(None, config.load_size), **resize))
    elif config.preprocess == "random_scale":
        sizes = list(range(config.crop_size, config.load_size + 1, 8)) if train else [config.crop_size]
        scale_to = A.SmallestMaxSize if config.enlarge else _NoLargerThanItself
        steps.append(scale_to(max_size=sizes, **resize))
    if config.preprocess == "none":
        steps.append(A.PadIfNeeded(min_height=None, min_width=None, pad_height_divisor=config.size_multiple,
                                   pad_width_divisor=config.size_multiple, border_mode=cv2.BORDER_REFLECT_101))
    else:
        crop = A.RandomCrop if train else A.CenterCrop
        steps.append(crop(config.crop_size, config.crop_size))
    if train and config.rotate:
        steps.append(A.SquareSymmetry(p=1.0))  # one of the eight, uniformly (identity included)
    elif train and config.flip:
        steps.append(A.HorizontalFlip(p=0.5))
    if train and config.colour_jitter > 0:
        # at strength 1: brightness and contrast +-20%, saturation +-30%, hue +-18 degrees; one image in five
        # stays as it is, so the collection's own colours are still seen as they are
        s = config.colour_jitter
        steps.append(A.ColorJitter(brightness=0.2 * s, contrast=0.2 * s, saturation=0.3 * s, hue=0.05 * s, p=0.8))
    return A.Compose(steps, additional_targets={"image_b": "image"})


class _NoLargerThanItself(A.SmallestMaxSize):
    """``SmallestMaxSize`` drawing only from the sizes up to the picture's own short side (the smallest
    size when none is): a picture enlarged by interpolation is a blurred target, which teaches a
    super-resolution network to blur."""

    def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
        short_side = min(params["shape"][:2])
        sizes = [size for size in self.max_size if size <= short_side] or [min(self.max_size)]
        return {"scale": self.py_random.choice(sizes) / short_side}


def sample_seed(*key: int) -> int:
    """A 32-bit seed that depends on every element of ``key`` (e.g. run seed, epoch, sample index)."""
    return int(np.random.SeedSequence([int(k) for k in key]).generate_state(1)[0])


def apply(pipeline: A.Compose, seed: int, image: np.ndarray, image_b: np.ndarray | None = None
          ) -> tuple[np.ndarray, np.ndarray | None]:
    pipeline.set_random_seed(seed)
    if image_b is None:
        return pipeline(image=image)["image"], None
    out = pipeline(image=image, image_b=image_b)
    return out["image"], out["image_b"]


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """H x W x C uint8 (or float [0, 1]) -> C x H x W float32 in [-1, 1]."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    scaled = pixels.astype(np.float32) / 127.5 - 1.0 if pixels.dtype == np.uint8 else pixels.astype(np.float32) * 2 - 1
    return torch.from_numpy(np.ascontiguousarray(scaled.transpose(2, 0, 1)))
