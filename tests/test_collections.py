"""The built-in collections: curated lists, preparation of the cache from a (fake) package tree,
manifest checksums, idempotence, validation split, fetching packages (a .deb built here), and the
committed examples."""
from __future__ import annotations

import hashlib
import io
import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from translation import collections
from translation.cli import main
from translation.collections import packages
from translation.collections.cache import ConvertSettings
from translation.collections.images import convert
from translation.collections.lists import Curation, choose_validation, load_curation, output_name, read_list
from translation.errors import TranslationError

REPO = Path(__file__).resolve().parents[1]
SMALL = ConvertSettings(photo_side=64, art_side=64, quality=90)
MATE = "/usr/share/backgrounds/mate"
WALLPAPERS = "/usr/share/wallpapers"
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
# held out before the lists grew; examples/ is made from them
FIRST_PHOTOS_VAL = (f"{MATE}/nature/FreshFlower.jpg", f"{MATE}/nature/GreenMeadow.jpg", f"{MATE}/nature/Wood.jpg",
                    f"{WALLPAPERS}/OneStandsOut")
HELD_OUT_BEFORE_ENDLESS_SKY = FIRST_PHOTOS_VAL + (
    "/usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg", "/usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg",
    "/usr/share/lxqt/wallpapers/Valendas.png", "/usr/share/lxqt/wallpapers/drop.png",
    "/usr/share/palapeli/collection/cincinnati-bridge.jpg", "/usr/share/palapeli/collection/european-honey-bee.jpg",
    "/usr/share/tuxpaint/templates/trees_at_dusk.jpg", "/usr/share/tuxpaint/templates/wool_mill_machine.jpg",
    f"{SKIMAGE}/coffee.png")
FIRST_ART_VAL = (f"{WALLPAPERS}/Elarun", f"{WALLPAPERS}/Kay", f"{WALLPAPERS}/SafeLanding")
BLACK_AND_WHITE = (f"{WALLPAPERS}/Grey", f"{WALLPAPERS}/ColdRipple", f"{SKIMAGE}/camera.png")


def _picture(path: Path, size: tuple[int, int], colour=(200, 80, 40), mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    ramp = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None].repeat(height, 0)
    pixels = (ramp.astype(np.int32) * np.array(colour) // 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    if mode == "RGBA":
        image.putalpha(Image.new("L", size, 128))
    image.save(path)


def _fake_tree(root: Path) -> Curation:
    """A package tree shaped like the real ones: a mate picture in three resolutions, plasma folders
    with many sizes (one a symlink), a dark variant, a transparent PNG and a black-and-white photo."""
    mate = root / MATE.lstrip("/")
    _picture(mate / "nature" / "Leaf.jpg", (96, 60))
    _picture(mate / "nature" / "Stone.jpg", (80, 80), colour=(255, 255, 255))      # black-and-white
    _picture(mate / "abstract" / "Swirl.jpg", (40, 30))
    _picture(mate / "abstract" / "Swirl_160x120.jpg", (160, 120))
    _picture(mate / "abstract" / "Swirl_80x60.jpg", (80, 60))
    _picture(mate / "abstract" / "Veil.png", (90, 50), mode="RGBA")
    for name in ("Lake", "Hills", "Forest"):
        images = root / WALLPAPERS.lstrip("/") / name / "contents" / "images"
        _picture(images / "48x30.jpg", (48, 30))
        _picture(images / "128x80.jpg", (128, 80), colour=(30, 160, 90))
        (images / "1920x1080.jpg").symlink_to("128x80.jpg")
        _picture(images.parent / "images_dark" / "4000x3000.jpg", (400, 300))
    _picture(root / WALLPAPERS.lstrip("/") / "Hills" / "contents" / "images" / "200x100.png", (200, 100), mode="RGBA")
    return Curation(
        photos=(f"{MATE}/nature/Leaf.jpg", f"{MATE}/nature/Stone.jpg", f"{WALLPAPERS}/Lake", f"{WALLPAPERS}/Forest"),
        art=(f"{MATE}/abstract/Swirl_160x120.jpg", f"{WALLPAPERS}/Hills"),
        photos_val=(f"{WALLPAPERS}/Lake",),
        art_val=(),
        excluded=(f"{MATE}/abstract/Veil.png",),
    )


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Curation]:
    root = tmp_path / "root"
    return root, _fake_tree(root)


