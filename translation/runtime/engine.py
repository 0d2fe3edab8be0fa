"""One ONNX Runtime session per model, created once and reused.

Providers are picked automatically: CUDA when the session really gets it, else CPU. onnxruntime-gpu
lists CUDAExecutionProvider even on machines without a GPU or without the CUDA libraries, and a
failed attempt logs a screen of errors; so CUDA is only tried where an NVIDIA driver is visible, the
attempt runs with ONNX Runtime's logging silenced, and the session's real providers are checked.
CPU sessions open on the optimised graph an earlier session saved (``session_cache.py``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..errors import TranslationError, first_line
from .session_cache import cache_enabled, open_session as open_cached_session
from .models import ModelInfo, resolve_model

log = logging.getLogger(__name__)

CPU, CUDA = "CPUExecutionProvider", "CUDAExecutionProvider"
# Heuristic cuDNN algorithm choice: no exhaustive benchmark (seconds) the first time each input shape
# is seen; the runtime feeds fixed tile shapes anyway, so one choice per shape is all it needs.
CUDA_OPTIONS = {"cudnn_conv_algo_search": "HEURISTIC", "cudnn_conv_use_max_workspace": "1",
                "do_copy_in_default_stream": "1"}
PROVIDER_ALIASES = {"cpu": CPU, "cuda": CUDA, "gpu": CUDA, "tensorrt": "TensorrtExecutionProvider"}
_ORT_ERROR, _ORT_FATAL = 3, 4


def physical_cores() -> int | None:
    """Physical cores of the machine: Linux's sibling lists (as psutil reads them, without importing it)."""
    siblings = set()
    for topology in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/topology"):
        for name in ("core_cpus_list", "thread_siblings_list"):
            try:
                siblings.add((topology / name).read_text().strip())
                break
            except OSError:
                continue
    if siblings:
        return len(siblings)
    try:
        import psutil
    except ImportError:
        return None
    return psutil.cpu_count(logical=False)


def default_threads() -> int:
    """Physical cores available to this process (ONNX Runtime runs slower on hyper-threads)."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(physical_cores() or available, available))


def release_freed_memory() -> None:
    """Hand freed heap memory back to the OS (glibc keeps it otherwise).

    Building a session frees the parsed model again (about 40% of its size, 180 MB for a U-Net 256),
    but glibc keeps those pages, and they would count against the peak memory of a large image.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to do
        pass


def normalise_providers(providers: Sequence[str] | str | None) -> list[str] | None:
    """``"cuda,cpu"`` / ``["cuda"]`` / full provider names -> ONNX Runtime provider names (None = auto)."""
    if providers is None:
        return None
    if isinstance(providers, str):
        providers = [p for p in providers.split(",") if p.strip()]
    names = [PROVIDER_ALIASES.get(p.strip().lower(), p.strip()) for p in providers]
    if not names or names == ["auto"]:
        return None
    available = ort.get_available_providers()
    unknown = [name for name in names if name not in available]
    if unknown:
        raise TranslationError(f"execution provider {unknown[0]!r} is not available in this ONNX Runtime "
                               f"(available: {', '.join(available)})")
    return names


def gpu_visible() -> bool:
    """Whether an NVIDIA driver is visible (cheap; CUDA may still turn out unusable)."""
    if sys.platform.startswith("linux"):
        return any(Path(p).exists() for p in ("/dev/nvidiactl", "/proc/driver/nvidia/gpus", "/dev/dxg"))
    return sys.platform == "win32"


