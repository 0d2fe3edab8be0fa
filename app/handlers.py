"""What the page's buttons call. Plain functions of paths and options, testable without a browser.

Each handler reads the upload with our robust reader, runs the runtime, writes the full-resolution
result into the app's workspace and returns (before/after preview pair, output file, summary). Errors
users can act on come back as ``gr.Error`` with the reason from ``TranslationError``; anything else is
logged with its traceback on the server and reported in one line, so the page never shows a traceback.

Every registered task with an app tab gets its endpoints here, named by its ``AppTab``:
``handlers.colorize(image, model, tile_size, output_format)`` and so on.
"""
from __future__ import annotations

import functools
import html
import logging
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from translation.atomic import atomic_path
from translation.convert import ConvertOptions, Job, check_format, run_jobs
from translation.errors import TranslationError
from translation.imaging.drawing import is_blank, on_white_paper
from translation.imaging.io import DEFAULT_MAX_PIXELS, LoadedImage, read_image, write_image
from translation.imaging.preview import preview_pixels, preview_size
from translation.runtime import sketch_image, translate
from translation.tasks import Task, registered_tasks, task_named

from .batch_gallery import thumbnails
from .cards import image_summary, model_card, run_summary
from .models import ModelRegistry
from .workspace import Workspace, safe_stem

log = logging.getLogger(__name__)

PREVIEW_SIDE = 1024          # long side of the images in the before/after slider (the download is full size)
MAX_TILE_SIZE = 4096
COLOUR_STRENGTHS = (0.25, 2.0)   # the colour strength slider's range: times the model's own chroma gain
MAX_BATCH_FILES = 200

EMPTY_SKETCHPAD = "The sketchpad is empty: draw something first."

Upload = str | Path | dict | None   # a path, or Gradio's raw file payload {"path": ..., ...}
Preview = tuple[str, str]           # before / after images for the slider, as files of the request
RunOutput = tuple[Preview, str, str]


def upload_path(value: Upload) -> str | None:
    """A file input as a path: a plain path (Python callers) or Gradio's raw file payload (the page)."""
    if isinstance(value, dict):
        value = value.get("path")
    return str(value) if value else None


