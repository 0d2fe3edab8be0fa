"""What a task is: its ``TaskSpec`` (what a model file says about it), its ``Task`` (everything else the
project does with it) and the registry of tasks by name.

A ``TaskSpec`` is written into every exported ONNX model (``to_metadata``) and read back by the runtime
(``from_metadata``), so the pre- and post-processing of ``translation.tasks.processing`` is the same in
training, export and serving. Its spaces say what the network is fed and what it produces:

    input spaces   rgb     3 channels, x * 2 - 1
                   gray    1 channel, ITU-R 601 luminance * 2 - 1
                   lab_l   1 channel, CIE L in [0, 100] -> L / 50 - 1
    output spaces  rgb     3 channels, (y + 1) / 2 (a 1-channel output is replicated to gray RGB)
                   gray    1 channel, replicated to gray RGB
                   lab_ab  2 channels, ab = y * 110 * chroma_gain, merged with the full-resolution L of the input

``scale > 1`` upscales the input bicubically before the network (which then refines it), and
``working_size > 0`` runs the network at a reduced size and resizes its output back: the long side
shrunk to it, keeping the aspect ratio (``working_shape`` "fit"), or the whole picture resized to a
square of that side (``working_shape`` "square": what a network trained on photos resized to squares,
the papers' resize_and_crop, has learnt from; a picture padded out to a square is not).
``chroma_gain`` scales a lab_ab network's colour: a regression to ab values (L1) mutes the colours it is
unsure of, and a gain above 1 gives them back their strength at some cost in accuracy.

The registry lives here with the spec because each needs the other: a ``Task`` holds its spec, and a
spec read from metadata takes its missing values from the registered task of its name.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TranslationError
from .tab import AppTab

INPUT_SPACES: dict[str, int] = {"rgb": 3, "gray": 1, "lab_l": 1}
OUTPUT_SPACES: dict[str, int] = {"rgb": 3, "gray": 1, "lab_ab": 2}
AB_SCALE = 110.0
WORKING_SHAPES = ("fit", "square")
CUSTOM = "custom"   # the name of a model's task when its metadata names none


@dataclass(frozen=True)
class TaskSpec:
    """What a model expects and produces; serialised into ONNX metadata."""

    name: str
    input_space: str
    output_space: str
    scale: int = 1
    working_size: int = 0
    working_shape: str = "fit"
    chroma_gain: float = 1.0
    keep_detail: bool = False

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
        if self.working_shape not in WORKING_SHAPES:
            raise TranslationError(f"task {self.name!r}: unknown working shape {self.working_shape!r} "
                                   f"(known: {', '.join(WORKING_SHAPES)})")
        if not 0.0 < float(self.chroma_gain) <= 4.0:
            raise TranslationError(f"task {self.name!r}: chroma_gain must be in (0, 4], got {self.chroma_gain}")
        if self.keep_detail and (self.input_space, self.output_space, int(self.scale)) != ("rgb", "rgb", 1):
            raise TranslationError(f"task {self.name!r}: keep_detail adds a network's change to its input, so it "
                                   f"needs rgb in and out at scale 1 (this task: {self.input_space} -> "
                                   f"{self.output_space}, scale {self.scale})")

    @property
    def in_channels(self) -> int:
        return INPUT_SPACES[self.input_space]

    @property
    def out_channels(self) -> int:
        return OUTPUT_SPACES[self.output_space]

    @property
    def self_supervised(self) -> bool:
        """Whether ``training_pair`` can make training pairs from plain photos (the task has a pair maker)."""
        task = find_task(self.name)
        return task is not None and task.make_pair is not None

    def replace(self, **changes: object) -> TaskSpec:
        return dataclasses.replace(self, **changes)

    @property
    def predicts_colour(self) -> bool:
        """Whether the network predicts chroma alone (lab_ab), so its colour strength can be set."""
        return self.output_space == "lab_ab"

    def with_chroma_gain(self, gain: float) -> TaskSpec:
        """This spec with another colour strength; only a colorization (lab_ab) output has one."""
        if not self.predicts_colour:
            raise TranslationError(f"--chroma-gain scales a colorization (lab_ab) output; a {self.name} model does "
                                   f"not predict colour (it outputs {self.output_space})")
        return self.replace(chroma_gain=gain)

    def to_metadata(self) -> dict[str, str]:
        return {
            "task": self.name,
            "input_space": self.input_space,
            "output_space": self.output_space,
            "in_channels": str(self.in_channels),
            "out_channels": str(self.out_channels),
            "scale": str(self.scale),
            "working_size": str(self.working_size),
            "working_shape": self.working_shape,
            "chroma_gain": repr(float(self.chroma_gain)),
            "keep_detail": "true" if self.keep_detail else "false",
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> TaskSpec:
        """Read a spec back from model metadata, tolerating missing keys.

        Missing values come from the registered task of that name; for other names (or no name: a
        "custom" task) an rgb -> rgb task, where ``in_channels`` / ``out_channels`` of 1 mean gray.
        """
        name = str(meta.get("task") or "").strip() or CUSTOM
        registered = find_task(name)
        known = registered.spec if registered else None
        in_channels = _int_field(meta, "in_channels")
        out_channels = _int_field(meta, "out_channels")
        input_space = _pick_space(meta.get("input_space"), in_channels, known and known.input_space,
                                  INPUT_SPACES, "input")
        output_space = _pick_space(meta.get("output_space"), out_channels, known and known.output_space,
                                   OUTPUT_SPACES, "output")
        scale = _int_field(meta, "scale")
        working_size = _int_field(meta, "working_size")
        working_shape = str(meta.get("working_shape") or "").strip() or (known.working_shape if known else "fit")
        chroma_gain = _float_field(meta, "chroma_gain")
        keep_detail = _bool_field(meta, "keep_detail")
        spec = cls(name=name, input_space=input_space, output_space=output_space,
                   scale=scale if scale is not None else (known.scale if known else 1),
                   working_size=working_size if working_size is not None else (known.working_size if known else 0),
                   working_shape=working_shape,
                   chroma_gain=chroma_gain if chroma_gain is not None else (known.chroma_gain if known else 1.0),
                   keep_detail=keep_detail if keep_detail is not None else (known.keep_detail if known else False))
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
    return _parsed_field(meta, key, int, "an integer")


def _float_field(meta: dict[str, str], key: str) -> float | None:
    return _parsed_field(meta, key, float, "a number")


def _bool_field(meta: dict[str, str], key: str) -> bool | None:
    return _parsed_field(meta, key, _parse_bool, "true or false")


def _parse_bool(text: str) -> bool:
    words = {"true": True, "1": True, "false": False, "0": False}
    if text.lower() not in words:
        raise ValueError(text)
    return words[text.lower()]


def _parsed_field(meta: dict[str, str], key: str, parse: Callable[[str], Any], kind: str) -> Any:
    value = meta.get(key)
    if value is None or str(value).strip() == "":
        return None
    try:
        return parse(str(value).strip())
    except ValueError:
        raise TranslationError(f"model metadata: {key} must be {kind}, got {value!r}") from None


def _pick_space(explicit: str | None, channels: int | None, known: str | None,
                spaces: dict[str, int], kind: str) -> str:
    """The stated space; else the registered task's if the channel count agrees; else a guess from channels."""
    if explicit and str(explicit).strip():
        return str(explicit).strip()
    if known and (channels is None or spaces[known] == channels):
        return known
    if channels is None or channels == 3:
        return "rgb"
    if channels == 1:
        return "gray"
    raise TranslationError(f"model metadata: {channels} {kind} channels without an {kind}_space "
                           "(only 1 = gray and 3 = rgb can be guessed)")


