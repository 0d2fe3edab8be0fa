"""Where the pictures come from: two Debian packages, installed with apt-get when missing."""
from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

from PIL import Image

from ..errors import TranslationError
from .lists import SOURCE_SUFFIXES

log = logging.getLogger(__name__)

PACKAGES = ("mate-backgrounds", "plasma-workspace-wallpapers")
MATE_DIR = "/usr/share/backgrounds/mate"      # files, sometimes several resolutions of one picture
PLASMA_DIR = "/usr/share/wallpapers"          # one folder per picture: <name>/contents/images/<W>x<H>.<ext>
SYSTEM_ROOT = Path("/")
INSTALL_COMMAND = ("apt-get update && apt-get install -y --no-install-recommends " + " ".join(PACKAGES))
_RESOLUTION_SUFFIX = re.compile(r"_\d+x\d+$")


def locate(entry: str, source_root: Path) -> Path:
    """The path of an entry (``/usr/share/...``) under ``source_root`` (``/`` for the installed packages)."""
    return source_root / entry.lstrip("/")


def resolve_source(entry: str, source_root: Path) -> Path:
    """The image file an entry stands for: the file itself, or a wallpaper folder's largest image.

    Raises FileNotFoundError when the entry is not there (the package is not installed).
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


def find_pictures(source_root: Path = SYSTEM_ROOT) -> list[str]:
    """Entries for every picture the packages install: one per picture, whatever its resolutions."""
    entries = []
    mate = locate(MATE_DIR, source_root)
    groups: dict[Path, list[Path]] = {}
    for path in _images_in(mate, recursive=True):
        key = path.parent / _RESOLUTION_SUFFIX.sub("", path.stem)
        groups.setdefault(key, []).append(path)
    for paths in groups.values():
        chosen = largest(paths) if len(paths) > 1 else paths[0]
        # name the file as installed, not the target of a symlink
        chosen = next((p for p in paths if p.resolve() == chosen.resolve()), chosen)
        entries.append("/" + chosen.relative_to(source_root).as_posix())
    plasma = locate(PLASMA_DIR, source_root)
    if plasma.is_dir():
        for folder in sorted(plasma.iterdir()):
            if _images_in(folder / "contents" / "images"):
                entries.append("/" + folder.relative_to(source_root).as_posix())
    return sorted(entries)


def install_packages() -> None:
    """``apt-get update`` then ``apt-get install`` the packages; TranslationError saying what to run."""
    if shutil.which("apt-get") is None:
        raise TranslationError(f"apt-get not found: install the Debian packages {' and '.join(PACKAGES)} "
                               "(or extract them with dpkg-deb -x into a folder and pass --source-root FOLDER)")
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        raise TranslationError(f"{' and '.join(PACKAGES)} are not installed and installing them needs root: "
                               f"run `sudo sh -c '{INSTALL_COMMAND}'`, then `translation data prepare` again")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"],
                    ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]):
        log.info("running %s", " ".join(command))
        result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise TranslationError(f"`{' '.join(command)}` failed (exit {result.returncode}: {reason}): "
                                   f"fix apt, run `{INSTALL_COMMAND}` as root, then `translation data prepare` again")


def package_versions(source_root: Path) -> dict[str, str | None]:
    """Installed versions of the packages (None where unknown, e.g. for a tree that is not the system's)."""
    versions: dict[str, str | None] = dict.fromkeys(PACKAGES)
    if source_root.resolve() != SYSTEM_ROOT or shutil.which("dpkg-query") is None:
        return versions
    for package in PACKAGES:
        result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                                capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            versions[package] = result.stdout.strip()
    return versions


def _images_in(folder: Path, recursive: bool = False) -> list[Path]:
    if not folder.is_dir():
        return []
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in candidates if p.suffix.lower() in SOURCE_SUFFIXES and p.is_file())
