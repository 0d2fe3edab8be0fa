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
    val: Dataset | None     # held-out data for the family's ``validate``: pairs, or each domain's images
    samples: Dataset        # a few fixed samples for the sample grids
    held_out: str = ""      # where the unpaired validation images come from, for the log

    @property
    def describe(self) -> str:
        return self.layout.describe() + self.held_out


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
            # validation pairs are made as the task defines them, so runs with other settings compare
            return PhotoPairDataset([s[0] for s in samples], spec, augment, seed=config.seed, train=train,
                                    pair_options=config.pair_options() if train else None)
        return PairedDataset(samples, augment, direction=config.direction, seed=config.seed, train=train)

    val = dataset(layout.val[:config.val_max], False) if layout.val else None
    samples = val if val is not None else dataset(layout.train[:SAMPLE_ROWS], False)
    # Repeated files still get a fresh crop each time: every (epoch, index) has its own seed.
    return TrainingData(spec, layout, dataset(layout.train * config.repeats, True), val, _first_rows(samples))


def unpaired_data(config: TrainConfig, spec: TaskSpec) -> TrainingData:
    """Two sets of images, A and B, in any numbers. Each domain is validated on its test folder, or else on
    --val-fraction of its training files held out as paired data holds them out."""
    augment = config.augment()
    layout = layouts.find_unpaired(config.data)
    train_a, val_a, source_a = _held_out(layout.train_a, layout.test_a, config)
    train_b, val_b, source_b = _held_out(layout.train_b, layout.test_b, config)
    layouts.check_crop_fits(train_a + train_b + val_a + val_b, tree=layouts.UNPAIRED_TREE, **_crop_options(config))

    def dataset(files_a: list, files_b: list, train: bool) -> UnpairedDataset:
        return UnpairedDataset(files_a, files_b, augment, direction=config.direction, seed=config.seed, train=train)

    train = dataset(train_a * config.repeats, train_b * config.repeats, True)
    val = dataset(val_a[:config.val_max], val_b[:config.val_max], False) if val_a and val_b else None
    samples = dataset((val_a or train_a)[:SAMPLE_ROWS], (val_b or train_b)[:SAMPLE_ROWS], False)
    held_out = f"; cycle validation: A {source_a}, B {source_b}" if val else "; no cycle validation"
    return TrainingData(spec, layout, train, val, _first_rows(samples), held_out)


def _held_out(train: list, test: list, config: TrainConfig) -> tuple[list, list, str]:
    """(training files, validation files, where these come from) of one unpaired domain."""
    if test:
        return train, test, f"{len(test)} test images"
    train, val = layouts.hold_out(train, config.val_fraction, config.seed)
    return train, val, f"{len(val)} held out (--val-fraction {config.val_fraction:g})"


def train_loader(data: TrainingData, sampler: EpochSampler, config: TrainConfig, speed: SpeedPlan) -> DataLoader:
    return DataLoader(data.train, batch_size=config.batch_size, sampler=sampler, num_workers=config.workers,
                      pin_memory=speed.pin_memory, persistent_workers=speed.persistent_workers,
                      generator=torch.Generator().manual_seed(config.seed))
