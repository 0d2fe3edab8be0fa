"""A corpus of awkward and broken inputs, generated on the fly, with what each one should give.

(Not a conftest.py: the tests folders have no __init__.py, so a second conftest.py would replace the
top-level one as the module ``conftest`` that other tests import from.)

Every item is either *good* (it must convert, with the size and depth given here) or *bad* (it must
be refused with a reason that contains ``reason``). The folder also holds things that are not items
at all: a symlink loop, a named pipe, a folder with an image suffix and a non-image file, which a
folder walk must pass over without hanging.
"""
from __future__ import annotations

import ctypes
import hashlib
import io
import os
import select
import stat
import struct
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

# The app tests' helpers (tiny exported models, a running app) are reused from there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from app_fixtures import REPO_ROOT, run_app, tiny_models, write_test_image  # noqa: E402,F401 - re-exported

TRANSLATION = [sys.executable, "-m", "translation"]   # the CLI as a user runs it, in a subprocess
BOMB_SIDE = 30_000                        # a 900 Mpx PNG header on ~110 KB of data
NON_UTF8_GOOD = os.fsdecode(b"caf\xe9.png")   # latin-1 bytes: not valid UTF-8
NON_UTF8_BAD = os.fsdecode(b"r\xe9sum\xe9.jpg")


@dataclass(frozen=True)
class Item:
    name: str                     # file name (str; non-UTF-8 bytes as surrogate escapes)
    good: bool
    size: tuple[int, int] = (0, 0)   # (width, height) the output must have (good items)
    sixteen_bit: bool = False     # good items: the PNG output keeps 16 bits per channel
    alpha: bool = False           # good items: the PNG output keeps an alpha channel
    reason: str = ""              # bad items: a (lower-case) fragment the error message must contain


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth, colourful H x W x 3 uint8 picture."""
    y, x = np.mgrid[0:height, 0:width]
    phase = seed * 0.7
    base = np.stack([np.sin(x / 9.0 + phase), np.cos(y / 7.0 + phase), np.sin((x + y) / 13.0)], -1)
    return np.round((base * 0.5 + 0.5) * 255).astype(np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(side: int = BOMB_SIDE) -> bytes:
    """A complete, valid 1-bit gray PNG of side x side black pixels: tiny on disk, huge once decoded."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, gray, deflate, no filter, no interlace
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)                        # filter byte + packed bits
    rows_per_chunk = 1000
    parts = []
    for start in range(0, side, rows_per_chunk):
        parts.append(compressor.compress(row * min(rows_per_chunk, side - start)))
    parts.append(compressor.flush())
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", b"".join(parts))
            + _png_chunk(b"IEND", b""))


def _encoded(pixels: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **options)
    return buffer.getvalue()


