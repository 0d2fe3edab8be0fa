"""Training: one loop (loop.py) shared by the model families (families/: pix2pix.py, cyclegan.py, ...).

``TrainConfig`` imports without torch; ``train`` (the loop) is imported on first use.
"""
from __future__ import annotations

from typing import Any

from .config import TrainConfig, load_config

__all__ = ["TrainConfig", "load_config", "train"]


def __getattr__(name: str) -> Any:
    if name == "train":
        from .loop import train

        return train
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
