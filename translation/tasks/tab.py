"""How a task presents itself in the web app: its tab's words, its endpoints and the input it wants.

The app builds one tab per registered task that has an ``AppTab``, in registration order; nothing in
the app names a task.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelChoice:
    """A shipped model offered by a friendlier name (style transfer's directions)."""

    model: str    # the model's file stem, e.g. "style-photo2art"
    value: str    # what the page and the API send for it, e.g. "photo2art"
    label: str    # what the page shows, e.g. "photo → art"


@dataclass(frozen=True)
class AppTab:
    title: str                      # the tab's name, e.g. "Colorization"
    api_name: str                   # the upload endpoint, e.g. /colorize
    button: str                     # the run button, e.g. "Colorize"
    blurb: str                      # one sentence under the tab's name
    upload_label: str = "Input image"
    # a sketchpad besides the upload, its drawing laid on white paper, served at this endpoint
    drawing_api_name: str | None = None
    drawing_colours: tuple[str, ...] = ("#000000",)   # the sketchpad's brushes
    # models picked by these names (a radio) instead of by file name (a dropdown)
    choices: tuple[ModelChoice, ...] = ()
    choice_label: str = "Model"