# ------------------------------------------------------------------------------------ the rest of a task

Pixels = np.ndarray
# (spec, photo crop H x W x 3 float32 [0, 1], rng) -> (network input C x H x W, target C x H x W), both [-1, 1]
PairMaker = Callable[..., tuple[Pixels, Pixels]]  # (spec, photo, rng, **its pair_options) -> (input, target)
# H x W x 3 float [0, 1] in, H' x W' x 3 float [0, 1] out: a model (or a chain of them) as one call
Translator = Callable[[Pixels], Pixels]


@dataclass(frozen=True)
class ModelUnderTest:
    """What a task's measure is given: the model as a photo -> photo call (through an 8-bit file, as a
    user's photos reach it) and, when given, the opposite direction for cycle measures."""

    name: str
    spec: TaskSpec
    translate: Translator
    back: Translator | None = None


@dataclass(frozen=True)
class Measure:
    """How ``translation eval`` scores a model of a task on held-out photographs."""

    summary: str    # one line for ``translation eval --help``: what is compared with what
    # (model, photo H x W x 3 float [0, 1], seed from the file name for random degradations) -> scores
    score: Callable[[ModelUnderTest, Pixels, int], dict[str, float]]


@dataclass(frozen=True)
class Examples:
    """The task's example inputs in ``examples/<task>/``, made by ``translation data examples``."""

    pictures: tuple[str, ...]    # held-out pictures of the collections, by example name ("fresh-flower")
    # a held-out picture (H x W x 3 uint8, long side 512) -> the example input (H' x W' [x 3] uint8)
    make: Callable[[np.ndarray], np.ndarray] = lambda rgb: rgb
    suffix: str = ".jpg"         # .png for line drawings (JPEG rings around thin lines)


