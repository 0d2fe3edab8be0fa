"""Flicker, measured: the warping error of Lai et al. (2018, "Learning Blind Video Temporal Consistency").

The mean absolute difference (gray levels, 0-255, over the colour channels) between each frame and the
previous frame warped along the motion of the *input* frames, over the pixels that motion keeps in
view and does not occlude, averaged over the frames. Frames larger than the flow (a super-resolution
output) get the flow scaled up to their size.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .flow import resize_flow, warp


def warping_error(frames: Sequence[np.ndarray], flows: Sequence[np.ndarray | None],
                  masks: Sequence[np.ndarray | None]) -> float:
    """``frames``: uint8 H x W x 3; ``flows[t]``: backward flow from frame t to t - 1 (``flows[0]`` unused);
    ``masks[t]``: where it holds (bool, at the flow's resolution)."""
    errors = []
    for t in range(1, len(frames)):
        current = frames[t].astype(np.float32)
        height, width = current.shape[:2]
        flow = resize_flow(flows[t], height, width)
        mask = masks[t]
        if mask.shape != (height, width):
            mask = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
        if not mask.any():
            continue
        difference = np.abs(current - warp(frames[t - 1].astype(np.float32), flow)).mean(axis=2)
        errors.append(float(difference[mask].mean()))
    if not errors:
        raise ValueError("no frame pair with pixels in view to measure")
    return float(np.mean(errors))
