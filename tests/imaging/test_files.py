"""One listing of image files: sorted, by suffix, hidden and temp files passed over, loops walked once."""
from __future__ import annotations

import pytest

from translation.atomic import TEMP_PREFIX
from translation.errors import TranslationError
from translation.imaging.files import list_files, list_images


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_images_of_a_folder_and_of_its_tree(tmp_path):
    for name in ("b.JPG", "a.png", "notes.txt", f"{TEMP_PREFIX}half.png", ".hidden.png",
                 "sub/c.webp", "sub/deeper/d.tif", ".git/e.png"):
        _touch(tmp_path / name)
    (tmp_path / "album.jpg").mkdir()                                   # a folder with an image suffix
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert [p.name for p in list_images(tmp_path)] == ["a.png", "b.JPG"]
    assert [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path, recursive=True)] == [
        "a.png", "b.JPG", "sub/c.webp", "sub/deeper/d.tif"]
    assert [p.name for p in list_files(tmp_path)] == ["a.png", "b.JPG", "notes.txt"]
    assert [p.name for p in list_images(tmp_path, recursive=True, skip_dirs=[tmp_path / "sub" / "deeper"])] == [
        "a.png", "b.JPG", "c.webp"]


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(TranslationError, match="missing: folder not found"):
        list_images(tmp_path / "missing")