def _prepare(cache: Path, root: Path, curation: Curation, **kwargs) -> Path:
    return collections.prepare(cache, source_root=root, install=False, curation=curation, settings=SMALL, **kwargs)


def _mtimes(cache: Path) -> dict[str, int]:
    return {str(p.relative_to(cache)): p.stat().st_mtime_ns for p in sorted(cache.rglob("*")) if p.is_file()}


# --- the committed lists -------------------------------------------------------------------------

def test_committed_lists_are_disjoint_and_hold_out_about_fifteen_percent():
    curation = load_curation()
    photos, art = set(curation.photos), set(curation.art)
    assert len(photos) >= 60 and len(art) >= 60
    assert len(photos) == len(curation.photos) and len(art) == len(curation.art), "duplicates in a list"
    assert len(set(curation.excluded)) == len(curation.excluded), "duplicates in excluded.txt"
    assert not photos & art and not set(curation.excluded) & (photos | art)
    assert set(curation.photos_val) < photos and set(curation.art_val) < art
    assert len(curation.photos_val) == math.ceil(0.15 * len(photos)) >= 10
    assert len(curation.art_val) == math.ceil(0.15 * len(art))


def test_every_committed_entry_is_in_a_picture_folder_of_a_package():
    curation = load_curation()
    for entry in curation.photos + curation.art + curation.excluded:
        assert packages.holders(entry), entry
    assert len(set(collections.PACKAGES)) == len(collections.SOURCE_PACKAGES)


def test_committed_validation_split_keeps_the_first_ones_and_follows_the_hash_rule():
    curation = load_curation()
    assert list(curation.art_val) == choose_validation(curation.art, keep=FIRST_ART_VAL)
    assert set(BLACK_AND_WHITE) <= set(curation.photos)
    assert list(curation.photos_val) == choose_validation(curation.photos, skip=BLACK_AND_WHITE,
                                                    keep=HELD_OUT_BEFORE_ENDLESS_SKY)


def test_committed_lists_give_distinct_cache_names():
    curation = load_curation()
    names = [output_name(entry) for entry in curation.photos + curation.art]
    assert len(set(names)) == len(names)
    assert output_name(f"{WALLPAPERS}/summer_1am") == "wallpapers-summer_1am.jpg"
    assert output_name(f"{MATE}/nature/Aqua.jpg") == "backgrounds-mate-nature-Aqua.jpg"
    assert output_name(f"{SKIMAGE}/coffee.png") == "skimage-data-coffee.jpg"


def test_choose_validation_depends_on_names_not_order():
    entries = [f"/pictures/{i}.jpg" for i in range(40)]
    chosen = choose_validation(entries)
    assert len(chosen) == 6 and chosen == choose_validation(list(reversed(entries)))[::-1]
    assert chosen != entries[:6]
    assert not set(choose_validation(entries, skip=chosen[:2])) & set(chosen[:2])
    kept = choose_validation(entries, keep=entries[:2])
    assert len(kept) == 6 and kept[:2] == entries[:2] and set(kept[2:]) <= set(chosen)


def test_read_list_ignores_comments_and_blank_lines(tmp_path: Path):
    path = tmp_path / "list.txt"
    path.write_text("# header\n\n/a/b.jpg   # trailing note\n  /c  \n")
    assert read_list(path) == ["/a/b.jpg", "/c"]


def test_inconsistent_lists_are_rejected():
    with pytest.raises(TranslationError, match="not in photos.txt"):
        Curation(photos=("/a",), art=(), photos_val=("/b",), art_val=())
    with pytest.raises(TranslationError, match="more than one"):
        Curation(photos=("/a",), art=("/a",), photos_val=(), art_val=())


