"""The local cache of the collections: ``<cache>/{photos,art}/{train,val}/*.jpg`` and ``manifest.json``,
and the Debian packages' pictures they are made from in ``<cache>/packages/``.

``prepare`` converts each listed picture once and records it (with SHA-256 checksums of source and
result) in the manifest; a second run finds everything in place and does nothing.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_bytes, atomic_write_text
from ..errors import TranslationError
from . import packages, sources
from .images import convert
from .lists import COLLECTIONS, SPLITS, Curation, validate_choice, load_curation, output_name

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "translation.collections"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ConvertSettings:
    # long side of cached photographs: many crops of large photos, yet quick to decode for every sample
    # (a 20-megapixel JPEG takes ~0.15 s, a batch of 16 would wait seconds)
    photo_side: int | None = 2048
    art_side: int | None = 1024     # long side of cached artworks (style transfer works at 160 px)
    quality: int = 92               # JPEG quality

    def max_side(self, collection: str) -> int | None:
        return self.photo_side if collection == "photos" else self.art_side


@dataclass
class CollectionStatus:
    """What ``translation data status`` reports about a cache."""

    cache: Path
    prepared: bool                                          # a manifest is there
    counts: dict[str, int] = field(default_factory=dict)    # "photos/train" -> number of files
    size_bytes: int = 0
    packages: dict[str, str | None] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)        # listed, but not in the cache
    changed: list[str] = field(default_factory=list)        # in the cache, checksum differs from the manifest
    stale: list[str] = field(default_factory=list)          # in the cache, no longer listed (or moved split)
    settings_differ: bool = False
    uncurated: list[str] = field(default_factory=list)      # in the installed packages, in no list

    @property
    def ok(self) -> bool:
        return self.prepared and not (self.missing or self.changed or self.stale or self.settings_differ)


def default_cache_dir() -> Path:
    """``$TRANSLATION_CACHE/collections``, else ``$XDG_CACHE_HOME/translation/collections``,
    else ``~/.cache/translation/collections``."""
    base = os.environ.get("TRANSLATION_CACHE")
    if base:
        return Path(base).expanduser() / "collections"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "translation" / "collections"


def _cache_dir(cache: str | os.PathLike[str] | None) -> Path:
    return Path(cache).expanduser() if cache is not None else default_cache_dir()


def prepare(cache: str | os.PathLike[str] | None = None, *,
            source_root: str | os.PathLike[str] | None = None,
            install: bool = True, force: bool = False,
            curation: Curation | None = None, settings: ConvertSettings = ConvertSettings(),
            progress: Callable[[int, int], None] | None = None) -> Path:
    """Fill the cache with the listed pictures and return its folder.

    Pictures come from the Debian packages: by default as extracted into ``<cache>/packages/root``
    (``install``: apt-get downloads and extracts those that missing pictures need), else from
    ``source_root`` (``/`` for installed packages, or a folder where they were extracted by hand).
    Files already in the cache with the right checksum are kept; ``force`` converts everything again.
    ``progress(done, total)`` follows the conversions.
    """
    cache = _cache_dir(cache)
    root = _source_root(cache, source_root)
    curation = curation or load_curation()
    old = _read_manifest(cache, missing_ok=True)
    previous = {} if force else _records_by_path(old, settings)
    plan = _plan(curation)

    todo = [item for item in plan if not _intact(cache, previous.get(item["path"]), item)]
    strays = _stray_files(cache, {item["path"] for item in plan})
    if old is not None and not todo and not strays:
        log.info("%s: %d pictures already prepared, nothing to do", cache, len(plan))
        return cache

    if todo:
        _ensure_sources(todo, cache, root, install and source_root is None)
    for name in COLLECTIONS:
        for split in SPLITS:
            (cache / name / split).mkdir(parents=True, exist_ok=True)
    records = dict(previous)
    for done, item in enumerate(todo, start=1):
        records[item["path"]] = _convert_one(cache, item, root, settings)
        if progress:
            progress(done, len(todo))
    for stray in strays:
        log.info("removing %s (no longer listed)", stray)
        stray.unlink()

    # versions describe the files converted now; a run that only removed files keeps the old ones
    versions = packages.versions(root, cache) if todo or old is None else old.get("packages", {})
    manifest_data = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "settings": asdict(settings),
        "packages": versions,
        "files": [records[item["path"]] for item in plan],
    }
    atomic_write_text(cache / MANIFEST, json.dumps(manifest_data, indent=2) + "\n")
    log.info("%s: prepared %d pictures (%d converted)", cache, len(plan), len(todo))
    return cache


def manifest(cache: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The manifest of a prepared cache: settings, package versions and one record per file
    (``collection``, ``split``, ``entry``, ``source``, ``source_sha256``, ``path``, ``sha256``,
    ``width``, ``height``, ``grayscale``)."""
    data = _read_manifest(_cache_dir(cache), missing_ok=False)
    assert data is not None
    return data


