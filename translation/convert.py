"""Batch conversion: files and folders in, a mirrored folder tree of translated images (and videos) out.

Decoding (with the task's pre-processing) and encoding (with its post-processing) run in worker
threads around the inference loop, through bounded queues, so the engine rarely waits and memory
stays bounded. On the CPU, ``lanes`` converts several images side by side instead, each lane doing
one image's whole work on its share of the cores (no core waits for another at every layer).
Every output is written atomically and existing outputs are skipped, so an interrupted run (Ctrl-C,
SIGKILL, power loss) is finished by running the same command again.
Video files (``translation.video``) go one after the other through ``translate_video``, after the images.
"""
from __future__ import annotations

import collections
import fnmatch
import logging
import os
import string
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .atomic import TEMP_PREFIX
from .imaging.files import is_image_path, list_files
from .imaging.io import DEFAULT_MAX_PIXELS, LoadedImage, write_image
from .errors import TranslationError
from .runtime.bands import write_in_bands, writes_in_bands
from .runtime.engine import Engine
from .runtime.opencv_threads import single_threaded_opencv
from .runtime.pipeline import DEFAULT_OVERLAP, Prepared, finish_image, infer, load, prepare_image
from .video import CONTAINERS, VideoOptions, is_video_path

log = logging.getLogger(__name__)

OUTPUT_FORMATS = ("png", "jpg", "webp")
NAME_FIELDS = ("stem", "model", "task", "ext")


@dataclass(frozen=True)
class ConvertOptions:
    recursive: bool = False
    include: tuple[str, ...] = ()          # glob patterns on the relative path or the file name
    exclude: tuple[str, ...] = ()
    name_template: str = "{stem}"          # fields: {stem} {model} {task} {ext}
    format: str = "png"
    quality: int = 95
    png_compression: str = "fast"          # fast | compact (PNG files ~25% smaller for 3-6x the encoding CPU)
    tile_size: int | None = None           # None: the model's recommended tile size
    overlap: int = DEFAULT_OVERLAP
    batch_size: int | None = None          # tiles per inference call (None: 1 on CPU, 4 on GPU)
    overwrite: bool = False
    sketch_from_photo: bool = False
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    workers: int = 2                       # decode threads and encode threads (each)
    lanes: int = 1                         # images converted side by side, each decoded, inferred and
                                           # encoded by one thread on the shared engine (CPU: give the
                                           # engine threads / lanes threads); 1: the decode/encode pipeline
    pixel_budget: int = 24_000_000         # pixels of the images in flight at once (at least one image)
    band_pixels: int = 16_000_000          # larger outputs are made and written in row bands (PNG) when the
                                           # task allows; others larger than max_pixels are refused
    video: VideoOptions = VideoOptions()   # stabilisation, encoder, quality, limits
    video_format: str | None = None        # container of the output videos (mp4, mkv, ...); None: the input's


def cpu_lanes(threads: int) -> int:
    """Lanes for images on a CPU engine of ``threads`` threads in all: 2 from 2 threads (on 2 cores,
    colorization 0.70 -> 0.84-0.86 of the network's own images/s, the other models level or faster)."""
    return 2 if threads >= 2 else 1


@dataclass(frozen=True)
class Job:
    source: Path
    output: Path


@dataclass
class ConvertSummary:
    converted: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    inference_seconds: float = 0.0    # time the engine was busy: close to ``seconds`` when well overlapped
    failures: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def images_per_second(self) -> float:
        return self.converted / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (f"converted {self.converted}, skipped {self.skipped}, failed {self.failed} "
                f"in {self.seconds:.1f} s ({self.images_per_second:.2f} images/s)")


@dataclass
class Plan:
    todo: list[Job]
    done: list[Job]                                   # outputs already present (resume)
    missing: list[tuple[Path, str]]                   # inputs that do not exist
    not_images: list[Path] = field(default_factory=list)  # files in the folders without an image or video suffix


# ------------------------------------------------------------------------------------ finding inputs

