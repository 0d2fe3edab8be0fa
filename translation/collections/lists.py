"""The curated lists: which pictures of the Debian packages are photographs, which are artworks,
and which of them are held out for validation."""
from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import TranslationError

LISTS_DIR = Path(__file__).resolve().parent
COLLECTIONS = ("photos", "art")
SPLITS = ("train", "val")
VALIDATION_FRACTION = 0.15
SOURCE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
INSTALL_PREFIXES = ("/usr/share/", "/usr/lib/python3/dist-packages/")   # left out of cache file names


def read_list(path: Path) -> list[str]:
    """Entries of a list file: one a line; blank lines and ``#`` comments are ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TranslationError(f"{path}: cannot read the list ({exc.strerror})") from exc
    entries = [line.split("#", 1)[0].strip() for line in lines]
    return [entry for entry in entries if entry]


@dataclass(frozen=True)
class Curation:
    """Entries (source paths inside the packages) of each collection and of its validation split."""

    photos: tuple[str, ...]
    art: tuple[str, ...]
    photos_val: tuple[str, ...]
    art_val: tuple[str, ...]
    excluded: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in COLLECTIONS:
            everything, held_out = set(self.entries(name)), set(self.validation(name))
            if not held_out <= everything:
                raise TranslationError(f"{name}_val.txt: {sorted(held_out - everything)[0]} is not in {name}.txt")
        overlap = (set(self.photos) & set(self.art)) | (set(self.excluded) & (set(self.photos) | set(self.art)))
        if overlap:
            raise TranslationError(f"{sorted(overlap)[0]}: listed in more than one of photos/art/excluded")

    def entries(self, collection: str) -> tuple[str, ...]:
        return getattr(self, validate_choice(collection, COLLECTIONS, "collection"))

    def validation(self, collection: str) -> tuple[str, ...]:
        return getattr(self, f"{validate_choice(collection, COLLECTIONS, 'collection')}_val")

    def split_of(self, collection: str, entry: str) -> str:
        return "val" if entry in self.validation(collection) else "train"

    def plan(self) -> list[tuple[str, str, str]]:
        """(collection, split, entry) for every picture, in list order."""
        return [(name, self.split_of(name, entry), entry) for name in COLLECTIONS for entry in self.entries(name)]


def load_curation(folder: Path = LISTS_DIR) -> Curation:
    """The lists kept in ``folder`` (by default the ones shipped with this package)."""
    def read(name: str) -> tuple[str, ...]:
        return tuple(read_list(folder / f"{name}.txt"))

    excluded = read("excluded") if (folder / "excluded.txt").exists() else ()
    return Curation(read("photos"), read("art"), read("photos_val"), read("art_val"), excluded)


def choose_validation(entries: Sequence[str], fraction: float = VALIDATION_FRACTION,
                      skip: Iterable[str] = (), keep: Iterable[str] = ()) -> list[str]:
    """ceil(fraction * n) entries, in list order: those of ``keep``, then the smallest SHA-256 of their text.

    Hashing the name (not the pixels, not a random draw) keeps the choice the same on every machine
    and independent of the list's order. ``skip`` names entries that may not be held out; ``keep``
    those that stay held out whatever their hash (pictures held out before the lists grew).
    """
    count = math.ceil(fraction * len(entries))
    kept, passed_over = set(keep), set(skip) | set(keep)
    ranked = sorted((e for e in entries if e not in passed_over), key=lambda e: hashlib.sha256(e.encode()).hexdigest())
    chosen = kept | set(ranked[:max(0, count - len(kept))])
    return [entry for entry in entries if entry in chosen]


def output_name(entry: str) -> str:
    """A file name for an entry: ``/usr/share/wallpapers/Kite`` -> ``wallpapers-Kite.jpg``."""
    prefix = next((p for p in INSTALL_PREFIXES if entry.startswith(p)), "")
    path = PurePosixPath(entry.removeprefix(prefix).strip("/"))
    if path.suffix.lower() in SOURCE_SUFFIXES:
        path = path.with_suffix("")
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(path)) + ".jpg"


def validate_choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise TranslationError(f"unknown {what} {value!r}: use one of {', '.join(allowed)}")
    return value
