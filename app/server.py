"""Launching the app: options, the private workspace, offline settings and clean-up at exit."""
from __future__ import annotations

import atexit
import logging
import os
import re
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from translation.errors import TranslationError

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_MAX_FILE_SIZE = "20MB"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}


def parse_size(text: str | int) -> int:
    """"20MB", "512kb", "1.5GB" or a plain number of bytes -> bytes."""
    if isinstance(text, int):
        size = text
    else:
        match = _SIZE.match(str(text))
        if not match:
            raise TranslationError(f"--max-file-size {text!r}: use a size such as 20MB, 512KB or 1GB")
        size = int(float(match.group(1)) * _UNITS[(match.group(2) or "b").lower()])
    if size <= 0:
        raise TranslationError(f"--max-file-size {text!r}: the limit must be more than 0 bytes")
    return size


@dataclass
class AppConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    share: bool = False
    models_dirs: Sequence[Path] = field(default_factory=tuple)  # besides exports/ and $TRANSLATION_MODELS
    max_file_size: str | int = DEFAULT_MAX_FILE_SIZE
    concurrency: int = 1        # model runs at once (all users together); more only with spare cores or a GPU
    queue_size: int = 32        # requests that may wait; later ones are told the queue is full
    examples_dir: Path | None = None   # None: the repository's examples/
    threads: int | None = None  # ONNX Runtime intra-op threads per model (None: its default)

    def check(self) -> None:
        for folder in self.models_dirs:
            if not Path(folder).is_dir():
                raise TranslationError(f"--models {folder}: folder not found")
        if not 1 <= self.port <= 65535:
            raise TranslationError(f"--port {self.port}: use a port between 1 and 65535")
        if self.concurrency < 1 or self.queue_size < 1:
            raise TranslationError("--concurrency and --queue-size must be at least 1")
        parse_size(self.max_file_size)


class RunningApp:
    """A launched app: its URL, and ``close`` to stop it and delete its workspace."""

    def __init__(self, demo, workspace, url: str, share_url: str | None = None) -> None:
        self.demo, self.workspace, self.url, self.share_url = demo, workspace, url, share_url
        self._closed = threading.Event()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            self.demo.close()
        finally:
            self.workspace.cleanup()


def _offline_environment(gradio_cache: Path) -> None:
    """Before Gradio is imported: no analytics or telemetry, uploads in our workspace.

    (ONNX Runtime's telemetry is switched off for the whole package in ``translation/__init__.py``.)
    """
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["GRADIO_TEMP_DIR"] = str(gradio_cache)


def launch(config: AppConfig) -> RunningApp:
    """Build the page and start serving without blocking; the caller must ``close()`` the result."""
    config.check()
    from .workspace import Workspace

    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own start-up checks, one line each

    workspace = Workspace()
    atexit.register(workspace.cleanup)  # also when the process ends some other way than close()
    _offline_environment(workspace.gradio_cache)
    try:
        from .handlers import AppHandlers
        from .models import ModelRegistry
        from .ui import CSS, EXAMPLES_DIR, build_demo

        registry = ModelRegistry(config.models_dirs, threads=config.threads)
        handlers = AppHandlers(registry, workspace)
        demo = build_demo(handlers, examples_dir=config.examples_dir or EXAMPLES_DIR,
                          concurrency=config.concurrency)
        demo.queue(max_size=config.queue_size, default_concurrency_limit=config.concurrency)
        try:
            _, url, share_url = demo.launch(
                server_name=config.host, server_port=config.port, share=config.share,
                prevent_thread_lock=True, max_file_size=parse_size(config.max_file_size),
                allowed_paths=[], quiet=True, show_error=False, footer_links=["api"],
                ssr_mode=False, mcp_server=False, enable_monitoring=False, run_history=False,
                css=CSS, theme="default")
        except OSError as exc:
            raise TranslationError(f"cannot serve on {config.host}:{config.port} ({exc}); "
                                   "pick another with --port") from None
    except BaseException:
        workspace.cleanup()
        raise
    log.info("serving on %s%s (files in %s)", url, f", shared at {share_url}" if share_url else "", workspace.root)
    return RunningApp(demo, workspace, url, share_url)


def serve(config: AppConfig) -> None:
    """Serve until Ctrl-C or SIGTERM, then stop and delete the workspace."""
    stop = threading.Event()
    # Installed before launching: a signal that comes while the server starts still stops it cleanly
    # (the default Ctrl-C would leave the server thread running and the process hanging).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    app = launch(config)
    try:
        log.info("the app is ready: open %s (Ctrl-C to stop)", app.share_url or app.url)
        stop.wait()
    finally:
        app.close()