# --- preparing the cache from a package tree -------------------------------------------------------

def test_prepare_converts_the_largest_picture_into_split_folders(tmp_path: Path, tree):
    root, curation = tree
    cache = _prepare(tmp_path / "cache", root, curation)
    train = sorted(p.name for p in collections.split_dir("photos", "train", cache).iterdir())
    assert train == ["backgrounds-mate-nature-Leaf.jpg", "backgrounds-mate-nature-Stone.jpg", "wallpapers-Forest.jpg"]
    assert [p.name for p in collections.split_dir("photos", "val", cache).iterdir()] == ["wallpapers-Lake.jpg"]
    assert list(collections.split_dir("art", "val", cache).iterdir()) == []  # there, though empty
    records = {r["entry"]: r for r in collections.manifest(cache)["files"]}
    lake = records[f"{WALLPAPERS}/Lake"]
    # the 128x80 picture (not the 48x30 one, not the dark variant, not the symlink name) shrunk to 64 px
    assert lake["source"] == f"{WALLPAPERS}/Lake/contents/images/128x80.jpg"
    assert (lake["width"], lake["height"]) == (64, 40)
    with Image.open(cache / lake["path"]) as image:
        assert image.format == "JPEG" and image.mode == "RGB" and image.size == (64, 40)
        assert np.asarray(image)[20, 60, 1] > 100  # the green picture, not the orange small one
    hills = records[f"{WALLPAPERS}/Hills"]
    assert hills["source"].endswith("200x100.png") and (hills["width"], hills["height"]) == (64, 32)
    assert records[f"{MATE}/abstract/Swirl_160x120.jpg"]["width"] == 64
    assert records[f"{MATE}/nature/Stone.jpg"]["grayscale"] is True
    assert records[f"{MATE}/nature/Leaf.jpg"]["grayscale"] is False


def test_manifest_checksums_match_files_and_sources(tmp_path: Path, tree):
    root, curation = tree
    cache = _prepare(tmp_path / "cache", root, curation)
    data = json.loads((cache / "manifest.json").read_text())
    assert data["settings"] == {"photo_side": 64, "art_side": 64, "quality": 90}
    assert len(data["files"]) == 6
    for record in data["files"]:
        assert hashlib.sha256((cache / record["path"]).read_bytes()).hexdigest() == record["sha256"]
        source = root / record["source"].lstrip("/")
        assert hashlib.sha256(source.read_bytes()).hexdigest() == record["source_sha256"]
        assert record["path"] == f"{record['collection']}/{record['split']}/{output_name(record['entry'])}"


def test_transparent_sources_are_flattened_onto_white(tmp_path: Path, tree):
    root, curation = tree
    cache = _prepare(tmp_path / "cache", root, curation)
    with Image.open(collections.split_dir("art", "train", cache) / "wallpapers-Hills.jpg") as image:
        # half-transparent ramp over white: the dark end comes out light grey, not black
        assert image.mode == "RGB" and min(image.getpixel((0, 16))) > 100


def test_second_prepare_does_nothing(tmp_path: Path, tree):
    root, curation = tree
    cache = _prepare(tmp_path / "cache", root, curation)
    before = _mtimes(cache)
    calls = []
    _prepare(cache, root, curation, progress=lambda done, total: calls.append(done))
    assert _mtimes(cache) == before and calls == []


def test_prepare_repairs_only_what_is_broken(tmp_path: Path, tree):
    root, curation = tree
    cache = _prepare(tmp_path / "cache", root, curation)
    records = {r["entry"]: r for r in collections.manifest(cache)["files"]}
    lost = cache / records[f"{WALLPAPERS}/Forest"]["path"]
    damaged = cache / records[f"{MATE}/nature/Leaf.jpg"]["path"]
    lost.unlink()
    damaged.write_bytes(b"not the picture")
    report = collections.status(cache, source_root=root, curation=curation, settings=SMALL)
    assert report.missing == [f"{WALLPAPERS}/Forest"] and report.changed == [f"{MATE}/nature/Leaf.jpg"]
    assert not report.ok
    before = _mtimes(cache)
    calls = []
    _prepare(cache, root, curation, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]
    after = _mtimes(cache)
    untouched = set(before) - {str(lost.relative_to(cache)), str(damaged.relative_to(cache)), "manifest.json"}
    assert {k: after[k] for k in untouched} == {k: before[k] for k in untouched}
    assert collections.status(cache, source_root=root, curation=curation, settings=SMALL).ok


