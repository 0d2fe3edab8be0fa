"""The app's own temporary folder: every file the app writes lives under it, and it goes at exit."""
from __future__ import annotations

import logging
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from translation.convert import check_format
from translation.errors import TranslationError

log = logging.getLogger(__name__)

KEEP_OUTPUTS_SECONDS = 24 * 3600   # a long-running app forgets outputs older than this
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_stem(name: str | None, default: str = "image") -> str:
    """A file stem built only from ``name``'s last component and harmless characters.

    Request data (an upload's original name) never becomes a path of its own: separators, dots at the
    start and anything outside [A-Za-z0-9._-] are replaced, so the result cannot leave its folder.
    """
    stem = Path(name).stem if name else ""
    stem = _UNSAFE.sub("_", stem).strip("._-")[:80]
    return stem or default


class Workspace:
    """A private temporary folder for outputs (``outputs/<random>/``), removed by ``cleanup``."""

    def __init__(self, root: str | Path | None = None, *, keep_seconds: float = KEEP_OUTPUTS_SECONDS) -> None:
        self.keep_seconds = keep_seconds
        self._pruned_at = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix="translation-app-")) if root is None else Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root = self.root.resolve()
        self.outputs = self.root / "outputs"
        self.outputs.mkdir(exist_ok=True)

    @property
    def gradio_cache(self) -> Path:
        """Where Gradio keeps uploads and served copies (set as GRADIO_TEMP_DIR by the server)."""
        return self.root / "gradio"

    def new_folder(self) -> Path:
        """A fresh folder for one request's files; names inside it cannot clash with other requests."""
        if time.monotonic() - self._pruned_at > 60:
            self.prune()
        folder = self.outputs / uuid.uuid4().hex
        folder.mkdir()
        return folder

    def prune(self) -> None:
        """Delete request folders older than ``keep_seconds`` (the page links to them only for a while)."""
        self._pruned_at = time.monotonic()
        cutoff = time.time() - self.keep_seconds
        for folder in self.outputs.iterdir():
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
            except FileNotFoundError:
                continue

    def output_path(self, folder: Path, source_name: str | None, tag: str, output_format: str) -> Path:
        """``<folder>/<safe source stem>-<tag>.<format>``, checked to stay inside the workspace."""
        fmt = check_format(output_format)
        path = (folder / f"{safe_stem(source_name)}-{safe_stem(tag, 'output')}.{fmt}").resolve()
        if not path.is_relative_to(self.outputs):
            raise TranslationError(f"{path}: refusing to write outside the app's folder {self.outputs}")
        return path

    def contains(self, path: str | Path) -> bool:
        return Path(path).resolve().is_relative_to(self.root)

    def cleanup(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)
            log.info("removed the app's temporary folder %s", self.root)
