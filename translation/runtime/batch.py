"""Several prepared images of one shape through the engine together: the frames of a video.

Frames that fit one tile are padded as ``run_tiled`` pads them and stacked into batches of
``batch_size`` (a short last batch is filled up, so the network always sees one shape); larger frames
go through ``infer`` one by one, their tiles batched instead.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import TranslationError
from .engine import Engine
from .pipeline import DEFAULT_OVERLAP, Prepared, infer
from .tiling import extract_tile, plan_tiles


def infer_many(prepared: Sequence[Prepared], engine: Engine, *, tile_size: int | None = None,
               overlap: int = DEFAULT_OVERLAP, batch_size: int | None = None) -> list[np.ndarray]:
    """The network output (C x H' x W' float32) of each prepared image, in order."""
    batch_size = max(1, int(batch_size or engine.preferred_batch_size))
    shapes = {p.tensor.shape for p in prepared}
    if batch_size > 1 and len(prepared) > 1 and len(shapes) == 1:
        _, height, width = shapes.pop()
        plan = plan_tiles(height, width, multiple=engine.size_multiple, tile=int(tile_size or engine.tile_size),
                          overlap=overlap)
        if plan.count == 1:
            return _stacked(prepared, engine, plan, batch_size)
    return [infer(p, engine, tile_size=tile_size, overlap=overlap, batch_size=batch_size) for p in prepared]


def _stacked(prepared: Sequence[Prepared], engine: Engine, plan, batch_size: int) -> list[np.ndarray]:
    height, width = plan.rows.length, plan.cols.length
    outputs: list[np.ndarray] = []
    for start in range(0, len(prepared), batch_size):
        tiles = [extract_tile(p.tensor, plan, 0, 0) for p in prepared[start:start + batch_size]]
        count = len(tiles)
        tiles += [tiles[-1]] * (batch_size - count)
        batch = np.stack(tiles)
        result = engine.run(batch)
        if result.shape[0] != batch.shape[0] or result.shape[2:] != batch.shape[2:]:
            raise TranslationError(f"the model changed the tile size ({batch.shape} -> {result.shape}); "
                                   "only size-preserving generators are supported")
        outputs += [frame[:, :height, :width] for frame in result[:count]]
    return outputs
