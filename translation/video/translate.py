"""A video through a model, frame by frame, stabilised: ``translate_video(src, dst, model)``.

Every frame takes the path an image takes (``prepare_image`` -> tiles on the engine -> the task's
``finish``), so a video frame and the same picture as a still are translated alike. Decoding, the
task's pre-processing and the motion between input frames run in a thread ahead of inference; the
post-processing, stabilisation and encoding run in another behind it (on a CPU engine with OpenCV's
own pool held at one thread: ``runtime/opencv_threads.py``). The output is written to a temp file beside
``dst`` and renamed at the end: an interrupted run leaves no half-written video.
"""
from __future__ import annotations

import collections
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..atomic import atomic_path
from ..errors import TranslationError
from ..imaging.io import LoadedImage, to_uint8
from ..runtime.batch import infer_many
from ..runtime.engine import Engine
from ..runtime.models import ModelInfo
from ..runtime.pipeline import DEFAULT_OVERLAP, Prepared, get_engine, prepare_image
from ..tasks import finish
from .flow import Motion, MotionEstimator, flow_gray
from .io import Frame, VideoInfo, VideoReader
from ..runtime.opencv_threads import single_threaded_opencv
from .options import VideoOptions
from .stabilize import Stabilizer
from .writer import VideoWriter

Progress = Callable[[int, int], None]   # (frames written, frames in the video or 0 when it does not say)
T = TypeVar("T")
_LOOKAHEAD = 4                          # frames decoded ahead of inference, and encoded behind it


@dataclass
class VideoSummary:
    source: Path
    output: Path
    frames: int
    width: int
    height: int
    frame_rate: float
    encoder: str
    audio: str | None          # "aac audio copied", ... or None when the source has none
    stabilized: bool
    shots: int                 # frames taken as translated: the first and each scene cut's
    seconds: float
    inference_seconds: float   # time the engine was busy

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        audio = f", {self.audio}" if self.audio else ", no audio"
        how = f"stabilised ({self.shots} shot{'s' * (self.shots != 1)})" if self.stabilized else "frame by frame"
        return (f"{self.frames} frames {self.width}x{self.height} at {self.frame_rate:.3g} fps, {how}, "
                f"{self.encoder}{audio}; {self.seconds:.1f} s ({self.frames_per_second:.2f} frames/s)")


@dataclass
class _Item:
    frame: Frame
    prepared: Prepared
    motion: Motion | None


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _in_background(items: Iterator[T], depth: int, name: str) -> Iterator[T]:
    """``items`` produced by a thread of its own, at most ``depth`` ahead; its errors raised here."""
    slots: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    done = object()

    def put(value) -> bool:
        while not stop.is_set():
            try:
                slots.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            put(_Failure(exc))

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


def _prepared_frames(frames: Iterable[Frame], engine: Engine, *, stabilize: bool,
                     sketch_from_photo: bool) -> Iterator[_Item]:
    """Each frame with its network input and (when stabilising) the motion from the frame before."""
    estimator = MotionEstimator() if stabilize else None
    previous = None
    for frame in frames:
        motion = None
        if estimator is not None:
            gray = flow_gray(frame.rgb)
            if previous is not None and previous.shape == gray.shape:
                motion = estimator(previous, gray)
            previous = gray
        yield _Item(frame, prepare_image(LoadedImage(rgb=frame.rgb), engine.info, sketch_from_photo=sketch_from_photo),
                    motion)


class _Finisher:
    """The task's post-processing and the stabilisation, frame after frame in order."""

    def __init__(self, engine: Engine, options: VideoOptions) -> None:
        self.task = engine.info.task
        self.stabilizer = Stabilizer(options.strength) if options.stabilize else None

    def __call__(self, item: _Item, output: np.ndarray) -> np.ndarray:
        rgb = finish(self.task, output, item.prepared.context)
        if self.stabilizer is not None:
            rgb = self.stabilizer(rgb, item.motion)
        return to_uint8(rgb)

    @property
    def shots(self) -> int:
        return self.stabilizer.resets if self.stabilizer else 0


def translate_frames(frames: Iterable[np.ndarray], model: Engine | ModelInfo | str | Path, *,
                     options: VideoOptions = VideoOptions(), tile_size: int | None = None,
                     overlap: int = DEFAULT_OVERLAP, batch_size: int | None = None,
                     sketch_from_photo: bool = False) -> Iterator[np.ndarray]:
    """Frames in memory (upright H x W x 3 uint8, in order) -> translated frames, stabilised like
    ``translate_video``'s (without its threads, files and codecs)."""
    engine = _engine(model)
    finisher = _Finisher(engine, options)
    wrapped = (Frame(rgb, None, index) for index, rgb in enumerate(frames))
    items = _prepared_frames(wrapped, engine, stabilize=options.stabilize, sketch_from_photo=sketch_from_photo)
    for batch in _batches(items, max(1, int(batch_size or engine.preferred_batch_size))):
        outputs = infer_many([item.prepared for item in batch], engine, tile_size=tile_size, overlap=overlap,
                             batch_size=batch_size)
        for item, output in zip(batch, outputs):
            yield finisher(item, output)