def _matches(rel: Path, patterns: Iterable[str]) -> bool:
    text = rel.as_posix()
    return any(fnmatch.fnmatch(text, p) or fnmatch.fnmatch(rel.name, p) for p in patterns)


def collect_inputs(inputs: Sequence[str | Path], options: ConvertOptions, *, skip_dirs: Sequence[Path] = (),
                   not_images: list[Path] | None = None) -> tuple[list[tuple[Path, Path]], list[tuple[Path, str]]]:
    """(file, path relative to its input folder) for every image to convert, and inputs that do not exist.
    Files of the folders left out for their suffix are appended to ``not_images`` when given.

    Files named on the command line are taken as they are; folders contribute their images (by
    suffix), filtered by ``include`` / ``exclude``. ``skip_dirs`` (the output folder) is never read.
    """
    found: list[tuple[Path, Path]] = []
    missing: list[tuple[Path, str]] = []
    skip = [Path(os.path.realpath(d)) for d in skip_dirs]
    for given in map(Path, inputs):
        if given.is_file():
            found.append((given, Path(given.name)))
        elif given.is_dir():
            root = Path(os.path.realpath(given))
            inside = [d for d in skip if root in d.parents]  # an output folder below this input folder
            for path in list_files(given, recursive=options.recursive, skip_dirs=inside):
                rel = path.relative_to(given)
                if not (is_image_path(path) or is_video_path(path)):
                    if not_images is not None:
                        not_images.append(path)
                    continue
                if options.include and not _matches(rel, options.include):
                    continue
                if options.exclude and _matches(rel, options.exclude):
                    continue
                found.append((path, rel))
        else:
            missing.append((given, "no such file or folder"))
    seen: set[tuple[str, Path]] = set()
    unique = []
    for path, rel in found:  # the same file named twice (`in/ in/a.png`) is converted once
        if (key := (os.path.realpath(path), rel)) not in seen:
            seen.add(key)
            unique.append((path, rel))
    return unique, missing


