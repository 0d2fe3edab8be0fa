"""Where each listed entry's picture is in a package tree: the file itself, or the largest image of a
wallpaper folder; and every picture the packages' folders hold (to tell which no list names)."""
from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from .lists import SOURCE_SUFFIXES
from .packages import PICTURE_FOLDERS

_RESOLUTION_SUFFIX = re.compile(r"_\d+x\d+$")


def locate(entry: str, source_root: Path) -> Path:
    """The path of an entry (``/usr/share/...``) under ``source_root`` (``/`` for the installed packages)."""
    return source_root / entry.lstrip("/")


def resolve_source(entry: str, source_root: Path) -> Path:
    """The image file an entry stands for: the file itself, or a wallpaper folder's largest image.

    Raises FileNotFoundError when the entry is not there (its package is not extracted or installed).
    """
    path = locate(entry, source_root)
    if path.is_file():
        return path
    if path.is_dir():
        images = _images_in(path / "contents" / "images")
        if images:
            return largest(images)
    raise FileNotFoundError(path)


def largest(paths: list[Path]) -> Path:
    """The image with the most pixels (wallpapers ship one picture at many sizes, some as symlinks)."""
    unique = sorted({path.resolve() for path in paths})

    def size(path: Path) -> tuple[int, int]:
        with Image.open(path) as image:
            return image.width * image.height, path.stat().st_size

    return max(unique, key=size)


def find_pictures(source_root: Path) -> list[str]:
    """Entries for every picture in the packages' folders: one per picture, whatever its resolutions
    (``Name_1920x1080.jpg`` beside ``Name_800x600.jpg``), one per wallpaper folder."""
    entries = set()
    for folder in PICTURE_FOLDERS:
        groups: dict[str, list[Path]] = {}
        for path in _images_in(locate(folder, source_root)):
            groups.setdefault(_RESOLUTION_SUFFIX.sub("", path.stem), []).append(path)
        for paths in groups.values():
            chosen = largest(paths) if len(paths) > 1 else paths[0]
            # name the file as installed, not the target of a symlink
            chosen = next((p for p in paths if p.resolve() == chosen.resolve()), chosen)
            entries.add(f"{folder}/{chosen.name}")
        wallpapers = locate(folder, source_root)
        if wallpapers.is_dir():
            entries.update(f"{folder}/{sub.name}" for sub in wallpapers.iterdir()
                           if _images_in(sub / "contents" / "images"))
    return sorted(entries)


def _images_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SOURCE_SUFFIXES and p.is_file())
