"""Style transfer: photo <-> digital art, a CycleGAN pair of rgb -> rgb models, one per direction.

There are no pairs to learn from, so it trains on two unpaired folders and is measured by how well a
photo survives the way there and back.
"""
from __future__ import annotations

from .measures import CYCLE_RECONSTRUCTION
from .spec import Examples, Task, TaskSpec, register_task
from .tab import AppTab, ModelChoice

PHOTO_TO_ART = "style-photo2art"
ART_TO_PHOTO = "style-art2photo"

TASK = register_task(Task(
    spec=TaskSpec("style-transfer", "rgb", "rgb"),
    measure=CYCLE_RECONSTRUCTION,
    model_names=(PHOTO_TO_ART, ART_TO_PHOTO),
    examples=Examples(("fresh-flower", "one-stands-out", "kay", "safe-landing")),  # the two most unlike artworks
    app=AppTab("Style transfer", "style_transfer", "Transfer style",
               "Turn a photo into a painting, or a painting into a photo (CycleGAN).",
               choices=(ModelChoice(PHOTO_TO_ART, "photo2art", "photo → art"),
                        ModelChoice(ART_TO_PHOTO, "art2photo", "art → photo")),
               choice_label="Direction"),
))
