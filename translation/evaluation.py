"""``translation eval``: a model's quality on held-out photographs, with the task's honest baseline.

Each task brings its own measure (``Task.measure``: super-resolution against bicubic upscaling,
colorization against the gray input, ...); a model of a task without one is measured by cycle
reconstruction when the opposite direction is given (``back_model``). Given images of the domain the
model translates into (``target``), the outputs are also compared with them as a distribution: the
sliced Wasserstein distance of their Laplacian-pyramid patches (``swd``, lower is better, no learned
weights: sliced_wasserstein.py), beside that of the untranslated photos (``swd_input``), for unpaired
models with or without a way back (CycleGAN, CUT).
"""
from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .errors import TranslationError
from .imaging.files import list_images
from .imaging.io import LoadedImage, read_image, to_float, to_uint8
from .tasks import ModelUnderTest, find_task
from .tasks.measures import CYCLE_RECONSTRUCTION


@dataclass
class Evaluation:
    task: str
    model: str
    per_image: list[dict[str, float | str]] = field(default_factory=list)
    distribution: dict[str, float] = field(default_factory=dict)   # swd, swd_input: of all outputs together

    @property
    def images(self) -> int:
        return len(self.per_image)

    @property
    def summary(self) -> dict[str, float]:
        keys = [k for k in (self.per_image[0] if self.per_image else {}) if k != "image"]
        return {**{k: float(np.mean([row[k] for row in self.per_image])) for k in keys}, **self.distribution}

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "images": self.images, "summary": self.summary}


def list_photos(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise TranslationError(f"{folder}: photo folder not found")
    photos = list_images(folder)
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


def _translator(engine) -> Callable[[np.ndarray], np.ndarray]:
    """Float (or 8-bit) pixels through ``engine`` as an 8-bit file would hold them; float output."""
    from .runtime import translate

    return lambda rgb: to_float(translate(LoadedImage(rgb=to_uint8(rgb)), engine).rgb)


def evaluate(model, photos: Sequence[str | Path], *, back_model=None, target: Sequence[str | Path] = (),
             max_side: int = 512, progress: Callable[[int, int], None] | None = None) -> Evaluation:
    """Evaluate an Engine (or model name/path) on photos; cycle measures (style transfer) need ``back_model``
    unless ``target`` (images of the output domain) is given, which adds the distribution distance."""
    from .runtime import Engine

    engine = model if isinstance(model, Engine) else Engine(model)
    back = back_model if back_model is None or isinstance(back_model, Engine) else Engine(back_model)
    task = engine.info.task
    registered = find_task(task.name)
    measure = registered.measure if registered else None
    if measure is None and back is not None:
        measure = CYCLE_RECONSTRUCTION
    if measure is CYCLE_RECONSTRUCTION and back is None:
        if not target:
            raise TranslationError(f"{engine.info.name}: {task.name} is measured by cycle reconstruction (give the "
                                   "opposite direction with --back-model) or by the distance to images of the "
                                   "domain it translates into (--target DIR)")
        measure = None  # no way back: the distance to the target domain alone
    if measure is None and not target:
        raise TranslationError(f"{engine.info.name}: no evaluation defined for task {task.name!r}; give images of "
                               "the domain it translates into (--target) for the distribution distance")
    outputs = _Remembered(_translator(engine))
    subject = ModelUnderTest(engine.info.name, task, outputs, _translator(back) if back else None)
    result = Evaluation(task=task.name, model=engine.info.name)
    inputs, translated = [], []
    for index, path in enumerate(photos):
        # the low-resolution input must come from whole pixels: sides a multiple of the scale
        photo = _fit(read_image(path).to_float(), max_side, task.scale)
        name = Path(path).name
        scores = measure.score(subject, photo, zlib.crc32(name.encode())) if measure is not None else {}
        if scores:
            result.per_image.append({"image": name, **scores})
        if target:
            inputs.append(photo)
            translated.append(outputs.of(photo))
        if progress:
            progress(index + 1, len(photos))
    if target:
        result.distribution = distribution_distance(inputs, translated, target, max_side)
    return result


def distribution_distance(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray],
                          target: Sequence[str | Path], max_side: int) -> dict[str, float]:
    """``swd``: how far the outputs lie from the ``target`` images (shrunk to ``max_side`` as the photos
    are); ``swd_input``: how far the photos themselves lie (what a model that changes nothing scores)."""
    from .sliced_wasserstein import swd

    reference = [_fit(read_image(path).to_float(), max_side, 1) for path in target]
    return {"swd": swd(list(outputs), reference)["swd"], "swd_input": swd(list(inputs), reference)["swd"],
            "target_images": float(len(reference))}


class _Remembered:
    """A translator that keeps its last output, so the distance reuses what the measure translated."""

    def __init__(self, translate: Callable[[np.ndarray], np.ndarray]) -> None:
        self.translate = translate
        self.last: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        output = self.translate(rgb)
        self.last = (rgb, output)
        return output

    def of(self, rgb: np.ndarray) -> np.ndarray:
        """The translation of ``rgb``: the remembered one when it was the last input, else a new one."""
        return self.last[1] if self.last is not None and self.last[0] is rgb else self(rgb)
