"""Robust image decoding and atomic encoding.

Every image that enters the project (app uploads, batch conversion, training data) goes through
``read_image`` and every image that leaves it through ``write_image``, so odd files (EXIF-rotated
photos, palettes with transparency, CMYK, 16-bit, animations, truncated or fake files) are handled
in one place.
"""
from __future__ import annotations

import io
import logging
import os
import re
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from ..atomic import atomic_path
from ..errors import TranslationError
from .png_stream import PNG_COMPRESSIONS, PngBandWriter

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 64_000_000
IMAGE_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
WRITE_SUFFIXES: frozenset[str] = IMAGE_SUFFIXES

_PILLOW_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP",
                   ".tif": "TIFF", ".tiff": "TIFF", ".gif": "GIF"}
_NO_ALPHA_SUFFIXES = frozenset({".jpg", ".jpeg", ".bmp", ".gif"})
_SIXTEEN_BIT_SUFFIXES = frozenset({".png", ".tif", ".tiff"})
_EXIF_ORIENTATION = 0x0112
# PNG, compact: libpng (OpenCV) with the Paeth row filter alone and zlib's run-length strategy; on
# photographs and model outputs 25-60% less CPU than libpng's adaptive filter choice (which tries all
# five per row) with files within 1-3% of its size. The fast default is png_stream's (Up filter, ISA-L
# deflate): 3-6x less CPU again, files 24-32% larger (benchmarks/RESULTS.md, batch conversion).
PNG_PARAMS = (cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE,
              cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_PAETH)
# Errors Pillow raises (directly or from its codecs) for data that is cut short or damaged.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, struct.error, zlib.error)


@dataclass
class LoadedImage:
    """A decoded image: RGB pixels plus an optional alpha plane of the same dtype."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    path: Path | None = None

    @property
    def bit_depth(self) -> int:
        return 16 if self.rgb.dtype == np.uint16 else 8

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    def to_float(self) -> np.ndarray:
        """H x W x 3 float32 in [0, 1]."""
        return to_float(self.rgb)


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 / uint16 / float pixels -> a new float32 array in [0, 1] (one full-size allocation)."""
    if pixels.dtype == np.uint8:
        return np.multiply(pixels, np.float32(1 / 255.0), dtype=np.float32)
    if pixels.dtype == np.uint16:
        return np.multiply(pixels, np.float32(1 / 65535.0), dtype=np.float32)
    floats = pixels.astype(np.float32)  # always a copy: the caller's array is never changed
    return np.clip(floats, 0.0, 1.0, out=floats)


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """uint8 / uint16 / float [0, 1] pixels -> uint8 (rounded; NaN -> 0, as np.nan_to_num)."""
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    # OpenCV scales, rounds (half to even, as np.round) and saturates in one pass over float32: the same
    # bytes as clip -> * 255 -> round -> cast, without four full-size temporaries
    floats = np.ascontiguousarray(pixels, dtype=np.float32)
    if floats.size == 0:
        return np.zeros(floats.shape, dtype=np.uint8)
    if not np.isfinite(floats.sum()):   # a NaN or an infinity somewhere (a sum costs no copy)
        floats = np.nan_to_num(floats)
    flat = floats.reshape(floats.shape[0], -1) if floats.ndim > 1 else floats.reshape(1, -1)
    return cv2.multiply(flat, 255.0, dtype=cv2.CV_8U).reshape(floats.shape)


def to_uint16(pixels: np.ndarray) -> np.ndarray:
    """uint8 / uint16 / float [0, 1] pixels -> uint16."""
    if pixels.dtype == np.uint16:
        return pixels
    if pixels.dtype == np.uint8:
        return pixels.astype(np.uint16) * 257
    return np.round(np.clip(pixels.astype(np.float64), 0.0, 1.0) * 65535.0).astype(np.uint16)


# --------------------------------------------------------------------------------------------- reading

