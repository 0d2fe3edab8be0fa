"""Temporal stabilisation on synthetic clips, with a stand-in "translation" that flickers: each frame
gets its own smooth colour blotches on top of the input, as a network that repaints every frame does."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from translation.examples import EXAMPLES_DIR
from translation.imaging.io import read_image
from translation.metrics import psnr
from translation.video.flicker import warping_error
from translation.video.flow import MotionEstimator, flow_gray
from translation.video.stabilize import Stabilizer
from translation.video.synthetic import camera_pan


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return read_image(EXAMPLES_DIR / "style-transfer" / "kay.jpg").rgb


def flickering(frames: list[np.ndarray], seed: int = 0, amount: float = 0.06) -> list[np.ndarray]:
    """float [0, 1] frames, each with blotches of its own (+-``amount``): frame-by-frame flicker."""
    rng = np.random.default_rng(seed)
    out = []
    for frame in frames:
        height, width = frame.shape[:2]
        blotches = cv2.resize(rng.normal(0, amount, (4, 4, 3)).astype(np.float32), (width, height),
                              interpolation=cv2.INTER_CUBIC)
        out.append(np.clip(frame.astype(np.float32) / 255 + blotches, 0, 1))
    return out


def stabilised(frames: list[np.ndarray], outputs: list[np.ndarray], strength: float = 0.8) -> tuple[list, list]:
    """(stabilised frames, motions) exactly as the video pipeline makes them."""
    estimator, stabilizer = MotionEstimator(), Stabilizer(strength)
    grays = [flow_gray(f) for f in frames]
    motions = [None] + [estimator(grays[t - 1], grays[t]) for t in range(1, len(frames))]
    return [stabilizer(o, m) for o, m in zip(outputs, motions)], motions


def as_uint8(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [np.round(f * 255).astype(np.uint8) for f in frames]


def test_flicker_on_a_noisy_pan_drops_by_more_than_half_and_the_picture_stays(photo):
    clip = camera_pan(photo, width=128, height=96, frames=16, pan=(0.7, 0.2), zoom=0.004, noise=1.5)
    plain = flickering(clip.frames)
    steady, _ = stabilised(clip.frames, plain)
    before = warping_error(as_uint8(plain), clip.flows, clip.visible)
    after = warping_error(as_uint8(steady), clip.flows, clip.visible)
    floor = warping_error(clip.frames, clip.flows, clip.visible)
    assert before > 2 * floor                       # the stand-in flickers well above the input's noise
    assert after < 0.5 * before, (before, after)
    assert np.mean([psnr(a, b) for a, b in zip(plain[1:], steady[1:])]) >= 25.0


def test_a_scene_cut_starts_afresh(photo):
    other = np.ascontiguousarray(photo[::-1, ::-1, ::-1])      # another "shot": upside down, colours swapped
    first = camera_pan(photo, width=96, height=64, frames=6, noise=1.0, seed=1).frames
    second = camera_pan(other, width=96, height=64, frames=6, noise=1.0, seed=2).frames
    frames = first + second
    outputs = flickering(frames, seed=3)
    steady, motions = stabilised(frames, outputs)
    assert not any(m.scene_cut for m in motions[1:6] + motions[7:])
    assert motions[6].scene_cut
    np.testing.assert_array_equal(steady[6], outputs[6])   # nothing of the old shot shows through
    old_shot = np.abs(steady[7] - outputs[5]).mean()
    assert np.abs(steady[7] - outputs[7]).mean() < 0.25 * old_shot   # and it goes on from the new one


def test_a_moving_object_leaves_no_trail():
    height, width, side, speed = 64, 96, 16, 6
    background = np.full((height, width, 3), 90, np.uint8)
    background[:, ::12] = 60                                 # some texture for the flow to hold on to
    frames = []
    for t in range(8):
        frame = background.copy()
        x = 8 + speed * t
        frame[24:24 + side, x:x + side] = 250                # a bright square moving right, on a still scene
        frames.append(frame)
    outputs = [f.astype(np.float32) / 255 for f in frames]   # a translation without flicker: the identity
    steady, _ = stabilised(frames, outputs)
    for t in range(1, 8):
        uncovered = slice(24, 24 + side), slice(8 + speed * (t - 1), 8 + speed * t)   # where the square just was
        trail = np.abs(steady[t][uncovered] - outputs[t][uncovered]).max()
        assert trail < 0.1, f"frame {t}: the square smears over the background ({trail:.2f})"
        square = slice(24, 24 + side), slice(8 + speed * t + 2, 8 + speed * t + side - 2)
        assert steady[t][square].min() > 0.9                 # and the square itself stays bright


def test_strength_zero_is_frame_by_frame(photo):
    clip = camera_pan(photo, width=64, height=48, frames=4, noise=1.0)
    outputs = flickering(clip.frames)
    steady, _ = stabilised(clip.frames, outputs, strength=0.0)
    for a, b in zip(steady, outputs):
        np.testing.assert_allclose(a, b)
