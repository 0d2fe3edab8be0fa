"""``translation eval``: a model's quality on held-out photographs, with the task's honest baseline.

    super-resolution  photo -> area-downscaled by the model's scale -> model; PSNR/SSIM vs the photo,
                      and the same for plain bicubic upscaling (the baseline to beat); then the same
                      from four copies degraded like the training inputs (blur, noise, JPEG: degraded_*)
    colorization      photo -> gray -> model; PSNR/SSIM vs the photo; colourfulness of the output
                      (the gray input scores 0, the photo its own value)
    sketch-to-photo   photo -> extracted sketch -> model; PSNR/SSIM/L1 vs the photo
    style-transfer    photo -> model -> back-model -> PSNR/L1 vs the photo (cycle reconstruction)
"""
from __future__ import annotations

import dataclasses
import functools
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from . import metrics, tasks
from .imaging.colour import luminance
from .imaging.io import IMAGE_SUFFIXES, LoadedImage, read_image, to_float, to_uint8
from .errors import TranslationError


@dataclass
class Evaluation:
    task: str
    model: str
    per_image: list[dict[str, float | str]] = field(default_factory=list)

    @property
    def images(self) -> int:
        return len(self.per_image)

    @property
    def summary(self) -> dict[str, float]:
        keys = [k for k in (self.per_image[0] if self.per_image else {}) if k != "image"]
        return {k: float(np.mean([row[k] for row in self.per_image])) for k in keys}

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "images": self.images, "summary": self.summary}


def list_photos(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise TranslationError(f"{folder}: photo folder not found")
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not photos:
        raise TranslationError(f"{folder}: no images to evaluate on")
    return photos


def _fit(rgb: np.ndarray, max_side: int, multiple: int) -> np.ndarray:
    """Shrink so the long side is at most ``max_side`` and crop both sides to a multiple of ``multiple``."""
    h, w = rgb.shape[:2]
    factor = min(1.0, max_side / max(h, w))
    if factor < 1.0:
        rgb = cv2.resize(rgb, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA)
    h, w = rgb.shape[:2]
    return rgb[: h - h % multiple, : w - w % multiple]


def _run(engine, rgb: np.ndarray) -> np.ndarray:
    """Translate float (or 8-bit) pixels as an 8-bit file would hold them; float output."""
    from .runtime import translate

    return to_float(translate(LoadedImage(rgb=to_uint8(rgb)), engine).rgb)


def _super_resolution(engine, photo: np.ndarray, seed: int) -> dict[str, float]:
    scale = engine.info.task.scale
    h, w = photo.shape[:2]

    def scores(low: np.ndarray, prefix: str) -> dict[str, float]:
        low = to_uint8(low)  # what a user's 8-bit file holds
        output = _run(engine, low)
        bicubic = np.clip(cv2.resize(to_float(low), (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)
        return {f"{prefix}psnr": metrics.psnr(output, photo), f"{prefix}ssim": metrics.ssim(output, photo),
                f"{prefix}bicubic_psnr": metrics.psnr(bicubic, photo),
                f"{prefix}bicubic_ssim": metrics.ssim(bicubic, photo)}

    row = scores(cv2.resize(photo, (w // scale, h // scale), interpolation=cv2.INTER_AREA), "")
    # the photo through the training degradations: a few seeded draws (one draw swings the score by a dB)
    rng = np.random.default_rng(seed)
    draws = [scores(tasks.degrade(photo, scale, rng), "degraded_") for _ in range(DEGRADED_DRAWS)]
    return {**row, **{key: float(np.mean([d[key] for d in draws])) for key in draws[0]}}


def _colorization(engine, photo: np.ndarray, seed: int) -> dict[str, float]:
    gray = np.repeat(luminance(photo)[..., None], 3, axis=2)
    output = _run(engine, gray)
    return {"psnr": metrics.psnr(output, photo), "ssim": metrics.ssim(output, photo),
            "gray_psnr": metrics.psnr(gray, photo), "colourfulness": metrics.colourfulness(output),
            "photo_colourfulness": metrics.colourfulness(photo)}


def _sketch_to_photo(engine, photo: np.ndarray, seed: int) -> dict[str, float]:
    sketch = np.repeat(tasks.extract_sketch(photo)[..., None], 3, axis=2)
    output = _run(engine, sketch)
    return {"psnr": metrics.psnr(output, photo), "ssim": metrics.ssim(output, photo), "l1": metrics.l1(output, photo)}


def _cycle(engine, back, photo: np.ndarray, seed: int) -> dict[str, float]:
    restored = _run(back, _run(engine, photo))
    return {"cycle_psnr": metrics.psnr(restored, photo), "cycle_l1": metrics.l1(restored, photo)}


DEGRADED_DRAWS = 4   # degraded copies per photo for super-resolution's degraded_* scores
# Each measure takes (engine, photo, seed): the seed (from the file name) is for random degradations.
_MEASURES = {"super-resolution": _super_resolution, "colorization": _colorization,
             "sketch-to-photo": _sketch_to_photo}


def evaluate(model, photos: Sequence[str | Path], *, back_model=None, max_side: int = 512,
             progress: Callable[[int, int], None] | None = None) -> Evaluation:
    """Evaluate an Engine (or model name/path) on photos; style transfer needs ``back_model`` too."""
    from .runtime import Engine

    engine = model if isinstance(model, Engine) else Engine(model)
    back = back_model if back_model is None or isinstance(back_model, Engine) else Engine(back_model)
    task = engine.info.task
    if task.name == "style-transfer" and back is None:
        raise TranslationError(f"{engine.info.name}: style transfer is measured by cycle reconstruction; "
                               "give the opposite direction with --back-model")
    if task.name in _MEASURES:
        measure = functools.partial(_MEASURES[task.name], engine)
    elif back is not None:
        measure = functools.partial(_cycle, engine, back)
    else:
        raise TranslationError(f"{engine.info.name}: no evaluation defined for task {task.name!r}")
    result = Evaluation(task=task.name, model=engine.info.name)
    for index, path in enumerate(photos):
        # the low-resolution input must come from whole pixels: sides a multiple of the scale
        photo = _fit(read_image(path).to_float(), max_side, task.scale)
        name = Path(path).name
        result.per_image.append({"image": name, **measure(photo, seed=zlib.crc32(name.encode()))})
        if progress:
            progress(index + 1, len(photos))
    return result
