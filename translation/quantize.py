"""INT8 static quantisation of an exported fp32 generator, calibrated on images, for faster CPU inference.

    photos -> crops of the model's tile size -> task.prepare (the same path as serving)
           -> the transposed convolutions re-expressed as ordinary ones (exact; see ``phase_convolutions``)
           -> calibration: the range of every activation on those crops (ONNX Runtime, MinMax)
           -> QuantizeLinear / DequantizeLinear pairs around the convolutions (QDQ format), int8 weights
              per output channel, uint8 activations (ONNX Runtime's choice for x86 CPUs with VNNI)
           -> check: the INT8 model's images against the fp32 model's on other crops (PSNR)

The quantised file keeps the source's metadata (so the runtime serves it like the fp32 model), with
``precision`` "int8" and a ``quantization`` entry saying how it was calibrated and how close it came.
"""
from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import helper, numpy_helper

from .atomic import atomic_write_bytes
from .imaging.files import list_images
from .imaging.io import IMAGE_SUFFIXES, read_image, to_float
from .errors import TranslationError, first_line
from .tasks import TaskSpec, finish, prepare

log = logging.getLogger(__name__)

METHODS = ("minmax", "percentile", "entropy")
DEFAULT_CALIBRATION_CROPS = 16
DEFAULT_CHECK_CROPS = 4


@dataclass(frozen=True)
class QuantizeResult:
    path: Path
    psnr: float                 # dB: the INT8 model's images against the fp32 model's, on held-out crops
    calibration_crops: int
    check_crops: int
    crop_size: int              # side of the model input the crops were prepared to


