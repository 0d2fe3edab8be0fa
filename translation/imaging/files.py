"""Finding image files in folders: one listing for training data, evaluation, calibration, examples and
batch conversion.

Hidden files and folders (names starting with a dot) are passed over, and with them the temp files
of ``translation.atomic``. Symlinked folders are followed, each real folder at most once, so a link
that points back up the tree cannot make a walk loop.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import TranslationError
from .io import IMAGE_SUFFIXES


def is_image_path(path: str | Path) -> bool:
    """Whether the file name has one of the suffixes we read (``IMAGE_SUFFIXES``, any case)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def list_files(folder: str | Path, *, recursive: bool = False, skip_dirs: Sequence[str | Path] = ()) -> list[Path]:
    """The visible regular files in ``folder`` (and its sub-folders when ``recursive``), sorted.

    Folders in ``skip_dirs`` (and everything below them) are not read: an output folder inside the
    input folder, say. ``TranslationError`` when ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise TranslationError(f"{folder}: folder not found")
    skipped = [Path(os.path.realpath(d)) for d in skip_dirs]
    seen: set[str] = set()
    files: list[Path] = []
    for current, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(current)
        if real in seen or any(Path(real) == d or d in Path(real).parents for d in skipped):
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")] if recursive else []
        files += [path for name in filenames
                  if not name.startswith(".") and (path := Path(current) / name).is_file()]
    return sorted(files)


def list_images(folder: str | Path, *, recursive: bool = False, skip_dirs: Sequence[str | Path] = ()) -> list[Path]:
    """The image files (by suffix) among ``list_files(folder, ...)``, sorted."""
    return [path for path in list_files(folder, recursive=recursive, skip_dirs=skip_dirs) if is_image_path(path)]
