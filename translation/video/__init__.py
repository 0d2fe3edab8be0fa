"""Video: clips translated frame by frame through the same pipeline as images, without flicker.

    from translation.video import translate_video
    summary = translate_video("clip.mp4", "clip-art.mp4", "style-photo2art", progress=print)

Reading and writing go through PyAV (``io.py``, ``writer.py``): frame count, timestamps (variable
frame rates too), rotation and the audio stream are kept. Temporal stabilisation (``stabilize.py``,
on by default) blends each output with the previous one warped along the DIS optical flow of the
inputs (``flow.py``), where a forward-backward check trusts it, and starts afresh at scene cuts;
``flicker.py`` measures what is left (warping error).
"""
from __future__ import annotations

import importlib
from typing import Any

from .options import (CONTAINERS, DEFAULT_QUALITY, DEFAULT_STRENGTH, VIDEO_SUFFIXES, VideoLimits, VideoOptions,
                      is_video_path)

# The rest loads PyAV (FFmpeg) on first use: an image-only conversion never pays for it.
_LAZY = {"VideoInfo": "io", "VideoReader": "io", "probe": "io", "Stabilizer": "stabilize",
         "VideoSummary": "translate", "translate_frames": "translate", "translate_video": "translate",
         "PREFERRED_ENCODERS": "writer", "VideoWriter": "writer", "available_encoders": "writer"}

__all__ = [
    "CONTAINERS", "DEFAULT_QUALITY", "DEFAULT_STRENGTH", "PREFERRED_ENCODERS", "Stabilizer", "VIDEO_SUFFIXES",
    "VideoInfo", "VideoLimits", "VideoOptions", "VideoReader", "VideoSummary", "VideoWriter", "available_encoders",
    "is_video_path", "probe", "translate_frames", "translate_video",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
