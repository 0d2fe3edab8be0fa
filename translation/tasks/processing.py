"""How a photo becomes network input and how network output becomes a photo again, generic over the
spaces of a ``TaskSpec`` (see ``translation.tasks.spec``); and the self-supervised training pairs.

Lab conversions use ``translation.imaging.colour`` (OpenCV's float32 CIE Lab), the same in ``prepare``,
``finish`` and the pair makers.
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..errors import TranslationError
from ..imaging.colour import lab_to_rgb, lightness, luminance
from ..imaging.io import to_float
from .spec import AB_SCALE, TaskSpec, find_task, registered_tasks, sketch_tasks


def as_float_rgb(rgb: np.ndarray) -> np.ndarray:
    """H x W, H x W x 1, 3 or 4 pixels of any dtype -> H x W x 3 float32 in [0, 1] (alpha dropped)."""
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        rgb = rgb[:, :, None]
    if rgb.ndim != 3 or rgb.shape[2] not in (1, 3, 4) or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"expected H x W x 3 pixels, got shape {rgb.shape}")
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    return to_float(rgb[:, :, :3])  # one float copy: a 4096x4096 photo is 200 MB per float32 copy


def resize(pixels: np.ndarray, height: int, width: int, interpolation: int) -> np.ndarray:
    """``pixels`` at height x width (itself when already that size); an H x W x 1 array stays 3-D."""
    if pixels.shape[:2] == (height, width):
        return pixels
    resized = cv2.resize(pixels, (width, height), interpolation=interpolation)
    return resized[:, :, None] if pixels.ndim == 3 and resized.ndim == 2 else resized


def to_chw(pixels: np.ndarray) -> np.ndarray:
    """H x W (x C) -> a new C x H x W float32 array."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return np.array(pixels.transpose(2, 0, 1), dtype=np.float32, order="C")


def _to_hwc(output: np.ndarray) -> np.ndarray:
    return np.array(output.transpose(1, 2, 0), dtype=np.float32, order="C")  # always a new array


