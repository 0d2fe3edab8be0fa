"""Motion between consecutive input frames: OpenCV's DIS optical flow, and where it can be trusted.

``estimate_motion(previous, current)`` gives, for every pixel of the current frame, where it was in the
previous one (the backward flow), and a confidence: zero where the forward-backward check fails
(occlusions, things that move differently from their surroundings), where the warped previous frame
does not match the current one (new content, lighting jumps) or where the pixel came from outside the
frame. Most of the frame failing means a scene cut. Flow runs on gray frames at most ``FLOW_SIDE``
pixels long, so its cost stays small beside the network's; a super-resolution model's small input
frames get it at their own size (cheap), and the stabiliser scales it up to the output.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

FLOW_SIDE = 512                 # flow is estimated with the long side at most this
CONSISTENCY_SLACK = 0.5         # pixels² of forward-backward mismatch always allowed (Sundaram et al. 2010)
CONSISTENCY_RELATIVE = 0.01     # ... plus this share of the squared flow lengths
MATCH_THRESHOLD = 24.0          # gray levels (0-255) a warped pixel may differ from the current one
EDGE_MARGIN = 2                 # pixels of doubt widened around every failed pixel
SCENE_CUT_SHARE = 0.5           # less than this share of trusted pixels: a new shot


@dataclass(frozen=True)
class Motion:
    """Backward flow and its confidence, at flow resolution (``flow.shape[:2]``)."""

    flow: np.ndarray            # h x w x 2 float32: (dx, dy) from each current pixel to the previous frame
    confidence: np.ndarray      # h x w float32 in [0, 1]
    scene_cut: bool

    @property
    def trusted_share(self) -> float:
        return float(self.confidence.mean())


def flow_gray(rgb: np.ndarray, side: int = FLOW_SIDE) -> np.ndarray:
    """An upright RGB frame as the gray image flow is estimated on (shrunk to a long side of ``side``)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    height, width = gray.shape
    factor = side / max(height, width)
    if factor < 1:
        gray = cv2.resize(gray, (max(1, round(width * factor)), max(1, round(height * factor))),
                          interpolation=cv2.INTER_AREA)
    return gray


@functools.lru_cache(maxsize=8)
def pixel_grid(height: int, width: int) -> np.ndarray:
    """h x w x 2 float32 of (x, y) coordinates (shared and read-only: one per frame size)."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    grid = np.dstack([xs, ys])
    grid.flags.writeable = False
    return grid


def _sample(image: np.ndarray, coords: np.ndarray) -> np.ndarray:
    return cv2.remap(image, coords, None, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` (the previous frame) sampled where ``flow`` says each current pixel came from."""
    return _sample(image, pixel_grid(*flow.shape[:2]) + flow)


def resize_flow(flow: np.ndarray, height: int, width: int) -> np.ndarray:
    """A flow field at another resolution, its vectors scaled with it."""
    h, w = flow.shape[:2]
    if (h, w) == (height, width):
        return flow
    # vectors scaled before resizing, both linear: the same field, without strided passes over the large one
    scaled = flow * np.array([width / w, height / h], np.float32)
    return cv2.resize(scaled, (width, height), interpolation=cv2.INTER_LINEAR)


def consistent(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Where following the backward flow and then the forward flow comes back (within the usual slack)
    and the previous position lies inside the frame."""
    height, width = backward.shape[:2]
    source = pixel_grid(height, width) + backward
    forward_there = _sample(forward, source)
    mismatch = _squared_length(backward + forward_there)
    allowed = CONSISTENCY_RELATIVE * (_squared_length(backward) + _squared_length(forward_there)) + CONSISTENCY_SLACK
    inside = cv2.inRange(source, (0.0, 0.0), (width - 1.0, height - 1.0)) > 0
    return (mismatch <= allowed) & inside


def _squared_length(flow: np.ndarray) -> np.ndarray:
    return cv2.magnitude(flow[..., 0], flow[..., 1]) ** 2


def coarsest_scale(height: int, width: int, patch_size: int) -> int:
    """The coarsest pyramid level OpenCV's DIS searches on for a frame of this size (its own formula)."""
    by_long_side = int(math.log2(max(height, width) / (4.0 * patch_size)) + 0.5)
    by_short_side = int(math.floor(math.log2(min(height, width) / patch_size)))
    return max(0, min(by_long_side, by_short_side))


class MotionEstimator:
    """DIS flow (both directions) between consecutive gray frames; one per video (it is not thread-safe)."""

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST) -> None:
        self._dis = cv2.DISOpticalFlow_create(preset)
        self._finest = self._dis.getFinestScale()

    def _fit_pyramid(self, height: int, width: int) -> None:
        # On frames under ~90 px (a super-resolution model's input) the preset's finest level (2) is
        # coarser than the coarsest one the frame has room for, and DIS then falls back to a pyramid down
        # to full resolution: 4x the cost of stopping at the coarsest level, and no more accurate (0.10 px
        # off the true flow against 0.05 on benchmarks/bench_video.py's 80x60 pan; equal up to 5 px a frame).
        self._dis.setFinestScale(min(self._finest, coarsest_scale(height, width, self._dis.getPatchSize())))

    def __call__(self, previous: np.ndarray, current: np.ndarray) -> Motion:
        """``previous`` / ``current``: gray uint8 frames from ``flow_gray``."""
        self._fit_pyramid(*current.shape[:2])
        backward = self._dis.calc(current, previous, None)
        forward = self._dis.calc(previous, current, None)
        trusted = consistent(backward, forward)
        mismatch = np.abs(warp(previous, backward).astype(np.float32) - current.astype(np.float32))
        trusted &= cv2.GaussianBlur(mismatch, (5, 5), 0) <= MATCH_THRESHOLD
        if EDGE_MARGIN:
            kernel = np.ones((2 * EDGE_MARGIN + 1, 2 * EDGE_MARGIN + 1), np.uint8)
            trusted = cv2.erode(trusted.astype(np.uint8), kernel).astype(bool)
        confidence = cv2.blur(trusted.astype(np.float32), (3, 3)) * trusted
        return Motion(backward, confidence, scene_cut=float(trusted.mean()) < SCENE_CUT_SHARE)