def split_dir(name: str, split: str, cache: str | os.PathLike[str] | None = None) -> Path:
    """The folder of images of one collection (``photos``/``art``) and split (``train``/``val``)."""
    root = _cache_dir(cache)
    folder = root / validate_choice(name, COLLECTIONS, "collection") / validate_choice(split, SPLITS, "split")
    if not (root / MANIFEST).is_file() or not folder.is_dir():
        raise TranslationError(f"{folder}: the collections are not prepared: run `translation data prepare`"
                               + ("" if cache is None else f" --cache {root}"))
    return folder


def status(cache: str | os.PathLike[str] | None = None, *,
           source_root: str | os.PathLike[str] | None = None,
           curation: Curation | None = None, settings: ConvertSettings = ConvertSettings()) -> CollectionStatus:
    """Compare the cache with the lists and the manifest's checksums (reads every cached file), and
    the packages' pictures (``source_root``, by default those extracted into the cache) with the lists."""
    cache = _cache_dir(cache)
    curation = curation or load_curation()
    report = CollectionStatus(cache=cache, prepared=(cache / MANIFEST).is_file())
    known = set(curation.photos + curation.art + curation.excluded)
    pictures = sources.find_pictures(_source_root(cache, source_root))
    report.uncurated = [entry for entry in pictures if entry not in known]
    if not report.prepared:
        report.missing = [item["entry"] for item in _plan(curation)]
        return report
    data = manifest(cache)
    report.packages = data.get("packages", {})
    report.settings_differ = data.get("settings") != asdict(settings)
    recorded = {record["path"]: record for record in data["files"]}
    planned = _plan(curation)
    for item in planned:
        record = recorded.get(item["path"])
        target = cache / item["path"]
        if record is None or record["entry"] != item["entry"] or not target.is_file():
            report.missing.append(item["entry"])
        elif _sha256(target.read_bytes()) != record["sha256"]:
            report.changed.append(item["entry"])
        else:
            key = f"{item['collection']}/{item['split']}"
            report.counts[key] = report.counts.get(key, 0) + 1
            report.size_bytes += target.stat().st_size
    planned_paths = {item["path"] for item in planned}
    report.stale = sorted({record["entry"] for path, record in recorded.items() if path not in planned_paths}
                          | {str(path.relative_to(cache)) for path in _stray_files(cache, planned_paths)})
    return report


def _source_root(cache: Path, source_root: str | os.PathLike[str] | None) -> Path:
    return packages.tree_root(cache) if source_root is None else Path(source_root)


def _plan(curation: Curation) -> list[dict[str, str]]:
    plan = [{"collection": name, "split": split, "entry": entry,
             "path": f"{name}/{split}/{output_name(entry)}"} for name, split, entry in curation.plan()]
    seen: dict[str, str] = {}
    for item in plan:
        if item["path"] in seen:
            raise TranslationError(f"{item['entry']}: same cache file name as {seen[item['path']]}; rename one")
        seen[item["path"]] = item["entry"]
    return plan