def test_prepare_follows_list_changes(tmp_path: Path, tree):
    root, curation = tree
    cache = _prepare(tmp_path / "cache", root, curation)
    moved = Curation(photos=curation.photos[:3], art=curation.art, photos_val=(f"{MATE}/nature/Leaf.jpg",), art_val=())
    report = collections.status(cache, source_root=root, curation=moved, settings=SMALL)
    assert not report.ok and f"{WALLPAPERS}/Forest" in report.stale
    _prepare(cache, root, moved)
    assert not (cache / "photos" / "train" / "wallpapers-Forest.jpg").exists()
    assert (cache / "photos" / "val" / "backgrounds-mate-nature-Leaf.jpg").is_file()
    assert (cache / "photos" / "train" / "wallpapers-Lake.jpg").is_file()
    assert not (cache / "photos" / "train" / "backgrounds-mate-nature-Leaf.jpg").exists()
    assert collections.status(cache, source_root=root, curation=moved, settings=SMALL).ok


def test_other_settings_convert_again(tmp_path: Path, tree):
    root, curation = tree
    cache = _prepare(tmp_path / "cache", root, curation)
    bigger = ConvertSettings(photo_side=100, art_side=64, quality=90)
    assert collections.status(cache, source_root=root, curation=curation, settings=bigger).settings_differ
    collections.prepare(cache, source_root=root, install=False, curation=curation, settings=bigger)
    lake = next(r for r in collections.manifest(cache)["files"] if r["entry"].endswith("Lake"))
    assert lake["width"] == 100 and lake["height"] in (62, 63)


def test_photos_keep_their_resolution_up_to_the_photo_side(tmp_path: Path, tree):
    root, curation = tree
    full = ConvertSettings(art_side=64)
    cache = collections.prepare(tmp_path / "cache", source_root=root, install=False, curation=curation, settings=full)
    records = {r["entry"]: r for r in collections.manifest(cache)["files"]}
    assert (records[f"{WALLPAPERS}/Lake"]["width"], records[f"{WALLPAPERS}/Lake"]["height"]) == (128, 80)
    assert records[f"{MATE}/abstract/Swirl_160x120.jpg"]["width"] == 64


def test_missing_packages_say_what_to_download(tmp_path: Path, tree):
    root, curation = tree
    with pytest.raises(TranslationError, match="it downloads mate-backgrounds plasma-workspace-wallpapers"):
        _prepare(tmp_path / "cache", tmp_path / "empty", curation)
    assert not (tmp_path / "cache" / "manifest.json").exists()
    with pytest.raises(TranslationError, match="in no picture folder"):
        _prepare(tmp_path / "cache", root, Curation(photos=("/usr/share/elsewhere/a.jpg",), art=(), photos_val=(),
                                                    art_val=()))


def test_status_lists_pictures_no_list_names(tmp_path: Path, tree):
    root, curation = tree
    _picture(root / MATE.lstrip("/") / "nature" / "New.jpg", (30, 20))
    report = collections.status(tmp_path / "cache", source_root=root, curation=curation, settings=SMALL)
    assert not report.prepared and len(report.missing) == 6
    # the Swirl resolutions count as one picture, the listed largest one; Veil is excluded
    assert report.uncurated == [f"{MATE}/nature/New.jpg"]
    assert collections.find_pictures(root) == sorted([*curation.photos, *curation.art, *curation.excluded,
                                                      f"{MATE}/nature/New.jpg"])


