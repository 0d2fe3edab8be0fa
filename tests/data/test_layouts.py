"""Dataset layouts: each one is found, and each way of getting it wrong gets its own clear message."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from translation.errors import TranslationError
from translation.data.layouts import check_crop_fits, find_paired, find_unpaired, hold_out


def image(path: Path, width: int = 32, height: int = 32) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((height, width, 3), 128, np.uint8))
    return path


def problem(call) -> str:
    with pytest.raises(TranslationError) as raised:
        call()
    return str(raised.value)


def test_aligned_with_val_folder(tmp_path):
    for i in range(3):
        image(tmp_path / "train" / f"{i}.jpg", 64)
    image(tmp_path / "val" / "v.jpg", 64)
    image(tmp_path / "test" / "t.jpg", 64)
    (tmp_path / "train" / "notes.txt").write_text("not an image")
    layout = find_paired(tmp_path)
    assert layout.kind == "aligned"
    assert [s[0].name for s in layout.train] == ["0.jpg", "1.jpg", "2.jpg"]
    assert [s[0].name for s in layout.val] == ["v.jpg"] and "val" in layout.val_source


def test_aligned_without_val_holds_out_a_fraction(tmp_path):
    for i in range(20):
        image(tmp_path / "train" / f"{i:02d}.png", 64)
    layout = find_paired(tmp_path, val_fraction=0.1, seed=3)
    assert (len(layout.train), len(layout.val)) == (18, 2)
    assert not set(layout.train) & set(layout.val)
    assert find_paired(tmp_path, val_fraction=0.1, seed=3).val == layout.val  # the same split every time
    assert len(find_paired(tmp_path, val_fraction=0).val) == 0


def test_folders_pair_by_name(tmp_path, caplog):
    for name in ("a", "b", "c"):
        image(tmp_path / "train" / "A" / f"{name}.jpg")
        image(tmp_path / "train" / "B" / f"{name}.png")  # the suffix may differ
    image(tmp_path / "train" / "B" / "extra.png")
    with caplog.at_level(logging.WARNING):
        layout = find_paired(tmp_path, val_fraction=0)
    assert layout.kind == "folders"
    assert [(a.name, b.name) for a, b in layout.train] == [("a.jpg", "a.png"), ("b.jpg", "b.png"), ("c.jpg", "c.png")]
    assert "1 images have no partner" in caplog.text


def test_folders_at_the_top_and_unpaired_and_photos(tmp_path):
    for name in ("x", "y"):
        image(tmp_path / "p" / "A" / f"{name}.png")
        image(tmp_path / "p" / "B" / f"{name}.png")
    assert find_paired(tmp_path / "p", val_fraction=0).kind == "folders"

    for i in range(3):
        image(tmp_path / "u" / "trainA" / f"{i}.png")
    image(tmp_path / "u" / "trainB" / "only.png")
    image(tmp_path / "u" / "testA" / "t.png")
    unpaired = find_unpaired(tmp_path / "u")
    assert (len(unpaired.train_a), len(unpaired.train_b), len(unpaired.test_a), len(unpaired.test_b)) == (3, 1, 1, 0)

    image(tmp_path / "photos" / "a.jpg")
    image(tmp_path / "photos" / "nested" / "b.webp")
    image(tmp_path / "photos" / ".hidden" / "c.jpg")
    photos = find_paired(tmp_path / "photos", photos=True, val_fraction=0)
    assert photos.kind == "photos" and [s[0].name for s in photos.train] == ["a.jpg", "b.webp"]


def test_missing_folder(tmp_path):
    message = problem(lambda: find_paired(tmp_path / "nowhere"))
    first, *tree = message.splitlines()
    assert first == f"{tmp_path / 'nowhere'}: folder not found"
    assert "expected layout:" in tree[0] and any("├── train/" in line for line in tree)
    image(tmp_path / "half" / "train" / "A" / "a.png")
    assert problem(lambda: find_paired(tmp_path / "half")).startswith(f"{tmp_path / 'half' / 'train' / 'B'}: folder not found")
    image(tmp_path / "half2" / "trainA" / "a.png")
    assert problem(lambda: find_unpaired(tmp_path / "half2")).startswith(f"{tmp_path / 'half2' / 'trainB'}: folder not found")


def test_empty_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    assert problem(lambda: find_paired(tmp_path / "empty")).startswith(f"{tmp_path / 'empty'}: folder is empty")
    assert problem(lambda: find_unpaired(tmp_path / "empty")).startswith(f"{tmp_path / 'empty'}: folder is empty")
    (tmp_path / "d" / "train").mkdir(parents=True)
    message = problem(lambda: find_paired(tmp_path / "d"))
    assert message.startswith(f"{tmp_path / 'd' / 'train'}: no images (it is empty;")
    (tmp_path / "d2" / "trainA").mkdir(parents=True)
    (tmp_path / "d2" / "trainB").mkdir(parents=True)
    (tmp_path / "d2" / "trainB" / "readme.txt").write_text("hi")
    message = problem(lambda: find_unpaired(tmp_path / "d2"))
    assert message.startswith(f"{tmp_path / 'd2' / 'trainA'}: no images")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "list.csv").write_text("a,b")
    message = problem(lambda: find_paired(tmp_path / "photos", photos=True))
    assert "no images (it holds no image files" in message and "pix2pix --task NAME" in message


def test_no_matching_pairs(tmp_path):
    image(tmp_path / "train" / "A" / "cat.png")
    image(tmp_path / "train" / "B" / "dog.png")
    first = problem(lambda: find_paired(tmp_path)).splitlines()[0]
    assert "no matching pairs" in first and "cat.png" in first and "dog.png" in first
    assert first.startswith(f"{tmp_path / 'train' / 'A'} and {tmp_path / 'train' / 'B'}")


def test_unknown_layout_and_wrong_model(tmp_path):
    (tmp_path / "weird" / "images").mkdir(parents=True)
    (tmp_path / "weird" / "labels.csv").write_text("x")
    message = problem(lambda: find_paired(tmp_path / "weird"))
    assert message.splitlines()[0] == f"{tmp_path / 'weird'}: unknown dataset layout (found images/, labels.csv)"
    assert "[ A | B ]" in message and "A/  001.png" in message
    message = problem(lambda: find_unpaired(tmp_path / "weird"))
    assert "unknown dataset layout" in message and "trainA/" in message

    image(tmp_path / "unp" / "trainA" / "a.png")
    image(tmp_path / "unp" / "trainB" / "b.png")
    assert "train cyclegan" in problem(lambda: find_paired(tmp_path / "unp")).splitlines()[0]
    image(tmp_path / "ali" / "train" / "x.png", 64)
    assert "train pix2pix" in problem(lambda: find_unpaired(tmp_path / "ali")).splitlines()[0]


def test_images_smaller_than_the_crop(tmp_path):
    big = image(tmp_path / "big.png", 128, 64)
    small = image(tmp_path / "small.png", 48, 40)
    first = problem(lambda: check_crop_fits([big, small], crop_size=50, load_size=60, preprocess="crop")).splitlines()[0]
    assert first.startswith(f"{small}: image smaller than the crop: 48x40 px, but --crop-size is 50")
    assert "(1 of 2 images are too small)" in first
    # An aligned image holds two halves: 128 wide means 64 x 64 each.
    message = problem(lambda: check_crop_fits([big], crop_size=65, load_size=65, preprocess="crop", halves=2))
    assert "each half is 64x64 px" in message
    check_crop_fits([big, small], crop_size=40, load_size=60, preprocess="crop")
    check_crop_fits([big, small], crop_size=256, load_size=286, preprocess="resize_and_crop")  # resized first
    check_crop_fits([big, small], crop_size=256, load_size=286, preprocess="none")
    # scale_width: 48x40 scaled to width 60 is 60x50
    check_crop_fits([small], crop_size=50, load_size=60, preprocess="scale_width")
    assert "smaller than the crop" in problem(
        lambda: check_crop_fits([small], crop_size=51, load_size=60, preprocess="scale_width"))


def test_hold_out_edges():
    assert hold_out([1], 0.5, 0) == ([1], [])
    train, val = hold_out(list(range(3)), 0.01, 0)
    assert len(val) == 1 and sorted(train + val) == [0, 1, 2]