def quantize_model(
    model_path: str | Path,
    out_path: str | Path,
    calibration: str | Path | Sequence[str | Path],
    *,
    crop_size: int | None = None,
    crops: int = DEFAULT_CALIBRATION_CROPS,
    check_crops: int = DEFAULT_CHECK_CROPS,
    method: str = "minmax",
    per_channel: bool = True,
    min_psnr: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> QuantizeResult:
    """Quantise the fp32 ONNX model ``model_path`` to INT8 (static, QDQ) and write it to ``out_path``.

    ``calibration``: a folder of images (searched recursively) or a list of image files. ``crop_size``:
    the side of the model input to calibrate at (default: the model's ``tile_size``, as the runtime
    tiles large images at that size; smaller images are scaled up to fit). ``crops`` crops calibrate,
    ``check_crops`` other crops measure the PSNR of the INT8 output against the fp32 output; with
    ``min_psnr`` set, a lower PSNR raises ``TranslationError`` and nothing is written.
    """
    from .runtime import Engine
    from .runtime.models import read_model_info

    model_path, out_path = Path(model_path), Path(out_path)
    if out_path.suffix.lower() != ".onnx":
        raise TranslationError(f"{out_path}: the output file must end in .onnx")
    if out_path.resolve() == model_path.resolve():
        raise TranslationError(f"{out_path}: would overwrite the source model; choose another output file")
    if method not in METHODS:
        raise TranslationError(f"unknown calibration method {method!r}; choose one of {', '.join(METHODS)}")
    if crops < 1 or check_crops < 1:
        raise TranslationError("--crops and --check-crops must be at least 1")
    info = read_model_info(model_path)
    precision = info.metadata.get("precision", "fp32")
    if precision != "fp32":
        raise TranslationError(f"{model_path}: a {precision} model; quantise the fp32 export instead "
                               "(translation export without --fp16)")
    multiple = info.size_multiple
    size = crop_size or info.tile_size
    if size % multiple:
        raise TranslationError(f"--crop-size {size} is not a multiple of {multiple}, which {model_path.name} needs")
    files = image_files(calibration)

    rng = np.random.default_rng(seed)
    calibration_inputs = [x for x, _ in take(model_crops(info.task, files, size, multiple, rng), crops)]
    checks = take(model_crops(info.task, files, size, multiple, rng), check_crops)

    with tempfile.TemporaryDirectory(prefix="translation-quantize-") as tmp:
        quantized = Path(tmp) / "int8.onnx"
        _quantize(model_path, quantized, calibration_inputs, Path(tmp), method, per_channel, progress)
        fp32 = Engine(info, providers="cpu", threads=threads)
        int8 = Engine(quantized, providers="cpu", threads=threads)
        psnr = output_psnr(fp32, int8, info.task, checks)
        model = onnx.load(str(quantized))
    log.info("%s: INT8 output vs fp32 on %d held-out crops of %d px: PSNR %.2f dB", out_path, len(checks), size, psnr)
    if min_psnr is not None and not psnr >= min_psnr:
        raise TranslationError(f"{out_path}: the INT8 model's output is {psnr:.2f} dB from the fp32 output "
                               f"(below --min-psnr {min_psnr:g}); nothing was written. Try more --crops or "
                               "--method percentile")

    metadata = dict(info.metadata)
    metadata["precision"] = "int8"
    metadata["quantization"] = json.dumps({
        "method": f"static QDQ, {method} calibration, {'per-channel' if per_channel else 'per-tensor'} int8 "
                  "weights, uint8 activations",
        "calibration_crops": len(calibration_inputs), "crop_size": size, "check_crops": len(checks),
        "psnr_vs_fp32_db": round(psnr, 2) if math.isfinite(psnr) else "inf",
        "source": model_path.name}, sort_keys=True)
    onnx.helper.set_model_props(model, metadata)
    model.producer_name = "translation"
    atomic_write_bytes(out_path, model.SerializeToString())
    return QuantizeResult(out_path, psnr, len(calibration_inputs), len(checks), size)


# ----------------------------------------------------------------------------------------- inputs

def image_files(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """The images of a folder (recursively, sorted, hidden files skipped) or the given files;
    ``TranslationError`` when none."""
    if isinstance(source, (str, Path)):
        folder = Path(source)
        if not folder.is_dir():
            raise TranslationError(f"{folder}: not a folder of calibration images")
        files = list_images(folder, recursive=True)
        if not files:
            raise TranslationError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) to calibrate on")
        return files
    files = [Path(p) for p in source]
    if not files:
        raise TranslationError("no calibration images given")
    return files


def model_crops(spec: TaskSpec, files: Sequence[Path], size: int, multiple: int,
                rng: np.random.Generator) -> Iterator[tuple[np.ndarray, dict]]:
    """Endless random crops of the images, prepared as the runtime prepares a tile of ``size`` px:
    (1 x C x size x size model input, the context for ``finish``). Unreadable files are skipped."""
    side = max(1, math.ceil(size / spec.scale))  # a super-resolution model's input is the upscaled crop
    readable = list(files)
    index = 0
    while readable:
        path = readable[index % len(readable)]
        try:
            photo = read_image(path).rgb
        except TranslationError as exc:
            log.warning("skipping calibration image %s", exc)
            readable.remove(path)
            continue
        index += 1
        height, width = photo.shape[:2]
        if min(height, width) < side:  # scale up small images so a whole crop fits
            ratio = side / min(height, width)
            photo = np.clip(cv2.resize(to_float(photo), (max(side, round(width * ratio)),
                                                         max(side, round(height * ratio))),
                                       interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
            height, width = photo.shape[:2]
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        # prepare converts the crop to float itself: no float copy of the whole photo
        model_input, context = prepare(spec, photo[top:top + side, left:left + side])
        yield _pad_to_multiple(model_input, multiple)[None], context
    raise TranslationError(f"none of the {len(files)} calibration images could be read")


def take(items: Iterator, count: int) -> list:
    return [next(items) for _ in range(count)]


def _pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    height, width = image.shape[1:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        image = np.pad(image, ((0, 0), (0, pad_h), (0, pad_w)), mode="reflect")
    return np.ascontiguousarray(image, dtype=np.float32)


# ----------------------------------------------------------------------------------------- quantisation

def _quantize(source: Path, target: Path, inputs: list[np.ndarray], workdir: Path, method: str,
              per_channel: bool, progress: Callable[[int, int], None] | None) -> None:
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # Shape inference and ORT's basic graph optimisations first: batch norms fold into the convolutions,
    # so the convolutions quantise with their final weights and no float op is left between them.
    prepared = workdir / "prepared.onnx"
    try:
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    except Exception as exc:  # noqa: BLE001 - ORT and ONNX raise assorted types
        raise TranslationError(f"{source}: cannot prepare the model for quantisation ({exc})") from None
    model = onnx.load(str(prepared))
    input_name = model.graph.input[0].name
    model, rewritten = phase_convolutions(model)
    log.debug("%s: %d transposed convolutions re-expressed as phase convolutions", source, rewritten)
    onnx.save(model, str(prepared))

    class Crops(CalibrationDataReader):
        def __init__(self) -> None:
            self.position = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self.position >= len(inputs):
                return None
            self.position += 1
            if progress is not None:
                progress(self.position, len(inputs))
            return {input_name: inputs[self.position - 1]}

        def __len__(self) -> int:
            return len(inputs)

    calibrate = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                 "entropy": CalibrationMethod.Entropy}[method]
    try:
        quantize_static(str(prepared), str(target), Crops(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=calibrate)
    except Exception as exc:  # noqa: BLE001
        raise TranslationError(f"{source}: quantisation failed ({first_line(exc, 200)})") from None


def phase_convolutions(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """Replace each ConvTranspose whose output is exactly ``stride`` times its input by ``stride**2``
    ordinary Convs on its input (one per output phase), a Concat and a DepthToSpace; returns the model
    (changed in place) and how many were replaced. The result is the same function, to float rounding.

    Why: ONNX Runtime's CPU provider has int8 kernels for Conv but not for ConvTranspose, which in a QDQ
    graph would run in float with its weights dequantised on every run; the U-Net's decoder holds two
    thirds of its multiply-adds, and the INT8 model came out slower than fp32. Output pixel
    ``n = stride * m + phase`` of a transposed convolution only sees the taps ``k`` with
    ``(phase + pad - k) % stride == 0``, at input ``m + (phase + pad - k) // stride``: a small ordinary
    convolution per phase, with the same multiply-adds in all.
    """
    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    nodes: list[onnx.NodeProto] = []
    replaced = 0
    for node in graph.node:
        plan = _phase_plan(node, weights) if node.op_type == "ConvTranspose" else None
        if plan is None:
            nodes.append(node)
            continue
        replaced += 1
        w, bias, stride, taps_h, taps_w = plan
        prefix = f"{node.name or node.output[0]}_phase{replaced}"
        phases = []
        for a, th in enumerate(taps_h):
            for b, tw in enumerate(taps_w):
                name = f"{prefix}_{a}{b}"
                (lo_h, hi_h), (lo_w, hi_w) = _span(th), _span(tw)
                kernel = np.zeros((w.shape[1], w.shape[0], hi_h - lo_h + 1, hi_w - lo_w + 1), np.float32)
                for k_h, d_h in th:
                    for k_w, d_w in tw:
                        kernel[:, :, d_h - lo_h, d_w - lo_w] = w[:, :, k_h, k_w].T
                graph.initializer.extend([numpy_helper.from_array(kernel, f"{name}_w"),
                                          numpy_helper.from_array(bias, f"{name}_b")])
                nodes.append(helper.make_node("Conv", [node.input[0], f"{name}_w", f"{name}_b"], [name], name=name,
                                              pads=[-lo_h, -lo_w, hi_h, hi_w]))
                phases.append(name)
        nodes.append(helper.make_node("Concat", phases, [f"{prefix}_all"], name=f"{prefix}_all", axis=1))
        nodes.append(helper.make_node("DepthToSpace", [f"{prefix}_all"], [node.output[0]], name=f"{prefix}_d2s",
                                      blocksize=stride, mode="DCR"))
    if replaced:
        del graph.node[:]
        graph.node.extend(nodes)
        used = {name for node in graph.node for name in node.input}
        kept = [t for t in graph.initializer if t.name in used]
        del graph.initializer[:]
        graph.initializer.extend(kept)
    return model, replaced


def _phase_plan(node: onnx.NodeProto, weights: dict[str, onnx.TensorProto]):
    """(weight, bias, stride, taps per phase along H, along W) when the node can be re-expressed, else None."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if len(node.input) < 2 or node.input[1] not in weights or (len(node.input) > 2 and node.input[2]
                                                                and node.input[2] not in weights):
        return None
    w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)  # C_in x C_out x kH x kW
    if w.ndim != 4 or attrs.get("group", 1) != 1 or list(attrs.get("dilations", [1, 1])) != [1, 1]:
        return None
    if attrs.get("output_shape") or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        return None
    strides = list(attrs.get("strides", [1, 1]))
    top, left, bottom, right = list(attrs.get("pads", [0, 0, 0, 0]))
    extra_h, extra_w = list(attrs.get("output_padding", [0, 0]))
    k_h, k_w = w.shape[2:]
    stride = strides[0]
    if strides != [stride, stride] or stride < 2:
        return None
    if k_h - stride - top - bottom + extra_h or k_w - stride - left - right + extra_w:
        return None  # the output is not exactly stride x the input
    taps_h, taps_w = _phase_taps(k_h, stride, top), _phase_taps(k_w, stride, left)
    if not all(t and _span(t)[0] <= 0 <= _span(t)[1] for t in taps_h + taps_w):
        return None  # a phase would need negative padding (or has no taps)
    bias = (numpy_helper.to_array(weights[node.input[2]]).astype(np.float32) if len(node.input) > 2 and node.input[2]
            else np.zeros(w.shape[1], np.float32))
    return w, bias, stride, taps_h, taps_w


def _phase_taps(kernel: int, stride: int, pad: int) -> list[list[tuple[int, int]]]:
    """Per output phase: (kernel tap, input offset) pairs, offsets increasing."""
    return [sorted(((k, (phase + pad - k) // stride) for k in range(kernel) if (phase + pad - k) % stride == 0),
                   key=lambda tap: tap[1]) for phase in range(stride)]


def _span(taps: list[tuple[int, int]]) -> tuple[int, int]:
    return taps[0][1], taps[-1][1]


# ----------------------------------------------------------------------------------------- check

def output_psnr(reference, candidate, spec: TaskSpec, inputs: Sequence[tuple[np.ndarray, dict]]) -> float:
    """PSNR (dB) of ``candidate``'s finished images against ``reference``'s, over all ``inputs``
    (each a 1 x C x H x W model input and its ``prepare`` context); both engines have ``run``."""
    squared, count = 0.0, 0
    for model_input, context in inputs:
        want = finish(spec, reference.run(model_input)[0], context)
        got = finish(spec, candidate.run(model_input)[0], context)
        squared += float(np.square(got.astype(np.float64) - want).sum())
        count += want.size
    mse = squared / max(count, 1)
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)
