"""What makes the video path cheaper on the CPU keeps its results (OpenCV held at one thread: tests/runtime),
DIS's pyramid fitted to small frames, one encoder thread for small frames, one-pass
quantisation and OpenCV arithmetic in the stabiliser."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from translation.examples import EXAMPLES_DIR
from translation.imaging.io import read_image, to_uint8
from translation.video.flow import Motion, MotionEstimator, coarsest_scale, flow_gray, warp
from translation.video.io import VideoInfo, VideoReader
from translation.video.stabilize import Stabilizer
from translation.video.synthetic import camera_pan, write_clip
from translation.video.writer import VideoWriter


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return read_image(EXAMPLES_DIR / "style-transfer" / "kay.jpg").rgb


@pytest.mark.parametrize("height, width, coarsest", [(60, 80, 1), (48, 64, 1), (64, 96, 2), (240, 320, 3),
                                                     (384, 512, 4), (30, 40, 0)])
def test_coarsest_scale_is_opencvs(height, width, coarsest):
    assert coarsest_scale(height, width, 8) == coarsest


def test_small_frames_get_flow_from_the_coarsest_level_and_large_ones_the_preset(photo):
    for width, height, finest in ((80, 60, 1), (320, 240, 2)):
        clip = camera_pan(photo, width=width, height=height, frames=2, pan=(0.5, 0.2), noise=1.0)
        previous, current = (flow_gray(f) for f in clip.frames)
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        dis.setFinestScale(finest)
        motion = MotionEstimator()(previous, current)
        np.testing.assert_array_equal(motion.flow, dis.calc(current, previous, None))
        error = np.linalg.norm(motion.flow - clip.flows[1], axis=2)[clip.visible[1]].mean()
        assert error < 0.2, (width, error)


def info_for(width: int, height: int) -> VideoInfo:
    return VideoInfo(path=Path("source.mp4"), container="mp4", codec="h264", width=width, height=height, rotation=0,
                     time_base=Fraction(1, 25), average_rate=Fraction(25), frames=0, seconds=None, audio_codec=None)


@pytest.mark.parametrize("width, height, threads", [(320, 240, 1), (1280, 720, 0)])
def test_small_frames_are_encoded_by_one_thread(tmp_path, width, height, threads):
    writer = VideoWriter(tmp_path / "out.mp4", info_for(width, height), width, height)
    try:
        assert writer._stream.codec_context.thread_count == threads
    finally:
        writer.abandon()


def test_frames_read_are_ffmpegs_own_rgb(photo, tmp_path):
    frames = camera_pan(photo, width=96, height=64, frames=3, noise=1.0).frames
    path = write_clip(tmp_path / "clip.mp4", frames)
    with VideoReader(path) as reader:
        ours = [frame.rgb for frame in reader.frames()]
    with av.open(str(path)) as container:
        theirs = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)




def test_the_stabilisers_blend_is_the_formula():
    rng = np.random.default_rng(1)
    height, width = 48, 64
    first, second = (rng.random((height, width, 3), dtype=np.float32) for _ in range(2))
    flow = rng.normal(0, 0.5, (height // 4, width // 4, 2)).astype(np.float32)
    confidence = rng.random((height // 4, width // 4), dtype=np.float32)
    stabilizer = Stabilizer(0.8)
    stabilizer(first, None)
    result = stabilizer(second, Motion(flow, confidence, scene_cut=False))
    big_flow = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR) * np.float32(4)
    weight = cv2.resize(confidence, (width, height), interpolation=cv2.INTER_LINEAR)[:, :, None] * np.float32(0.8)
    expected = second + weight * (warp(first, big_flow) - second)
    np.testing.assert_allclose(result, expected, atol=1e-6)
