"""Finding models: ``.onnx`` files in the model folders, described by their own metadata.

Reading a model's metadata must be cheap (the app and ``translation models`` list every model, and a
U-Net 256 is over 200 MB), so ``read_metadata`` parses the ONNX file's top-level fields and seeks over
the graph (where the weights are) instead of loading it.
"""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from ..atomic import TEMP_PREFIX
from ..default_models import MODELS_DIR
from ..errors import TranslationError
from ..tasks import TaskSpec

log = logging.getLogger(__name__)

DEFAULT_MODELS_DIR = MODELS_DIR  # the shipped models: exports/ in a checkout, package data once installed
MODELS_ENV = "TRANSLATION_MODELS"
MODEL_SUFFIX = ".onnx"
# ModelProto fields holding the network itself (graph, training_info, functions): skipped when listing.
_HEAVY_FIELDS = frozenset({7, 20, 25})


@dataclass(frozen=True)
class ModelInfo:
    name: str                                                        # file stem, e.g. "colorization"
    path: Path
    task: TaskSpec                                                   # TaskSpec.from_metadata(metadata)
    metadata: dict[str, str] = field(hash=False, compare=False)     # the raw metadata_props
    card: dict | None = field(default=None, hash=False, compare=False)  # <stem>.json beside the model

    def with_chroma_gain(self, gain: float) -> ModelInfo:
        """This model with another colour strength (a colorization model's ``chroma_gain``) for this run."""
        return dataclasses.replace(self, task=self.task.with_chroma_gain(gain))

    @property
    def network(self) -> str:
        return self.metadata.get("network", "unknown")

    @property
    def size_multiple(self) -> int:
        return _positive_int(self.metadata, "size_multiple", 1)

    @property
    def tile_size(self) -> int:
        return _positive_int(self.metadata, "tile_size", 512)

    @property
    def in_channels(self) -> int:
        return _positive_int(self.metadata, "in_channels", self.task.in_channels)

    @property
    def out_channels(self) -> int:
        return _positive_int(self.metadata, "out_channels", self.task.out_channels)

    @property
    def training(self) -> dict:
        try:
            value = json.loads(self.metadata.get("training", "{}"))
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}


def _positive_int(meta: dict[str, str], key: str, default: int) -> int:
    try:
        value = int(meta.get(key, default))
    except ValueError:
        return default
    return value if value > 0 else default


def model_dirs(extra_dirs: Sequence[str | Path] = ()) -> list[Path]:
    """Where models are looked for, in order: ``extra_dirs``, ``$TRANSLATION_MODELS``, ``exports/``."""
    env = [Path(p) for p in os.environ.get(MODELS_ENV, "").split(os.pathsep) if p.strip()]
    ordered: list[Path] = []
    for directory in [*map(Path, extra_dirs), *env, DEFAULT_MODELS_DIR]:
        if directory.expanduser() not in ordered:
            ordered.append(directory.expanduser())
    return ordered


def find_models(extra_dirs: Sequence[str | Path] = ()) -> list[ModelInfo]:
    """Every readable model in the model folders, sorted by name; a name in an earlier folder wins."""
    found: dict[str, ModelInfo] = {}
    for directory in model_dirs(extra_dirs):
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob(f"*{MODEL_SUFFIX}")):
            if path.name.startswith(TEMP_PREFIX) or not path.is_file() or path.stem in found:
                continue
            try:
                found[path.stem] = read_model_info(path)
            except TranslationError as exc:
                log.warning("skipping model %s", exc)
    return sorted(found.values(), key=lambda info: info.name)


