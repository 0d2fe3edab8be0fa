"""What callers need to know of video before any is read: which files are videos, which containers can
be written, and the options and limits of a run. Imports no FFmpeg (PyAV loads only when a video is)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import TranslationError

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi"})
# output suffix -> FFmpeg muxer
CONTAINERS = {"mp4": "mp4", "mov": "mov", "mkv": "matroska", "webm": "webm", "avi": "avi"}
DEFAULT_QUALITY = 20      # CRF-like: 0 lossless ... 51 worst; 18-23 is visually close to the source
DEFAULT_STRENGTH = 0.8    # how much of the warped previous output a stabilised frame keeps


def is_video_path(path: str | Path) -> bool:
    """Whether the file name has one of the video suffixes we read (``VIDEO_SUFFIXES``, any case)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoLimits:
    """What a video may be before it is refused (the app sets tighter ones)."""

    max_frame_pixels: int = 36_000_000    # one frame's pixels (8K UHD is 33 million)
    max_seconds: float = 4 * 3600.0       # duration

    def check(self, path: Path, width: int, height: int, seconds: float | None) -> None:
        if width * height > self.max_frame_pixels:
            raise TranslationError(f"{path}: {width}x{height} frames are larger than the limit of "
                                   f"{self.max_frame_pixels:,} pixels a frame")
        if seconds is not None and seconds > self.max_seconds:
            raise TranslationError(f"{path}: {seconds:.0f} s long, more than the limit of {self.max_seconds:.0f} s")


@dataclass(frozen=True)
class VideoOptions:
    stabilize: bool = True                 # blend along the motion of the inputs (False: frame by frame)
    strength: float = DEFAULT_STRENGTH     # how much of the warped previous output each frame keeps
    codec: str | None = None               # video encoder; None: H.264 where there is one, else the best
    quality: int = DEFAULT_QUALITY         # CRF-like, 0 (lossless) ... 51 (smallest)
    copy_audio: bool = True
    limits: VideoLimits = VideoLimits()
