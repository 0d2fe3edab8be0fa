"""Dataset layouts on disk: find the training (and validation) files, or say clearly what is wrong.

Everything here runs before training starts, so a misplaced folder costs seconds, not a failed night.
Each problem raises one ``TranslationError``: its first line names the folder or file and the problem,
the following lines draw the layout that was expected.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import TranslationError
from ..imaging.files import list_images
from ..imaging.io import IMAGE_SUFFIXES
from .layout_trees import ALIGNED_TREE, FOLDERS_TREE, PAIRED_TREES, PHOTOS_TREE, UNPAIRED_TREE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairedLayout:
    """Files for pix2pix. ``kind`` "aligned" and "photos" hold one file per sample, "folders" two (A, B)."""

    kind: str
    root: Path
    train: list[tuple[Path, ...]]
    val: list[tuple[Path, ...]] = field(default_factory=list)
    val_source: str = "none"

    def describe(self) -> str:
        return (f"{self.kind} dataset {self.root}: {len(self.train)} training samples, "
                f"{len(self.val)} validation samples ({self.val_source})")


@dataclass(frozen=True)
class UnpairedLayout:
    """Files for CycleGAN: the two domains, and optional held-out images of each for sample grids."""

    root: Path
    train_a: list[Path]
    train_b: list[Path]
    test_a: list[Path] = field(default_factory=list)
    test_b: list[Path] = field(default_factory=list)
    kind: str = "unpaired"

    def describe(self) -> str:
        return (f"unpaired dataset {self.root}: {len(self.train_a)} A images, {len(self.train_b)} B images "
                f"({len(self.test_a)} + {len(self.test_b)} test images)")


def _problem(message: str, tree: str) -> TranslationError:
    return TranslationError(f"{message}\nexpected layout:\n{tree}")


def _require_folder(folder: Path, tree: str) -> None:
    if not folder.exists():
        raise _problem(f"{folder}: folder not found", tree)
    if not folder.is_dir():
        raise _problem(f"{folder}: is a file, not a folder", tree)


def _images_in(folder: Path, tree: str) -> list[Path]:
    _require_folder(folder, tree)
    images = list_images(folder, recursive=True)
    if not images:
        found = "it is empty" if not any(folder.iterdir()) else "it holds no image files"
        raise _problem(f"{folder}: no images ({found}; looked for {' '.join(sorted(IMAGE_SUFFIXES))})", tree)
    return images


def _match_pairs(folder_a: Path, folder_b: Path, tree: str) -> list[tuple[Path, ...]]:
    """Pairs of files with the same path relative to their folder, suffix ignored."""
    images_a, images_b = _images_in(folder_a, tree), _images_in(folder_b, tree)
    by_stem_b = {p.relative_to(folder_b).with_suffix(""): p for p in images_b}
    pairs = [(a, by_stem_b[key]) for a in images_a if (key := a.relative_to(folder_a).with_suffix("")) in by_stem_b]
    if not pairs:
        raise _problem(
            f"{folder_a} and {folder_b}: no matching pairs: none of the {len(images_a)} A images "
            f"(e.g. {images_a[0].name}) has a B image with the same name (e.g. {images_b[0].name}); "
            "give the two halves of a pair the same file name", tree)
    unmatched = len(images_a) + len(images_b) - 2 * len(pairs)
    if unmatched:
        log.warning("%s / %s: %d images have no partner with the same name and are left out",
                    folder_a, folder_b, unmatched)
    return pairs


def hold_out(items: Sequence, fraction: float, seed: int) -> tuple[list, list]:
    """Split ``items`` into (train, val) with about ``fraction`` in val, the same way for the same seed."""
    n = len(items)
    if fraction <= 0 or n < 2:
        return list(items), []
    n_val = min(n - 1, max(1, round(n * fraction)))
    chosen = set(np.random.default_rng(seed).permutation(n)[:n_val].tolist())
    return ([x for i, x in enumerate(items) if i not in chosen],
            [x for i, x in enumerate(items) if i in chosen])


def find_paired(root: str | Path, *, photos: bool = False, val_fraction: float = 0.05,
                seed: int = 0) -> PairedLayout:
    """Find pix2pix training data under ``root``: aligned images, A/B folders, or (``photos``) plain photos."""
    root = Path(root)
    tree = PHOTOS_TREE if photos else PAIRED_TREES
    _require_folder(root, tree)
    if photos:
        if (root / "train").is_dir():
            return _with_val("photos", root, [(p,) for p in _images_in(root / "train", tree)], root / "val",
                             _singles, val_fraction, seed)
        return _with_val("photos", root, [(p,) for p in _images_in(root, tree)], None, None, val_fraction, seed)

    if (root / "train" / "A").is_dir() or (root / "train" / "B").is_dir():
        train = _match_pairs(root / "train" / "A", root / "train" / "B", FOLDERS_TREE)
        return _with_val("folders", root, train, root / "val",
                         lambda v: _match_pairs(v / "A", v / "B", FOLDERS_TREE) if (v / "A").is_dir() else [],
                         val_fraction, seed)
    if (root / "A").is_dir() or (root / "B").is_dir():
        return _with_val("folders", root, _match_pairs(root / "A", root / "B", FOLDERS_TREE), None, None,
                         val_fraction, seed)
    if (root / "train").is_dir():
        train = [(p,) for p in _images_in(root / "train", ALIGNED_TREE)]
        return _with_val("aligned", root, train, root / "val", _singles, val_fraction, seed)
    if (root / "trainA").is_dir() or (root / "trainB").is_dir():
        raise _problem(f"{root}: this is an unpaired dataset (trainA/trainB): train it with "
                       "`translation train cyclegan`, or arrange pairs as below for pix2pix", tree)
    if not any(root.iterdir()):
        raise _problem(f"{root}: folder is empty", tree)
    direct = list_images(root)
    if direct:
        return _with_val("aligned", root, [(p,) for p in direct], None, None, val_fraction, seed)
    raise _problem(f"{root}: unknown dataset layout (found {_summary(root)})", tree)


def _singles(folder: Path) -> list[tuple[Path, ...]]:
    """One-file samples: every image under ``folder``."""
    return [(p,) for p in list_images(folder, recursive=True)]


def _with_val(kind: str, root: Path, train: list, val_dir: Path | None, read_val, val_fraction: float,
              seed: int) -> PairedLayout:
    if val_dir is not None and val_dir.is_dir() and (val := read_val(val_dir)):
        return PairedLayout(kind, root, train, val, f"from {val_dir}")
    train, val = hold_out(train, val_fraction, seed)
    source = f"{len(val)} held out of the training files (--val-fraction {val_fraction:g})" if val else "none"
    return PairedLayout(kind, root, train, val, source)


def find_unpaired(root: str | Path) -> UnpairedLayout:
    """Find CycleGAN data: DATA/trainA + DATA/trainB (or DATA/A + DATA/B, DATA/train/A + DATA/train/B)."""
    root = Path(root)
    _require_folder(root, UNPAIRED_TREE)
    for a_name, b_name, test_a, test_b in (("trainA", "trainB", "testA", "testB"),
                                           ("train/A", "train/B", "test/A", "test/B"),
                                           ("A", "B", None, None)):
        if (root / a_name).is_dir() or (root / b_name).is_dir():
            train_a = _images_in(root / a_name, UNPAIRED_TREE)
            train_b = _images_in(root / b_name, UNPAIRED_TREE)
            tests = [list_images(root / t, recursive=True) if t and (root / t).is_dir() else []
                     for t in (test_a, test_b)]
            return UnpairedLayout(root, train_a, train_b, tests[0], tests[1])
    if not any(root.iterdir()):
        raise _problem(f"{root}: folder is empty", UNPAIRED_TREE)
    if (root / "train").is_dir():
        raise _problem(f"{root}: this looks like an aligned pix2pix dataset (train/ holds [A | B] images); "
                       "train it with `translation train pix2pix`, or split the domains as below", UNPAIRED_TREE)
    raise _problem(f"{root}: unknown dataset layout (found {_summary(root)})", UNPAIRED_TREE)


def _summary(root: Path, limit: int = 6) -> str:
    entries = sorted(root.iterdir())
    names = [e.name + ("/" if e.is_dir() else "") for e in entries[:limit]]
    more = f" and {len(entries) - limit} more" if len(entries) > limit else ""
    return ", ".join(names) + more


# ------------------------------------------------------------------------------------ image sizes

def header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) as displayed (EXIF rotation applied), read from the header only; None if unreadable."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if image.getexif().get(0x0112) in (5, 6, 7, 8):
                width, height = height, width
            return width, height
    except Exception:  # noqa: BLE001 - unreadable files are reported (and skipped) when training reads them
        return None


def size_after_resize(width: int, height: int, preprocess: str, load_size: int) -> tuple[int, int] | None:
    """The size the crop is taken from, or None when the crop always fits (or none is taken)."""
    if preprocess == "resize_and_crop":
        return load_size, load_size
    if preprocess == "crop":
        return width, height
    if preprocess == "scale_width":
        return load_size, round(height * load_size / width)
    return None  # none takes no crop; random_scale scales the short side to at least the crop


def check_crop_fits(files: Iterable[Path], *, crop_size: int, load_size: int, preprocess: str,
                    halves: int = 1, tree: str = PAIRED_TREES) -> None:
    """Raise when an image is smaller than the crop after the resize step (``halves``: 2 for aligned A|B)."""
    too_small: list[tuple[Path, int, int]] = []
    total = 0
    for path in files:
        size = header_size(path)
        if size is None:
            continue
        total += 1
        width, height = size[0] // halves, size[1]
        resized = size_after_resize(width, height, preprocess, load_size)
        if resized is not None and (resized[0] < crop_size or resized[1] < crop_size):
            too_small.append((path, width, height))
    if too_small:
        path, width, height = too_small[0]
        what = "each half is " if halves == 2 else ""
        raise _problem(
            f"{path}: image smaller than the crop: {what}{width}x{height} px, but --crop-size is {crop_size} "
            f"after --preprocess {preprocess} ({len(too_small)} of {total} images are too small); "
            "use a smaller --crop-size, --preprocess resize_and_crop, or larger images", tree)
