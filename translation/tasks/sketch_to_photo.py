"""Sketch to photo: a sketch (gray: lines, shaded in a few grays where the picture is dark) -> a photo (rgb).
It learns from photos and the sketches ``shaded_sketch`` makes of them, and can be fed photos that way too
(``--sketch-from-photo``). A drawing of lines alone reads as a light picture."""
from __future__ import annotations

import cv2
import numpy as np

from ..imaging.colour import luminance
from ..imaging.io import to_uint8
from .processing import as_float_rgb, to_chw
from .spec import Examples, Measure, ModelUnderTest, Task, TaskSpec, register_task
from .tab import AppTab


LINE_SETTINGS = dict(sigma=0.8, strength=60.0, threshold=0.006)


def extract_sketch(rgb: np.ndarray, *, sigma: float = LINE_SETTINGS["sigma"],
                   strength: float = LINE_SETTINGS["strength"],
                   threshold: float = LINE_SETTINGS["threshold"]) -> np.ndarray:
    """A line drawing of a photo: H x W float32 [0, 1], dark lines on white.

    An XDoG-style edge detector: the difference of two Gaussian blurs of the (lightly denoised)
    luminance is negative just on the dark side of edges; a soft threshold turns those places into
    lines of about ``sigma`` pixels and leaves flat areas white, whatever their brightness. The
    threshold keeps weak edges too: sparse sketches starve a sketch-to-photo model of structure.
    """
    return _lines(luminance(as_float_rgb(rgb)), sigma, strength, threshold)


def _lines(gray: np.ndarray, sigma: float, strength: float, threshold: float) -> np.ndarray:
    gray = cv2.bilateralFilter(gray, d=5, sigmaColor=0.1, sigmaSpace=3)
    fine = cv2.GaussianBlur(gray, (0, 0), sigma)
    coarse = cv2.GaussianBlur(gray, (0, 0), sigma * 1.6)
    difference = fine - coarse + threshold
    sketch = np.where(difference >= 0, 1.0, 1.0 + np.tanh(strength * difference))
    return np.clip(sketch, 0.0, 1.0).astype(np.float32)


SHADES = 3             # grays besides the paper's white, as a pencil's few values
DARKEST_SHADE = 0.55   # the darkest area's gray: lighter than a line (about 0), so lines stay readable


def shaded_sketch(rgb: np.ndarray, *, shades: int = SHADES, darkest: float = DARKEST_SHADE,
                  sigma: float = 2.0) -> np.ndarray:
    """``extract_sketch``'s lines over a value study: H x W float32 [0, 1].

    The lightly blurred luminance is cut into ``shades`` + 1 bands; the lightest quarter stays white paper
    and each darker band is a step darker gray, down to ``darkest``. Lines alone tell a network nothing
    about how dark or light a place is (a sky and a shadow are both blank paper); the shading does, as
    it does in an artist's sketch.
    """
    gray = luminance(as_float_rgb(rgb))
    lines = _lines(gray, **LINE_SETTINGS)
    band = np.floor((1.0 - cv2.GaussianBlur(gray, (0, 0), sigma)) * (shades + 1))
    band = np.clip(band, 0, shades) / shades  # 0: paper, 1: darkest
    return np.minimum(lines, 1.0 - (1.0 - darkest) * band).astype(np.float32)


def shade_colours(shades: int = SHADES, darkest: float = DARKEST_SHADE) -> tuple[str, ...]:
    """Black for lines, then the grays ``shaded_sketch`` shades with, lightest first (the sketchpad's brushes)."""
    grays = (round(255 * (1.0 - (1.0 - darkest) * step / shades)) for step in range(1, shades + 1))
    return ("#000000", *(f"#{g:02x}{g:02x}{g:02x}" for g in grays))


def sketch_pair(spec: TaskSpec, rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A photo crop -> (its shaded sketch, the crop itself)."""
    sketch = shaded_sketch(rgb)
    return to_chw(sketch * 2.0 - 1.0), to_chw(rgb * 2.0 - 1.0)


def _scores(model: ModelUnderTest, photo: np.ndarray, seed: int) -> dict[str, float]:
    from .. import metrics  # imports torch: only when measuring

    sketch = np.repeat(shaded_sketch(photo)[..., None], 3, axis=2)
    output = model.translate(sketch)
    # the baseline: the photo's own mean colour everywhere (an oracle guess no sketch can give)
    flat = np.broadcast_to(photo.reshape(-1, 3).mean(0), photo.shape).astype(np.float32)
    return {"psnr": metrics.psnr(output, photo), "ssim": metrics.ssim(output, photo), "l1": metrics.l1(output, photo),
            "mean_colour_psnr": metrics.psnr(flat, photo), "mean_colour_ssim": metrics.ssim(flat, photo)}


TASK = register_task(Task(
    spec=TaskSpec("sketch-to-photo", "gray", "rgb"),
    make_pair=sketch_pair,
    measure=Measure("PSNR/SSIM/L1 vs the photo (input: the photo's shaded sketch), and those of its "
                    "flat mean colour (mean_colour_*)", _scores),
    sketch_from_photo=shaded_sketch,
    model_names=("sketch-to-photo",),
    # Wood is almost colourless and gives an almost empty sketch: it only serves super-resolution
    examples=Examples(("fresh-flower", "green-meadow", "one-stands-out"), make=lambda rgb: to_uint8(shaded_sketch(rgb)),
                      suffix=".png"),
    app=AppTab("Sketch to photo", "sketch_to_photo", "Make a photo",
               "Draw a sketch (black lines; shade dark places with the grays), upload one, or extract the "
               "shaded sketch of a photo, and turn it into a photo.",
               upload_label="Sketch or photo", drawing_api_name="sketch_drawing_to_photo",
               drawing_colours=shade_colours()),
))
