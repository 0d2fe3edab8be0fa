"""Any image size through a network that wants multiples of ``size_multiple``: pad, tile, blend.

An image that fits one tile is reflect-padded up to the size multiple, run once and cropped back.
A larger one runs tile by tile (tiles batched), so memory stays bounded. Neighbouring tiles overlap
and are blended with linear ramps across the overlap; the ramps of neighbours add up to one, so
no seam shows. Tile origins sit on a grid of ``gcd(size_multiple, 32)`` pixels, so the first stride-2
levels of a U-Net sample every tile on the same grid as the whole image would.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import TranslationError

ALIGN = 32


@dataclass(frozen=True)
class AxisPlan:
    length: int           # image length along this axis
    tile: int             # tile length (a multiple of the size multiple)
    starts: tuple[int, ...]
    weights: tuple[np.ndarray, ...]   # per tile: blend weight of each of its pixels inside the image

    @property
    def padded(self) -> int:
        return self.starts[-1] + self.tile


@dataclass(frozen=True)
class TilePlan:
    rows: AxisPlan
    cols: AxisPlan

    @property
    def count(self) -> int:
        return len(self.rows.starts) * len(self.cols.starts)

    def tiles(self) -> Iterator[tuple[int, int]]:
        """(row index, column index) of every tile, row by row."""
        for i in range(len(self.rows.starts)):
            for j in range(len(self.cols.starts)):
                yield i, j


def effective_tile(tile: int, multiple: int, overlap: int) -> int:
    """``tile`` rounded up to the size multiple and large enough to advance past the overlap."""
    align = math.gcd(multiple, ALIGN)
    tile = max(multiple, math.ceil(tile / multiple) * multiple)
    if tile - overlap < align:
        tile = math.ceil((overlap + align) / multiple) * multiple
    return tile


def plan_axis(length: int, *, multiple: int, tile: int, overlap: int) -> AxisPlan:
    if length < 1:
        raise TranslationError(f"cannot tile an image side of {length} pixels")
    align = math.gcd(multiple, ALIGN)
    padded = math.ceil(length / multiple) * multiple
    if padded <= tile:
        return AxisPlan(length, padded, (0,), (np.ones(length, np.float32),))
    step = (tile - overlap) // align * align
    count = math.ceil((padded - tile) / step) + 1
    spacing = (padded - tile) / (count - 1)
    starts = tuple(sorted({int(round(i * spacing / align)) * align for i in range(count)}))
    return AxisPlan(length, tile, starts, _blend_weights(starts, tile, length))


def _blend_weights(starts: tuple[int, ...], tile: int, length: int) -> tuple[np.ndarray, ...]:
    """Linear ramps over each overlap with a neighbour, normalised so the weights sum to one per pixel."""
    raw = []
    for k, start in enumerate(starts):
        weight = np.ones(tile, np.float64)
        if k > 0:  # ramp up across the overlap with the previous tile
            ramp = starts[k - 1] + tile - start
            weight[:ramp] = np.minimum(weight[:ramp], np.arange(1, ramp + 1) / (ramp + 1))
        if k < len(starts) - 1:  # ramp down across the overlap with the next tile
            ramp = start + tile - starts[k + 1]
            weight[tile - ramp:] = np.minimum(weight[tile - ramp:], np.arange(ramp, 0, -1) / (ramp + 1))
        raw.append(weight)
    total = np.zeros(starts[-1] + tile, np.float64)
    for start, weight in zip(starts, raw):
        total[start:start + tile] += weight
    normalised = []
    for start, weight in zip(starts, raw):
        inside = min(tile, length - start)
        normalised.append((weight[:inside] / total[start:start + inside]).astype(np.float32))
    return tuple(normalised)


def plan_tiles(height: int, width: int, *, multiple: int, tile: int, overlap: int) -> TilePlan:
    overlap = max(0, int(overlap))
    tile = effective_tile(int(tile), int(multiple), overlap)
    return TilePlan(plan_axis(height, multiple=multiple, tile=tile, overlap=overlap),
                    plan_axis(width, multiple=multiple, tile=tile, overlap=overlap))


def extract_tile(image: np.ndarray, plan: TilePlan, i: int, j: int) -> np.ndarray:
    """The C x tile x tile input of tile (i, j); parts beyond the image are mirrored (reflect padding)."""
    return _padded_crop(image, plan.rows.starts[i], plan.cols.starts[j], plan)


def _padded_crop(image: np.ndarray, y: int, x: int, plan: TilePlan) -> np.ndarray:
    crop = image[:, y:y + plan.rows.tile, x:x + plan.cols.tile]
    pad_h, pad_w = plan.rows.tile - crop.shape[1], plan.cols.tile - crop.shape[2]
    if pad_h or pad_w:
        crop = np.pad(crop, ((0, 0), (0, pad_h), (0, pad_w)), mode="reflect")
    return crop


def _run_batch(run: Callable[[np.ndarray], np.ndarray], tiles: list[np.ndarray], plan: TilePlan,
               batch_size: int) -> np.ndarray:
    """``run`` on a batch of tiles; a short last batch is padded, so the network always sees one shape."""
    if plan.count > batch_size:
        tiles = tiles + [tiles[-1]] * (batch_size - len(tiles))
    batch = np.stack(tiles)
    result = run(batch)
    if result.shape[0] != batch.shape[0] or result.shape[2:] != batch.shape[2:]:
        raise TranslationError(f"the model changed the tile size ({batch.shape} -> {result.shape}); "
                               "only size-preserving generators are supported")
    return result


def run_tiled(run: Callable[[np.ndarray], np.ndarray], image: np.ndarray, *, multiple: int, tile: int,
              overlap: int = 32, batch_size: int = 1,
              progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Apply a size-preserving network ``run`` (N x C x h x w -> N x C' x h x w) to a C x H x W image."""
    if image.ndim != 3:
        raise ValueError(f"expected a C x H x W image, got shape {image.shape}")
    _, height, width = image.shape
    plan = plan_tiles(height, width, multiple=multiple, tile=tile, overlap=overlap)
    batch_size = max(1, int(batch_size))
    if plan.count == 1:   # the whole image in one tile: its output, cropped, is the image (no blend, no copy)
        result = _run_batch(run, [extract_tile(image, plan, 0, 0)], plan, batch_size)
        if progress is not None:
            progress(1, 1)
        return result[0, :, :height, :width]
    output: np.ndarray | None = None
    pending: list[tuple[int, int]] = []
    done = 0

    def flush() -> None:
        nonlocal output, done
        result = _run_batch(run, [extract_tile(image, plan, i, j) for i, j in pending], plan, batch_size)
        if output is None:
            output = np.zeros((height, width, result.shape[1]), np.float32)
        for (i, j), tile_out in zip(pending, result[:len(pending)]):
            _accumulate(output, tile_out, plan, i, j)
        done += len(pending)
        pending.clear()
        if progress is not None:
            progress(done, plan.count)

    for index in plan.tiles():
        pending.append(index)
        if len(pending) == batch_size:
            flush()
    if pending:
        flush()
    assert output is not None
    # Accumulated as H x W x C, handed out as a C x H x W view: post-processing reads either layout
    # without another full-size copy.
    return output.transpose(2, 0, 1)


