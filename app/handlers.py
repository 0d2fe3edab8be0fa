"""What the page's buttons call. Plain functions of paths and options, testable without a browser.

Each handler reads the upload with our robust reader, runs the runtime, writes the full-resolution
result into the app's workspace and returns (before/after preview pair, output file, summary). Errors
users can act on come back as ``gr.Error`` with the reason from ``TranslationError``; anything else is
logged with its traceback on the server and reported in one line, so the page never shows a traceback.
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

import cv2
import gradio as gr
import numpy as np

from translation.atomic import atomic_path
from translation.convert import check_format
from translation.imaging.io import (DEFAULT_MAX_PIXELS, LoadedImage, read_image, to_float, to_uint8, to_uint16,
                                 write_image)
from translation.errors import TranslationError
from translation.runtime import translate
from translation.tasks import extract_sketch

from .cards import image_summary, model_card, run_summary
from .models import ModelRegistry
from .workspace import Workspace, safe_stem

log = logging.getLogger(__name__)

PREVIEW_SIDE = 1024          # long side of the images in the before/after slider (the download is full size)
MAX_TILE_SIZE = 4096
MAX_BATCH_FILES = 200

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

    # ------------------------------------------------------------------------------- task endpoints

    @user_errors
    def style_transfer(self, image: Upload, direction: str, tile_size: int = 0, output_format: str = "png",
                       progress: Any = gr.Progress()) -> RunOutput:
        """Style transfer; ``direction`` is "photo2art", "art2photo" or the name of a style-transfer model."""
        model = f"style-{direction}" if f"style-{direction}" in self.registry.names("style-transfer") else direction
        return self._run_upload("style-transfer", model, image, tile_size, output_format, progress)

    @user_errors
    def colorize(self, image: Upload, model: str = "colorization", tile_size: int = 0,
                 output_format: str = "png", progress: Any = gr.Progress()) -> RunOutput:
        return self._run_upload("colorization", model, image, tile_size, output_format, progress)

    @user_errors
    def super_resolve(self, image: Upload, model: str = "super-resolution", tile_size: int = 0,
                      output_format: str = "png", progress: Any = gr.Progress()) -> RunOutput:
        return self._run_upload("super-resolution", model, image, tile_size, output_format, progress)

    @user_errors
    def sketch_to_photo(self, image: Upload, extract_from_photo: bool = False, model: str = "sketch-to-photo",
                        tile_size: int = 0, output_format: str = "png",
                        progress: Any = gr.Progress()) -> RunOutput:
        """An uploaded sketch, or a photo whose line drawing is extracted first (``extract_from_photo``)."""
        return self._run_upload("sketch-to-photo", model, image, tile_size, output_format, progress,
                                sketch_from_photo=bool(extract_from_photo))

    @user_errors
    def sketch_drawing_to_photo(self, drawing: dict | None, model: str = "sketch-to-photo", tile_size: int = 0,
                                output_format: str = "png", progress: Any = gr.Progress()) -> RunOutput:
        """A drawing from the sketchpad: its strokes are flattened onto white paper first."""
        self._check_model("sketch-to-photo", model)
        composite = upload_path((drawing or {}).get("composite"))
        if not composite:
            raise gr.Error("The sketchpad is empty: draw something first.", print_exception=False)
        loaded = self._read(composite)
        paper = loaded.to_float()
        if loaded.alpha is not None:
            alpha = to_float(loaded.alpha)[:, :, None]
            paper = paper * alpha + (1.0 - alpha)
        if float(paper.min()) > 0.97:
            raise gr.Error("The sketchpad is empty: draw something first.", print_exception=False)
        sketch = LoadedImage(rgb=to_uint8(paper))
        return self._run(model, sketch, "drawing", tile_size, output_format, progress)

    @user_errors
    def custom(self, image: Upload, model: str, tile_size: int = 0, output_format: str = "png",
               progress: Any = gr.Progress()) -> RunOutput:
        """Any model in the model folders; its metadata decides the pre- and post-processing."""
        return self._run_upload(None, model, image, tile_size, output_format, progress)

    @user_errors
    def batch(self, files: list[Upload] | None, model: str, tile_size: int = 0, output_format: str = "png",
              extract_from_photo: bool = False, progress: Any = gr.Progress()) -> tuple[str, str]:
        """Translate many files with one model; returns (zip of the outputs, summary in markdown).

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
        written: list[Path] = []
        skipped: list[str] = []
        started = time.perf_counter()
        used: set[str] = set()
        for index, source in enumerate(files):
            name = Path(source).name
            progress((index, len(files)), desc=f"{name} ({index + 1}/{len(files)})", unit="images")
            try:
                result = translate(self._read(source), engine, tile_size=tile,
                                   sketch_from_photo=bool(extract_from_photo))
            except TranslationError as exc:
                skipped.append(f"{name}: {self.hide_paths(str(exc))}")
                continue
            stem = _unique(safe_stem(name), used)
            written.append(write_image(folder / f"{stem}.{fmt}", result.rgb, result.alpha))
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
        return str(archive), "\n".join(lines)

    # ------------------------------------------------------------------------------- page helpers

    @user_errors
    def inspect_upload(self, image: Upload) -> str:
        """Read an upload as soon as it arrives: its size, or a readable error if it is no image."""
        image = upload_path(image)
        if not image:
            return ""
        loaded = self._read(image)
        return image_summary(loaded.width, loaded.height, loaded.bit_depth, loaded.alpha is not None)

    def describe_model(self, model: str | None) -> str:
        if not model:
            return ""
        try:
            info = self.registry.get(model)
        except TranslationError as exc:
            return html.escape(str(exc))
        return model_card(info, self.registry.device(model))

    def describe_style(self, direction: str | None) -> str:
        if direction and f"style-{direction}" in self.registry.names("style-transfer"):
            direction = f"style-{direction}"
        return self.describe_model(direction)

    def hide_paths(self, message: str) -> str:
        """Messages name files by their own name, not by where the server keeps them."""
        return message.replace(str(self.workspace.root), "…")

    # ------------------------------------------------------------------------------- the one path

    def _read(self, path: str) -> LoadedImage:
        try:
            return read_image(path, max_pixels=self.max_pixels)
        except TranslationError as exc:
            raise TranslationError(str(exc).replace(str(path), Path(path).name)) from None

    def _check_model(self, task: str | None, model: str) -> None:
        info = self.registry.get(model)
        if task is not None and info.task.name != task:
            raise TranslationError(f"model {model!r} is a {info.task.name} model, not {task}")

    def _run_upload(self, task: str | None, model: str, image: Upload, tile_size: int, output_format: str,
                    progress: Any, *, sketch_from_photo: bool = False) -> RunOutput:
        self._check_model(task, model)
        image = upload_path(image)
        if not image:
            raise gr.Error("Upload an image first (drop a file, paste or click to browse).", print_exception=False)
        return self._run(model, self._read(image), Path(image).name, tile_size, output_format, progress,
                         sketch_from_photo=sketch_from_photo)

    def _run(self, model: str, loaded: LoadedImage, source_name: str, tile_size: int, output_format: str,
             progress: Any, *, sketch_from_photo: bool = False) -> RunOutput:
        """The model (already checked to suit the tab) on a decoded image; the result written and previewed."""
        tile, fmt = _check_tile(tile_size), check_format(output_format)
        progress(0, desc=f"loading {model}")
        engine = self.registry.engine(model)
        started = time.perf_counter()
        model_input = shown_input = loaded
        if sketch_from_photo:  # extracted once: the model gets it, and the preview shows it
            sketch = extract_sketch(loaded.rgb)[:, :, None]
            shown_input = LoadedImage(rgb=np.repeat(to_uint8(sketch), 3, axis=2), alpha=loaded.alpha)
            if loaded.bit_depth == 16:  # the model gets the sketch at the source's bit depth
                model_input = LoadedImage(rgb=np.repeat(to_uint16(sketch), 3, axis=2), alpha=loaded.alpha)
            else:
                model_input = shown_input
        result = translate(model_input, engine, tile_size=tile,
                           progress=lambda done, total: progress((done, total), desc="translating", unit="tiles"))
        seconds = time.perf_counter() - started
        folder = self.workspace.new_folder()
        path = write_image(self.workspace.output_path(folder, source_name, model, fmt), result.rgb, result.alpha)
        summary = run_summary(model, (loaded.width, loaded.height), (result.width, result.height),
                              engine.device, seconds, path.name)
        return _preview_pair(shown_input, result, folder), str(path), summary


def _check_tile(tile_size: int | float | None) -> int | None:
    """0 or None: automatic (the model's own tile size, or the whole image)."""
    tile = int(tile_size or 0)
    if tile < 0 or tile > MAX_TILE_SIZE:
        raise TranslationError(f"tile size {tile} is out of range: use 0 (automatic) up to {MAX_TILE_SIZE}")
    return tile or None


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
    height, width = after.height, after.width
    ratio = min(1.0, PREVIEW_SIDE / max(height, width))
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    return (str(write_image(folder / "preview" / "before.png", _preview(before, size))),
            str(write_image(folder / "preview" / "after.png", _preview(after, size))))


def _preview(image: LoadedImage, size: tuple[int, int]) -> np.ndarray:
    pixels = to_uint8(image.rgb)
    if image.alpha is not None:
        pixels = np.dstack([pixels, to_uint8(image.alpha)])
    if (pixels.shape[1], pixels.shape[0]) != size:
        shrinking = size[0] < pixels.shape[1]
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    return pixels
