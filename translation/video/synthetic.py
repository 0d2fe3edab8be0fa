"""Synthetic clips with known motion: a camera panning and zooming over a photo, with sensor noise.

For measuring flicker (``benchmarks/bench_video.py``), drawing the README's frame strip and testing.
The motion is exact, so the flicker measure needs no flow estimate of its own: ``CameraClip.flows[t]``
is the true backward flow from frame t to frame t - 1 and ``CameraClip.visible[t]`` where that
previous position lies inside the frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from .flow import pixel_grid


@dataclass
class CameraClip:
    frames: list[np.ndarray]                       # H x W x 3 uint8
    flows: list[np.ndarray | None] = field(default_factory=list)    # flows[0] is None
    visible: list[np.ndarray | None] = field(default_factory=list)  # H x W bool


def camera_pan(photo: np.ndarray, *, width: int, height: int, frames: int, pan: tuple[float, float] = (1.0, 0.25),
               zoom: float = 0.0, noise: float = 2.0, seed: int = 0) -> CameraClip:
    """``frames`` views of ``photo`` (uint8 RGB), moving ``pan`` photo pixels a frame and zooming in by
    ``zoom`` (a share of the view) a frame, with Gaussian noise of ``noise`` gray levels (0-255)."""
    rng = np.random.default_rng(seed)
    grid = pixel_grid(height, width)
    photo_h, photo_w = photo.shape[:2]
    first_scale = min((photo_w - 2 - abs(pan[0]) * frames) / width, (photo_h - 2 - abs(pan[1]) * frames) / height, 1.0)
    if first_scale <= 0:
        raise ValueError("the photo is too small for this clip: lower the size, the frames or the pan")
    clip = CameraClip(frames=[])
    previous = None
    for t in range(frames):
        scale = first_scale * (1.0 - zoom) ** t          # photo pixels per frame pixel
        centre = np.array([photo_w / 2 + pan[0] * (t - frames / 2), photo_h / 2 + pan[1] * (t - frames / 2)],
                          np.float32)
        origin = centre - scale * np.array([width / 2, height / 2], np.float32)
        coords = origin + grid * scale                      # where each frame pixel looks in the photo
        view = cv2.remap(photo, coords[..., 0], coords[..., 1], interpolation=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)
        noisy = view.astype(np.float32) + rng.normal(0.0, noise, view.shape).astype(np.float32)
        clip.frames.append(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
        if previous is None:
            clip.flows.append(None)
            clip.visible.append(None)
        else:
            previous_origin, previous_scale = previous
            there = (coords - previous_origin) / previous_scale
            clip.flows.append((there - grid).astype(np.float32))
            clip.visible.append((there[..., 0] >= 0) & (there[..., 0] <= width - 1)
                                & (there[..., 1] >= 0) & (there[..., 1] <= height - 1))
        previous = (origin, scale)
    return clip


def slow_noisy_pan(photo: np.ndarray, *, width: int, height: int, frames: int, scale: int = 1) -> CameraClip:
    """The clip flicker is measured on (benchmark, README strip): 0.6 px a frame sideways, 0.15 down, a
    0.2% zoom a frame, sensor noise of 1.5 gray levels. ``scale``: the same view at 1/scale of the size
    (a super-resolution model's input, so its output matches the others')."""
    if scale > 1:
        photo = cv2.resize(photo, (photo.shape[1] // scale, photo.shape[0] // scale), interpolation=cv2.INTER_AREA)
    return camera_pan(photo, width=width // scale, height=height // scale, frames=frames,
                      pan=(0.6 / scale, 0.15 / scale), zoom=0.002, noise=1.5, seed=0)


def write_clip(path: str | Path, frames: list[np.ndarray], *, fps: int = 25, codec: str = "libx264",
               timestamps_ms: list[int] | None = None, rotation: int = 0, audio_seconds: float = 0.0,
               quality: int = 12, faststart: bool = False) -> Path:
    """Encode uint8 RGB frames (coded orientation) as a video file; ``timestamps_ms`` for a variable
    frame rate, ``rotation`` as display metadata, ``audio_seconds`` of a 440 Hz tone as AAC,
    ``faststart``: an MP4's index before its data (as streaming sites write them)."""
    path = Path(path)
    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w", options={"movflags": "+faststart"} if faststart else None) as container:
        options = {"crf": str(quality)} if codec == "libx264" else {}
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        time_base = Fraction(1, 1000) if timestamps_ms else Fraction(1, fps)
        stream.time_base = stream.codec_context.time_base = time_base
        if rotation:
            stream.set_display_rotation(rotation)
        audio = None
        if audio_seconds > 0:
            audio = container.add_stream("aac", rate=16000)
            audio.layout = "mono"
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = (timestamps_ms[index] if timestamps_ms else index), time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio is not None:
            t = np.arange(int(16000 * audio_seconds)) / 16000
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            samples = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            samples.sample_rate, samples.pts = 16000, 0
            container.mux(audio.encode(samples))
            container.mux(audio.encode(None))
    return path
