"""Image in, image out: read -> task.prepare -> pad / tile / batch on the engine -> task.finish.

``translate`` is the one call the app, the batch converter and Python users share. It is split into
``prepare_image``, ``infer`` and ``finish_image`` so the batch converter can run decoding and encoding
in worker threads around the inference loop.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..imaging.io import DEFAULT_MAX_PIXELS, LoadedImage, read_image, to_uint8, to_uint16
from ..errors import TranslationError
from ..tasks import TaskSpec, finish, photo_to_sketch, prepare, sketch_tasks
from .engine import Engine, normalise_providers
from .models import ModelInfo, resolve_model
from .tiling import run_tiled

log = logging.getLogger(__name__)

DEFAULT_OVERLAP = 32

ImageSource = LoadedImage | np.ndarray | str | Path


@dataclass
class Prepared:
    """An image ready for the network: the source (for alpha and bit depth) and the network input."""

    source: LoadedImage
    tensor: np.ndarray      # C x H' x W' float32 in [-1, 1]
    context: dict

    def release_input(self) -> None:
        """Drop the network input once inferred (a 4096 x 4096 photo's is 200 MB)."""
        self.tensor = np.empty((0, 0, 0), np.float32)


def load(image: ImageSource, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    return image if isinstance(image, LoadedImage) else read_image(image, max_pixels=max_pixels)


def prepare_image(image: ImageSource, info: ModelInfo, *, sketch_from_photo: bool = False,
                  max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Prepared:
    """Decode (if needed) and turn the image into network input with the model's task."""
    if sketch_from_photo and info.task.name not in sketch_tasks():
        raise TranslationError(f"{info.name}: --sketch-from-photo is for models of the tasks that take line "
                               f"drawings ({', '.join(sketch_tasks())}), not a {info.task.name} model")
    source = load(image, max_pixels=max_pixels)
    # the integer pixels as they are: prepare makes its one float copy itself
    tensor, context = prepare(info.task, source.rgb, sketch_from_photo=sketch_from_photo)
    if tensor.shape[0] != info.in_channels:
        raise TranslationError(f"{info.path}: task {info.task.name!r} makes {tensor.shape[0]} input channels "
                               f"but the network takes {info.in_channels}")
    return Prepared(source, tensor, context)


def sketch_image(image: ImageSource, spec: TaskSpec, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """The line drawing ``spec``'s task makes of a photo, as an image of its own: gray RGB at the photo's
    bit depth, with its alpha. To look at what ``sketch_from_photo`` feeds a model, or to feed it so."""
    source = load(image, max_pixels=max_pixels)
    sketch = photo_to_sketch(spec, source.rgb)[:, :, None]
    pixels = to_uint16(sketch) if source.bit_depth == 16 else to_uint8(sketch)
    return LoadedImage(rgb=np.repeat(pixels, 3, axis=2), alpha=source.alpha, path=source.path)


def infer(prepared: Prepared, engine: Engine, *, tile_size: int | None = None,
          overlap: int = DEFAULT_OVERLAP, batch_size: int | None = None,
          progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The network output (C x H' x W' float32) for a prepared image, tiled when larger than a tile.

    ``batch_size`` tiles go through the network at once (None: the engine's preference, 1 on CPU).
    """
    tile = int(tile_size or engine.tile_size)
    if tile <= 0:
        raise TranslationError(f"tile size must be positive, got {tile}")
    return run_tiled(engine.run, prepared.tensor, multiple=engine.size_multiple, tile=tile, overlap=overlap,
                     batch_size=batch_size or engine.preferred_batch_size, progress=progress)


_DEPTHS = {8: (255.0, cv2.CV_8U), 16: (65535.0, cv2.CV_16U)}


def _to_integers(values: np.ndarray, scale: float, bits: int) -> np.ndarray:
    """float32 ``values * scale * top`` rounded half to even (as ``np.rint``) and clipped to 0..top
    (uint8 / uint16) in one saturating OpenCV pass."""
    top, depth = _DEPTHS[16 if bits == 16 else 8]
    return cv2.addWeighted(values, top * scale, values, 0.0, 0.0, dtype=depth).reshape(values.shape)


def quantise(rgb: np.ndarray, bits: int) -> np.ndarray:
    """float [0, 1] -> uint8 / uint16: the same values as clipping, scaling and rounding in numpy's four passes."""
    return _to_integers(np.asarray(rgb, dtype=np.float32), 1.0, bits)


def output_pixels(spec: TaskSpec, output: np.ndarray, context: dict, bits: int) -> np.ndarray:
    """``quantise(finish(...))``: network output C x H x W -> H x W x 3 uint8 / uint16, the same values.

    An rgb or gray output already at its final size skips the float photo: (x + 1) / 2 * top in one
    saturating pass per plane (halving is exact in floating point, so it rounds as ``finish`` and
    ``quantise`` do), on the network's own C x H x W planes or on the blended H x W x C tiles as they lie.
    """
    output = np.asarray(output, dtype=np.float32)
    if output.ndim == 4 and output.shape[0] == 1:
        output = output[0]
    at_size = output.ndim == 3 and tuple(context.get("output_size", output.shape[1:])) == output.shape[1:]
    if spec.output_space not in ("rgb", "gray") or not at_size or output.shape[0] not in (1, 3):
        return quantise(finish(spec, output, context), bits)
    interleaved = output.transpose(1, 2, 0)
    layers = [interleaved] if interleaved.flags.c_contiguous else list(output)
    done = [_to_integers(layer + np.float32(1.0), 0.5, bits) for layer in layers]
    pixels = (done[0] if len(done) == 1 else cv2.merge(done)).reshape(interleaved.shape)
    return pixels if pixels.shape[2] == 3 else np.repeat(pixels, 3, axis=2)


def finish_image(prepared: Prepared, output: np.ndarray, info: ModelInfo) -> LoadedImage:
    """Network output -> pixels at the source's bit depth, with the source's alpha re-attached."""
    source = prepared.source
    pixels = output_pixels(info.task, output, prepared.context, source.bit_depth)
    alpha = source.alpha
    if alpha is not None and alpha.shape != pixels.shape[:2]:
        height, width = pixels.shape[:2]
        shrinking = height < alpha.shape[0]
        alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return LoadedImage(rgb=pixels, alpha=alpha, path=source.path)


def translate(image: ImageSource, engine: Engine, *, tile_size: int | None = None,
              overlap: int = DEFAULT_OVERLAP, batch_size: int | None = None,
              sketch_from_photo: bool = False, info: ModelInfo | None = None,
              progress: Callable[[int, int], None] | None = None) -> LoadedImage:
    """Translate one image (path, array or ``LoadedImage``) with ``engine``'s model.

    Returns uint8 pixels (uint16 where the input was 16-bit) with the input's alpha re-attached
    (resized when the task changes the size). Images larger than ``tile_size`` (default: the model's)
    run as overlapping tiles, ``batch_size`` at a time (default: 1 on CPU, 4 on GPU);
    ``progress(done, total)`` is called after each batch of tiles. ``info`` feeds and reads the network
    as another description of the same model would (``engine.info.with_chroma_gain(...)``: one call's
    colour strength); default ``engine.info``.
    """
    info = info or engine.info
    prepared = prepare_image(image, info, sketch_from_photo=sketch_from_photo)
    output = infer(prepared, engine, tile_size=tile_size, overlap=overlap, batch_size=batch_size,
                   progress=progress)
    prepared.release_input()
    return finish_image(prepared, output, info)


_engines: dict[tuple, Engine] = {}
_engines_lock = threading.Lock()
_MAX_CACHED_ENGINES = 4


def get_engine(model: ModelInfo | str | Path, *, providers: Sequence[str] | str | None = None,
               threads: int | None = None, extra_dirs: Sequence[str | Path] = ()) -> Engine:
    """An Engine for ``model``, cached: the same model, providers and threads reuse one session."""
    info = model if isinstance(model, ModelInfo) else resolve_model(model, extra_dirs)
    stat = info.path.stat()
    provider_key = tuple(normalise_providers(providers) or ())
    key = (str(info.path), stat.st_size, stat.st_mtime_ns, provider_key, threads)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = Engine(info, providers=providers, threads=threads)
            if len(_engines) >= _MAX_CACHED_ENGINES:
                _engines.pop(next(iter(_engines)))
            _engines[key] = engine
        return engine


def convert_image(image: ImageSource, model: ModelInfo | str | Path, *,
                  providers: Sequence[str] | str | None = None, threads: int | None = None,
                  extra_dirs: Sequence[str | Path] = (), **translate_options) -> LoadedImage:
    """One call: ``convert_image("photo.jpg", "colorization")``; the Engine is built once and cached."""
    engine = get_engine(model, providers=providers, threads=threads, extra_dirs=extra_dirs)
    return translate(image, engine, **translate_options)
