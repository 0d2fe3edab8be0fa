"""ONNX export of a generator, with self-describing metadata and a parity check against PyTorch.

The exported file holds everything the runtime needs: the weights (in the one file, no external data),
the task's pre/post-processing (``TaskSpec.to_metadata``), the network's size multiple and a
recommended tile size, and a summary of how the model was trained.

Exporter choice: the TorchScript-based exporter (``dynamo=False``). The ``torch.export``-based one needs
``onnxscript`` (not a dependency) and specialises the U-Net's 1x1 bottleneck at its minimum input size
(256 for unet_256), refusing a dynamic height and width; after ONNX Runtime's graph optimisations both
exporters give the same graph for these networks (Conv, Pad, InstanceNormalization, ConvTranspose).
"""
from __future__ import annotations

import copy
import io
import json
import logging
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from .atomic import atomic_write_bytes
from .errors import TranslationError, first_line
from .networks import GeneratorConfig
from .networks.checkpoint import detect_generator_config, load_generator
from .tasks import TaskSpec, get_task, registered_tasks

log = logging.getLogger(__name__)

FORMAT_VERSION = "1"
DEFAULT_OPSET = 17
NORM_MODES = ("eval", "instance")
FP32_TOLERANCE = 1e-4
FP16_TOLERANCE = 5e-2
DEFAULT_TILE = 512
INPUT_NAME, OUTPUT_NAME = "input", "output"
_DYNAMIC_AXES = {INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                 OUTPUT_NAME: {0: "batch", 2: "height", 3: "width"}}


def export_generator(
    source: str | Path | nn.Module,
    out_path: str | Path,
    *,
    task: str | TaskSpec | None = None,
    which: str | None = None,
    config: GeneratorConfig | None = None,
    netG: str | None = None,
    ngf: int | None = None,
    norm: str | None = None,
    in_channels: int | None = None,
    out_channels: int | None = None,
    residual: bool | None = None,
    weights: str | None = None,
    checkpoint: str | None = None,
    norm_mode: str = "eval",
    fp16: bool = False,
    tile_size: int | None = None,
    working_size: int | None = None,
    working_shape: str | None = None,
    chroma_gain: float | None = None,
    keep_detail: bool | None = None,
    opset: int = DEFAULT_OPSET,
    tolerance: float | None = None,
    info: Mapping[str, Any] | None = None,
) -> Path:
    """Export a generator (a checkpoint path or a module) to a self-contained ONNX file.

    ``source``: our checkpoint, a training run's folder (``checkpoint``: its "latest" step checkpoint,
    the default, or its "best"), a reference ``latest_net_G*.pth`` state dict, or an ``nn.Module``
    (then ``config`` describes it, or it is detected from the module's keys). ``which`` picks G_A / G_B
    from a CycleGAN checkpoint; ``weights`` the "ema" (default where there is one) or "live" weights of
    a checkpoint trained with --ema; ``netG`` / ``ngf`` / ``norm`` / ``in_channels`` / ``out_channels``
    override what the keys say, and ``residual`` restores the output = input + network(input) wiring
    that a reference-layout file cannot record. ``task`` declares the task when the checkpoint does not say.
    ``norm_mode`` "eval" uses batch-norm running statistics; "instance" normalises each image with its
    own statistics (what the reference's test script does at batch 1), dropout off in both.
    ``fp16`` stores float16 weights (inputs and outputs stay float32). ``working_size`` overrides the
    task's: the long side the runtime shrinks inputs to before the network (0: full size), best the
    scale the network was trained at (a model trained on whole photos at 286 px sees other textures at 512);
    ``working_shape`` "square" resizes inputs to a square of that side (for a network trained on photos
    resized to squares) instead of keeping their aspect ratio ("fit"). ``chroma_gain`` scales the colour
    of a lab_ab (colorization) network's output (1: as trained). ``keep_detail`` (rgb -> rgb) has the runtime
    add the network's change at the working size to the full-size input instead of resizing its output.
    The file is written only when ONNX Runtime agrees with PyTorch on a random input within ``tolerance``.
    """
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".onnx":
        raise TranslationError(f"{out_path}: the output file must end in .onnx")
    if norm_mode not in NORM_MODES:
        raise TranslationError(f"unknown norm mode {norm_mode!r}; choose one of {', '.join(NORM_MODES)}")
    overrides = _config_overrides(netG, ngf, norm, in_channels, out_channels, residual)
    net, config, checkpoint_info, source_name = _load(source, which, config, overrides, weights, checkpoint)
    recorded = {**checkpoint_info, **dict(info or {})}
    spec = _resolve_task(task, recorded, config, source_name)
    if working_size is not None:
        if working_size < 0:
            raise TranslationError(f"working size must be >= 0 (0: full size), got {working_size}")
        spec = spec.replace(working_size=working_size)
    if working_shape is not None:
        spec = spec.replace(working_shape=working_shape)
    if chroma_gain is not None:
        spec = spec.with_chroma_gain(chroma_gain)
    if keep_detail is not None:
        spec = spec.replace(keep_detail=keep_detail)

    if norm_mode == "instance":
        net = per_image_norm(net)  # a copy
    elif isinstance(source, nn.Module):
        net = copy.deepcopy(net)  # the caller's module must not change (.float().cpu().eval() below)
    net = net.float().cpu().eval()
    metadata = build_metadata(config, spec, norm_mode=norm_mode, tile_size=_tile_size(config, tile_size),
                              fp16=fp16, training=_training_summary(recorded, source_name))

    model = _to_onnx(net, config, opset)
    if fp16:
        model = _to_fp16(model)
    onnx.helper.set_model_props(model, metadata)
    model.producer_name = "translation"
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise TranslationError(f"{out_path}: the exported graph is invalid ({first_line(exc)})") from None
    try:
        data = model.SerializeToString()
    except ValueError as exc:  # protobuf's 2 GB limit: such a model would need external data files
        raise TranslationError(f"{out_path}: the model is too large for one ONNX file ({exc})") from None

    limit = tolerance if tolerance is not None else (FP16_TOLERANCE if fp16 else FP32_TOLERANCE)
    difference = parity_difference(net, data, config)
    if not difference <= limit:  # also catches NaN
        raise TranslationError(f"{out_path}: parity check failed: ONNX Runtime and PyTorch differ by up to "
                               f"{difference:.3g} (limit {limit:g}); nothing was written")
    atomic_write_bytes(out_path, data)
    log.info("exported %s (%s, task %s, %s, %s norm, %.1f MB); parity max |diff| %.2e",
             out_path, config.name, spec.name, "fp16" if fp16 else "fp32", norm_mode,
             len(data) / 1e6, difference)
    return out_path


