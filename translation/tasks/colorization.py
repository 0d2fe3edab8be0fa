"""Colorization: a gray photo -> colour. The network sees CIE L and predicts ab, at most 512 px on the
long side; the chroma is upsampled and merged with the full-resolution L of the input."""
from __future__ import annotations

import numpy as np

from ..imaging.colour import luminance, rgb_to_lab
from ..imaging.io import to_float, to_uint8
from .processing import to_chw
from .spec import AB_SCALE, Examples, Measure, ModelUnderTest, Task, TaskSpec, register_task
from .tab import AppTab


def colorization_pair(spec: TaskSpec, rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A photo crop -> (its L, its ab), both scaled to [-1, 1]."""
    lab = rgb_to_lab(rgb)
    source = to_chw(lab[:, :, 0] / 50.0 - 1.0)
    target = to_chw(lab[:, :, 1:] / AB_SCALE)
    return np.clip(source, -1.0, 1.0), np.clip(target, -1.0, 1.0)


def _scores(model: ModelUnderTest, photo: np.ndarray, seed: int) -> dict[str, float]:
    """The photo made gray, coloured by the model; the gray input is the baseline (colourfulness 0)."""
    from .. import metrics  # imports torch: only when measuring

    gray = np.repeat(luminance(photo)[..., None], 3, axis=2)
    output = model.translate(gray)
    return {"psnr": metrics.psnr(output, photo), "ssim": metrics.ssim(output, photo),
            "gray_psnr": metrics.psnr(gray, photo), "colourfulness": metrics.colourfulness(output),
            "photo_colourfulness": metrics.colourfulness(photo)}


TASK = register_task(Task(
    spec=TaskSpec("colorization", "lab_l", "lab_ab", working_size=512),
    make_pair=colorization_pair,
    measure=Measure("PSNR/SSIM vs the photo, colourfulness of the output (gray input = 0)", _scores),
    model_names=("colorization",),
    examples=Examples(("fresh-flower", "green-meadow", "one-stands-out"), make=lambda rgb: to_uint8(luminance(to_float(rgb)))),
    claims_unlabelled_channels=True,   # 1 -> 2 channels: no other task looks like this
    app=AppTab("Colorization", "colorize", "Colorize", "Bring colour to a black-and-white photo."),
))
