"""ONNX Runtime's optimised graph of a model, saved once in a cache folder and loaded by later sessions.

Graph optimisation (constant folding, fusions, the NCHWc layout of the convolutions) is most of what
opening a CPU session costs: 0.1-0.4 s for a U-Net 256 on a loaded 2-core machine. The first session of a
model saves the optimised graph (``SessionOptions.optimized_model_filepath``); later ones load it with
optimisation turned off, which runs the same kernels on the same weights, so outputs are identical.

The NCHWc layout is specific to the CPU's instruction set, so an entry is keyed by the CPU's model
and flags as well as ONNX Runtime's version and the model file (size, mtime and its first and last
64 KiB: a changed export gets a new entry without hashing a whole file on every start). CPU sessions
only: a graph saved for CUDA holds Memcpy nodes that do not load again (onnxruntime#11348, #17837).
The cache is an optimisation: an unreadable, corrupt or stale entry is rebuilt, and a folder that
cannot be written means a session built as without it. ``TRANSLATION_ORT_CACHE=0`` turns it off.
"""
from __future__ import annotations

import hashlib
import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import onnxruntime as ort

from ..atomic import TEMP_PREFIX, atomic_path
from ..errors import first_line

log = logging.getLogger(__name__)

SWITCH = "TRANSLATION_ORT_CACHE"
FORMAT = "1"                   # bump when what an entry holds changes
SAMPLE_BYTES = 64 * 1024       # read from each end of the model file for its key
MAX_MODEL_BYTES = 1 << 30      # larger models need external initialisers: not cached
ENTRIES_PER_MODEL = 3          # newest kept per model name; older exports' entries are removed
STALE_TEMP_SECONDS = 3600      # temp files of writers killed mid-way

OptionsFactory = Callable[[], ort.SessionOptions]


def cache_enabled() -> bool:
    return os.environ.get(SWITCH, "1").strip().lower() not in ("0", "off", "false", "no")


def default_cache_dir() -> Path:
    """``$TRANSLATION_CACHE/ort``, else ``$XDG_CACHE_HOME/translation/ort``, else ``~/.cache/translation/ort``."""
    base = os.environ.get("TRANSLATION_CACHE")
    if base:
        return Path(base).expanduser() / "ort"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "translation" / "ort"


def cpu_signature() -> str:
    """The machine type and, on Linux, the first CPU's model name and instruction-set flags."""
    parts = [platform.machine()]
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    break   # the first processor's block is enough
                key = line.split(":", 1)[0].strip()
                if key in ("model name", "flags", "Features", "CPU part"):
                    parts.append(line.strip())
    except OSError:
        pass
    return "\n".join(parts)


def entry_path(model: Path, providers: Sequence[str], cache_dir: Path) -> Path | None:
    """Where the optimised graph of ``model`` for ``providers`` is cached (None: not cacheable)."""
    try:
        stat = model.stat()
        if stat.st_size > MAX_MODEL_BYTES:
            return None
        with open(model, "rb") as handle:
            head = handle.read(SAMPLE_BYTES)
            handle.seek(max(0, stat.st_size - SAMPLE_BYTES))
            tail = handle.read(SAMPLE_BYTES)
    except OSError:
        return None
    key = hashlib.sha256()
    for part in (FORMAT, ort.__version__, ",".join(providers), cpu_signature(), str(stat.st_size),
                 str(stat.st_mtime_ns)):
        key.update(part.encode() + b"\0")
    key.update(head)
    key.update(tail)
    return cache_dir / f"{model.stem}-{key.hexdigest()[:24]}.onnx"


def open_session(model: Path, make_options: OptionsFactory, providers: Sequence[str],
                 metadata: dict[str, str], cache_dir: Path | None = None) -> ort.InferenceSession:
    """A session on ``model``'s cached optimised graph, writing the cache entry first when there is none.

    ``metadata`` (the model's own ``metadata_props``) must come back from a cached graph: ONNX Runtime
    keeps them, and a truncated or foreign file does not. Errors of the model itself are raised as by
    ``ort.InferenceSession``; errors of the cache never are.
    """
    entry = entry_path(model, providers, cache_dir or default_cache_dir())
    if entry is None:
        return ort.InferenceSession(str(model), make_options(), providers=list(providers))
    if entry.is_file():
        session = _load(entry, make_options, providers, metadata)
        if session is not None:
            return session
    return _build_and_save(model, entry, make_options, providers)


def _load(entry: Path, make_options: OptionsFactory, providers: Sequence[str],
          metadata: dict[str, str]) -> ort.InferenceSession | None:
    options = make_options()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # done when it was saved
    try:
        session = ort.InferenceSession(str(entry), options, providers=list(providers))
        if session.get_modelmeta().custom_metadata_map != metadata:
            raise ValueError("its metadata differ from the model's")
    except Exception as exc:  # noqa: BLE001 - any unusable entry is rebuilt
        log.info("ignoring the cached optimised graph %s (%s); rebuilding it", entry, first_line(exc, 200))
        _remove(entry)
        return None
    try:
        os.utime(entry)   # recently used: kept by the pruning
    except OSError:
        pass
    return session


def _build_and_save(model: Path, entry: Path, make_options: OptionsFactory,
                    providers: Sequence[str]) -> ort.InferenceSession:
    session = None
    try:
        with atomic_path(entry) as temp:
            options = make_options()
            options.optimized_model_filepath = str(temp)
            session = ort.InferenceSession(str(model), options, providers=list(providers))
    except Exception as exc:  # noqa: BLE001 - the cache is an optimisation; the model's own errors come below
        if session is not None:
            log.debug("could not keep the optimised graph in %s: %s", entry.parent, exc)
            return session
        log.debug("not caching the optimised graph of %s: %s", model, exc)
        return ort.InferenceSession(str(model), make_options(), providers=list(providers))
    _prune(entry)
    return session


def _prune(kept: Path) -> None:
    """Remove older entries of the same model name and temp files left by killed writers."""
    stem = kept.name.rsplit("-", 1)[0]
    entries, now = [], time.time()
    try:
        for path in kept.parent.iterdir():
            if path.name.startswith(TEMP_PREFIX):
                if now - path.stat().st_mtime > STALE_TEMP_SECONDS:
                    _remove(path)
            elif path.suffix == ".onnx" and path.name.rsplit("-", 1)[0] == stem and path != kept:
                entries.append((path.stat().st_mtime, path))
    except OSError:
        return
    for _, path in sorted(entries, reverse=True)[ENTRIES_PER_MODEL - 1:]:
        _remove(path)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
