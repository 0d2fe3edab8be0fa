"""Reading video files with PyAV (FFmpeg inside its wheels; no system ffmpeg): upright RGB frames with
their timestamps, after the checks that turn a bad file into one line naming it.

Frames come out turned upright by the stream's rotation (the display matrix phones write), as 8-bit
RGB, in presentation order, each with its own timestamp (variable frame rates stay as they are).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import TranslationError, first_line
from .options import VIDEO_SUFFIXES, VideoLimits, is_video_path  # noqa: F401 - re-exported

log = logging.getLogger(__name__)

av.logging.set_level(av.logging.PANIC)  # FFmpeg's own console chatter; its errors reach us as exceptions


def _one_thread_reformat() -> dict:
    """PyAV >= 17 converts each frame to RGB with new swscale threads unless told one: two thread starts
    a frame, for a conversion that takes microseconds. Older PyAV has no such option (and no threads)."""
    try:
        av.VideoFrame(16, 16, "yuv420p").reformat(format="rgb24", threads=1)
    except TypeError:
        return {}
    return {"threads": 1}


_ONE_THREAD = _one_thread_reformat()


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    container: str               # FFmpeg's name of the file's format
    codec: str
    width: int                   # upright, as shown (the coded frames may be turned by ``rotation``)
    height: int
    rotation: int                # 0, 90, 180 or 270: degrees counter-clockwise the coded frames are shown turned
    time_base: Fraction
    average_rate: Fraction | None
    frames: int                  # from the container's index; 0 when it does not say
    seconds: float | None
    audio_codec: str | None      # the first audio stream's codec, copied to the output

    @property
    def frame_rate(self) -> float:
        return float(self.average_rate) if self.average_rate else 0.0


@dataclass
class Frame:
    rgb: np.ndarray              # H x W x 3 uint8, upright
    pts: int | None              # presentation timestamp in ``VideoInfo.time_base``
    index: int


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise TranslationError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise TranslationError(f"{path}: empty file")
    try:
        return av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        raise TranslationError(f"{path}: not a readable video (not a video at all, or truncated or damaged: "
                               f"{_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or first_line(exc, 120)
    return str(text).rstrip(".")


def _quarter_turns(rotation: float) -> int:
    """Display rotation -> quarter turns counter-clockwise that make the coded frame upright."""
    turns = round(rotation / 90.0)
    if abs(rotation - 90.0 * turns) > 1.0:
        log.warning("rotation of %.1f degrees is not a multiple of 90: frames are left as coded", rotation)
        return 0
    return turns % 4


class VideoReader:
    """A video file opened for reading; use as a context manager. ``info`` is known once it is open."""

    def __init__(self, path: str | Path, limits: VideoLimits = VideoLimits()) -> None:
        self.path = Path(path)
        self.limits = limits
        self._container = _open(self.path)
        try:
            self.info = self._inspect()
        except BaseException:
            self._container.close()
            raise

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    @property
    def _stream(self) -> av.video.stream.VideoStream:
        return self._container.streams.video[0]

    def _inspect(self) -> VideoInfo:
        container, path = self._container, self.path
        if not container.streams.video:
            raise TranslationError(f"{path}: no video stream in the file")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise TranslationError(f"{path}: the video stream has no frame size (a damaged header?)")
        seconds = None
        if stream.duration and stream.time_base:
            seconds = float(stream.duration * stream.time_base)
        elif container.duration:
            seconds = container.duration / av.time_base
        self.limits.check(path, width, height, seconds)
        stream.thread_type = "AUTO"
        rotation = self._first_frame_rotation()
        turned = _quarter_turns(rotation) % 2 == 1
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        return VideoInfo(path=path, container=container.format.name, codec=stream.codec_context.name,
                         width=height if turned else width, height=width if turned else height,
                         rotation=_quarter_turns(rotation) * 90, time_base=stream.time_base,
                         average_rate=stream.average_rate or stream.guessed_rate, frames=int(stream.frames or 0),
                         seconds=seconds, audio_codec=audio)

    def _first_frame_rotation(self) -> float:
        """The display rotation, which FFmpeg attaches to the decoded frames (read off the first)."""
        try:
            frame = next(self._container.decode(self._stream), None)
        except av.FFmpegError as exc:
            raise TranslationError(f"{self.path}: cannot decode the first frame ({_reason(exc)})") from None
        if frame is None:
            raise TranslationError(f"{self.path}: no frame of the video stream could be decoded (truncated or damaged?)")
        rotation = frame.rotation
        self._container.seek(0)
        return rotation

    def frames(self) -> Iterator[Frame]:
        """Every frame, upright, in presentation order. A file that ends early or breaks off is an error."""
        info, path, turns = self.info, self.path, self.info.rotation // 90
        limit_pts = None
        if info.time_base:
            limit_pts = self.limits.max_seconds / info.time_base
        index = 0
        first_pts = None
        try:
            for frame in self._container.decode(self._stream):
                pts = frame.pts
                if pts is not None:
                    first_pts = pts if first_pts is None else first_pts
                    if limit_pts is not None and pts - first_pts > limit_pts:
                        raise TranslationError(f"{path}: longer than the limit of {self.limits.max_seconds:.0f} s")
                rgb = frame.to_ndarray(format="rgb24", **_ONE_THREAD)
                yield Frame(np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb, pts, index)
                index += 1
        except av.FFmpegError as exc:
            raise TranslationError(f"{path}: damaged video data after {index} frame(s) ({_reason(exc)})") from None
        if info.frames and index < info.frames:
            raise TranslationError(f"{path}: truncated: {index} of the {info.frames} frames its header lists "
                                   "could be decoded")


def probe(path: str | Path, limits: VideoLimits = VideoLimits()) -> VideoInfo:
    """What a video file holds (checked against ``limits``); ``TranslationError`` naming it when unreadable."""
    with VideoReader(path, limits) as reader:
        return reader.info
