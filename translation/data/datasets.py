"""Training datasets: paired (aligned or A/B folders), unpaired, and self-supervised pairs from photos.

A sample is a dict ``{"A": C x H x W, "B": C x H x W}`` of float32 tensors in [-1, 1]: for pix2pix
A is the network input and B the target. Items are addressed by ``(epoch, index)`` keys (see
``EpochSampler``), and every random choice a sample makes is seeded from the run seed and that key,
so the data a run sees is fixed by its seed. A file that fails to decode is logged once and replaced
by the next readable sample; a long run never dies on one bad file.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..errors import TranslationError
from ..tasks import TaskSpec, training_pair
from .augment import apply, build_pipeline, sample_seed, to_tensor, AugmentConfig
from ..imaging.io import read_rgb8

log = logging.getLogger(__name__)

Key = int | tuple[int, int]
MAX_BAD_IN_A_ROW = 50
# Decoded images kept per process (each data-loader worker has its own): a small dataset of large photos
# is decoded once instead of for every crop (a 2048-pixel JPEG takes ~30 ms, a batch of 16 half a second).
DECODED_CACHE_BYTES = 1 << 30


class _SkippingDataset(Dataset):
    """Loads ``(epoch, index)`` items; a sample whose file cannot be read is replaced by the next one."""

    def __init__(self, size: int, seed: int, train: bool) -> None:
        if size < 1:
            raise TranslationError("dataset has no samples")
        self.size = size
        self.seed = seed
        self.train = train
        self._bad: dict[Path, str] = {}
        self._decoded: dict[Path, np.ndarray] = {}
        self._decoded_bytes = 0

    def __len__(self) -> int:
        return self.size

    def load(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def read(self, path: Path) -> np.ndarray:
        """H x W x 3 uint8, read-only (it may be kept for the next read of ``path``); a file that fails is
        remembered, logged once and raises ``TranslationError``."""
        if path in self._bad:
            raise TranslationError(self._bad[path])
        if (kept := self._decoded.get(path)) is not None:
            return kept
        try:
            pixels = read_rgb8(path)
        except TranslationError as exc:
            self.reject(path, str(exc))
        pixels.flags.writeable = False
        if self._decoded_bytes + pixels.nbytes <= DECODED_CACHE_BYTES:
            self._decoded[path] = pixels
            self._decoded_bytes += pixels.nbytes
        return pixels

    def reject(self, path: Path, problem: str) -> NoReturn:
        """Remember ``path`` as unusable, log it once, and raise to move on to another sample."""
        self._bad[path] = problem
        log.warning("skipping an unreadable image (training goes on): %s", problem)
        raise TranslationError(problem)

    def __getitem__(self, key: Key) -> dict[str, torch.Tensor]:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        tries = min(self.size, MAX_BAD_IN_A_ROW)
        for attempt in range(tries):
            try:
                return self.load(epoch, (index + attempt) % self.size)
            except TranslationError:
                continue
        reasons = "; ".join(list(self._bad.values())[-2:])
        raise TranslationError(f"{tries} samples in a row could not be read (last: {reasons}); check the dataset")


def _same_size(image: np.ndarray, like: np.ndarray) -> np.ndarray:
    if image.shape[:2] == like.shape[:2]:
        return image
    return cv2.resize(image, (like.shape[1], like.shape[0]), interpolation=cv2.INTER_AREA)


class PairedDataset(_SkippingDataset):
    """Aligned ``[A | B]`` images (one file per sample) or A/B folder pairs (two files per sample)."""

    def __init__(self, samples: Sequence[tuple[Path, ...]], augment: AugmentConfig, *, direction: str = "AtoB",
                 seed: int = 0, train: bool = True) -> None:
        super().__init__(len(samples), seed, train)
        if direction not in ("AtoB", "BtoA"):
            raise TranslationError(f"unknown --direction {direction!r}; use AtoB or BtoA")
        self.samples = list(samples)
        self.swap = direction == "BtoA"
        self.pipeline = build_pipeline(augment, train=train)

    def load(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        files = self.samples[index]
        if len(files) == 1:
            both = self.read(files[0])
            half = both.shape[1] // 2
            if half < 1:
                self.reject(files[0], f"{files[0]}: too narrow to hold A and B side by side")
            a, b = both[:, :half], both[:, half:2 * half]
        else:
            a = self.read(files[0])
            b = _same_size(self.read(files[1]), a)
        if self.swap:
            a, b = b, a
        a, b = apply(self.pipeline, sample_seed(self.seed, epoch, index), a, b)
        return {"A": to_tensor(a), "B": to_tensor(b)}


class PhotoPairDataset(_SkippingDataset):
    """Self-supervised pairs: a photo crop -> ``tasks.training_pair`` (gray -> colour, small -> large, ...)."""

    def __init__(self, files: Sequence[Path], spec: TaskSpec, augment: AugmentConfig, *, seed: int = 0,
                 train: bool = True, pair_options: Mapping[str, Any] | None = None) -> None:
        super().__init__(len(files), seed, train)
        if not spec.self_supervised:
            raise TranslationError(f"task {spec.name!r} cannot make training pairs from photos")
        self.files = list(files)
        self.spec = spec
        self.pair_options = dict(pair_options or {})  # the task's own training settings (tasks.training_pair)
        self.pipeline = build_pipeline(augment, train=train)

    def load(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        photo, _ = apply(self.pipeline, sample_seed(self.seed, epoch, index), self.read(self.files[index]))
        rng = np.random.default_rng(sample_seed(self.seed, epoch, index, 1))
        source, target = training_pair(self.spec, photo.astype(np.float32) / 255.0, rng, **self.pair_options)
        return {"A": torch.from_numpy(source), "B": torch.from_numpy(target)}


class UnpairedDataset(_SkippingDataset):
    """CycleGAN: A images in order, each with a B image drawn at random (per epoch, from the seed)."""

    def __init__(self, files_a: Sequence[Path], files_b: Sequence[Path], augment: AugmentConfig, *,
                 direction: str = "AtoB", seed: int = 0, train: bool = True) -> None:
        if direction == "BtoA":
            files_a, files_b = files_b, files_a
        super().__init__(max(len(files_a), len(files_b)), seed, train)
        self.files_a, self.files_b = list(files_a), list(files_b)
        self.pipeline = build_pipeline(augment, train=train)

    def load(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(sample_seed(self.seed, epoch, index))
        a_file = self.files_a[index % len(self.files_a)]
        b_file = self.files_b[int(rng.integers(len(self.files_b))) if self.train else index % len(self.files_b)]
        seeds = rng.integers(2**32, size=2)
        a, _ = apply(self.pipeline, int(seeds[0]), self.read(a_file))
        b, _ = apply(self.pipeline, int(seeds[1]), self.read(b_file))
        return {"A": to_tensor(a), "B": to_tensor(b)}


class EpochSampler(Sampler[tuple[int, int]]):
    """Yields ``(epoch, index)`` keys: a seeded shuffle per epoch, sharded across ranks like
    ``DistributedSampler`` (padded so every rank gets the same count), resumable mid-epoch."""

    def __init__(self, size: int, *, seed: int = 0, rank: int = 0, world_size: int = 1, shuffle: bool = True) -> None:
        self.size, self.seed, self.rank, self.world_size, self.shuffle = size, seed, rank, world_size, shuffle
        self.epoch = 0
        self.start = 0

    @property
    def per_rank(self) -> int:
        return math.ceil(self.size / self.world_size)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """``start``: samples of this epoch (of this rank's shard) already used before a resume."""
        self.epoch, self.start = epoch, start

    def shard(self) -> list[int]:
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.size) if self.shuffle
                 else np.arange(self.size))
        padded = np.resize(order, self.per_rank * self.world_size)  # repeats the head, as DistributedSampler
        return padded[self.rank::self.world_size].tolist()

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return ((self.epoch, i) for i in self.shard()[self.start:])

    def __len__(self) -> int:
        return max(0, self.per_rank - self.start)
