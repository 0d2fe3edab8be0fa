"""Temporal stabilisation: each output frame blended with the previous (stabilised) output, warped along
the motion of the input frames, wherever that motion can be trusted.

    S_t = O_t + strength * c_t * (warp(S_{t-1}, flow_t) - O_t)

``O_t`` is the frame translated on its own, ``c_t`` the motion's confidence (zero on occlusions, new
content and moving objects the flow misses; see ``flow.py``). The first frame and the first frame of
every new shot are taken as translated. A network that paints textures a little differently on each
frame then keeps what it painted where the scene did not change, while its translation stays: the
stabilised frames differ from the frame-by-frame ones only by the flicker.
"""
from __future__ import annotations

import cv2
import numpy as np

from .flow import Motion, resize_flow, warp
from .options import DEFAULT_STRENGTH


def _at(confidence: np.ndarray, height: int, width: int) -> np.ndarray:
    if confidence.shape == (height, width):
        return confidence
    return cv2.resize(confidence, (width, height), interpolation=cv2.INTER_LINEAR)


class Stabilizer:
    """Stabilises one video's output frames in order; ``__call__`` per frame."""

    def __init__(self, strength: float = DEFAULT_STRENGTH) -> None:
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"stabilisation strength must be in [0, 1), got {strength}")
        self.strength = float(strength)
        self.previous: np.ndarray | None = None
        self.resets = 0   # frames taken as translated: the first and each scene cut's

    def __call__(self, output: np.ndarray, motion: Motion | None) -> np.ndarray:
        """``output``: H x W x 3 float32 in [0, 1] (the frame translated on its own); ``motion``: from the
        previous input frame to this one (None for the first). Returns the stabilised frame."""
        previous = self.previous
        if previous is None or motion is None or motion.scene_cut or previous.shape != output.shape:
            self.resets += 1
            result = output
        else:
            height, width = output.shape[:2]
            flow = resize_flow(motion.flow, height, width)
            weight = _at(motion.confidence, height, width) * np.float32(self.strength)
            result = warp(previous, flow)          # becomes output + weight * (warped - output), in place
            # OpenCV's arithmetic: the same values as numpy's, at a third of the CPU (a weight per pixel
            # broadcast over the channels is numpy's slow, strided case)
            cv2.subtract(result, output, dst=result)
            cv2.multiply(result, cv2.merge((weight, weight, weight)), dst=result)
            cv2.add(result, output, dst=result)
        self.previous = result
        return result
