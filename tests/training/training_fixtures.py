"""Fixtures of the training tests: tiny synthetic datasets (drawn shapes) and tiny configurations.

(Not a conftest.py: the tests folders have no __init__.py, so a second conftest.py would replace the
top-level one as the module ``conftest`` that other tests import from.) Test modules import what they use.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from translation.training import TrainConfig


def draw_shapes(rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """An RGB picture of a few coloured discs and boxes on a plain background."""
    image = np.full((size, size, 3), rng.integers(20, 80, 3), np.uint8)
    for _ in range(3):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = (int(v) for v in rng.integers(4, size - 4, 2))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), int(rng.integers(3, size // 4)), colour, -1)
        else:
            cv2.rectangle(image, (x - 4, y - 4), (x + 5, y + 3), colour, -1)
    return image


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), rgb[:, :, ::-1])


@pytest.fixture
def aligned_data(tmp_path: Path) -> Path:
    """facades-style [A | B] images where B is A with inverted colours: a mapping a U-Net learns fast."""
    rng = np.random.default_rng(0)
    root = tmp_path / "aligned"
    for split, count in (("train", 16), ("val", 4)):
        for i in range(count):
            a = draw_shapes(rng)
            write_rgb(root / split / f"{i:03d}.png", np.concatenate([a, 255 - a], axis=1))
    return root


@pytest.fixture
def unpaired_data(tmp_path: Path) -> Path:
    """Red shapes (A) and blue shapes (B), in different numbers."""
    rng = np.random.default_rng(1)
    root = tmp_path / "unpaired"
    for folder, count in (("trainA", 9), ("trainB", 6), ("testA", 2), ("testB", 2)):
        for i in range(count):
            image = draw_shapes(rng)
            image[:, :, 2 if folder.endswith("A") else 0] //= 4
            write_rgb(root / folder / f"{i:03d}.png", image)
    return root


def tiny_config(model: str, data: Path, out: Path, **overrides) -> TrainConfig:
    """A configuration that trains in seconds on two CPU cores; ``overrides`` may hold the family's options."""
    settings = dict(netG="unet_32" if model == "pix2pix" else "resnet_1blocks", ngf=8, ndf=8, load_size=36,
                    crop_size=32, workers=0, save_every=1000, sample_every=1000, log_every=1, epochs=2,
                    epochs_decay=1, device="cpu")
    return TrainConfig.from_options(model, data=data, out=out, **{**settings, **overrides})


@pytest.fixture
def tiny():
    """``tiny(model, data, out, **overrides) -> TrainConfig``."""
    return tiny_config


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine two threads per process
    can run several times slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