@dataclass(frozen=True)
class Task:
    """Everything the project knows about a task, registered by name with ``register_task``."""

    spec: TaskSpec                          # the defaults its models are exported with
    make_pair: PairMaker | None = None      # self-supervised training pairs from plain photos
    pair_options: tuple[str, ...] = ()      # TrainConfig fields make_pair also takes, as keywords (training only)
    measure: Measure | None = None          # ``translation eval``
    # for --sketch-from-photo: a photo (H x W x 3, uint8 / uint16 / float [0, 1]) -> the line drawing
    # (H x W float32 [0, 1]) its models are fed
    sketch_from_photo: Callable[[Pixels], Pixels] | None = None
    model_names: tuple[str, ...] = ()       # the file stems its default models ship as (offered first)
    # an export with no task recorded and this task's channel counts is taken to be this task
    claims_unlabelled_channels: bool = False
    app: AppTab | None = None               # its tab in the web app (none: served by the custom tab only)
    examples: Examples | None = None        # its example inputs (none: no examples/<task>/ folder)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def default_model(self) -> str:
        """The model a request that names none gets: the first shipped name, else one named like the task."""
        return self.model_names[0] if self.model_names else self.name


_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Add ``task`` to the registry (after those already there); returns it, for use at module level."""
    if task.name in _TASKS:
        raise ValueError(f"a task named {task.name!r} is already registered")
    _TASKS[task.name] = task
    return task


def unregister_task(name: str) -> Task:
    """Take a task out of the registry again (a test's own task, say); returns it."""
    return _TASKS.pop(task_named(name).name)


def find_task(name: str) -> Task | None:
    return _TASKS.get(name)


def task_named(name: str) -> Task:
    task = _TASKS.get(name)
    if task is None:
        raise TranslationError(f"unknown task {name!r} (choose one of: {', '.join(_TASKS)})")
    return task


def get_task(name: str) -> TaskSpec:
    """The spec of the registered task ``name``; ``TranslationError`` for unknown names."""
    return task_named(name).spec


def task_names() -> list[str]:
    """The registered task names, in registration order (the app's tab order)."""
    return list(_TASKS)


def registered_tasks() -> list[Task]:
    return list(_TASKS.values())


def sketch_tasks() -> list[str]:
    """The tasks whose models can be fed the line drawing of a photo (``Task.sketch_from_photo``)."""
    return [task.name for task in _TASKS.values() if task.sketch_from_photo is not None]
