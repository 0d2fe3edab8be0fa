"""Drawings made in a browser: strokes on a transparent canvas, as a sketchpad sends them."""
from __future__ import annotations

from .io import LoadedImage, to_float, to_uint8

BLANK_LIGHTNESS = 0.97   # paper whose darkest pixel is lighter than this holds no stroke


def on_white_paper(drawing: LoadedImage) -> LoadedImage:
    """The drawing laid on white paper (its alpha composited over white): 8-bit RGB without alpha."""
    paper = drawing.to_float()
    if drawing.alpha is not None:
        alpha = to_float(drawing.alpha)[:, :, None]
        paper = paper * alpha + (1.0 - alpha)
    return LoadedImage(rgb=to_uint8(paper), path=drawing.path)


def is_blank(paper: LoadedImage) -> bool:
    """Whether nothing has been drawn on ``paper`` (see ``on_white_paper``)."""
    return float(to_float(paper.rgb).min()) > BLANK_LIGHTNESS
