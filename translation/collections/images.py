"""One source picture -> one RGB JPEG for training."""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps

# below this mean (max - min channel) on a 64 x 64 thumbnail a picture is black-and-white
GRAYSCALE_CHROMA = 4.0
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class ConvertedImage:
    data: bytes        # the encoded JPEG
    width: int
    height: int
    grayscale: bool    # a black-and-white picture (useless as a colorization target)


def convert(source: Path, max_side: int | None, quality: int) -> ConvertedImage:
    """Decode ``source``, upright it (EXIF), flatten any transparency onto white, bring it into sRGB
    (an embedded Adobe RGB or Display P3 profile), shrink the long side to at most ``max_side``
    (None: keep the full resolution) and encode a JPEG (4:4:4 chroma, so thin coloured lines of
    artworks survive)."""
    with Image.open(source) as image:
        if max_side is not None:
            image.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale, still >= max_side
        profile = image.info.get("icc_profile")
        rgb = _to_srgb(_flatten(ImageOps.exif_transpose(image)), profile)
    if max_side is not None:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=quality, subsampling=0, optimize=True)
    return ConvertedImage(buffer.getvalue(), rgb.width, rgb.height, is_grayscale(rgb))


def is_grayscale(image: Image.Image) -> bool:
    small = np.asarray(image.convert("RGB").resize((64, 64), Image.Resampling.BOX), dtype=np.int16)
    return float((small.max(axis=2) - small.min(axis=2)).mean()) < GRAYSCALE_CHROMA


def _to_srgb(rgb: Image.Image, profile: bytes | None) -> Image.Image:
    if not profile:
        return rgb
    try:
        return ImageCms.profileToProfile(rgb, ImageCms.ImageCmsProfile(io.BytesIO(profile)), _SRGB, outputMode="RGB")
    except (OSError, ImageCms.PyCMSError):  # a profile LittleCMS cannot read or apply to RGB: taken as sRGB
        return rgb


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        white.alpha_composite(rgba)
        return white.convert("RGB")
    return image.convert("RGB")
