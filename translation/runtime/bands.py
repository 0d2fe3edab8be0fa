"""Outputs too large to hold whole (a 4096x4096 photo through the x4 super-resolution model is a
16384x16384 output: 3.2 GB per float copy): prepared, translated and written as PNG in row bands.

The input of each row of tiles is prepared from the rows of the photo it needs (with a margin for the
bicubic upscale), the tiles' outputs are blended into a buffer one row of tiles high, and every band
of finished rows goes straight through the task's decoding into the PNG encoder. Memory is bounded
by a row of tiles, whatever the output size, and the pixels are those of the in-memory path: the
crops with margins give the same resampled values, and tiles blend in the same order (on an output so
wide that a row of the model's tiles would not fit ``BAND_COPY_BYTES``, the tiles are smaller, so the
seams are blended at other places).

It takes tasks whose pre- and post-processing work pixel by pixel (rgb / gray in and out, an integer
scale, no working size); the others (colorization's working size, a sketch made from the photo) need
the whole image at once.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..atomic import atomic_path
from ..errors import TranslationError
from ..imaging.io import LoadedImage
from ..imaging.png_stream import PngBandWriter
from ..tasks import TaskSpec
from ..tasks.processing import as_float_rgb, encode_input, resize, upscale_input, upscales_encoded
from .engine import Engine
from .pipeline import DEFAULT_OVERLAP, output_pixels
from .tiling import run_tiled_bands

BAND_SUFFIXES = frozenset({".png"})
_CUBIC_MARGIN, _LINEAR_MARGIN = 3, 2   # source rows beyond a band that its bicubic / bilinear upscale reads
# A band holds a few float32 copies of one row of tiles (input, blend buffer, carried rows, decoded
# output); tiles are made no taller than keeps one copy within this, so a model whose tiles are large
# (super-resolution: one 2048 px tile for a 512 px photo) stays within its memory bound on a wide output.
BAND_COPY_BYTES = 128 << 20
MIN_BAND_TILE = 512


def band_tile(tile: int, width: int) -> int:
    """The tile size a band of an output ``width`` pixels wide uses: ``tile``, or less on a wide output."""
    rows = BAND_COPY_BYTES // (width * 3 * 4) // 64 * 64   # float32 RGB
    return min(int(tile), max(MIN_BAND_TILE, rows))


def writes_in_bands(spec: TaskSpec, suffix: str, *, sketch_from_photo: bool = False) -> bool:
    """Whether an output of ``spec``'s models in this format can be made and written band by band."""
    return (suffix.lower() in BAND_SUFFIXES and not sketch_from_photo and not spec.working_size
            and spec.input_space in ("rgb", "gray") and spec.output_space in ("rgb", "gray"))


def _source_rows(height: int, scale: int, y0: int, y1: int, margin: int) -> tuple[int, int]:
    """The rows of a ``height``-row source that output rows y0:y1 of its upscale by ``scale`` read."""
    return max(0, y0 // scale - margin), min(height, (y1 - 1) // scale + 1 + margin)


def _upscaled_rows(pixels: np.ndarray, scale: int, y0: int, y1: int, margin: int, interpolation: int,
                   convert=lambda rows: rows) -> np.ndarray:
    """Rows y0:y1 of ``pixels`` resized by ``scale`` in both directions, from a crop with ``margin`` rows."""
    if scale == 1:
        return convert(pixels[y0:y1])
    r0, r1 = _source_rows(pixels.shape[0], scale, y0, y1, margin)
    crop = convert(pixels[r0:r1])
    return resize(crop, (r1 - r0) * scale, pixels.shape[1] * scale, interpolation)[y0 - r0 * scale:y1 - r0 * scale]


def write_in_bands(source: LoadedImage, engine: Engine, path: str | Path, *, tile_size: int | None = None,
                   overlap: int = DEFAULT_OVERLAP, batch_size: int | None = None,
                   png_compression: str = "fast") -> Path:
    """Translate ``source`` with ``engine`` into the PNG ``path`` (atomically), one band of rows at a time."""
    path, spec = Path(path), engine.info.task
    if not writes_in_bands(spec, path.suffix):
        raise TranslationError(f"{path}: {spec.name} outputs as {path.suffix} cannot be written in bands")
    scale = int(spec.scale)
    height, width = source.height * scale, source.width * scale

    def input_rows(y0: int, y1: int) -> np.ndarray:   # rows y0:y1 of what ``prepare`` would make
        if upscales_encoded(spec):   # as prepare: encoded small, upscaled plane by plane
            r0, r1 = _source_rows(source.height, scale, y0, y1, _CUBIC_MARGIN)
            upscaled = upscale_input(spec, as_float_rgb(source.rgb[r0:r1]), scale)
            return upscaled[:, y0 - r0 * scale:y1 - r0 * scale]
        rgb = _upscaled_rows(source.rgb, scale, y0, y1, _CUBIC_MARGIN, cv2.INTER_CUBIC, as_float_rgb)
        if scale > 1:   # the band is a fresh array: clipped in place
            np.clip(rgb, 0.0, 1.0, out=rgb)
        return encode_input(spec, rgb)

    channels = 3 if source.alpha is None else 4
    bands = run_tiled_bands(engine.run, input_rows, height, width, multiple=engine.size_multiple,
                            tile=band_tile(tile_size or engine.tile_size, width), overlap=overlap,
                            batch_size=batch_size or engine.preferred_batch_size)
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            writer = PngBandWriter(handle, width, height, channels, source.bit_depth, compression=png_compression)
            for band in bands:
                y0 = writer.rows_written
                pixels = output_pixels(spec, band.transpose(2, 0, 1), {}, source.bit_depth)
                if source.alpha is not None:
                    alpha = _upscaled_rows(source.alpha, scale, y0, y0 + len(pixels), _LINEAR_MARGIN, cv2.INTER_LINEAR)
                    pixels = np.dstack([pixels, alpha])
                writer.write(pixels)
            writer.close()
    except OSError as exc:   # disk full, permissions
        raise TranslationError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path