def encode_input(spec: TaskSpec, rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 float [0, 1] -> C x H x W in [-1, 1] for the spec's input space (``rgb`` is not changed).

    One new C x H x W array, scaled in place: no other full-size temporaries."""
    if spec.input_space == "rgb":
        return _scaled_chw(rgb, 2.0)
    if spec.input_space == "gray":
        return _scaled_chw(luminance(rgb), 2.0)
    return _scaled_chw(lightness(rgb), 1 / 50.0)   # lab_l


def _scaled_chw(pixels: np.ndarray, scale: float) -> np.ndarray:
    """H x W (x C) -> a new C x H x W array of ``pixels * scale - 1`` clipped to [-1, 1], scaled in place."""
    encoded = to_chw(pixels)
    encoded *= np.float32(scale)
    encoded -= np.float32(1.0)
    return np.clip(encoded, -1.0, 1.0, out=encoded)


def upscales_encoded(spec: TaskSpec) -> bool:
    """Whether ``prepare`` makes the spec's input with ``upscale_input`` (an upscaling rgb -> rgb / gray task)."""
    return spec.scale > 1 and spec.input_space == "rgb" and spec.output_space != "lab_ab" and not spec.working_size


def upscale_input(spec: TaskSpec, rgb: np.ndarray, scale: int) -> np.ndarray:
    """H x W x 3 float [0, 1] -> the network input of its bicubic upscale by ``scale`` (C x sH x sW in [-1, 1]).

    Encoded at the low resolution first, then upscaled plane by plane straight into the C x H x W input:
    the values of upscaling the photo first (for an rgb input, encoding is linear and bicubic weights sum
    to one; within float rounding), without the full-size H x W x 3 copies that path makes.
    """
    encoded = encode_input(spec, rgb)
    height, width = encoded.shape[1] * scale, encoded.shape[2] * scale
    upscaled = np.empty((encoded.shape[0], height, width), np.float32)
    for plane, target in zip(encoded, upscaled):
        cv2.resize(plane, (width, height), dst=target, interpolation=cv2.INTER_CUBIC)
    return np.clip(upscaled, -1.0, 1.0, out=upscaled)


def photo_to_sketch(spec: TaskSpec, rgb: np.ndarray) -> np.ndarray:
    """The line drawing (H x W float32 [0, 1]) that ``spec``'s task makes of a photo for its models."""
    task = find_task(spec.name)
    if task is None or task.sketch_from_photo is None:
        raise TranslationError(f"task {spec.name!r} takes no line drawings made from photos "
                               f"(tasks that do: {', '.join(sketch_tasks())})")
    return task.sketch_from_photo(rgb)


# ------------------------------------------------------------------------------------ prepare / finish

def prepare(spec: TaskSpec, rgb: np.ndarray, *, sketch_from_photo: bool = False) -> tuple[np.ndarray, dict]:
    """H x W x 3 float32 [0, 1] photo -> (network input C x H' x W' float32 in [-1, 1], context for ``finish``).

    ``sketch_from_photo`` first turns the photo into the line drawing the spec's task makes of photos
    (for sketch-to-photo models fed with photos). ``scale`` upscales bicubically; ``working_size``
    shrinks the network input so its long side is at most that (or, with ``working_shape`` "square",
    resizes it to a square of that side), while the context keeps the full resolution.
    """
    if spec.input_space == "lab_l" and spec.output_space == "lab_ab" and spec.scale == 1 and not sketch_from_photo:
        return _prepare_lightness(spec, rgb)
    rgb = as_float_rgb(rgb)
    height, width = rgb.shape[:2]
    if sketch_from_photo:
        rgb = np.repeat(photo_to_sketch(spec, rgb)[:, :, None], 3, axis=2)
    out_height, out_width = height * spec.scale, width * spec.scale
    context: dict = {"input_size": (height, width), "output_size": (out_height, out_width)}
    if upscales_encoded(spec):
        return upscale_input(spec, rgb, spec.scale), context
    if spec.scale > 1:
        rgb = np.clip(resize(rgb, out_height, out_width, cv2.INTER_CUBIC), 0.0, 1.0)
    if spec.output_space == "lab_ab":
        context["lab_l"] = lightness(rgb)
        context["chroma_gain"] = float(spec.chroma_gain)
    full = rgb
    rgb = _to_working_shape(spec, rgb)
    if spec.keep_detail and rgb is not full:
        context["detail"] = (full, rgb)   # the photo at full size and as the network sees it
    return encode_input(spec, rgb), context


def _to_working_shape(spec: TaskSpec, pixels: np.ndarray) -> np.ndarray:
    """``pixels`` as the network sees them: shrunk so the long side is at most the working size, or resized
    to its square (``working_shape`` "square"); the same array when already so."""
    height, width = pixels.shape[:2]
    small_h, small_w = height, width
    if spec.working_size and spec.working_shape == "square":
        small_h = small_w = spec.working_size
    elif spec.working_size and max(height, width) > spec.working_size:
        ratio = spec.working_size / max(height, width)
        small_h, small_w = max(1, round(height * ratio)), max(1, round(width * ratio))
    shrinks = small_h * small_w <= height * width
    return resize(pixels, small_h, small_w, cv2.INTER_AREA if shrinks else cv2.INTER_CUBIC)


def _prepare_lightness(spec: TaskSpec, rgb: np.ndarray) -> tuple[np.ndarray, dict]:
    """``prepare`` for a network from CIE L to ab: the photo's L once at full resolution (kept for ``finish``),
    and the network's input resized from it (no second colour conversion at the working size)."""
    pixels = np.asarray(rgb)
    eight_bit = pixels.dtype == np.uint8 and (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4)))
    full = lightness(pixels if eight_bit else as_float_rgb(pixels))
    height, width = full.shape
    context: dict = {"input_size": (height, width), "output_size": (height, width), "lab_l": full,
                     "chroma_gain": float(spec.chroma_gain)}
    return _scaled_chw(_to_working_shape(spec, full), 1 / 50.0), context


def finish(spec: TaskSpec, output: np.ndarray, context: dict) -> np.ndarray:
    """Network output C x H' x W' in [-1, 1] -> H'' x W'' x 3 float32 photo in [0, 1] at full resolution."""
    return decode(spec.output_space, output, context)


