"""PNG written band of rows by band of rows: every PNG of ``write_image`` in its fast form, and outputs
too large to hold whole in memory.

PNG streams: a header, then the zlib stream of the filtered rows in IDAT chunks, then an end chunk.
Two ways to fill it (``PNG_COMPRESSIONS``):

* ``fast`` (the default): the Up filter (each row minus the row above: one vectorised subtraction) and
  ISA-L's deflate at level 1 (the ``isal`` package: several times zlib's speed). A 2048x2048 output
  takes 20-65 ms of CPU where libpng's Paeth filter with zlib took 120-225 ms; files are 24-32% larger.
* ``compact``: the Paeth filter (vectorised with numpy here; ``write_image`` leaves it to libpng) and
  zlib's run-length strategy: the smaller files of earlier versions.

Memory is that of one band.
"""
from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np
from isal import isal_zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_COMPRESSIONS = ("fast", "compact")
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}      # channels -> gray, gray+alpha, RGB, RGBA
_CHUNK_BYTES = 1 << 18                         # IDAT payload per chunk
_FILTER_ROWS = 16                              # rows Paeth-filtered at once (int16 temporaries)
_FAST_ROWS = 256                               # rows Up-filtered and compressed at once
PNG_COMPRESS_LEVEL = 1                         # zlib's, for compact: under run-length coding the level hardly matters
_UP, _PAETH = 2, 4                             # PNG filter types


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The PNG Paeth predictor of int16 neighbours (left, above, upper left)."""
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def filter_rows(rows: np.ndarray, previous: np.ndarray, bpp: int) -> bytes:
    """Rows of raw bytes (n x L uint8) and the raw row above them (L uint8, zeros at the top) ->
    the Paeth-filtered scanlines, each led by its filter type byte."""
    x = rows.astype(np.int16)
    b = np.vstack([previous[None].astype(np.int16), x[:-1]])
    a = np.zeros_like(x)
    a[:, bpp:] = x[:, :-bpp]
    c = np.zeros_like(x)
    c[:, bpp:] = b[:, :-bpp]
    filtered = ((x - _paeth(a, b, c)) & 0xFF).astype(np.uint8)   # modulo 256, as PNG defines the residuals
    return np.hstack([np.full((len(rows), 1), _PAETH, np.uint8), filtered]).tobytes()


def up_filter_rows(rows: np.ndarray, previous: np.ndarray) -> bytes:
    """The same with the Up filter: each byte minus the byte above it, modulo 256."""
    filtered = np.empty((len(rows), rows.shape[1] + 1), np.uint8)
    filtered[:, 0] = _UP
    np.subtract(rows[0], previous, out=filtered[0, 1:])
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    return filtered.tobytes()


class PngBandWriter:
    """Write an H x W image of 1-4 channels (uint8 or uint16) to ``handle`` in bands of rows."""

    def __init__(self, handle: BinaryIO, width: int, height: int, channels: int, bit_depth: int = 8, *,
                 compression: str = "fast") -> None:
        if channels not in _COLOUR_TYPE or bit_depth not in (8, 16):
            raise ValueError(f"PNG bands: {channels} channels at {bit_depth} bits are not supported")
        if compression not in PNG_COMPRESSIONS:
            raise ValueError(f"PNG compression {compression!r}: choose one of {', '.join(PNG_COMPRESSIONS)}")
        self.fast = compression == "fast"
        self.handle, self.width, self.height, self.channels = handle, int(width), int(height), int(channels)
        self.bit_depth = bit_depth
        self.bpp = channels * bit_depth // 8
        self.rows_written = 0
        self._previous = np.zeros(self.width * self.bpp, np.uint8)
        self._compressor = (isal_zlib.compressobj(1, isal_zlib.DEFLATED, zlib.MAX_WBITS, 9) if self.fast else
                            zlib.compressobj(PNG_COMPRESS_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS, 9, zlib.Z_RLE))
        self._pending = bytearray()
        header = struct.pack(">IIBBBBB", self.width, self.height, bit_depth, _COLOUR_TYPE[channels], 0, 0, 0)
        handle.write(SIGNATURE + _chunk(b"IHDR", header))

    def write(self, rows: np.ndarray) -> None:
        """The next band: n x W x channels pixels of the writer's bit depth."""
        dtype = np.uint16 if self.bit_depth == 16 else np.uint8
        if rows.ndim == 2:
            rows = rows[:, :, None]
        if rows.shape[1:] != (self.width, self.channels) or rows.dtype != dtype:
            raise ValueError(f"PNG bands: expected n x {self.width} x {self.channels} {np.dtype(dtype).name} rows, "
                             f"got {rows.shape} {rows.dtype}")
        if self.rows_written + len(rows) > self.height:
            raise ValueError(f"PNG bands: more than the {self.height} rows announced")
        raw = rows.astype(">u2") if self.bit_depth == 16 else rows
        raw = np.ascontiguousarray(raw).view(np.uint8).reshape(len(rows), -1)
        step = _FAST_ROWS if self.fast else _FILTER_ROWS
        for start in range(0, len(raw), step):
            part = raw[start:start + step]
            filtered = up_filter_rows(part, self._previous) if self.fast else filter_rows(part, self._previous, self.bpp)
            self._pending += self._compressor.compress(filtered)
            self._previous = part[-1].copy()
            self._flush(_CHUNK_BYTES)
        self.rows_written += len(rows)

    def _flush(self, at_least: int) -> None:
        while len(self._pending) >= max(1, at_least):
            self.handle.write(_chunk(b"IDAT", bytes(self._pending[:_CHUNK_BYTES])))
            del self._pending[:_CHUNK_BYTES]

    def close(self) -> None:
        """Finish the stream; every announced row must have been written."""
        if self.rows_written != self.height:
            raise ValueError(f"PNG bands: {self.rows_written} of {self.height} rows written")
        self._pending += self._compressor.flush()
        self._flush(1)
        self.handle.write(_chunk(b"IEND", b""))
