"""Measures more than one task can use."""
from __future__ import annotations

import numpy as np

from ..errors import TranslationError
from .spec import Measure, ModelUnderTest


def _cycle_scores(model: ModelUnderTest, photo: np.ndarray, seed: int) -> dict[str, float]:
    from .. import metrics  # imports torch: only when measuring

    if model.back is None:
        raise TranslationError(f"{model.name}: {model.spec.name} is measured by cycle reconstruction; "
                               "give the opposite direction with --back-model")
    translated = model.translate(photo)
    restored = model.back(translated)
    # how far the translation moved the picture: a cycle is easy to keep by changing nothing
    return {"cycle_psnr": metrics.psnr(restored, photo), "cycle_l1": metrics.l1(restored, photo),
            "change_l1": metrics.l1(translated, photo)}


CYCLE_RECONSTRUCTION = Measure("cycle reconstruction: photo -> --model -> --back-model vs the photo, and how much "
                               "--model changed it (change_l1, mean absolute difference in [0, 1])", _cycle_scores)