def resolve_model(name_or_path: str | Path, extra_dirs: Sequence[str | Path] = ()) -> ModelInfo:
    """A model by file path or by name (file stem) in the model folders."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.is_file():
        return read_model_info(path)
    if len(path.parts) > 1:
        raise TranslationError(f"{path}: model file not found")
    stem = path.stem if path.suffix.lower() == MODEL_SUFFIX else text
    for directory in model_dirs(extra_dirs):
        candidate = directory / f"{stem}{MODEL_SUFFIX}"
        if candidate.is_file():
            return read_model_info(candidate)
    available = [info.name for info in find_models(extra_dirs)]
    hint = f"available: {', '.join(available)}" if available else "no models found; export one with `translation export`"
    raise TranslationError(f"unknown model {text!r} ({hint}; or pass a path to an .onnx file)")


def read_model_info(path: str | Path) -> ModelInfo:
    path = Path(path)
    stat = _stat(path)
    return _cached_info(path.resolve(), stat.st_size, stat.st_mtime_ns)


def _stat(path: Path) -> os.stat_result:
    try:
        stat = path.stat()
    except OSError:
        raise TranslationError(f"{path}: model file not found") from None
    if not path.is_file():
        raise TranslationError(f"{path}: not a model file")
    return stat


@lru_cache(maxsize=256)
def _cached_info(path: Path, size: int, mtime_ns: int) -> ModelInfo:
    metadata = read_metadata(path)
    try:
        task = TaskSpec.from_metadata(metadata)
    except TranslationError as exc:
        raise TranslationError(f"{path}: {exc}") from None
    return ModelInfo(name=path.stem, path=path, task=task, metadata=metadata, card=_read_card(path))


def _read_card(path: Path) -> dict | None:
    card_path = path.with_suffix(".json")
    if not card_path.is_file():
        return None
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("%s: ignoring unreadable model card (%s)", card_path, exc)
        return None
    return card if isinstance(card, dict) else None


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file without loading its graph or weights."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            header = _top_level_fields(handle, os.fstat(handle.fileno()).st_size)
        ir_version, metadata = _ir_version_and_metadata(header)
    except (OSError, ValueError) as exc:
        raise TranslationError(f"{path}: not a readable ONNX model ({exc})") from None
    if not ir_version:
        raise TranslationError(f"{path}: not an ONNX model (no IR version)")
    return metadata


_IR_VERSION, _METADATA_PROPS = 1, 14   # ModelProto field numbers (onnx.proto); key = 1, value = 2 in each prop


def _ir_version_and_metadata(fields: bytes) -> tuple[int, dict[str, str]]:
    """ModelProto's ir_version and metadata_props from its top-level fields, read off the wire format
    (importing the onnx package for this would cost seconds of start-up: it loads ml_dtypes and more)."""
    ir_version, metadata = 0, {}
    for number, value in _fields(fields):
        if number == _IR_VERSION and isinstance(value, int):
            ir_version = value
        elif number == _METADATA_PROPS and isinstance(value, bytes):
            entry = {n: v for n, v in _fields(value) if isinstance(v, bytes)}
            try:
                metadata[entry.get(1, b"").decode()] = entry.get(2, b"").decode()
            except UnicodeDecodeError:
                raise ValueError("metadata is not UTF-8 text") from None
    return ir_version, metadata


def _fields(data: bytes):
    """(field number, int or bytes) of each field of a protobuf message."""
    handle = io.BytesIO(data)
    while handle.tell() < len(data):
        tag = _read_varint(handle)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise ValueError("field number 0: not protobuf")
        if wire_type == 0:
            yield number, _read_varint(handle)
        elif wire_type in (1, 5):
            raw = handle.read(8 if wire_type == 1 else 4)
            if len(raw) < (8 if wire_type == 1 else 4):
                raise ValueError("file is truncated")
            yield number, raw
        elif wire_type == 2:
            length = _read_varint(handle)
            raw = handle.read(length)
            if len(raw) < length:
                raise ValueError("file is truncated")
            yield number, raw
        else:
            raise ValueError(f"unexpected protobuf wire type {wire_type}")


def _top_level_fields(handle: BinaryIO, size: int) -> bytes:
    """The protobuf bytes of every top-level field except the heavy ones (seeked over)."""
    kept = bytearray()
    while handle.tell() < size:
        start = handle.tell()
        tag = _read_varint(handle)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            _read_varint(handle)
        elif wire_type in (1, 5):
            handle.seek(8 if wire_type == 1 else 4, os.SEEK_CUR)
        elif wire_type == 2:
            length = _read_varint(handle)
            if number in _HEAVY_FIELDS:
                if handle.tell() + length > size:
                    raise ValueError("file is truncated")
                handle.seek(length, os.SEEK_CUR)
                continue
            handle.seek(length, os.SEEK_CUR)
        else:
            raise ValueError(f"unexpected protobuf wire type {wire_type}")
        end = handle.tell()
        if end > size or number == 0:
            raise ValueError("file is truncated or not protobuf")
        handle.seek(start)
        kept += handle.read(end - start)
    return bytes(kept)


def _read_varint(handle: BinaryIO) -> int:
    result = shift = 0
    while True:
        byte = handle.read(1)
        if not byte:
            raise ValueError("file is truncated")
        result |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return result
        shift += 7
        if shift > 63:
            raise ValueError("malformed varint")
