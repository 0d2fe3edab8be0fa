"""Padding and tiling: plans cover the image, blend weights sum to one, tiles agree with the whole image."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from tiny_models import export_tiny

from translation.runtime import Engine
from translation.runtime.tiling import effective_tile, plan_tiles, run_tiled


@pytest.mark.parametrize("length,multiple,tile,overlap", [
    (1, 4, 512, 32), (37, 4, 32, 8), (300, 4, 64, 16), (517, 32, 128, 32), (1000, 256, 512, 32),
    (4096, 4, 512, 32), (129, 32, 64, 40), (700, 4, 60, 0)])
def test_tile_plans_cover_the_image_with_aligned_overlapping_tiles(length, multiple, tile, overlap):
    axis = plan_tiles(length, 8, multiple=multiple, tile=tile, overlap=overlap).rows
    align = math.gcd(multiple, 32)
    assert axis.tile % multiple == 0 and axis.padded >= length and axis.padded - length < max(multiple, axis.tile)
    assert all(start % align == 0 for start in axis.starts)
    assert axis.starts[0] == 0 and list(axis.starts) == sorted(set(axis.starts))
    for previous, start in zip(axis.starts, axis.starts[1:]):
        assert previous + axis.tile - start >= overlap          # every neighbour overlaps enough
    coverage = np.zeros(length)
    for start, weight in zip(axis.starts, axis.weights):
        assert len(weight) == min(axis.tile, length - start) and (weight > 0).all()
        coverage[start:start + len(weight)] += weight
    np.testing.assert_allclose(coverage, 1.0, atol=1e-6)        # blend weights: a partition of unity


def test_tile_size_grows_to_fit_the_multiple_and_the_overlap():
    assert effective_tile(500, 256, 32) == 512
    assert effective_tile(256, 256, 32) == 256
    assert effective_tile(32, 32, 16) == 64        # a 32 tile with 16 overlap could not advance on the 32 grid
    assert effective_tile(64, 4, 32) == 64


@pytest.mark.parametrize("shape,multiple,tile,batch", [((3, 37, 53), 4, 16, 1), ((1, 300, 517), 32, 128, 3),
                                                       ((2, 5, 7), 32, 512, 4), ((3, 64, 64), 4, 64, 2)])
def test_a_pointwise_network_is_reproduced_exactly(shape, multiple, tile, batch):
    image = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    calls = []

    def network(x):
        assert x.shape[2] % multiple == 0 and x.shape[3] % multiple == 0 and x.shape[0] <= batch
        calls.append(x.shape)
        return np.tanh(x * 2)

    seen = []
    out = run_tiled(network, image, multiple=multiple, tile=tile, overlap=8, batch_size=batch,
                    progress=lambda done, total: seen.append((done, total)))
    assert out.shape == shape
    np.testing.assert_allclose(out, np.tanh(image * 2), atol=1e-6)
    assert seen[-1][0] == seen[-1][1] >= len(calls)
    assert len(set(calls)) == 1  # one shape for every call (a short last batch is padded): no re-tuning on GPUs


def _photo_like(height: int, width: int) -> np.ndarray:
    noise = np.random.default_rng(0).uniform(-1, 1, (3, height, width)).astype(np.float32)
    smooth = np.stack([cv2.GaussianBlur(channel, (0, 0), 3) for channel in noise])
    return smooth / np.abs(smooth).max()


def _clean_axis(axis, margin: int) -> np.ndarray:
    """Pixels covered by one tile only and at least ``margin`` from every tile edge inside the image."""
    cover = np.zeros(axis.length, int)
    near_edge = np.zeros(axis.length, bool)
    for k, start in enumerate(axis.starts):
        cover[start:start + axis.tile] += 1
        if k > 0:
            near_edge[start:start + margin] = True
        if k < len(axis.starts) - 1:
            near_edge[max(0, start + axis.tile - margin):start + axis.tile] = True
    return (cover == 1) & ~near_edge


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiling-models")
    return {(name, norm): Engine(export_tiny(folder, f"{name}-{norm}", name, norm=norm))
            for name, norm in [("resnet_1blocks", "batch"), ("unet_32", "batch"), ("resnet_1blocks", "instance")]}


def test_tiles_of_a_local_network_match_the_whole_image_away_from_tile_borders(models):
    engine = models[("resnet_1blocks", "batch")]          # eval batch norm: a purely convolutional net
    image = _photo_like(200, 264)
    whole = run_tiled(engine.run, image, multiple=4, tile=1024)
    tiled = run_tiled(engine.run, image, multiple=4, tile=128, overlap=32, batch_size=3)
    plan = plan_tiles(200, 264, multiple=4, tile=128, overlap=32)
    assert plan.count == 6
    clean = _clean_axis(plan.rows, 24)[:, None] & _clean_axis(plan.cols, 24)[None, :]
    error = tiled - whole
    assert clean.mean() > 0.3 and np.abs(error[:, clean]).max() < 1e-4
    # near tile borders the tiles see mirrored context; blending keeps that small and seamless
    assert np.abs(error).mean() < 0.01 and np.abs(error).max() < 0.15
    seam = max(np.abs(np.diff(error, axis=1)).max(), np.abs(np.diff(error, axis=2)).max())
    assert seam < 0.15


def test_unet_and_instance_norm_tiles_stay_close_to_the_whole_image(models):
    image = _photo_like(200, 264)
    unet = models[("unet_32", "batch")]
    error = run_tiled(unet.run, image, multiple=32, tile=128) - run_tiled(unet.run, image, multiple=32, tile=1024)
    assert np.abs(error).mean() < 0.05 and np.abs(error).max() < 0.5   # its receptive field spans the tile
    # instance norm: statistics per tile, so only approximately the whole-image result
    inorm = models[("resnet_1blocks", "instance")]
    error = run_tiled(inorm.run, image, multiple=4, tile=128) - run_tiled(inorm.run, image, multiple=4, tile=1024)
    assert np.abs(error).mean() < 0.2