def read_image(source: str | os.PathLike[str] | bytes | np.ndarray | Image.Image, *,
               max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode an image file, encoded bytes, a numpy array or a PIL image into a ``LoadedImage``.

    EXIF orientation is applied; palette, CMYK, gray, gray+alpha and 16-bit gray are converted to RGB
    (16-bit sources stay uint16); animations give their first frame. Files that are missing, empty,
    truncated, not images or larger than ``max_pixels`` (None = no limit of ours) raise
    ``TranslationError("<file>: <reason>")``.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if isinstance(source, Image.Image):
        return _from_open_pil(source, "image", max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode_bytes(bytes(source), "image data", None, max_pixels)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return _decode_bytes(_read_file(path), str(path), path, max_pixels)
    raise TypeError(f"read_image: expected a path, bytes, numpy array or PIL image, got {type(source).__name__}")


def read_rgb8(path: str | os.PathLike[str], *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """H x W x 3 uint8 RGB (alpha dropped, 16-bit reduced): what training pipelines want."""
    return to_uint8(read_image(path, max_pixels=max_pixels).rgb)


def _read_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TranslationError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise TranslationError(f"{path}: is a folder, not an image file") from None
    except PermissionError:
        raise TranslationError(f"{path}: permission denied (check the file's read permissions)") from None
    except OSError as exc:
        raise TranslationError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise TranslationError(f"{path}: file is empty")
    return data


def _decode_bytes(data: bytes, label: str, path: Path | None, max_pixels: int | None) -> LoadedImage:
    if not data:
        raise TranslationError(f"{label}: file is empty")
    # LOAD_TRUNCATED_IMAGES is a process-wide switch; a file cut short must be an error here.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True; truncated images would decode silently")
    try:
        with warnings.catch_warnings():
            # Our own limit is checked below from the header; Pillow's warning matters only when
            # it is the stricter of the two (then it is as good as ours being exceeded).
            action = "error" if _ours_is_stricter(max_pixels) else "ignore"
            warnings.simplefilter(action, Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise TranslationError(f"{label}: not an image file (cannot identify image format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_large_from_pillow(label, exc, max_pixels) from None
    except _DECODE_ERRORS as exc:
        raise TranslationError(f"{label}: truncated or corrupt image data ({exc})") from None

    with image:
        _check_size(image, label, max_pixels)
        width, height = image.size
        if getattr(image, "n_frames", 1) > 1:
            log.debug("%s: %d frames, using the first", label, image.n_frames)
        try:
            if _is_sixteen_bit_color(image):
                loaded = _decode_sixteen_bit_color(data, image, label)
            else:
                image.load()
                loaded = _from_pil(_apply_orientation_pil(image), label)
        except TranslationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_large_from_pillow(label, exc, max_pixels) from None
        except MemoryError:
            raise TranslationError(f"{label}: not enough memory to decode {width}x{height} pixels") from None
        except _DECODE_ERRORS as exc:
            raise TranslationError(f"{label}: truncated or corrupt image data ({exc})") from None
    loaded.path = path
    return loaded


def _check_size(image: Image.Image, label: str, max_pixels: int | None) -> None:
    """Refuse images over the pixel limit from their header, before any pixel is decoded."""
    width, height = image.size
    if max_pixels is not None and width * height > max_pixels:
        raise TranslationError(f"{label}: {width}x{height} = {_mpx(width * height)} Mpx exceeds the "
                               f"{_mpx(max_pixels)} Mpx limit (raise --max-pixels, or max_pixels in Python, to allow it)")
    if width < 1 or height < 1:
        raise TranslationError(f"{label}: image has no pixels ({width}x{height})")


def _from_open_pil(image: Image.Image, label: str, max_pixels: int | None) -> LoadedImage:
    """A PIL image handed over by a caller (possibly still lazy): load it and apply its orientation."""
    _check_size(image, label, max_pixels)
    try:
        image.load()
        return _from_pil(_apply_orientation_pil(image), label)
    except TranslationError:
        raise
    except _DECODE_ERRORS as exc:
        raise TranslationError(f"{label}: truncated or corrupt image data ({exc})") from None


def _mpx(pixels: int) -> str:
    return f"{pixels / 1e6:.3g}"


def _ours_is_stricter(max_pixels: int | None) -> bool:
    """Whether our pixel limit is at most Pillow's own (process-wide) one."""
    return max_pixels is not None and (Image.MAX_IMAGE_PIXELS is None or max_pixels <= Image.MAX_IMAGE_PIXELS)


def _too_large_from_pillow(label: str, exc: Exception, max_pixels: int | None) -> TranslationError:
    """Pillow refused the image in ``Image.open`` (before we saw its size): say so in our words."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"{_mpx(int(found.group(1)))} Mpx" if found else "the image"
    if _ours_is_stricter(max_pixels):
        return TranslationError(f"{label}: {size} exceeds the {_mpx(max_pixels)} Mpx limit "
                                "(raise --max-pixels, or max_pixels in Python, to allow it)")
    pillow_limit = _mpx(2 * (Image.MAX_IMAGE_PIXELS or 0))
    return TranslationError(f"{label}: {size} exceeds Pillow's decompression-bomb limit of {pillow_limit} Mpx "
                            "(raise PIL.Image.MAX_IMAGE_PIXELS to allow it)")


def _apply_orientation_pil(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image) or image
    except Exception as exc:  # a damaged EXIF block must not make a decodable image unreadable
        log.warning("ignoring unreadable EXIF orientation: %s", exc)
        return image


def _is_sixteen_bit_color(image: Image.Image) -> bool:
    """Pillow has no 16-bit RGB mode: it silently reduces such files to 8 bits. Detect them."""
    if image.mode not in ("RGB", "RGBA") or not image.tile:
        return False
    args = image.tile[0].args
    rawmode = args[0] if isinstance(args, tuple) and args else args
    return isinstance(rawmode, str) and ";16" in rawmode


def _decode_sixteen_bit_color(data: bytes, image: Image.Image, label: str) -> LoadedImage:
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH)
    if decoded is None:
        raise TranslationError(f"{label}: truncated or corrupt image data (16-bit decode failed)")
    if decoded.ndim == 2:
        decoded = decoded[:, :, None]
    channels = decoded.shape[2]
    if channels >= 3:
        decoded = decoded[:, :, [2, 1, 0, *range(3, channels)]]
    try:
        orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - damaged EXIF: keep the pixels as stored
        orientation = 1
    decoded = orient_array(decoded, orientation)
    return _from_array(np.ascontiguousarray(decoded))


def orient_array(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an H x W (x C) array, as ``ImageOps.exif_transpose`` does."""
    swap = (1, 0, *range(2, pixels.ndim))
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1]
    if orientation == 5:
        return pixels.transpose(swap)
    if orientation == 6:
        return np.rot90(pixels, -1)
    if orientation == 7:
        return pixels[::-1, ::-1].transpose(swap)
    if orientation == 8:
        return np.rot90(pixels, 1)
    return pixels


def _from_pil(image: Image.Image, label: str) -> LoadedImage:
    try:
        image = _to_standard_mode(image)
    except ValueError as exc:
        raise TranslationError(f"{label}: unsupported pixel format {image.mode!r} ({exc})") from None
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        return _from_array(_wide_gray_to_uint16(np.asarray(image)))
    return _from_array(np.asarray(image))


def _to_standard_mode(image: Image.Image) -> Image.Image:
    """Any PIL mode -> L, LA, RGB, RGBA or a wide gray mode (I;16*, I, F)."""
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA") and not (mode in ("L", "RGB") and "transparency" in image.info):
        return image
    if mode.startswith("I;16") or mode in ("I", "F"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode == "La":
        return image.convert("LA")
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if mode in ("PA", "RGBa") or "transparency" in image.info:
        return image.convert("RGBA")
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, ...


def _wide_gray_to_uint16(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype.kind == "f":
        finite = np.nan_to_num(pixels.astype(np.float64))
        if finite.size and finite.max() <= 1.0:
            return np.round(np.clip(finite, 0.0, 1.0) * 65535.0).astype(np.uint16)
        return np.clip(np.round(finite), 0, 65535).astype(np.uint16)
    return np.clip(pixels.astype(np.int64), 0, 65535).astype(np.uint16)


def _from_array(pixels: np.ndarray) -> LoadedImage:
    """Validate an H x W, H x W x 1/3/4 array (uint8, uint16 or float [0, 1]) into a LoadedImage."""
    if pixels.ndim == 3 and pixels.shape[2] in (1, 2) and pixels.dtype != object:
        gray, rest = pixels[:, :, 0], pixels[:, :, 1:]
        pixels = np.dstack([gray, gray, gray, rest]) if rest.size else gray
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise TranslationError(f"array: expected H x W, H x W x 3 or H x W x 4 pixels, got shape {pixels.shape}")
    pixels = _normalise_dtype(pixels)
    rgb = np.ascontiguousarray(pixels[:, :, :3])
    alpha = np.ascontiguousarray(pixels[:, :, 3]) if pixels.shape[2] == 4 else None
    return LoadedImage(rgb=rgb, alpha=alpha)


def _normalise_dtype(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype in (np.uint8, np.uint16):
        return pixels
    if pixels.dtype == np.bool_:
        return pixels.astype(np.uint8) * 255
    if pixels.dtype.kind == "f":
        return to_uint8(pixels)
    if pixels.dtype.kind in "iu":
        low, high = (int(pixels.min()), int(pixels.max())) if pixels.size else (0, 0)
        if low >= 0 and high <= 255:
            return pixels.astype(np.uint8)
        if low >= 0 and high <= 65535:
            return pixels.astype(np.uint16)
        raise TranslationError(f"array: integer pixels must lie in 0..65535, got {low}..{high}")
    raise TranslationError(f"array: unsupported pixel dtype {pixels.dtype} (use uint8, uint16 or float in [0, 1])")


# --------------------------------------------------------------------------------------------- writing

def write_image(path: str | os.PathLike[str], rgb: np.ndarray, alpha: np.ndarray | None = None, *,
                quality: int = 95, png_compression: str = "fast") -> Path:
    """Encode ``rgb`` (and ``alpha``) into ``path`` atomically; the format comes from the suffix.

    Float input in [0, 1] is written with 8 bits; uint16 stays 16-bit for PNG and TIFF and is reduced
    to 8 bits elsewhere. JPEG, BMP and GIF drop alpha (it is not composited). ``quality`` (1-100)
    applies to JPEG and WebP; ``png_compression`` to PNG: ``fast`` or ``compact`` (files ~25% smaller
    for 3-6x the CPU time). Parent folders are created. Returns the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise TranslationError(f"{path}: unknown image format {path.suffix or '(no suffix)'!r} "
                               f"(use one of {', '.join(sorted(WRITE_SUFFIXES))})")
    if not 1 <= int(quality) <= 100:
        raise TranslationError(f"{path}: quality must be between 1 and 100, got {quality}")
    if png_compression not in PNG_COMPRESSIONS:
        raise TranslationError(f"{path}: unknown PNG compression {png_compression!r} (use one of "
                               f"{', '.join(PNG_COMPRESSIONS)})")
    loaded = _from_array(np.asarray(rgb))
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.ndim == 3 and alpha.shape[2] == 1:
            alpha = alpha[:, :, 0]
        if alpha.shape != loaded.rgb.shape[:2]:
            raise TranslationError(f"{path}: alpha of shape {alpha.shape} does not match the image "
                                   f"{loaded.rgb.shape[:2]}")
    else:
        alpha = loaded.alpha
    keep_alpha = alpha is not None and suffix not in _NO_ALPHA_SUFFIXES
    sixteen = loaded.rgb.dtype == np.uint16 and suffix in _SIXTEEN_BIT_SUFFIXES

    convert = to_uint16 if sixteen else to_uint8
    pixels = convert(loaded.rgb)
    if keep_alpha:
        pixels = np.dstack([pixels, convert(_match_alpha_dtype(alpha, loaded.rgb.dtype))])
    try:
        with atomic_path(path) as tmp:
            if suffix == ".png" and png_compression == "fast":
                _write_png_stream(tmp, pixels)
            elif sixteen or suffix == ".png":
                _write_with_opencv(tmp, suffix, pixels, path)
            else:
                _write_with_pillow(tmp, suffix, pixels, int(quality))
    except TranslationError:
        raise
    except (OSError, ValueError) as exc:  # disk full, permissions, or sizes the format cannot hold
        raise TranslationError(f"{path}: cannot write ({getattr(exc, 'strerror', None) or exc})") from None
    return path


def _match_alpha_dtype(alpha: np.ndarray, rgb_dtype: np.dtype) -> np.ndarray:
    """Alpha given in another range than the pixels (e.g. uint8 alpha on uint16 RGB) -> same range."""
    if alpha.dtype == rgb_dtype or alpha.dtype.kind == "f":
        return alpha
    return _normalise_dtype(alpha)


def _write_with_pillow(tmp: Path, suffix: str, pixels: np.ndarray, quality: int) -> None:
    image = Image.fromarray(np.ascontiguousarray(pixels), "RGBA" if pixels.shape[2] == 4 else "RGB")
    fmt = _PILLOW_FORMATS[suffix]
    options: dict[str, object] = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    image.save(tmp, format=fmt, **options)


def _write_png_stream(tmp: Path, pixels: np.ndarray) -> None:
    height, width, channels = pixels.shape
    with open(tmp, "wb") as handle:
        writer = PngBandWriter(handle, width, height, channels, 16 if pixels.dtype == np.uint16 else 8)
        writer.write(pixels)
        writer.close()


def _write_with_opencv(tmp: Path, suffix: str, pixels: np.ndarray, target: Path) -> None:
    """PNG (8 or 16 bits) and 16-bit TIFF."""
    bgr = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(suffix, bgr, list(PNG_PARAMS) if suffix == ".png" else [])
    if not ok:
        raise TranslationError(f"{target}: OpenCV could not encode a {pixels.dtype.itemsize * 8}-bit {suffix} image")
    tmp.write_bytes(encoded.tobytes())