def check_format(output_format: str) -> str:
    """An output format as offered ("png", "jpg" or "webp"): case, a leading dot and "jpeg" are accepted."""
    fmt = str(output_format or "").lower().lstrip(".")
    fmt = "jpg" if fmt == "jpeg" else fmt
    if fmt not in OUTPUT_FORMATS:
        raise TranslationError(f"unknown output format {output_format!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
    return fmt


def check_video_format(video_format: str | None) -> str | None:
    fmt = str(video_format).lower().lstrip(".") if video_format else None
    if fmt is not None and fmt not in CONTAINERS:
        raise TranslationError(f"unknown video format {video_format!r}; choose one of {', '.join(CONTAINERS)}")
    return fmt


def output_format(source: Path, image_format: str, video_format: str | None) -> str:
    """The output suffix for ``source``: videos keep their container unless ``video_format`` says otherwise."""
    if is_video_path(source):
        return video_format or source.suffix.lower().lstrip(".")
    return image_format


def output_name(template: str, source: Path, model: str, task: str, fmt: str) -> str:
    fields = {"stem": source.stem, "model": model, "task": task, "ext": source.suffix.lstrip(".").lower()}
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None and name not in fields:
            raise TranslationError(f"--name {template!r}: unknown field {{{name}}}; use "
                                   + ", ".join(f"{{{f}}}" for f in NAME_FIELDS))
    try:
        name = template.format(**fields)
    except (ValueError, IndexError) as exc:
        raise TranslationError(f"--name {template!r}: {exc}") from None
    if not name or "/" in name or os.sep in name or name in (".", ".."):
        raise TranslationError(f"--name {template!r} gives {name!r} for {source}: a file name is needed")
    return f"{name}.{fmt}"


def plan_jobs(inputs: Sequence[str | Path], out_dir: str | Path, *, model: str, task: str,
              options: ConvertOptions) -> Plan:
    """Map every input image to its output path; refuse plans that would overwrite inputs."""
    fmt, video_fmt = check_format(options.format), check_video_format(options.video_format)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise TranslationError(f"{out_dir}: the output location is a file, not a folder")
    not_images: list[Path] = []
    found, missing = collect_inputs(inputs, options, skip_dirs=[out_dir] if out_dir.exists() else [],
                                    not_images=not_images)
    sources = {os.path.realpath(path): path for path, _ in found}
    jobs: list[Job] = []
    claimed: dict[str, Path] = {}
    for path, rel in found:
        output = out_dir / rel.parent / output_name(options.name_template, path, model, task,
                                                    output_format(path, fmt, video_fmt))
        real = os.path.realpath(output)
        if real in sources:
            raise TranslationError(f"{output}: would overwrite the input {sources[real]}; choose another "
                                   "output folder (-o), --name or --format")
        if real in claimed:
            raise TranslationError(f"{output}: both {claimed[real]} and {path} would be written there; "
                                   "use --name with {ext} (e.g. '{stem}_{ext}') to tell them apart")
        claimed[real] = path
        jobs.append(Job(path, output))
    todo: list[Job] = []
    done: list[Job] = []
    for job in jobs:
        (todo if options.overwrite or not job.output.is_file() else done).append(job)
    return Plan(todo, done, missing, not_images)


def remove_stale_temp_files(jobs: Iterable[Job]) -> int:
    """Delete temp files a killed run left beside the outputs (same prefix and format as ours)."""
    removed = 0
    for folder, suffix in {(job.output.parent, job.output.suffix) for job in jobs}:
        if not folder.is_dir():
            continue
        for stale in folder.glob(f"{TEMP_PREFIX}*{suffix}"):
            try:
                stale.unlink()
                removed += 1
            except OSError as exc:
                log.warning("%s: cannot remove leftover temp file (%s)", stale, exc)
    return removed


# ------------------------------------------------------------------------------------ running

def _reason(exc: BaseException, source: Path) -> str:
    if isinstance(exc, TranslationError):
        text = str(exc)
    elif isinstance(exc, MemoryError):
        text = "not enough memory (try a smaller --tile-size or --batch-size)"
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    for prefix in (f"{source}: ", f"{source.name}: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text


ResultCallback = Callable[[Job, str, "str | None"], None]   # (job, "converted" | "failed", reason)
FramesCallback = Callable[[Job, int, int], None]            # (video job, frames written, frames in it or 0)


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image from its header alone ((0, 0) when unreadable: decoding will report why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                return image.width, image.height
    except Exception:  # noqa: BLE001 - only an estimate for memory planning
        return 0, 0


def image_pixels(path: Path) -> int:
    """Pixels of an image from its header alone (0 when unreadable: decoding will report why)."""
    width, height = image_size(path)
    return width * height


def _too_large_in_memory(job: Job, width: int, height: int, limit: int, spec, sketch_from_photo: bool) -> str:
    """Why an output larger than ``--max-pixels`` is refused: it would have to be held whole."""
    fix = ("write it as PNG (--format png), which is written in row bands"
           if writes_in_bands(spec, ".png", sketch_from_photo=sketch_from_photo) else
           "it cannot be written in row bands (the task needs the whole image)")
    return (f"{job.source}: the {width}x{height} output ({width * height / 1e6:.3g} Mpx) exceeds the "
            f"{limit / 1e6:.3g} Mpx limit for an output held in memory; {fix}, or raise --max-pixels")


class _TilesSideBySide:
    """``engine`` with the tiles of each batch run side by side, one per lane (each a one-thread run of the
    shared session): an image that runs alone still keeps every lane's core busy."""

    def __init__(self, engine: Engine, lanes: int) -> None:
        self.engine, self.lanes = engine, lanes
        self._pool = ThreadPoolExecutor(lanes, thread_name_prefix="tile")

    def __getattr__(self, name: str):
        return getattr(self.engine, name)

    @property
    def preferred_batch_size(self) -> int:
        return self.lanes

    def run(self, batch: np.ndarray) -> np.ndarray:
        if len(batch) == 1:
            return self.engine.run(batch)
        return np.concatenate(list(self._pool.map(self.engine.run, [batch[i:i + 1] for i in range(len(batch))])))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class _Pipeline:
    """Decode -> infer -> encode with bounded look-ahead.

    Decoding runs ahead by at most ``2 * workers`` images and encoding lags by at most
    ``workers + 1``; on top of that, the images in flight may hold at most ``pixel_budget`` pixels
    (always at least one image), so a folder of huge photos does not decode four of them at once.
    """

    def __init__(self, jobs: Sequence[Job], engine: Engine, options: ConvertOptions,
                 report: Callable[[Job, BaseException | None], None], summary: ConvertSummary) -> None:
        self.jobs, self.engine, self.options, self.report = list(jobs), engine, options, report
        self.summary = summary
        self.workers = max(1, int(options.workers))
        self.decoders = ThreadPoolExecutor(self.workers, thread_name_prefix="decode")
        self.encoders = ThreadPoolExecutor(self.workers, thread_name_prefix="encode")
        self.decoding: collections.deque[tuple[Job, int, Future]] = collections.deque()
        self.encoding: collections.deque[tuple[Job, int, Future]] = collections.deque()
        self.next_job = 0
        self._next_cost: int | None = None   # pixels of jobs[next_job], once its header has been read
        self.pixels_in_flight = 0
        self.scale = engine.info.task.scale
        self.in_bands: set[Job] = set()        # outputs made and written band by band (write_in_bands)
        self.refused: dict[Job, str] = {}      # outputs too large to hold, that cannot be written in bands

    def _cost(self, job: Job) -> int:
        """Pixels ``job`` holds in memory (its output's, or its input's when written in bands)."""
        width, height = image_size(job.source)
        pixels, width, height = width * height, width * self.scale, height * self.scale
        limit, spec = self.options.max_pixels, self.engine.info.task
        over_limit = limit is not None and width * height > limit
        if width * height > self.options.band_pixels or over_limit:
            if writes_in_bands(spec, job.output.suffix, sketch_from_photo=self.options.sketch_from_photo):
                self.in_bands.add(job)
                return pixels
            if over_limit:
                self.refused[job] = _too_large_in_memory(job, width, height, limit, spec,
                                                         self.options.sketch_from_photo)
                return pixels
        return width * height

    def _decode(self, job: Job) -> Prepared | LoadedImage:
        if job in self.refused:
            raise TranslationError(self.refused.pop(job))
        if job in self.in_bands:
            return load(job.source, max_pixels=self.options.max_pixels)
        return prepare_image(job.source, self.engine.info, sketch_from_photo=self.options.sketch_from_photo,
                             max_pixels=self.options.max_pixels)

    def _bands(self, job: Job, source: LoadedImage, engine: "Engine | _TilesSideBySide") -> float:
        """Make and write ``job``'s output band by band; the seconds it took (encoding included)."""
        started = time.perf_counter()
        write_in_bands(source, engine, job.output, tile_size=self.options.tile_size,
                       overlap=self.options.overlap, batch_size=self.options.batch_size,
                       png_compression=self.options.png_compression)
        return time.perf_counter() - started

    def _write_in_bands(self, job: Job, cost: int, future: Future) -> None:
        self.in_bands.discard(job)
        error = None
        try:
            self.summary.inference_seconds += self._bands(job, future.result(), self.engine)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
            error = exc
        self.pixels_in_flight -= cost
        self.report(job, error)

    def _encode(self, job: Job, prepared: Prepared, output: np.ndarray) -> None:
        result = finish_image(prepared, output, self.engine.info)
        write_image(job.output, result.rgb, result.alpha, quality=self.options.quality,
                    png_compression=self.options.png_compression)

    def _top_up(self) -> None:
        while len(self.decoding) < 2 * self.workers and self.next_job < len(self.jobs):
            job = self.jobs[self.next_job]
            if self._next_cost is None:  # read the header once, however often the budget makes it wait
                self._next_cost = self._cost(job)
            cost = self._next_cost
            busy = self.pixels_in_flight > 0 or self.decoding or self.encoding
            if busy and self.pixels_in_flight + cost > self.options.pixel_budget:
                return
            self.next_job += 1
            self._next_cost = None
            self.pixels_in_flight += cost
            self.decoding.append((job, cost, self.decoders.submit(self._decode, job)))

    def _finish_encodes(self, keep: int) -> None:
        while len(self.encoding) > keep or (self.encoding and self.encoding[0][2].done()):
            job, cost, future = self.encoding.popleft()
            self.pixels_in_flight -= cost
            self.report(job, future.exception())

    def run(self) -> None:
        with single_threaded_opencv(self.engine.device == "CPU"):
            lanes = max(1, int(self.options.lanes))
            if lanes > 1 and len(self.jobs) > 1:
                self._run_lanes(lanes)
            else:
                self._run()

    # -------------------------------------------------------------------------------- lanes

    def _run_lanes(self, lanes: int) -> None:
        """Each lane takes the next image and decodes, infers and encodes it, then takes another. On a CPU,
        an engine of 1 thread per lane keeps every core on the network's work or an image's own, where one
        multi-threaded run leaves its cores waiting on each other whenever a decode or encode takes one."""
        self.turn = threading.Condition()
        self.stopping = False
        pool = ThreadPoolExecutor(lanes, thread_name_prefix="lane")
        self.tiles_side_by_side = _TilesSideBySide(self.engine, lanes)
        try:
            for future in [pool.submit(self._lane) for _ in range(lanes)]:
                future.result()
        except BaseException:
            with self.turn:   # Ctrl-C: the images in hand finish (atomically), no new one starts
                self.stopping = True
                self.turn.notify_all()
            raise
        finally:
            pool.shutdown(wait=True)
            self.tiles_side_by_side.close()
            self.decoders.shutdown(wait=True)
            self.encoders.shutdown(wait=True)

    def _take(self) -> tuple[Job, int, bool] | None:
        """The next job, the pixels it holds, and whether it runs alone: once the pixel budget has room
        (always when nothing is in flight). Outputs made in bands, and images of which two would not fit
        the budget, run alone, their tiles side by side on the lanes (the memory of one lane, no core idle)."""
        with self.turn:
            while not self.stopping and self.next_job < len(self.jobs):
                job = self.jobs[self.next_job]
                if self._next_cost is None:
                    self._next_cost = self._cost(job)
                cost = self._next_cost
                alone = job in self.in_bands or 2 * cost > self.options.pixel_budget
                if alone:
                    cost = max(cost, self.options.pixel_budget)
                if self.pixels_in_flight > 0 and self.pixels_in_flight + cost > self.options.pixel_budget:
                    self.turn.wait()
                    continue
                self.next_job += 1
                self._next_cost = None
                self.pixels_in_flight += cost
                return job, cost, alone
            return None

    def _lane(self) -> None:
        while (taken := self._take()) is not None:
            job, cost, alone = taken
            engine = self.tiles_side_by_side if alone else self.engine
            error, busy = None, 0.0
            try:
                source = self._decode(job)
                if job in self.in_bands:
                    with self.turn:
                        self.in_bands.discard(job)
                    busy = self._bands(job, source, engine)
                else:
                    started = time.perf_counter()
                    output = infer(source, engine, tile_size=self.options.tile_size,
                                   overlap=self.options.overlap, batch_size=self.options.batch_size)
                    busy = time.perf_counter() - started
                    source.release_input()
                    self._encode(job, source, output)
                    del output
                del source
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                error = exc
            with self.turn:
                self.summary.inference_seconds += busy
                self.pixels_in_flight -= cost
                self.report(job, error)
                self.turn.notify_all()

    def _run(self) -> None:
        try:
            while self.next_job < len(self.jobs) or self.decoding:
                self._top_up()
                if not self.decoding:   # the pixel budget is spent: wait for an output to be written
                    self._finish_encodes(keep=len(self.encoding) - 1)
                    continue
                job, cost, future = self.decoding.popleft()
                self._top_up()
                if job in self.in_bands:
                    self._write_in_bands(job, cost, future)
                    continue
                try:
                    prepared = future.result()
                    started = time.perf_counter()
                    output = infer(prepared, self.engine, tile_size=self.options.tile_size,
                                   overlap=self.options.overlap, batch_size=self.options.batch_size)
                    self.summary.inference_seconds += time.perf_counter() - started
                    prepared.release_input()
                except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                    self.pixels_in_flight -= cost
                    self.report(job, exc)
                    continue
                self.encoding.append((job, cost, self.encoders.submit(self._encode, job, prepared, output)))
                del prepared, output
                self._finish_encodes(keep=self.workers + 1)
            self._finish_encodes(keep=0)
        finally:
            self.decoders.shutdown(wait=True, cancel_futures=True)
            self.encoders.shutdown(wait=True)  # outputs being written finish (atomically) even on Ctrl-C


def _run_videos(jobs: Sequence[Job], engine: Engine, options: ConvertOptions, summary: ConvertSummary,
                report: Callable[[Job, BaseException | None], None], on_frames: FramesCallback | None) -> None:
    from .video import translate_video  # loads PyAV: only when there are videos

    for job in jobs:
        progress = (lambda done, total, job=job: on_frames(job, done, total)) if on_frames else None
        try:
            video = translate_video(job.source, job.output, engine, options=options.video,
                                    tile_size=options.tile_size, overlap=options.overlap,
                                    batch_size=options.batch_size, sketch_from_photo=options.sketch_from_photo,
                                    progress=progress)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
            report(job, exc)
        else:
            summary.inference_seconds += video.inference_seconds
            report(job, None)


def run_jobs(jobs: Sequence[Job], engine: Engine, options: ConvertOptions,
             on_result: ResultCallback | None = None, on_frames: FramesCallback | None = None) -> ConvertSummary:
    """Convert ``jobs`` with decode and encode threads overlapping inference; never raises per file.
    Videos among them run after the images, one at a time; ``on_frames`` follows their frames."""
    summary = ConvertSummary()
    started = time.perf_counter()

    def report(job: Job, error: BaseException | None) -> None:
        if error is None:
            summary.converted += 1
            status, reason = "converted", None
        else:
            summary.failed += 1
            status, reason = "failed", _reason(error, job.source)
            summary.failures.append((job.source, reason))
            # a user's bad file is explained by its reason; only our own failures get a traceback
            log.debug("%s failed", job.source, exc_info=None if isinstance(error, TranslationError) else error)
        if on_result is not None:
            on_result(job, status, reason)

    videos = [job for job in jobs if is_video_path(job.source)]
    try:
        _Pipeline([job for job in jobs if not is_video_path(job.source)], engine, options, report, summary).run()
        if videos:   # loads PyAV, which an image-only run never needs
            _run_videos(videos, engine, options, summary, report, on_frames)
    finally:
        summary.seconds = time.perf_counter() - started
    return summary


def convert(inputs: Sequence[str | Path], out_dir: str | Path, engine: Engine,
            options: ConvertOptions = ConvertOptions(), on_result: ResultCallback | None = None) -> ConvertSummary:
    """Convert files and folders into ``out_dir`` (mirroring folder trees); resumes by default."""
    plan = plan_jobs(inputs, out_dir, model=engine.info.name, task=engine.info.task.name, options=options)
    removed = remove_stale_temp_files(plan.todo)
    if removed:
        log.info("removed %d temp file(s) left by an interrupted run", removed)
    summary = run_jobs(plan.todo, engine, options, on_result)
    summary.skipped = len(plan.done)
    for path, reason in plan.missing:
        summary.failed += 1
        summary.failures.append((path, reason))
    return summary
