"""The tasks: how a photo becomes network input and how network output becomes a photo again.

A ``TaskSpec`` is written into every exported ONNX model (``to_metadata``) and read back by the runtime
(``from_metadata``), so the pre- and post-processing defined here is the same in training, export and
serving. ``prepare`` / ``finish`` are generic over the spec's input and output *spaces*:

    input spaces   rgb     3 channels, x * 2 - 1
                   gray    1 channel, ITU-R 601 luminance * 2 - 1
                   lab_l   1 channel, CIE L in [0, 100] -> L / 50 - 1
    output spaces  rgb     3 channels, (y + 1) / 2 (a 1-channel output is replicated to gray RGB)
                   gray    1 channel, replicated to gray RGB
                   lab_ab  2 channels, ab = y * 110, merged with the full-resolution L of the input

``scale > 1`` upscales the input bicubically before the network (which then refines it), and
``working_size > 0`` runs the network at a reduced size and resizes its output back. Lab conversions
use ``translation.imaging.colour`` (OpenCV's float32 CIE Lab), the same in ``prepare``, ``finish`` and
``training_pair``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from translation.imaging.colour import lab_to_rgb, luminance, rgb_to_lab
from translation.imaging.io import to_float, to_uint8
from translation.errors import TranslationError

INPUT_SPACES: dict[str, int] = {"rgb": 3, "gray": 1, "lab_l": 1}
OUTPUT_SPACES: dict[str, int] = {"rgb": 3, "gray": 1, "lab_ab": 2}
AB_SCALE = 110.0


@dataclass(frozen=True)
class TaskSpec:
    """What a model expects and produces; serialised into ONNX metadata."""

    name: str
    input_space: str
    output_space: str
    scale: int = 1
    working_size: int = 0

    def __post_init__(self) -> None:
        if self.input_space not in INPUT_SPACES:
            raise TranslationError(f"task {self.name!r}: unknown input space {self.input_space!r} "
                                   f"(known: {', '.join(INPUT_SPACES)})")
        if self.output_space not in OUTPUT_SPACES:
            raise TranslationError(f"task {self.name!r}: unknown output space {self.output_space!r} "
                                   f"(known: {', '.join(OUTPUT_SPACES)})")
        if int(self.scale) < 1:
            raise TranslationError(f"task {self.name!r}: scale must be >= 1, got {self.scale}")
        if int(self.working_size) < 0:
            raise TranslationError(f"task {self.name!r}: working_size must be >= 0, got {self.working_size}")

    @property
    def in_channels(self) -> int:
        return INPUT_SPACES[self.input_space]

    @property
    def out_channels(self) -> int:
        return OUTPUT_SPACES[self.output_space]

    @property
    def self_supervised(self) -> bool:
        """Whether ``training_pair`` can make training pairs from plain photos."""
        return self.name in _PAIR_MAKERS

    def replace(self, **changes: object) -> TaskSpec:
        return dataclasses.replace(self, **changes)

    def to_metadata(self) -> dict[str, str]:
        return {
            "task": self.name,
            "input_space": self.input_space,
            "output_space": self.output_space,
            "in_channels": str(self.in_channels),
            "out_channels": str(self.out_channels),
            "scale": str(self.scale),
            "working_size": str(self.working_size),
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> TaskSpec:
        """Read a spec back from model metadata, tolerating missing keys.

        Missing values come from the built-in task of that name; for other names (or no name: a
        "custom" task) an rgb -> rgb task, where ``in_channels`` / ``out_channels`` of 1 mean gray.
        """
        name = str(meta.get("task") or "").strip() or "custom"
        builtin = TASKS.get(name)
        in_channels = _int_field(meta, "in_channels")
        out_channels = _int_field(meta, "out_channels")
        input_space = _pick_space(meta.get("input_space"), in_channels, builtin and builtin.input_space,
                                  INPUT_SPACES, "input")
        output_space = _pick_space(meta.get("output_space"), out_channels, builtin and builtin.output_space,
                                   OUTPUT_SPACES, "output")
        scale = _int_field(meta, "scale")
        working_size = _int_field(meta, "working_size")
        spec = cls(name=name, input_space=input_space, output_space=output_space,
                   scale=scale if scale is not None else (builtin.scale if builtin else 1),
                   working_size=working_size if working_size is not None else (builtin.working_size if builtin else 0))
        if in_channels is not None and in_channels != spec.in_channels:
            raise TranslationError(f"model metadata: input space {input_space!r} has {spec.in_channels} "
                                   f"channel(s) but in_channels is {in_channels}")
        # a 1-channel "rgb" output (gray custom model) is allowed: finish replicates it
        if out_channels is not None and out_channels != spec.out_channels and not (
                spec.output_space == "rgb" and out_channels == 1):
            raise TranslationError(f"model metadata: output space {output_space!r} has {spec.out_channels} "
                                   f"channel(s) but out_channels is {out_channels}")
        return spec


def _int_field(meta: dict[str, str], key: str) -> int | None:
    value = meta.get(key)
    if value is None or str(value).strip() == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise TranslationError(f"model metadata: {key} must be an integer, got {value!r}") from None


def _pick_space(explicit: str | None, channels: int | None, builtin: str | None,
                spaces: dict[str, int], kind: str) -> str:
    """The stated space; else the built-in task's if the channel count agrees; else a guess from channels."""
    if explicit and str(explicit).strip():
        return str(explicit).strip()
    if builtin and (channels is None or spaces[builtin] == channels):
        return builtin
    if channels is None or channels == 3:
        return "rgb"
    if channels == 1:
        return "gray"
    raise TranslationError(f"model metadata: {channels} {kind} channels without an {kind}_space "
                           "(only 1 = gray and 3 = rgb can be guessed)")


