"""The data a family trains on, found and checked before training starts (data/layouts.py).

A family picks one in its ``build_data``: ``paired_data`` (aligned [A | B] images, A/B folders, or plain
photos for a task that makes its own pairs) or ``unpaired_data`` (two sets of images).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from ..data import layouts
from ..data.datasets import EpochSampler, PairedDataset, PhotoPairDataset, UnpairedDataset
from ..tasks import TaskSpec
from .config import TrainConfig
from .fast import SpeedPlan

SAMPLE_ROWS = 4


@dataclass
class TrainingData:
    spec: TaskSpec
    layout: layouts.PairedLayout | layouts.UnpairedLayout
    train: Dataset
    val: Dataset | None     # paired data only: G(A) is compared with B
    samples: Dataset        # a few fixed samples for the sample grids

    @property
    def describe(self) -> str:
        return self.layout.describe()


def _crop_options(config: TrainConfig) -> dict:
    return dict(crop_size=config.crop_size, load_size=config.load_size, preprocess=config.preprocess)


def _first_rows(dataset: Dataset) -> Subset:
    return Subset(dataset, range(min(SAMPLE_ROWS, len(dataset))))


def paired_data(config: TrainConfig, spec: TaskSpec) -> TrainingData:
    """Pairs (A, B), with validation pairs; from plain photos when the task makes its own pairs."""
    augment = config.augment()
    layout = layouts.find_paired(config.data, photos=spec.self_supervised, val_fraction=config.val_fraction,
                                 seed=config.seed)
    halves = 2 if layout.kind == "aligned" else 1
    tree = layouts.PHOTOS_TREE if spec.self_supervised else layouts.PAIRED_TREES
    layouts.check_crop_fits([s[0] for s in layout.train + layout.val], halves=halves, tree=tree,
                            **_crop_options(config))

    def dataset(samples: list, train: bool) -> Dataset:
        if spec.self_supervised:
            return PhotoPairDataset([s[0] for s in samples], spec, augment, seed=config.seed, train=train)
        return PairedDataset(samples, augment, direction=config.direction, seed=config.seed, train=train)

    val = dataset(layout.val[:config.val_max], False) if layout.val else None
    samples = val if val is not None else dataset(layout.train[:SAMPLE_ROWS], False)
    # Repeated files still get a fresh crop each time: every (epoch, index) has its own seed.
    return TrainingData(spec, layout, dataset(layout.train * config.repeats, True), val, _first_rows(samples))


def unpaired_data(config: TrainConfig, spec: TaskSpec) -> TrainingData:
    """Two sets of images, A and B, in any numbers; no validation (there is nothing to compare G(A) with)."""
    augment = config.augment()
    layout = layouts.find_unpaired(config.data)
    layouts.check_crop_fits(layout.train_a + layout.train_b, tree=layouts.UNPAIRED_TREE, **_crop_options(config))
    train = UnpairedDataset(layout.train_a * config.repeats, layout.train_b * config.repeats, augment,
                            direction=config.direction, seed=config.seed)
    sample_a, sample_b = layout.test_a or layout.train_a, layout.test_b or layout.train_b
    samples = UnpairedDataset(sample_a[:SAMPLE_ROWS], sample_b[:SAMPLE_ROWS], augment,
                              direction=config.direction, seed=config.seed, train=False)
    return TrainingData(spec, layout, train, None, _first_rows(samples))


def train_loader(data: TrainingData, sampler: EpochSampler, config: TrainConfig, speed: SpeedPlan) -> DataLoader:
    return DataLoader(data.train, batch_size=config.batch_size, sampler=sampler, num_workers=config.workers,
                      pin_memory=speed.pin_memory, persistent_workers=speed.persistent_workers,
                      generator=torch.Generator().manual_seed(config.seed))