class Engine:
    """An ONNX Runtime session for one model: ``run`` maps N x C x H x W float32 to the same layout."""

    def __init__(self, model: ModelInfo | str | Path, *, providers: Sequence[str] | str | None = None,
                 threads: int | None = None, extra_dirs: Sequence[str | Path] = (),
                 warmup: bool = True, io_binding: bool | None = None, session_cache: bool | None = None,
                 spinning: bool = True) -> None:
        self.info: ModelInfo = model if isinstance(model, ModelInfo) else resolve_model(model, extra_dirs)
        self.threads = int(threads) if threads else default_threads()
        # ONNX Runtime's idle CPU threads spin waiting for the next run (its default: the network alone is
        # at its fastest); off, they sleep and leave the cores to the decode and encode threads of a pipeline
        self.spinning = bool(spinning)
        # CPU sessions load the optimised graph a previous session saved (session_cache.py);
        # None: on unless $TRANSLATION_ORT_CACHE turns it off
        self.session_cache: bool = cache_enabled() if session_cache is None else bool(session_cache)
        self._session = self._create_session(normalise_providers(providers))
        self.providers: list[str] = self._session.get_providers()
        self.device: str = "CUDA" if self.providers[0] == CUDA else self.providers[0].removesuffix("ExecutionProvider")
        # IO binding: the output is allocated where the model runs and copied back once, not staged
        # through ONNX Runtime's per-run host buffers (default: on CUDA)
        self.io_binding: bool = self.device == "CUDA" if io_binding is None else bool(io_binding)
        self._ort_device = ("cuda", 0) if self.device == "CUDA" else ("cpu", 0)
        graph_input = self._session.get_inputs()[0]
        self._input, self._output = graph_input.name, self._session.get_outputs()[0].name
        channels = graph_input.shape[1] if len(graph_input.shape) == 4 else None
        if isinstance(channels, int) and channels != self.info.in_channels:
            raise TranslationError(f"{self.info.path}: the graph takes {channels} channels but its metadata "
                                   f"says {self.info.in_channels}; re-export the model")
        if warmup:
            self.warm_up()
        release_freed_memory()

    @property
    def size_multiple(self) -> int:
        return self.info.size_multiple

    @property
    def tile_size(self) -> int:
        return self.info.tile_size

    @property
    def preferred_batch_size(self) -> int:
        """Tiles per run: GPUs like batches; on CPU one tile at a time is as fast and needs less memory."""
        return 1 if self.device == "CPU" else 4

    def __repr__(self) -> str:
        return f"Engine({self.info.name!r}, device={self.device}, threads={self.threads})"

    def _options(self) -> ort.SessionOptions:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        if not self.spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = _ORT_ERROR
        return options

    def _create_session(self, providers: list[str] | None) -> ort.InferenceSession:
        path = self.info.path
        if providers is None:  # auto
            if CUDA in ort.get_available_providers() and gpu_visible():
                session = self._try_cuda()
                if session is not None:
                    return session
            return self._open([CPU])
        session = self._open(providers, quiet=providers[0] != CPU)
        if session.get_providers()[0] != providers[0]:
            raise TranslationError(f"{path}: {providers[0]} was requested but could not be initialised "
                                   "(check the GPU driver, CUDA and cuDNN versions; or use --device cpu)")
        return session

    def _try_cuda(self) -> ort.InferenceSession | None:
        if hasattr(ort, "preload_dlls"):  # CUDA / cuDNN from the nvidia-* wheels, when installed
            try:
                ort.preload_dlls(msvc=False)
            except Exception as exc:  # noqa: BLE001 - only an optimisation; the session check decides
                log.debug("onnxruntime.preload_dlls failed: %s", exc)
        try:
            session = self._open([CUDA, CPU], quiet=True)
        except TranslationError as exc:
            log.info("CUDA not usable (%s); running on CPU", exc)
            return None
        if session.get_providers()[0] == CUDA:
            return session
        log.info("CUDA not usable (missing CUDA/cuDNN libraries?); running on CPU")
        return None

    def _open(self, providers: list[str], quiet: bool = False) -> ort.InferenceSession:
        ort.set_default_logger_severity(_ORT_FATAL if quiet else _ORT_ERROR)
        with_options = [(p, CUDA_OPTIONS) if p == CUDA else p for p in providers]
        try:
            if self.session_cache and providers == [CPU]:
                return open_cached_session(self.info.path, self._options, providers, self.info.metadata)
            return ort.InferenceSession(str(self.info.path), self._options(), providers=with_options)
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
            raise TranslationError(f"{self.info.path}: cannot load the model ({first_line(exc, 200)})") from None
        finally:
            ort.set_default_logger_severity(_ORT_ERROR)

    def warm_up(self) -> None:
        """One small run so the first real image does not pay for memory planning and kernel choice."""
        side = max(64, self.size_multiple)
        side = -(-side // self.size_multiple) * self.size_multiple
        self.run(np.zeros((1, self.info.in_channels, side, side), np.float32))

    def run(self, batch: np.ndarray) -> np.ndarray:
        """N x C x H x W float32 in [-1, 1] -> N x C' x H x W float32 (H, W multiples of ``size_multiple``)."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[1] != self.info.in_channels:
            raise TranslationError(f"{self.info.path}: expected an N x {self.info.in_channels} x H x W batch, "
                                   f"got shape {batch.shape}")
        try:
            if self.io_binding:
                return self._run_bound(batch)
            return self._session.run([self._output], {self._input: batch})[0]
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
            raise TranslationError(f"{self.info.path}: inference failed on a batch of shape {batch.shape} "
                                   f"({first_line(exc, 200)})") from None

    def _run_bound(self, batch: np.ndarray) -> np.ndarray:
        device, index = self._ort_device
        binding = self._session.io_binding()
        binding.bind_ortvalue_input(self._input, ort.OrtValue.ortvalue_from_numpy(batch, device, index))
        binding.bind_output(self._output, device, index)
        self._session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]
