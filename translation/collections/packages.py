"""The Debian packages the pictures come from, and fetching them: ``apt-get download``, then the folders
that hold the pictures are extracted from each .deb into a tree of their own (nothing is installed, so
no package drags its dependencies in). The .deb's SHA-256 and version are recorded beside the tree."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..atomic import atomic_write_text
from ..digest import file_sha256
from ..errors import TranslationError

log = logging.getLogger(__name__)

SYSTEM_ROOT = Path("/")


@dataclass(frozen=True)
class Package:
    name: str
    folders: tuple[str, ...]   # folders of its pictures, as installed: image files, or wallpaper folders


_BACKGROUNDS = "/usr/share/backgrounds"
_MATE = f"{_BACKGROUNDS}/mate"
_WESNOTH = "/usr/share/games/wesnoth/1.16/data"
SOURCE_PACKAGES = (
    Package("mate-backgrounds", (f"{_MATE}/abstract", f"{_MATE}/desktop", f"{_MATE}/nature")),
    Package("plasma-workspace-wallpapers", ("/usr/share/wallpapers",)),
    Package("lomiri-wallpapers-16.04", (_BACKGROUNDS,)),
    Package("lomiri-wallpapers-20.04", (_BACKGROUNDS,)),
    Package("ukui-wallpapers", (_BACKGROUNDS,)),
    Package("gnome-backgrounds", (f"{_BACKGROUNDS}/gnome",)),
    Package("lxqt-themes", ("/usr/share/lxqt/wallpapers",)),
    Package("palapeli-data", ("/usr/share/palapeli/collection",)),
    Package("tuxpaint-data", ("/usr/share/tuxpaint/templates",)),
    Package("libjxl-testdata", ("/usr/share/libjxl-testdata/jxl/flower",
                                "/usr/share/libjxl-testdata/external/wesaturate/500px")),
    Package("python3-skimage", ("/usr/lib/python3/dist-packages/skimage/data",)),
    Package("python-matplotlib-data", ("/usr/share/matplotlib/mpl-data/sample_data",)),
    Package("digikam-data", ("/usr/share/digikam/about/images",)),
    Package("wesnoth-1.16-data", (f"{_WESNOTH}/core/images/story",)),
    Package("wesnoth-1.16-trow", (f"{_WESNOTH}/campaigns/The_Rise_Of_Wesnoth/images/story",)),
    Package("endless-sky-data", ("/usr/share/games/endless-sky/images/land",)),
)
PACKAGES = tuple(package.name for package in SOURCE_PACKAGES)
PICTURE_FOLDERS = tuple(sorted({folder for package in SOURCE_PACKAGES for folder in package.folders}))
PACKAGES_DIR = "packages"   # inside the cache: <name>.json records and root/, the extracted tree


def packages_dir(cache: Path) -> Path:
    return cache / PACKAGES_DIR


def tree_root(cache: Path) -> Path:
    """The extracted tree (``root/usr/share/...``) that stands for ``/`` when no source root is given."""
    return packages_dir(cache) / "root"


def holders(entry: str) -> list[str]:
    """The packages with a picture folder that can hold ``entry`` (a file in it, or a wallpaper folder)."""
    parent = str(PurePosixPath(entry).parent)
    return [package.name for package in SOURCE_PACKAGES if parent in package.folders]


def fetched(cache: Path) -> dict[str, dict[str, str]]:
    """Records (version, deb, sha256) of the packages already extracted into the cache's tree."""
    records = {}
    for name in PACKAGES:
        path = packages_dir(cache) / f"{name}.json"
        if path.is_file():
            records[name] = json.loads(path.read_text(encoding="utf-8"))
    return records


def fetch(names: Iterable[str], cache: Path) -> None:
    """Download the packages and extract their picture folders into the cache's tree; skips those
    already there. TranslationError saying what to run when apt-get fails."""
    wanted = [package for package in SOURCE_PACKAGES if package.name in set(names) - set(fetched(cache))]
    if not wanted:
        return
    folder = packages_dir(cache)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as scratch:
        debs = download([package.name for package in wanted], Path(scratch))
        for package in wanted:
            deb = debs[package.name]
            extract(deb, package.folders, tree_root(cache))
            record = {"version": _version(deb), "deb": deb.name, "sha256": file_sha256(deb)}
            atomic_write_text(folder / f"{package.name}.json", json.dumps(record, indent=2) + "\n")
            log.info("extracted %s %s", package.name, record["version"])


def download(names: list[str], folder: Path) -> dict[str, Path]:
    """``apt-get download`` the packages into ``folder`` (after ``apt-get update`` when root); name -> .deb."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise TranslationError(f"apt-get and dpkg-deb not found: download the Debian packages {' '.join(names)}, "
                               "extract them with dpkg-deb -x into a folder and pass --source-root FOLDER")
    commands = [["apt-get", "download", *names]]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        commands.insert(0, ["apt-get", "update"])
    for command in commands:
        log.info("running %s", " ".join(command))
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False,
                                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise TranslationError(f"`{' '.join(command)}` failed (exit {result.returncode}: {reason}): "
                                   "fix apt (as root: `apt-get update`), then `translation data prepare` again")
    debs = {name: sorted(folder.glob(f"{name}_*.deb")) for name in names}
    missing = [name for name, found in debs.items() if len(found) != 1]
    if missing:
        raise TranslationError(f"apt-get download left no single .deb for {missing[0]} in {folder}")
    return {name: found[0] for name, found in debs.items()}


def extract(deb: Path, folders: tuple[str, ...], root: Path) -> None:
    """Copy ``folders`` (``/usr/share/...``) of the package ``deb`` into ``root``, symlinks as links."""
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=".extract-") as scratch:
        result = subprocess.run(["dpkg-deb", "-x", str(deb), scratch], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise TranslationError(f"{deb}: dpkg-deb -x failed ({result.stderr.strip() or result.returncode})")
        for folder in folders:
            source = Path(scratch) / folder.lstrip("/")
            if not source.is_dir():
                raise TranslationError(f"{deb.name} holds no {folder}: update translation/collections/packages.py")
            shutil.copytree(source, root / folder.lstrip("/"), symlinks=True, dirs_exist_ok=True)


def versions(source_root: Path, cache: Path) -> dict[str, str | None]:
    """Versions of the packages the pictures were read from: the cache's extracted ones, those installed
    when the source root is ``/``, None where unknown (a tree extracted by hand)."""
    found: dict[str, str | None] = dict.fromkeys(PACKAGES)
    if source_root.resolve() == tree_root(cache).resolve():
        found.update({name: record["version"] for name, record in fetched(cache).items()})
    elif source_root.resolve() == SYSTEM_ROOT and shutil.which("dpkg-query") is not None:
        for name in PACKAGES:
            result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name],
                                    capture_output=True, text=True, check=False)
            if result.returncode == 0 and result.stdout.strip():
                found[name] = result.stdout.strip()
    return found


def _version(deb: Path) -> str:
    result = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True, check=False)
    return result.stdout.strip()