def decode(space: str, pixels: np.ndarray, context: dict) -> np.ndarray:
    """Pixels of a network space (C x H x W in [-1, 1]) -> H'' x W'' x 3 float32 RGB in [0, 1].

    ``context`` may give the ``output_size`` to resize to; ``lab_ab`` needs the ``lab_l`` (CIE L in
    [0, 100]) to merge with. Input spaces are read as pictures too (``lab_l`` as its lightness in
    gray), so training can show both sides of a pair.
    """
    output = np.asarray(pixels, dtype=np.float32)
    if output.ndim == 4 and output.shape[0] == 1:
        output = output[0]
    if output.ndim != 3:
        raise ValueError(f"expected network output C x H x W, got shape {output.shape}")
    height, width = context.get("output_size", output.shape[1:])
    if space == "lab_ab":
        return lab_ab_to_rgb(output, context)
    if output.shape[0] not in (1, 3):
        raise ValueError(f"{space} output needs 1 or 3 channels, got {output.shape[0]}")
    rgb = _to_hwc(output)
    rgb += 1.0
    rgb *= 0.5
    np.clip(rgb, 0.0, 1.0, out=rgb)  # in place from here: a 4096x4096 output is 200 MB per float copy
    detail = context.get("detail")
    if detail is not None:   # keep_detail: the network's change, upsampled onto the full-size input
        full, small = detail
        if rgb.shape != small.shape:
            raise ValueError(f"keep_detail: network output {rgb.shape} does not match its input {small.shape}")
        rgb -= small
        rgb = resize(rgb, height, width, cv2.INTER_LINEAR)
        rgb += full
    rgb = resize(rgb, height, width, cv2.INTER_LINEAR)
    if rgb.ndim == 2:
        rgb = rgb[:, :, None]
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def lab_ab_to_rgb(output: np.ndarray, context: dict) -> np.ndarray:
    """ab output (2 x H' x W' in [-1, 1]) on the context's L -> H x W x 3 float32 sRGB in [0, 1].

    Each plane is scaled (by ``AB_SCALE`` and the context's ``chroma_gain``) and upsampled as it lies in
    the network's output (no interleaved copy) and the three planes are merged once for the Lab -> RGB
    conversion."""
    output = np.asarray(output, dtype=np.float32)
    if output.ndim != 3 or output.shape[0] != 2:
        raise ValueError(f"lab_ab output needs 2 channels (2 x H x W), got shape {output.shape}")
    if "lab_l" not in context:
        raise ValueError("lab_ab output needs the context from prepare (its 'lab_l')")
    height, width = context.get("output_size", output.shape[1:])
    lab_l = context["lab_l"]
    if lab_l.shape != (height, width):
        lab_l = resize(lab_l, height, width, cv2.INTER_LINEAR)
    scale = np.float32(AB_SCALE * context.get("chroma_gain", 1.0))
    planes = [resize(plane * scale, height, width, cv2.INTER_LINEAR) for plane in output]
    return lab_to_rgb(cv2.merge([np.ascontiguousarray(lab_l, dtype=np.float32), *planes]))


# ------------------------------------------------------------------------------------ self-supervision

def training_pair(spec: TaskSpec, rgb: np.ndarray, rng: np.random.Generator,
                  **options: Any) -> tuple[np.ndarray, np.ndarray]:
    """A photo crop (H x W x 3 float32 [0, 1]) -> (input C x H x W, target C x H x W), both in [-1, 1].

    Only tasks with a pair maker (colorization, super-resolution, sketch-to-photo, ...) make pairs
    from plain photos; the others need a paired or unpaired dataset. ``options``: training settings of
    the task's own (its ``pair_options``, e.g. super-resolution's ``degradation``).
    """
    task = find_task(spec.name)
    if task is None or task.make_pair is None:
        makers = [t.name for t in registered_tasks() if t.make_pair is not None]
        raise TranslationError(f"task {spec.name!r} cannot make training pairs from plain photos: train it on "
                               f"a paired or unpaired dataset (self-supervised tasks: {', '.join(makers)})")
    return task.make_pair(spec, as_float_rgb(rgb), rng, **options)
