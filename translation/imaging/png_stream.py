"""A PNG written band of rows by band of rows, for outputs too large to hold whole in memory.

Pillow and OpenCV encode only complete images. PNG itself streams: a header, then the zlib stream of
the filtered rows in IDAT chunks, then an end chunk. Rows are filtered as ``write_image`` has libpng
filter them (Paeth), vectorised over a band with numpy, and compressed by one ``zlib.compressobj``
with the same run-length strategy; memory is that of one band.
"""
from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}      # channels -> gray, gray+alpha, RGB, RGBA
_CHUNK_BYTES = 1 << 18                         # IDAT payload per chunk
_FILTER_ROWS = 16                              # rows filtered at once (int16 temporaries)
PNG_COMPRESS_LEVEL = 1                         # as write_image: under run-length coding the level hardly matters
_PAETH = 4                                     # PNG filter type


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The PNG Paeth predictor of int16 neighbours (left, above, upper left)."""
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def filter_rows(rows: np.ndarray, previous: np.ndarray, bpp: int) -> bytes:
    """Rows of raw bytes (n x L uint8) and the raw row above them (L uint8, zeros at the top) ->
    the filtered scanlines, each led by its filter type byte."""
    x = rows.astype(np.int16)
    b = np.vstack([previous[None].astype(np.int16), x[:-1]])
    a = np.zeros_like(x)
    a[:, bpp:] = x[:, :-bpp]
    c = np.zeros_like(x)
    c[:, bpp:] = b[:, :-bpp]
    filtered = ((x - _paeth(a, b, c)) & 0xFF).astype(np.uint8)   # modulo 256, as PNG defines the residuals
    return np.hstack([np.full((len(rows), 1), _PAETH, np.uint8), filtered]).tobytes()


class PngBandWriter:
    """Write an H x W image of 1-4 channels (uint8 or uint16) to ``handle`` in bands of rows."""

    def __init__(self, handle: BinaryIO, width: int, height: int, channels: int, bit_depth: int = 8, *,
                 level: int = PNG_COMPRESS_LEVEL) -> None:
        if channels not in _COLOUR_TYPE or bit_depth not in (8, 16):
            raise ValueError(f"PNG bands: {channels} channels at {bit_depth} bits are not supported")
        self.handle, self.width, self.height, self.channels = handle, int(width), int(height), int(channels)
        self.bit_depth = bit_depth
        self.bpp = channels * bit_depth // 8
        self.rows_written = 0
        self._previous = np.zeros(self.width * self.bpp, np.uint8)
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS, 9, zlib.Z_RLE)
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
        for start in range(0, len(raw), _FILTER_ROWS):
            part = raw[start:start + _FILTER_ROWS]
            self._pending += self._compressor.compress(filter_rows(part, self._previous, self.bpp))
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