def test_split_dir_before_prepare_and_bad_names(tmp_path: Path):
    with pytest.raises(TranslationError, match="translation data prepare"):
        collections.split_dir("photos", "train", tmp_path / "nothing")
    with pytest.raises(TranslationError, match="unknown collection"):
        collections.split_dir("paintings", "train", tmp_path)
    with pytest.raises(TranslationError, match="not found"):
        collections.manifest(tmp_path / "nothing")


def test_default_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TRANSLATION_CACHE", str(tmp_path / "c"))
    assert collections.default_cache_dir() == tmp_path / "c" / "collections"
    monkeypatch.delenv("TRANSLATION_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert collections.default_cache_dir() == tmp_path / "x" / "translation" / "collections"


# --- fetching the packages (a .deb built here, no network) ----------------------------------------

def _deb(folder: Path, name: str, files: dict[str, tuple[int, int]]) -> Path:
    """A Debian package ``name`` 1.0-1 holding pictures of the given sizes at the given paths."""
    tree = folder / name
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(f"Package: {name}\nVersion: 1.0-1\nArchitecture: all\n"
                                             "Maintainer: Tests <t@example.org>\nDescription: test pictures\n")
    for path, size in files.items():
        _picture(tree / path.lstrip("/"), size)
    (tree / "usr" / "share" / "doc" / name).mkdir(parents=True)
    (tree / "usr" / "share" / "doc" / name / "copyright").write_text("GPL-2+\n")
    deb = folder / f"{name}_1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)], check=True, capture_output=True)
    return deb


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_prepare_downloads_and_extracts_only_the_packages_it_needs(tmp_path: Path, monkeypatch):
    deb = _deb(tmp_path / "debs", "mate-backgrounds", {f"{MATE}/nature/Leaf.jpg": (96, 60),
                                                        f"{MATE}/abstract/Swirl.jpg": (40, 30),
                                                        f"{MATE}/desktop/Stripes.png": (40, 30),
                                                        "/usr/share/mate-background-properties/x.png": (8, 8)})
    downloads = []

    def download(names: list[str], folder: Path) -> dict[str, Path]:
        downloads.append(names)
        return {"mate-backgrounds": Path(shutil.copy(deb, folder))}

    monkeypatch.setattr(packages, "download", download)
    curation = Curation(photos=(f"{MATE}/nature/Leaf.jpg",), art=(), photos_val=(), art_val=())
    cache = collections.prepare(tmp_path / "cache", curation=curation, settings=SMALL)
    assert downloads == [["mate-backgrounds"]]
    root = packages.tree_root(cache)
    assert (root / MATE.lstrip("/") / "nature" / "Leaf.jpg").is_file()
    assert not (root / "usr" / "share" / "doc").exists()
    assert not (root / "usr" / "share" / "mate-background-properties").exists()
    record = packages.fetched(cache)["mate-backgrounds"]
    assert record == {"version": "1.0-1", "deb": deb.name, "sha256": hashlib.sha256(deb.read_bytes()).hexdigest()}
    data = collections.manifest(cache)
    assert data["packages"]["mate-backgrounds"] == "1.0-1" and data["files"][0]["source"] == f"{MATE}/nature/Leaf.jpg"
    assert collections.status(cache, curation=curation, settings=SMALL).ok
    collections.prepare(cache, curation=curation, settings=SMALL, force=True)  # converts again, downloads nothing
    assert downloads == [["mate-backgrounds"]]


def test_no_install_says_which_packages_to_download(tmp_path: Path):
    curation = Curation(photos=(f"{SKIMAGE}/coffee.png",), art=(), photos_val=(), art_val=())
    with pytest.raises(TranslationError, match="it downloads python3-skimage"):
        collections.prepare(tmp_path / "cache", install=False, curation=curation, settings=SMALL)


def test_pictures_are_brought_into_srgb(tmp_path: Path):
    path = tmp_path / "tagged.png"
    pixels = np.full((8, 8, 3), (200, 80, 40), np.uint8)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(pixels).save(path, icc_profile=srgb)
    with Image.open(io.BytesIO(convert(path, None, 95).data)) as image:
        assert np.abs(np.asarray(image, dtype=int) - pixels).max() <= 3
    Image.fromarray(pixels).save(path, icc_profile=b"not a profile")  # taken as sRGB
    with Image.open(io.BytesIO(convert(path, None, 95).data)) as image:
        assert np.abs(np.asarray(image, dtype=int) - pixels).max() <= 3


# --- the command, on a fake tree holding every committed entry -----------------------------------

def test_data_command_prepares_the_committed_lists(tmp_path: Path, capsys):
    root = tmp_path / "root"
    curation = load_curation()
    for i, entry in enumerate(curation.photos + curation.art):
        if entry.startswith(WALLPAPERS):
            _picture(root / entry.lstrip("/") / "contents" / "images" / "24x16.jpg", (24, 16), colour=(i * 5, 90, 30))
        else:
            _picture(root / entry.lstrip("/"), (24, 16), colour=(i * 5, 90, 30))
    cache = tmp_path / "cache"
    assert main(["data", "status", "--cache", str(cache), "--source-root", str(root)]) == 1
    assert "not prepared" in capsys.readouterr().out
    args = ["--cache", str(cache), "--source-root", str(root)]
    assert main(["data", "prepare", "--no-install", *args]) == 0
    out = capsys.readouterr().out
    photos_train = len(curation.photos) - len(curation.photos_val)
    assert f"photos: {photos_train} train, {len(curation.photos_val)} val" in out
    assert "matches the lists and checksums" in out
    assert main(["data", "status", *args]) == 0
    # nothing to convert: the sources are not needed any more
    assert main(["data", "prepare", "--no-install", "--cache", str(cache), "--source-root", str(tmp_path / "no")]) == 0
    assert len(list((cache / "art" / "val").iterdir())) == len(curation.art_val)


# --- the committed examples ------------------------------------------------------------------------

def test_examples_are_small_held_out_and_documented():
    examples = REPO / "examples"
    files = sorted(p for p in examples.rglob("*") if p.suffix in (".jpg", ".png"))  # not README.md, __init__.py
    assert {p.parent.name for p in files} >= {"colorization", "super-resolution", "style-transfer"}
    assert sum(p.stat().st_size for p in files) < 1_500_000
    readme = (examples / "README.md").read_text()
    curation = load_curation()
    held_out = {Path(e).stem.lower().replace("_", "") for e in curation.photos_val + curation.art_val}
    for path in files:
        assert path.stat().st_size < 100_000, path
        assert f"{path.parent.name}/{path.name}" in readme, f"{path} is not in examples/README.md"
        assert path.stem.replace("-", "") in held_out, f"{path} is not made from a held-out picture"
        with Image.open(path) as image:
            side = max(image.size)
            if path.parent.name == "super-resolution":
                assert 128 <= side <= 160
            else:
                assert 384 <= side <= 512
            if path.parent.name in ("colorization", "sketch-to-photo"):
                assert image.mode == "L"


def test_examples_are_made_by_each_task_from_held_out_pictures(tmp_path: Path, tree):
    from translation.collections.examples import write_examples
    from translation.tasks import Examples, Task, TaskSpec

    root, curation = tree
    cache = _prepare(tmp_path / "cache", root, curation)
    inverted = Task(TaskSpec("invert-examples", "rgb", "rgb"),
                    examples=Examples(("lake",), make=lambda rgb: 255 - rgb, suffix=".png"))
    (written,) = write_examples(tmp_path / "out", cache, tasks=[inverted])
    assert written == tmp_path / "out" / "invert-examples" / "lake.png"
    held_out = np.asarray(Image.open(collections.split_dir("photos", "val", cache) / "wallpapers-Lake.jpg"))
    np.testing.assert_array_equal(np.asarray(Image.open(written)), 255 - held_out)
    with pytest.raises(TranslationError, match="fresh-flower: not a held-out picture"):
        write_examples(tmp_path / "all", cache)  # the built-in tasks want the real collections' pictures