TASKS: dict[str, TaskSpec] = {
    "style-transfer": TaskSpec("style-transfer", "rgb", "rgb"),
    "colorization": TaskSpec("colorization", "lab_l", "lab_ab", working_size=512),
    "super-resolution": TaskSpec("super-resolution", "rgb", "rgb", scale=4),
    "sketch-to-photo": TaskSpec("sketch-to-photo", "gray", "rgb"),
    "custom": TaskSpec("custom", "rgb", "rgb"),
}


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise TranslationError(f"unknown task {name!r} (choose one of: {', '.join(TASKS)})") from None


def _as_float_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        rgb = rgb[:, :, None]
    if rgb.ndim != 3 or rgb.shape[2] not in (1, 3, 4) or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"expected H x W x 3 pixels, got shape {rgb.shape}")
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    return to_float(rgb[:, :, :3])  # one float copy: a 4096x4096 photo is 200 MB per float32 copy


def _resize(pixels: np.ndarray, height: int, width: int, interpolation: int) -> np.ndarray:
    if pixels.shape[:2] == (height, width):
        return pixels
    resized = cv2.resize(pixels, (width, height), interpolation=interpolation)
    return resized[:, :, None] if pixels.ndim == 3 and resized.ndim == 2 else resized


def _to_chw(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return np.array(pixels.transpose(2, 0, 1), dtype=np.float32, order="C")  # always a new array


def _to_hwc(output: np.ndarray) -> np.ndarray:
    return np.array(output.transpose(1, 2, 0), dtype=np.float32, order="C")  # always a new array


def _encode_input(spec: TaskSpec, rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 float [0, 1] -> C x H x W in [-1, 1] for the spec's input space (``rgb`` is not changed).

    One new C x H x W array, scaled in place: no other full-size temporaries."""
    if spec.input_space == "rgb":
        encoded, scale = _to_chw(rgb), 2.0
    elif spec.input_space == "gray":
        encoded, scale = _to_chw(luminance(rgb)), 2.0
    else:  # lab_l
        encoded, scale = _to_chw(rgb_to_lab(rgb)[:, :, 0]), 1 / 50.0
    encoded *= np.float32(scale)
    encoded -= np.float32(1.0)
    return np.clip(encoded, -1.0, 1.0, out=encoded)


# ------------------------------------------------------------------------------------ prepare / finish

def prepare(spec: TaskSpec, rgb: np.ndarray, *, sketch_from_photo: bool = False) -> tuple[np.ndarray, dict]:
    """H x W x 3 float32 [0, 1] photo -> (network input C x H' x W' float32 in [-1, 1], context for ``finish``).

    ``sketch_from_photo`` first turns the photo into a line drawing with ``extract_sketch`` (for
    sketch-to-photo models fed with photos). ``scale`` upscales bicubically; ``working_size`` shrinks
    the network input so its long side is at most that, while the context keeps the full resolution.
    """
    rgb = _as_float_rgb(rgb)
    height, width = rgb.shape[:2]
    if sketch_from_photo:
        rgb = np.repeat(extract_sketch(rgb)[:, :, None], 3, axis=2)
    if spec.scale > 1:
        rgb = np.clip(_resize(rgb, height * spec.scale, width * spec.scale, cv2.INTER_CUBIC), 0.0, 1.0)
    out_height, out_width = rgb.shape[:2]
    context: dict = {"input_size": (height, width), "output_size": (out_height, out_width)}
    if spec.output_space == "lab_ab":
        context["lab_l"] = rgb_to_lab(rgb)[:, :, 0]
    if spec.working_size and max(out_height, out_width) > spec.working_size:
        ratio = spec.working_size / max(out_height, out_width)
        small_h, small_w = max(1, round(out_height * ratio)), max(1, round(out_width * ratio))
        rgb = _resize(rgb, small_h, small_w, cv2.INTER_AREA)
    return _encode_input(spec, rgb), context


def finish(spec: TaskSpec, output: np.ndarray, context: dict) -> np.ndarray:
    """Network output C x H' x W' in [-1, 1] -> H'' x W'' x 3 float32 photo in [0, 1] at full resolution."""
    output = np.asarray(output, dtype=np.float32)
    if output.ndim == 4 and output.shape[0] == 1:
        output = output[0]
    if output.ndim != 3:
        raise ValueError(f"expected network output C x H x W, got shape {output.shape}")
    height, width = context.get("output_size", output.shape[1:])
    if spec.output_space == "lab_ab":
        if output.shape[0] != 2:
            raise ValueError(f"lab_ab output needs 2 channels, got {output.shape[0]}")
        if "lab_l" not in context:
            raise ValueError("lab_ab output needs the context from prepare (its 'lab_l')")
        ab = _to_hwc(output)
        ab *= np.float32(AB_SCALE)
        ab = _resize(ab, height, width, cv2.INTER_LINEAR)
        lab_l = context["lab_l"]
        if lab_l.shape != (height, width):
            lab_l = _resize(lab_l, height, width, cv2.INTER_LINEAR)
        return lab_to_rgb(np.dstack([lab_l, ab]))
    if output.shape[0] not in (1, 3):
        raise ValueError(f"{spec.output_space} output needs 1 or 3 channels, got {output.shape[0]}")
    rgb = _to_hwc(output)
    rgb += 1.0
    rgb *= 0.5
    np.clip(rgb, 0.0, 1.0, out=rgb)  # in place from here: a 4096x4096 output is 200 MB per float copy
    rgb = _resize(rgb, height, width, cv2.INTER_LINEAR)
    if rgb.ndim == 2:
        rgb = rgb[:, :, None]
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


# ------------------------------------------------------------------------------------ self-supervision

def extract_sketch(rgb: np.ndarray, *, sigma: float = 0.8, strength: float = 60.0,
                   threshold: float = 0.006) -> np.ndarray:
    """A line drawing of a photo: H x W float32 [0, 1], dark lines on white.

    An XDoG-style edge detector: the difference of two Gaussian blurs of the (lightly denoised)
    luminance is negative just on the dark side of edges; a soft threshold turns those places into
    lines of about ``sigma`` pixels and leaves flat areas white, whatever their brightness. The
    threshold keeps weak edges too: sparse sketches starve a sketch-to-photo model of structure.
    """
    gray = luminance(_as_float_rgb(rgb))
    gray = cv2.bilateralFilter(gray, d=5, sigmaColor=0.1, sigmaSpace=3)
    fine = cv2.GaussianBlur(gray, (0, 0), sigma)
    coarse = cv2.GaussianBlur(gray, (0, 0), sigma * 1.6)
    difference = fine - coarse + threshold
    sketch = np.where(difference >= 0, 1.0, 1.0 + np.tanh(strength * difference))
    return np.clip(sketch, 0.0, 1.0).astype(np.float32)


def degrade(rgb: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
    """A low-resolution version of a photo as cameras and the web make them: sometimes a little blur,
    an area downscale by ``scale``, sometimes sensor noise and JPEG.
    H x W x 3 float [0, 1] -> (H // scale) x (W // scale) x 3 float32.

    Each degradation is applied to only part of the samples, so clean downscales (what most
    low-resolution files are) stay common: a model trained only on heavy blur over-sharpens clean
    inputs and loses to bicubic on them. Every choice is drawn from ``rng`` and handed to
    albumentations as a fixed value (its own seeding draws the same number for every transform of a
    pipeline, which would couple the degradations), so a seeded generator gives the same result every time.
    """
    import albumentations as A

    rgb = _as_float_rgb(rgb)
    height, width = rgb.shape[:2]
    steps: list = []
    if rng.random() < 0.1:
        sigma = float(rng.uniform(0.2, max(0.3, 0.25 * scale)))  # at x4: up to 1 px before the downscale
        steps.append(A.GaussianBlur(sigma_limit=(sigma, sigma), blur_limit=0, p=1.0))
    steps.append(A.Resize(max(1, height // scale), max(1, width // scale), interpolation=cv2.INTER_AREA))
    if rng.random() < 0.15:
        std = float(rng.uniform(0.003, 0.02))
        steps.append(A.GaussNoise(std_range=(std, std), per_channel=bool(rng.random() < 0.7), p=1.0))
    if rng.random() < 0.2:
        quality = int(rng.integers(60, 96))
        steps.append(A.ImageCompression(compression_type="jpeg", quality_range=(quality, quality), p=1.0))
    pipeline = A.Compose(steps)
    pipeline.set_random_seed(int(rng.integers(2**31)))  # the noise pattern
    return pipeline(image=to_uint8(rgb))["image"].astype(np.float32) / 255.0


def _colorization_pair(spec: TaskSpec, rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    lab = rgb_to_lab(rgb)
    source = _to_chw(lab[:, :, 0] / 50.0 - 1.0)
    target = _to_chw(lab[:, :, 1:] / AB_SCALE)
    return np.clip(source, -1.0, 1.0), np.clip(target, -1.0, 1.0)


def _super_resolution_pair(spec: TaskSpec, rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    height, width = rgb.shape[:2]
    upscaled = np.clip(_resize(degrade(rgb, spec.scale, rng), height, width, cv2.INTER_CUBIC), 0.0, 1.0)
    return _encode_input(spec, upscaled), _to_chw(rgb * 2.0 - 1.0)


def _sketch_pair(spec: TaskSpec, rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    sketch = extract_sketch(rgb)
    return _to_chw(sketch * 2.0 - 1.0), _to_chw(rgb * 2.0 - 1.0)


_PAIR_MAKERS = {
    "colorization": _colorization_pair,
    "super-resolution": _super_resolution_pair,
    "sketch-to-photo": _sketch_pair,
}


def training_pair(spec: TaskSpec, rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A photo crop (H x W x 3 float32 [0, 1]) -> (input C x H x W, target C x H x W), both in [-1, 1].

    Only the self-supervised tasks (colorization, super-resolution, sketch-to-photo) make pairs from
    plain photos; the others need a paired or unpaired dataset.
    """
    maker = _PAIR_MAKERS.get(spec.name)
    if maker is None:
        raise TranslationError(f"task {spec.name!r} cannot make training pairs from plain photos: train it on "
                               f"a paired or unpaired dataset (self-supervised tasks: {', '.join(_PAIR_MAKERS)})")
    return maker(spec, _as_float_rgb(rgb), rng)