def write_corpus(folder: Path) -> list[Item]:
    """Fill ``folder`` with every item (plus a symlink loop and a non-image file); return the items."""
    folder.mkdir(parents=True, exist_ok=True)
    items: list[Item] = []

    def add(item: Item, data: bytes) -> None:
        (folder / item.name).write_bytes(data)
        items.append(item)

    # --- bad: each must be named with its reason
    add(Item("empty.png", False, reason="empty"), b"")
    add(Item("text.jpg", False, reason="not an image"), b"Dear diary, this is text with a .jpg name.\n" * 20)
    add(Item("cut_jpeg.jpg", False, reason="truncated"), _encoded(photo(64, 64), "JPEG", quality=90)[:400])
    add(Item("cut_png.png", False, reason="truncated"), _encoded(photo(64, 64), "PNG")[:300])
    add(Item("bomb.png", False, reason="limit"), bomb_png())
    add(Item(NON_UTF8_BAD, False, reason="not an image"), b"%PDF-1.4 not a picture at all")

    # --- good: each must convert to the size (and depth / alpha) given
    add(Item("png_named.jpg", True, (36, 28)), _encoded(photo(28, 36, 1), "PNG"))
    add(Item("one_pixel.png", True, (1, 1)), _encoded(np.full((1, 1, 3), 200, np.uint8), "PNG"))
    palette = Image.fromarray(photo(30, 40, 2)).quantize(16)
    palette.info["transparency"] = 0
    buffer = io.BytesIO()
    palette.save(buffer, "PNG", transparency=0)
    add(Item("palette.png", True, (40, 30), alpha=True), buffer.getvalue())
    deep = photo(24, 28, 3).astype(np.uint16) * 257 + 3          # + 3: not a widened 8-bit image
    ok, encoded = cv2.imencode(".png", deep[:, :, ::-1])
    assert ok
    add(Item("deep16.png", True, (28, 24), sixteen_bit=True), encoded.tobytes())
    cmyk = Image.fromarray(photo(20, 26, 4)).convert("CMYK")
    add(Item("cmyk.jpg", True, (26, 20)), _pil_bytes(cmyk, "JPEG"))
    exif = Image.Exif()
    exif[0x0112] = 6                                             # stored 60 wide x 40 high, shown rotated
    add(Item("rotated.jpg", True, (40, 60)), _encoded(photo(40, 60, 5), "JPEG", exif=exif.tobytes()))
    frames = [Image.fromarray(photo(32, 32, seed)).quantize(64) for seed in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    add(Item("animated.gif", True, (32, 32)), buffer.getvalue())
    gray_alpha = np.dstack([photo(22, 30, 6)[:, :, 0], np.tile(np.linspace(0, 255, 30, dtype=np.uint8), (22, 1))])
    add(Item("gray_alpha.png", True, (30, 22), alpha=True), _pil_bytes(Image.fromarray(gray_alpha, "LA"), "PNG"))
    add(Item(NON_UTF8_GOOD, True, (20, 18)), _encoded(photo(18, 20, 7), "PNG"))

    # --- not items: things a folder walk meets and must pass over (without opening a pipe: it would block)
    (folder / "notes.txt").write_text("a file that is no image and has no image suffix\n")
    os.mkfifo(folder / "pipe.png")
    (folder / "album.jpg").mkdir()
    sub = folder / "sub"
    sub.mkdir(exist_ok=True)
    (sub / "loop").symlink_to("..", target_is_directory=True)    # sub/loop -> the corpus folder itself
    return items


def _pil_bytes(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def checksums(folder: Path) -> dict[bytes, str]:
    """SHA-256 of every regular file under ``folder`` (symlinks not followed), keyed by bytes path."""
    sums: dict[bytes, str] = {}
    for current, dirs, files in os.walk(os.fsencode(folder), followlinks=False):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(current, d))]:
            path = os.path.join(current, name)
            if os.path.islink(path):
                sums[path] = "link -> " + os.fsdecode(os.readlink(path))
            elif not stat.S_ISREG(os.stat(path).st_mode):
                sums[path] = "special file"
            else:
                with open(path, "rb") as handle:
                    sums[path] = hashlib.sha256(handle.read()).hexdigest()
    return sums


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text


class FileEvents:
    """Linux inotify on one folder: learn the moment a file there is written to, to kill its writer then.

    Polling cannot catch a write that lasts milliseconds on a busy machine; inotify reports it as it
    happens, so a SIGKILL sent on the event lands while the file is still being written.
    """

    IN_MODIFY = 0x00000002

    def __init__(self, folder: Path) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        if self._libc.inotify_add_watch(self.fd, os.fsencode(folder), self.IN_MODIFY) < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {folder} failed")

    def wait_for_write(self, prefix: str, timeout: float) -> str | None:
        """The name of the next file starting with ``prefix`` that gets data, or None after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([self.fd], [], [], left)[0]:
                return None
            try:
                buffer = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            offset = 0
            while offset < len(buffer):
                _, _, _, length = struct.unpack_from("iIII", buffer, offset)
                name = os.fsdecode(buffer[offset + 16: offset + 16 + length].rstrip(b"\0"))
                offset += 16 + length
                if name.startswith(prefix):
                    return name
        return None

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> "FileEvents":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