def user_errors(method: Callable) -> Callable:
    """Turn failures into one readable ``gr.Error``: our reason when we have one, never a traceback."""

    @functools.wraps(method)
    def wrapper(self: "AppHandlers", *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except gr.Error:
            raise
        except TranslationError as exc:
            raise gr.Error(html.escape(self.hide_paths(str(exc))), print_exception=False) from None
        except Exception as exc:  # noqa: BLE001 - the page gets one line, the log gets the traceback
            log.exception("%s failed", method.__name__)
            reason = self.hide_paths(f"{type(exc).__name__}: {exc}")
            raise gr.Error(html.escape(f"Translation failed ({reason}). The server log has the details."),
                           print_exception=False) from None

    return wrapper


class AppHandlers:
    """The app's actions over a model registry and a workspace; one instance serves every request."""

    def __init__(self, registry: ModelRegistry, workspace: Workspace, *,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS, max_batch_files: int = MAX_BATCH_FILES) -> None:
        self.registry = registry
        self.workspace = workspace
        self.max_pixels = max_pixels
        self.max_batch_files = max_batch_files
        self.endpoints: dict[str, Callable[..., RunOutput]] = {}
        for task in registered_tasks():
            if task.app is not None:
                self.endpoints[task.app.api_name] = self._upload_endpoint(task)
                if task.app.drawing_api_name:
                    self.endpoints[task.app.drawing_api_name] = self._drawing_endpoint(task)
        clashes = sorted(name for name in self.endpoints if hasattr(type(self), name))
        if clashes:
            raise ValueError(f"task endpoints named like the app's own: {', '.join(clashes)}")

    def __getattr__(self, name: str) -> Callable[..., RunOutput]:
        """A task tab's endpoint by its api_name: ``handlers.colorize(image, "colorization", 0, "png")``."""
        endpoint = self.__dict__.get("endpoints", {}).get(name)
        if endpoint is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return endpoint

    # ------------------------------------------------------------------------------- task endpoints

    def _upload_endpoint(self, task: Task) -> Callable[..., RunOutput]:
        """``(image, [extract_from_photo,] model, tile_size, output_format)``; ``extract_from_photo`` for
        tasks whose models can be fed the line drawing of a photo."""
        if task.sketch_from_photo is not None:
            def endpoint(image: Upload, extract_from_photo: bool = False, model: str | None = None,
                         tile_size: int = 0, output_format: str = "png", progress: Any = gr.Progress()) -> RunOutput:
                return self.run_upload(task.name, image, model, tile_size, output_format, progress,
                                       sketch_from_photo=bool(extract_from_photo))
        elif task.spec.predicts_colour:
            def endpoint(image: Upload, model: str | None = None, tile_size: int = 0, output_format: str = "png",
                         colour_strength: float = 1.0, progress: Any = gr.Progress()) -> RunOutput:
                return self.run_upload(task.name, image, model, tile_size, output_format, progress,
                                       colour_strength=colour_strength)
        else:
            def endpoint(image: Upload, model: str | None = None, tile_size: int = 0, output_format: str = "png",
                         progress: Any = gr.Progress()) -> RunOutput:
                return self.run_upload(task.name, image, model, tile_size, output_format, progress)
        return _named(endpoint, task.app.api_name, f"An upload translated with a {task.name} model.")

    def _drawing_endpoint(self, task: Task) -> Callable[..., RunOutput]:
        def endpoint(drawing: dict | None, model: str | None = None, tile_size: int = 0, output_format: str = "png",
                     progress: Any = gr.Progress()) -> RunOutput:
            return self.run_drawing(task.name, drawing, model, tile_size, output_format, progress)
        return _named(endpoint, task.app.drawing_api_name, f"A sketchpad drawing translated with a {task.name} model.")

    @user_errors
    def run_upload(self, task: str, image: Upload, model: str | None = None, tile_size: int = 0,
                   output_format: str = "png", progress: Any = gr.Progress(), *,
                   sketch_from_photo: bool = False, colour_strength: float = 1.0) -> RunOutput:
        """An upload through a model of ``task`` (by name, or by one of the task tab's choices);
        ``sketch_from_photo``: the upload is a photo whose line drawing the model gets;
        ``colour_strength``: a colorization model's colour at this many times its own strength."""
        model = self._model_for(task, model)
        return self._run_upload(task, model, image, tile_size, output_format, progress,
                                sketch_from_photo=sketch_from_photo, colour_strength=colour_strength)

    @user_errors
    def run_drawing(self, task: str, drawing: dict | None, model: str | None = None, tile_size: int = 0,
                    output_format: str = "png", progress: Any = gr.Progress()) -> RunOutput:
        """A drawing from the sketchpad: its strokes are laid on white paper first."""
        model = self._model_for(task, model)
        self._check_model(task, model)
        composite = upload_path((drawing or {}).get("composite"))
        if not composite:
            raise gr.Error(EMPTY_SKETCHPAD, print_exception=False)
        paper = on_white_paper(self._read(composite))
        if is_blank(paper):
            raise gr.Error(EMPTY_SKETCHPAD, print_exception=False)
        return self._run(model, paper, "drawing", tile_size, output_format, progress)

    @user_errors
    def custom(self, image: Upload, model: str, tile_size: int = 0, output_format: str = "png",
               progress: Any = gr.Progress()) -> RunOutput:
        """Any model in the model folders; its metadata decides the pre- and post-processing."""
        return self._run_upload(None, model, image, tile_size, output_format, progress)

    @user_errors
    def batch(self, files: list[Upload] | None, model: str, tile_size: int = 0, output_format: str = "png",
              extract_from_photo: bool = False, progress: Any = gr.Progress()) -> tuple[str, str, list]:
        """Translate many files with one model; returns (zip of the outputs, summary in markdown,
        gallery: an (input | output thumbnail, caption) per translated file).

        Files that cannot be read are skipped and listed with their reason; the batch fails only when
        none could be translated.
        """
        files = [path for path in map(upload_path, files or []) if path]
        if not files:
            raise gr.Error("Add some images first.", print_exception=False)
        if len(files) > self.max_batch_files:
            raise gr.Error(f"{len(files)} files is more than the {self.max_batch_files} a batch may hold; "
                           "split them up (or use `translation convert` for whole folders).", print_exception=False)
        tile, fmt = _check_tile(tile_size), check_format(output_format)
        engine = self.registry.engine(model)
        folder = self.workspace.new_folder()
        used: set[str] = set()
        jobs = [Job(Path(source), folder / f"{_unique(safe_stem(Path(source).name), used)}.{fmt}") for source in files]
        converted: set[Path] = set()
        finished = 0

        def report(job: Job, status: str, reason: str | None) -> None:
            nonlocal finished
            finished += 1
            if status == "converted":
                converted.add(job.output)
            progress((finished, len(jobs)), desc=f"{job.source.name} ({finished}/{len(jobs)})", unit="images")

        started = time.perf_counter()
        progress((0, len(jobs)), desc="translating", unit="images")
        options = ConvertOptions(format=fmt, tile_size=tile, sketch_from_photo=bool(extract_from_photo),
                                 max_pixels=self.max_pixels)
        failures = run_jobs(jobs, engine, options, on_result=report).failures
        written = [job.output for job in jobs if job.output in converted]
        skipped = [f"{Path(source).name}: {self.hide_paths(reason)}" for source, reason in failures]
        progress((len(files), len(files)), desc="packing the zip", unit="images")
        if not written:
            raise gr.Error(html.escape("None of the files could be translated: " + "; ".join(skipped)),
                           print_exception=False)
        archive = folder / f"{safe_stem(model)}-{len(written)}-images.zip"
        with atomic_path(archive) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zipped:
            for path in written:
                zipped.write(path, arcname=path.name)
        lines = [f"Translated **{len(written)} of {len(files)}** images with **{html.escape(model)}** on "
                 f"{engine.device} in {time.perf_counter() - started:.1f} s."]
        if skipped:
            lines += ["", "Skipped:"] + [f"- {html.escape(reason)}" for reason in skipped]
        progress((len(files), len(files)), desc="thumbnails", unit="images")
        gallery = thumbnails([(job.source, job.output) for job in jobs if job.output in converted], folder,
                             self.max_pixels)
        return str(archive), "\n".join(lines), gallery

    # ------------------------------------------------------------------------------- page helpers

    @user_errors
    def inspect_upload(self, image: Upload) -> str:
        """Read an upload as soon as it arrives: its size, or a readable error if it is no image."""
        image = upload_path(image)
        if not image:
            return ""
        loaded = self._read(image)
        return image_summary(loaded.width, loaded.height, loaded.bit_depth, loaded.alpha is not None)

    def describe_model(self, model: str | None, task: str | None = None) -> str:
        """The model's card; ``task``: ``model`` may be one of that task tab's choices ("photo2art")."""
        if not model:
            return ""
        if task is not None:
            model = self._model_for(task, model)
        try:
            info = self.registry.get(model)
        except TranslationError as exc:
            return html.escape(str(exc))
        return model_card(info, self.registry.device(model))

    def hide_paths(self, message: str) -> str:
        """Messages name files by their own name, not by where the server keeps them."""
        return message.replace(str(self.workspace.root), "…")

    # ------------------------------------------------------------------------------- the one path

    def _read(self, path: str) -> LoadedImage:
        try:
            return read_image(path, max_pixels=self.max_pixels)
        except TranslationError as exc:
            raise TranslationError(str(exc).replace(str(path), Path(path).name)) from None

    def _model_for(self, task: str, model: str | None) -> str:
        """The model file a request means: the task's default for none, a tab choice's model for its value."""
        registered = task_named(task)
        if not model:
            return registered.default_model
        for choice in registered.app.choices if registered.app else ():
            if choice.value == model and choice.model in self.registry.names(task):
                return choice.model
        return model

    def _check_model(self, task: str | None, model: str) -> None:
        info = self.registry.get(model)
        if task is not None and info.task.name != task:
            raise TranslationError(f"model {model!r} is a {info.task.name} model, not {task}")

    def _run_upload(self, task: str | None, model: str, image: Upload, tile_size: int, output_format: str,
                    progress: Any, *, sketch_from_photo: bool = False, colour_strength: float = 1.0) -> RunOutput:
        self._check_model(task, model)
        image = upload_path(image)
        if not image:
            raise gr.Error("Upload an image first (drop a file, paste or click to browse).", print_exception=False)
        return self._run(model, self._read(image), Path(image).name, tile_size, output_format, progress,
                         sketch_from_photo=sketch_from_photo, colour_strength=colour_strength)

    def _run(self, model: str, loaded: LoadedImage, source_name: str, tile_size: int, output_format: str,
             progress: Any, *, sketch_from_photo: bool = False, colour_strength: float = 1.0) -> RunOutput:
        """The model (already checked to suit the tab) on a decoded image; the result written and previewed."""
        tile, fmt = _check_tile(tile_size), check_format(output_format)
        strength = _check_colour_strength(colour_strength)
        progress(0, desc=f"loading {model}")
        engine = self.registry.engine(model)
        info = engine.info
        if strength != 1.0:
            info = info.with_chroma_gain(info.task.chroma_gain * strength)
        started = time.perf_counter()
        # extracted once: the model gets the line drawing, and the preview shows it
        model_input = sketch_image(loaded, engine.info.task) if sketch_from_photo else loaded
        result = translate(model_input, engine, tile_size=tile, info=info,
                           progress=lambda done, total: progress((done, total), desc="translating", unit="tiles"))
        seconds = time.perf_counter() - started
        folder = self.workspace.new_folder()
        path = write_image(self.workspace.output_path(folder, source_name, model, fmt), result.rgb, result.alpha)
        summary = run_summary(model, (loaded.width, loaded.height), (result.width, result.height),
                              engine.device, seconds, path.name)
        return _preview_pair(model_input, result, folder), str(path), summary


def _check_tile(tile_size: int | float | None) -> int | None:
    """0 or None: automatic (the model's own tile size, or the whole image)."""
    tile = int(tile_size or 0)
    if tile < 0 or tile > MAX_TILE_SIZE:
        raise TranslationError(f"tile size {tile} is out of range: use 0 (automatic) up to {MAX_TILE_SIZE}")
    return tile or None


def _check_colour_strength(strength: float | None) -> float:
    """None: the model's own (1); else within the slider's range."""
    value = 1.0 if strength is None else float(strength)
    low, high = COLOUR_STRENGTHS
    if not low <= value <= high:
        raise TranslationError(f"colour strength {value:g} is out of range: use {low:g} to {high:g} (1: the model's own)")
    return value


def _unique(stem: str, used: set[str]) -> str:
    candidate, number = stem, 1
    while candidate.lower() in used:
        number += 1
        candidate = f"{stem}-{number}"
    used.add(candidate.lower())
    return candidate


def _preview_pair(before: LoadedImage, after: LoadedImage, folder: Path) -> Preview:
    """Both images at the output's aspect and size (capped at PREVIEW_SIDE), so the slider lines them up.

    They are written as PNG files of this request (in ``folder/preview/``, apart from the download).
    Returned as arrays, Gradio would save them into its cache under a hash of their content, rewriting
    the file in place: two requests with the same preview then truncated each other's downloads.
    """
    size = preview_size(after, PREVIEW_SIDE)
    return (str(write_image(folder / "preview" / "before.png", preview_pixels(before, size))),
            str(write_image(folder / "preview" / "after.png", preview_pixels(after, size))))


def _named(endpoint: Callable, name: str, doc: str) -> Callable:
    """``endpoint`` as the page's API lists it, and the server log names it."""
    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    return endpoint