def _accumulate(output: np.ndarray, tile_out: np.ndarray, plan: TilePlan, i: int, j: int, *,
                y: int | None = None) -> None:
    """Add tile (i, j)'s weighted output into ``output`` at its place (row ``y`` of ``output`` if given)."""
    y, x = plan.rows.starts[i] if y is None else y, plan.cols.starts[j]
    wy, wx = plan.rows.weights[i], plan.cols.weights[j]
    h, w = len(wy), len(wx)
    tile_hwc = tile_out[:, :h, :w].transpose(1, 2, 0)
    if plan.count == 1:  # the whole image in one piece (a band of one tile): just crop the padding away
        output[:h, :w] = tile_hwc
        return
    output[y:y + h, x:x + w] += tile_hwc * (wy[:, None] * wx[None, :])[:, :, None]


def run_tiled_bands(run: Callable[[np.ndarray], np.ndarray], rows_of: Callable[[int, int], np.ndarray],
                    height: int, width: int, *, multiple: int, tile: int, overlap: int = 32, batch_size: int = 1,
                    progress: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
    """``run_tiled`` for an image too large to hold: its input rows come from ``rows_of(y0, y1)``
    (C x (y1 - y0) x width), and its output leaves in bands of finished rows, top to bottom
    (rows x width x C', float32), the same values ``run_tiled`` gives. Memory: one row of tiles.

    Tiles are blended in ``run_tiled``'s order, so every pixel sums the same terms in the same order.
    """
    plan = plan_tiles(height, width, multiple=multiple, tile=tile, overlap=overlap)
    rows, cols = plan.rows, plan.cols
    batch_size = max(1, int(batch_size))
    buffer: np.ndarray | None = None   # output rows starts[i] .. starts[i] + tile, while row i is added
    done = 0
    for i, y in enumerate(rows.starts):
        band = rows_of(y, min(y + rows.tile, height))
        for first in range(0, len(cols.starts), batch_size):
            indices = range(first, min(first + batch_size, len(cols.starts)))
            result = _run_batch(run, [_padded_crop(band, 0, cols.starts[j], plan) for j in indices], plan,
                                batch_size)
            if buffer is None:
                buffer = np.zeros((rows.tile, width, result.shape[1]), np.float32)
            for j, tile_out in zip(indices, result):
                _accumulate(buffer, tile_out, plan, i, j, y=0)
            done += len(indices)
            if progress is not None:
                progress(done, plan.count)
        del band
        assert buffer is not None
        finished = (rows.starts[i + 1] if i + 1 < len(rows.starts) else height) - y
        carried = np.zeros_like(buffer)
        carried[:rows.tile - finished] = buffer[finished:]
        yield buffer[:finished]
        buffer = carried