# ----------------------------------------------------------------------------------------- loading

def _config_overrides(netG: str | None, ngf: int | None, norm: str | None, in_channels: int | None,
                      out_channels: int | None, residual: bool | None = None) -> dict[str, Any]:
    overrides: dict[str, Any] = {"name": netG or None, "ngf": ngf, "norm": norm, "in_channels": in_channels,
                                 "out_channels": out_channels, "residual": residual}
    return {k: v for k, v in overrides.items() if v is not None}


def _load(source: str | Path | nn.Module, which: str | None, config: GeneratorConfig | None,
          overrides: dict[str, Any], weights: str | None, checkpoint: str | None
          ) -> tuple[nn.Module, GeneratorConfig, dict[str, Any], str]:
    if isinstance(source, nn.Module):
        if weights is not None or checkpoint is not None:
            raise TranslationError("weights and checkpoint pick from a checkpoint file or run folder, not a module")
        if config is None:
            config = detect_generator_config(source.state_dict(), **overrides)
        return source, config, {}, type(source).__name__
    path = Path(source)
    if path.is_dir():
        from .training.checkpointing import run_checkpoint

        path = run_checkpoint(path, checkpoint or "latest")
    elif checkpoint is not None:
        raise TranslationError(f"{path}: is a checkpoint file; choosing the {checkpoint!r} checkpoint needs a run "
                               "folder (RUN_DIR)")
    net, loaded_config, info = load_generator(path, which, weights=weights, **overrides)
    return net, config or loaded_config, info, path.name


def _resolve_task(task: str | TaskSpec | None, info: Mapping[str, Any], config: GeneratorConfig,
                  source: str) -> TaskSpec:
    recorded = _recorded_task(info)
    if isinstance(task, TaskSpec):
        spec = task
    elif task:
        # a name the checkpoint also records keeps the recorded settings (e.g. a super-resolution scale)
        spec = recorded if recorded is not None and recorded.name == task else get_task(task)
    elif recorded is not None:
        spec = recorded
    elif (claimed := _task_claiming(config.in_channels, config.out_channels)) is not None:
        spec = claimed
        log.info("%s: no task recorded; %d -> %d channels, so exporting as %s (pass --task to change)",
                 source, config.in_channels, config.out_channels, spec.name)
    else:
        spec = TaskSpec.from_metadata({"in_channels": str(config.in_channels),
                                       "out_channels": str(config.out_channels)})
        log.info("%s: no task recorded; exporting as a %s %s -> %s model (pass --task to change)",
                 source, spec.name, spec.input_space, spec.output_space)
    output_ok = config.out_channels == spec.out_channels or (spec.output_space == "rgb" and config.out_channels == 1)
    if config.in_channels != spec.in_channels or not output_ok:
        raise TranslationError(
            f"{source}: the network maps {config.in_channels} -> {config.out_channels} channels but task "
            f"{spec.name!r} needs {spec.in_channels} -> {spec.out_channels}; pass the right --task "
            "(or --in-channels/--out-channels if the detection is wrong)")
    return spec


