"""The built-in collections the default models train on: photographs and digital artworks from the
Debian packages ``mate-backgrounds`` and ``plasma-workspace-wallpapers`` (GPL-2+), split by the
curated lists in this folder (photos.txt, art.txt, photos_val.txt, art_val.txt, excluded.txt).

    from translation import collections
    collections.prepare()                          # once: install, convert, checksum (idempotent)
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
from .sources import INSTALL_COMMAND, PACKAGES, find_pictures

__all__ = [
    "COLLECTIONS", "INSTALL_COMMAND", "MANIFEST", "PACKAGES", "SPLITS",
    "CollectionStatus", "ConvertSettings", "Curation",
    "choose_validation", "default_cache_dir", "find_pictures", "load_curation",
    "manifest", "prepare", "split_dir", "status",
]
