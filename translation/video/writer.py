"""Writing the translated video: an encoder picked for the container, the source's timestamps, frame
rate and rotation, and its audio stream copied packet for packet (re-encoded only when the chosen
container cannot hold the source's audio codec).

The default encoder is H.264 (libx264) where the FFmpeg build has it and the container takes it;
otherwise the best the container takes (VP9 for WebM, then AV1, MPEG-4 part 2).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import TranslationError, first_line
from .io import VideoInfo
from .options import CONTAINERS, DEFAULT_QUALITY

log = logging.getLogger(__name__)

# Best first: the encoders we try when none is asked for.
PREFERRED_ENCODERS = ("libx264", "libopenh264", "libvpx-vp9", "libsvtav1", "libaom-av1", "libvpx", "mpeg4", "mjpeg")
_CRF_ENCODERS = {"libx264", "libx265", "libvpx-vp9", "libvpx", "libsvtav1", "libaom-av1"}
# Frames up to this size are encoded by one thread: the encoder's frame threads cost more CPU than they
# save on them (libx264: ~20% more on 320x240 frames, ~2% on 1280x960), and one thread still encodes
# hundreds of such frames a second.
SMALL_FRAME_PIXELS = 640 * 480


def _encoder(name: str) -> av.codec.Codec | None:
    try:
        return av.codec.Codec(name, "w")
    except (av.FFmpegError, ValueError):
        return None


def muxer_for(path: str | Path) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in CONTAINERS:
        raise TranslationError(f"{path}: cannot write .{suffix} videos; use one of "
                               + ", ".join(f".{s}" for s in CONTAINERS))
    return CONTAINERS[suffix]


def choose_encoder(container: av.container.OutputContainer, requested: str | None) -> str:
    """The encoder to use: ``requested`` (checked) or the first of ``PREFERRED_ENCODERS`` the container takes."""
    supported = container.supported_codecs
    if requested:
        codec = _encoder(requested)
        if codec is None or codec.type != "video":
            raise TranslationError(f"video encoder {requested!r} is not in this FFmpeg build; try "
                                   + ", ".join(available_encoders()))
        if codec.canonical_name not in supported:
            raise TranslationError(f"the {container.format.name} container cannot hold {requested} video")
        return codec.name
    for name in PREFERRED_ENCODERS:
        codec = _encoder(name)
        if codec is not None and codec.canonical_name in supported:
            return codec.name
    raise TranslationError(f"no video encoder in this FFmpeg build suits the {container.format.name} container")


def available_encoders() -> list[str]:
    return [name for name in PREFERRED_ENCODERS if _encoder(name) is not None]


def _pixel_format(codec: av.codec.Codec, width: int, height: int) -> str:
    formats = [f.name for f in codec.video_formats or ()]
    even = width % 2 == 0 and height % 2 == 0
    for name in ("yuv420p", "yuv444p", "gbrp"):
        if name in formats and (even or name != "yuv420p"):
            return name
    if not formats:
        return "yuv420p"
    if formats[0] == "yuv420p" and not even:
        raise TranslationError(f"{codec.name} needs an even frame size, not {width}x{height}")
    return formats[0]


@dataclass
class AudioResult:
    codec: str
    copied: bool

    def describe(self) -> str:
        return f"{self.codec} audio {'copied' if self.copied else 're-encoded'}"


class _AudioCopy:
    """The source's first audio stream into the output, up to a time at a time (so it interleaves with video)."""

    def __init__(self, source: Path, output: av.container.OutputContainer) -> None:
        self._input = av.open(str(source), mode="r")
        self._in_stream = self._input.streams.audio[0]
        codec = self._in_stream.codec_context.name
        if codec in output.supported_codecs:
            self._stream = output.add_stream_from_template(self._in_stream)
            self._resampler = None
            self.result = AudioResult(codec, copied=True)
        else:
            target = output.default_audio_codec
            self._stream = output.add_stream(target, rate=self._rate(target))
            self._stream.layout = self._in_stream.codec_context.layout
            encoder = av.codec.Codec(target, "w")
            self._resampler = av.AudioResampler(format=encoder.audio_formats[0].name,
                                                layout=self._stream.layout, rate=self._stream.rate)
            self.result = AudioResult(target, copied=False)
            log.info("%s: the %s container cannot hold %s audio; re-encoding it as %s",
                     source, output.format.name, codec, target)
        self._packets = self._input.demux(self._in_stream)
        self._pending: av.Packet | None = None
        self._flushed = False      # the re-encoder has given out its last packets
        self._output = output

    def _rate(self, target: str) -> int:
        rate = self._in_stream.codec_context.sample_rate
        rates = av.codec.Codec(target, "w").audio_rates
        if not rates or rate in rates:
            return rate
        return 48000 if 48000 in rates else max(rates)

    def _next(self) -> av.Packet | None:
        for packet in self._packets:
            if packet.dts is not None and packet.size:
                return packet
        return None

    def until(self, seconds: float | None) -> None:
        """Write the audio packets that start before ``seconds`` (None: all the rest)."""
        while True:
            packet = self._pending or self._next()
            self._pending = None
            if packet is None:
                if self._resampler is not None and not self._flushed:
                    for resampled in self._resampler.resample(None):   # what the resampler still holds
                        resampled.pts = None
                        self._output.mux(self._stream.encode(resampled))
                    self._output.mux(self._stream.encode(None))
                    self._flushed = True
                return
            if seconds is not None and packet.pts is not None and float(packet.pts * packet.time_base) > seconds:
                self._pending = packet
                return
            self._write(packet)

    def _write(self, packet: av.Packet) -> None:
        if self._resampler is None:
            packet.stream = self._stream
            self._output.mux(packet)
            return
        for frame in packet.decode():
            for resampled in self._resampler.resample(frame):
                resampled.pts = None
                self._output.mux(self._stream.encode(resampled))

    def close(self) -> None:
        self._input.close()