def _read_manifest(cache: Path, *, missing_ok: bool) -> dict[str, Any] | None:
    path = cache / MANIFEST
    if not path.is_file():
        if missing_ok:
            return None
        raise TranslationError(f"{path}: not found: run `translation data prepare` first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != MANIFEST_FORMAT or not isinstance(data.get("files"), list):
            raise ValueError("not a collections manifest")
    except (ValueError, OSError, AttributeError) as exc:
        if missing_ok:
            log.warning("%s: unreadable (%s); preparing again", path, exc)
            return None
        raise TranslationError(f"{path}: unreadable ({exc}): run `translation data prepare --force`") from exc
    return data


def _records_by_path(data: dict[str, Any] | None, settings: ConvertSettings) -> dict[str, dict[str, Any]]:
    """Records of a previous run that may be reused: only those made with the same settings."""
    if not data or data.get("settings") != asdict(settings):
        return {}
    return {record["path"]: record for record in data["files"]}


def _intact(cache: Path, record: dict[str, Any] | None, item: dict[str, str]) -> bool:
    if record is None or record.get("entry") != item["entry"]:
        return False
    target = cache / item["path"]
    return target.is_file() and _sha256(target.read_bytes()) == record.get("sha256")


def _stray_files(cache: Path, planned: set[str]) -> list[Path]:
    """Files in the split folders that the plan does not name (pictures moved or taken off a list)."""
    strays = []
    for name in COLLECTIONS:
        for split in SPLITS:
            folder = cache / name / split
            if folder.is_dir():
                strays += [p for p in sorted(folder.iterdir())
                           if p.is_file() and f"{name}/{split}/{p.name}" not in planned]
    return strays


def _ensure_sources(todo: list[dict[str, str]], cache: Path, root: Path, fetch: bool) -> None:
    """Make sure every picture to convert is under ``root``; ``fetch``: get the packages that hold them."""
    missing = [item["entry"] for item in todo if not sources.locate(item["entry"], root).exists()]
    if not missing:
        return
    orphan = next((entry for entry in missing if not packages.holders(entry)), None)
    if orphan:
        raise TranslationError(f"{orphan}: in no picture folder of translation/collections/packages.py: "
                               "add its package there, or take it off the lists")
    needed = sorted({name for entry in missing for name in packages.holders(entry)})
    if not fetch:
        raise TranslationError(f"{sources.locate(missing[0], root)}: not found ({len(missing)} listed pictures "
                               f"missing): run `translation data prepare` without --no-install and --source-root "
                               f"(it downloads {' '.join(needed)}), or point --source-root at a folder where "
                               "they are extracted (apt-get download, dpkg-deb -x)")
    log.info("%d listed pictures missing; fetching %s", len(missing), " ".join(needed))
    packages.fetch(needed, cache)
    still = [entry for entry in missing if not sources.locate(entry, root).exists()]
    if still:
        raise TranslationError(f"{still[0]}: not in the packages {' '.join(packages.holders(still[0]))} "
                               f"(a newer version?): update translation/collections/*.txt, or remove "
                               f"{packages.packages_dir(cache)} to fetch them again")


def _convert_one(cache: Path, item: dict[str, str], source_root: Path, settings: ConvertSettings) -> dict[str, Any]:
    try:
        source = sources.resolve_source(item["entry"], source_root)
    except FileNotFoundError as exc:
        raise TranslationError(f"{exc.args[0]}: no image found for {item['entry']}") from exc
    try:
        source_bytes = source.read_bytes()
        image = convert(source, settings.max_side(item["collection"]), settings.quality)
    except OSError as exc:  # PIL raises OSError subclasses (UnidentifiedImageError) for bad files
        raise TranslationError(f"{source}: cannot convert ({exc}); reinstall the package") from exc
    atomic_write_bytes(cache / item["path"], image.data)
    return {
        **item,
        "source": _source_name(source, source_root),
        "source_sha256": _sha256(source_bytes),
        "sha256": _sha256(image.data),
        "width": image.width,
        "height": image.height,
        "grayscale": image.grayscale,
    }


def _source_name(source: Path, source_root: Path) -> str:
    """``/usr/share/...`` as installed, whatever ``source_root`` the tree was found under."""
    try:
        return "/" + source.resolve().relative_to(source_root.resolve()).as_posix()
    except ValueError:  # a symlink out of the tree
        return str(source.resolve())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
