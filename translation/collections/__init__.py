"""The built-in collections the default models train on: photographs and digital artworks from
Debian packages (``packages.SOURCE_PACKAGES``: wallpapers, games' and educational programs' pictures,
image libraries' sample data), split by the curated lists in this folder (photos.txt, art.txt,
photos_val.txt, art_val.txt, excluded.txt).

    from translation import collections
    collections.prepare()                          # once: download, extract, convert, checksum (idempotent)
    folder = collections.split_dir("photos", "train")
    collections.manifest()["files"]                # one record per image, with SHA-256 checksums
"""
from .cache import (
    MANIFEST,
    CollectionStatus,
    ConvertSettings,
    default_cache_dir,
    manifest,
    prepare,
    split_dir,
    status,
)
from .lists import COLLECTIONS, SPLITS, Curation, choose_validation, load_curation
from .packages import PACKAGES, SOURCE_PACKAGES, Package
from .sources import find_pictures

__all__ = [
    "COLLECTIONS", "MANIFEST", "PACKAGES", "SOURCE_PACKAGES", "SPLITS",
    "CollectionStatus", "ConvertSettings", "Curation", "Package",
    "choose_validation", "default_cache_dir", "find_pictures", "load_curation",
    "manifest", "prepare", "split_dir", "status",
]