class VideoWriter:
    """An output video shaped like ``source``: its timestamps, frame rate, rotation and audio.

    ``write`` takes upright H x W x 3 uint8 frames (turned back to the source's coded orientation here);
    ``close`` flushes the encoder and the rest of the audio. Use as a context manager: on an error the
    file is left incomplete, so write to a temp path and rename (``translation.atomic``).
    """

    def __init__(self, path: str | Path, source: VideoInfo, width: int, height: int, *, codec: str | None = None,
                 quality: int = DEFAULT_QUALITY, copy_audio: bool = True, target_name: str | Path | None = None) -> None:
        self.path, self.source = Path(path), source
        self.width, self.height = width, height     # upright, as ``write`` takes them
        self._turns = source.rotation // 90
        coded_w, coded_h = (height, width) if self._turns % 2 else (width, height)
        if not 0 <= quality <= 51:
            raise TranslationError(f"video quality {quality} is out of range: use 0 (lossless) to 51 (smallest)")
        name = target_name or path
        try:
            self._container = av.open(str(path), mode="w", format=muxer_for(name))
        except av.FFmpegError as exc:
            raise TranslationError(f"{name}: cannot create the video ({first_line(exc, 120)})") from None
        self._audio: _AudioCopy | None = None
        try:
            self.encoder = choose_encoder(self._container, codec)
            self._stream = self._add_video(self.encoder, coded_w, coded_h, quality)
            if copy_audio and source.audio_codec:
                self._audio = _AudioCopy(source.path, self._container)
        except BaseException:
            self._container.close()
            raise
        self.frames = 0
        self._last_pts: int | None = None
        self._closed = False

    @property
    def audio(self) -> AudioResult | None:
        return self._audio.result if self._audio else None

    def _add_video(self, encoder: str, width: int, height: int, quality: int) -> av.video.stream.VideoStream:
        rate = self.source.average_rate or Fraction(25)
        options = {}
        if encoder in _CRF_ENCODERS:
            options["crf"] = str(quality)
        if encoder == "libx264":
            options["preset"] = "medium"
        stream = self._container.add_stream(encoder, rate=rate, options=options)
        stream.width, stream.height = width, height
        if width * height <= SMALL_FRAME_PIXELS:
            stream.codec_context.thread_count = 1     # the encoder's and its RGB -> YUV conversion's
        stream.pix_fmt = _pixel_format(av.codec.Codec(encoder, "w"), width, height)
        # the encoder counts in the source's time base, not in frames: variable frame rates keep their timestamps
        stream.time_base = stream.codec_context.time_base = self.source.time_base
        if encoder in ("libvpx-vp9", "libvpx"):
            stream.bit_rate = 0                      # constant quality (crf alone)
        elif encoder not in _CRF_ENCODERS:          # no constant-quality mode: bits by size and quality
            stream.bit_rate = int(width * height * float(rate) * 0.2 * 2 ** ((DEFAULT_QUALITY - quality) / 6))
        if self._turns:
            stream.set_display_rotation(self.source.rotation)
        return stream

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()

    def _pts(self, pts: int | None) -> int:
        """The source's timestamp; one made from the frame rate where it has none; always increasing."""
        if pts is None:
            rate = self.source.average_rate or Fraction(25)
            pts = int(round(self.frames / rate / self.source.time_base))
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def write(self, rgb: np.ndarray, pts: int | None) -> None:
        coded = np.ascontiguousarray(np.rot90(rgb, -self._turns)) if self._turns else rgb
        frame = av.VideoFrame.from_ndarray(coded, format="rgb24")
        frame.pts = self._pts(pts)
        frame.time_base = self.source.time_base
        try:
            if self._audio is not None:
                self._audio.until(float(frame.pts * self.source.time_base))
            self._container.mux(self._stream.encode(frame))
        except av.FFmpegError as exc:
            raise TranslationError(f"{self.path}: encoding frame {self.frames} failed ({first_line(exc, 120)})") from None
        self.frames += 1

    def close(self) -> None:
        try:
            self._container.mux(self._stream.encode(None))
            if self._audio is not None:
                self._audio.until(None)
        except av.FFmpegError as exc:
            raise TranslationError(f"{self.path}: finishing the video failed ({first_line(exc, 120)})") from None
        finally:
            self.abandon()

    def abandon(self) -> None:
        """Close the files without finishing the video (after an error; the caller deletes it)."""
        if self._closed:
            return
        self._closed = True
        if self._audio is not None:
            self._audio.close()
        self._container.close()