class _Output:
    """Finishing and encoding, in frame order (run by one worker thread); the writer opens on the first frame."""

    def __init__(self, path: Path, target: Path, info: VideoInfo, engine: Engine, options: VideoOptions,
                 progress: Progress | None, total: int) -> None:
        self.path, self.target, self.info, self.options = path, target, info, options
        self.finisher = _Finisher(engine, options)
        self.progress, self.total = progress, total
        self.writer: VideoWriter | None = None

    def emit(self, item: _Item, output: np.ndarray) -> None:
        pixels = self.finisher(item, output)
        if self.writer is None:  # its size is the first output's (the task's scale applied)
            height, width = pixels.shape[:2]
            self.writer = VideoWriter(self.path, self.info, width, height, codec=self.options.codec,
                                      quality=self.options.quality, copy_audio=self.options.copy_audio,
                                      target_name=self.target)
        elif pixels.shape[:2] != (self.writer.height, self.writer.width):
            raise TranslationError(f"{self.info.path}: the frame size changes at frame {item.frame.index}; "
                                   "videos whose frames change size are not supported")
        self.writer.write(pixels, item.frame.pts)
        if self.progress is not None:
            self.progress(self.writer.frames, self.total)


def _engine(model: Engine | ModelInfo | str | Path) -> Engine:
    return model if isinstance(model, Engine) else get_engine(model)


def translate_video(src: str | Path, dst: str | Path, model: Engine | ModelInfo | str | Path, *,
                    options: VideoOptions = VideoOptions(), tile_size: int | None = None,
                    overlap: int = DEFAULT_OVERLAP, batch_size: int | None = None, sketch_from_photo: bool = False,
                    progress: Progress | None = None) -> VideoSummary:
    """Translate the video ``src`` into ``dst`` (its suffix picks the container: .mp4 .mov .mkv .webm .avi).

    ``model``: an ``Engine``, or a model name / path (an engine is built and cached). The output keeps
    the frame count, timestamps (so variable frame rates too), rotation and audio of ``src``; frames are
    the model's scale times larger. ``options.stabilize`` (default) removes the frame-to-frame flicker
    of the translation. ``progress(done, total)`` is called after each frame written. Raises
    ``TranslationError`` naming the file for a bad input; ``dst`` then does not exist.
    """
    src, dst = Path(src), Path(dst)
    engine = _engine(model)
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise TranslationError(f"{dst}: would overwrite the input video; choose another output")
    started = time.perf_counter()
    with single_threaded_opencv(engine.device == "CPU"), VideoReader(src, options.limits) as reader:
        info = reader.info
        total = info.frames or (round(info.seconds * info.frame_rate) if info.seconds and info.frame_rate else 0)
        with atomic_path(dst) as tmp:
            out = _Output(tmp, dst, info, engine, options, progress, total)
            try:
                items = _prepared_frames(reader.frames(), engine, stabilize=options.stabilize,
                                         sketch_from_photo=sketch_from_photo)
                inference = _infer_between_threads(items, out, engine, tile_size=tile_size, overlap=overlap,
                                                   batch_size=batch_size)
                if out.writer is None:
                    raise TranslationError(f"{src}: no frames were translated")
                out.writer.close()
            except BaseException:
                if out.writer is not None:
                    out.writer.abandon()
                raise
    writer = out.writer
    return VideoSummary(source=src, output=dst, frames=writer.frames, width=writer.width, height=writer.height,
                        frame_rate=info.frame_rate, encoder=writer.encoder,
                        audio=writer.audio.describe() if writer.audio else None,
                        stabilized=options.stabilize, shots=out.finisher.shots,
                        seconds=time.perf_counter() - started, inference_seconds=inference)


def _infer_between_threads(items: Iterator[_Item], out: _Output, engine: Engine, *, tile_size: int | None,
                           overlap: int, batch_size: int | None) -> float:
    """Inference here, ``items`` produced by a decode thread ahead of it and ``out`` fed by an encode
    thread behind it; returns the seconds the engine was busy."""
    inference = 0.0
    encoder = ThreadPoolExecutor(1, thread_name_prefix="video-encode")
    pending: collections.deque[Future] = collections.deque()
    ahead = _in_background(items, _LOOKAHEAD, "video-decode")
    try:
        for batch in _batches(ahead, max(1, int(batch_size or engine.preferred_batch_size))):
            begun = time.perf_counter()
            outputs = infer_many([item.prepared for item in batch], engine, tile_size=tile_size, overlap=overlap,
                                 batch_size=batch_size)
            inference += time.perf_counter() - begun
            for item, output in zip(batch, outputs):
                item.prepared.release_input()
                pending.append(encoder.submit(out.emit, item, output))
            while len(pending) > _LOOKAHEAD or (pending and pending[0].done()):
                pending.popleft().result()
        while pending:
            pending.popleft().result()
    finally:
        ahead.close()            # the decode thread stops before the file it reads is closed
        for future in pending:
            future.cancel()
        encoder.shutdown(wait=True)
    return inference


def _batches(items: Iterator[_Item], size: int) -> Iterator[list[_Item]]:
    batch: list[_Item] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