def _task_claiming(in_channels: int, out_channels: int) -> TaskSpec | None:
    """The registered task that takes unlabelled networks of these channel counts as its own, if any."""
    for task in registered_tasks():
        if task.claims_unlabelled_channels and (task.spec.in_channels, task.spec.out_channels) == (
                in_channels, out_channels):
            return task.spec
    return None


def _recorded_task(info: Mapping[str, Any]) -> TaskSpec | None:
    """The task a training checkpoint records: ``task_spec`` (metadata dict) or ``task`` (a name or dict)."""
    for key in ("task_spec", "task"):
        value = info.get(key)
        if isinstance(value, Mapping) and value:
            return TaskSpec.from_metadata({k: str(v) for k, v in value.items()})
        if isinstance(value, str) and value:
            return get_task(value)
    return None


def per_image_norm(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose batch norms normalise each image with its own statistics.

    Each ``BatchNorm2d`` becomes an ``InstanceNorm2d`` with the same affine weight and bias, so the
    exported graph behaves like the reference's test script (batch norm on a batch of one, no dropout)
    for any batch size.
    """
    net = copy.deepcopy(net)
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                swapped = nn.InstanceNorm2d(child.num_features, eps=child.eps, affine=child.affine,
                                            track_running_stats=False)
                if child.affine:
                    with torch.no_grad():
                        swapped.weight.copy_(child.weight)
                        swapped.bias.copy_(child.bias)
                setattr(module, name, swapped)
    return net


# ----------------------------------------------------------------------------------------- metadata

def recommended_tile_size(config: GeneratorConfig) -> int:
    """512 for ResNets; for U-Nets the smallest multiple of the size multiple that is at least 512."""
    multiple = config.size_multiple
    return max(multiple, math.ceil(DEFAULT_TILE / multiple) * multiple)


def _tile_size(config: GeneratorConfig, tile_size: int | None) -> int:
    if tile_size is None:
        return recommended_tile_size(config)
    if tile_size <= 0 or tile_size % config.size_multiple:
        raise TranslationError(f"tile size {tile_size} must be a positive multiple of {config.size_multiple} "
                               f"for {config.name}")
    return tile_size


def build_metadata(config: GeneratorConfig, spec: TaskSpec, *, tile_size: int, norm_mode: str = "eval",
                   fp16: bool = False, training: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The ``metadata_props`` of an exported model (all strings), per docs/ARCHITECTURE.md.
    ``tile_size``: already checked (``_tile_size``)."""
    return {
        "translation.format_version": FORMAT_VERSION,
        **spec.to_metadata(),
        "network": config.name,
        "generator": json.dumps(config.to_dict(), sort_keys=True),
        "in_channels": str(config.in_channels),
        "out_channels": str(config.out_channels),
        "value_range": "-1,1",
        "size_multiple": str(config.size_multiple),
        "tile_size": str(tile_size),
        "norm_mode": norm_mode,
        "precision": "fp16" if fp16 else "fp32",
        "training": json.dumps(dict(training or {}), sort_keys=True),
    }


def _training_summary(info: Mapping[str, Any], source: str) -> dict[str, Any]:
    summary = {key: _jsonable(value) for key, value in info.items()}
    summary.setdefault("source", source)
    return summary


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return str(value)


# ----------------------------------------------------------------------------------------- conversion

def _example_side(config: GeneratorConfig) -> int:
    return max(64, config.size_multiple)


def _to_onnx(net: nn.Module, config: GeneratorConfig, opset: int) -> onnx.ModelProto:
    if opset < DEFAULT_OPSET:
        raise TranslationError(f"opset {opset} is too old; use {DEFAULT_OPSET} or newer")
    side = _example_side(config)
    example = torch.zeros(1, config.in_channels, side, side)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter warns about its own deprecation, traced shape checks inside
        # reflection padding and instance norm's training flag; none of them applies here.
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (example,), buffer, dynamo=False, opset_version=opset,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes=_DYNAMIC_AXES, do_constant_folding=True)
    return onnx.load_from_string(buffer.getvalue())


def _to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converted = convert_float_to_float16(model, keep_io_types=True)
    OnnxModel.graph_topological_sort(converted.graph)  # the converter appends its input casts last
    return converted


def parity_difference(net: nn.Module, model_bytes: bytes, config: GeneratorConfig, *, seed: int = 0) -> float:
    """Max |ONNX Runtime - PyTorch| on a random non-square input in [-1, 1] (CPU, fp32 reference)."""
    import onnxruntime as ort

    multiple = config.size_multiple
    height = max(multiple, 64 // multiple * multiple or multiple)
    width = height + max(multiple, 32 // multiple * multiple or multiple)
    generator = torch.Generator().manual_seed(seed)
    sample = torch.rand(1, config.in_channels, height, width, generator=generator) * 2 - 1
    with torch.no_grad():
        expected = net(sample).numpy()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    got = session.run(None, {INPUT_NAME: sample.numpy()})[0]
    if got.shape != expected.shape:
        return float("inf")
    return float(np.max(np.abs(got.astype(np.float32) - expected)))
