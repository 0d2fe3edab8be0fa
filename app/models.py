"""The models the app offers, found by their metadata; requests name a model, never a path."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from translation.errors import TranslationError
from translation.runtime import Engine, ModelInfo, find_models, get_engine
from translation.tasks import find_task

log = logging.getLogger(__name__)


class ModelRegistry:
    """Models by name (the ONNX file stem) from exports/, $TRANSLATION_MODELS and ``extra_dirs``.

    Only names found by a scan are accepted, so a request cannot make the app open a file of its
    choosing. Engines come from the runtime's cache (one session per model file, reused).
    """

    def __init__(self, extra_dirs: Sequence[str | Path] = (), *, threads: int | None = None) -> None:
        self.extra_dirs = tuple(Path(d) for d in extra_dirs)
        self.threads = threads
        self._models: dict[str, ModelInfo] = {}
        self._devices: dict[str, str] = {}
        self.refresh()

    def refresh(self) -> None:
        """Scan the model folders again, so models exported while the app runs appear."""
        # find_models gives one model per name: the first folder (--models, then $TRANSLATION_MODELS) wins
        self._models = {info.name: info for info in find_models(self.extra_dirs)}
        log.info("models: %s", ", ".join(f"{m.name} ({m.task.name})" for m in self._models.values()) or "none")

    @property
    def models(self) -> list[ModelInfo]:
        return list(self._models.values())

    def names(self, task: str | None = None) -> list[str]:
        """Model names, those of ``task`` only when given: its shipped ones first (in its order), then by name."""
        names = [m.name for m in self._models.values() if task is None or m.task.name == task]
        registered = find_task(task) if task else None
        shipped = list(registered.model_names if registered and registered.model_names else [task])
        return sorted(names, key=lambda name: (shipped.index(name) if name in shipped else len(shipped), name))

    def get(self, name: str) -> ModelInfo:
        try:
            return self._models[str(name)]
        except KeyError:
            known = ", ".join(self._models) or "none"
            raise TranslationError(f"model {name!r} is not available (available: {known})") from None

    def engine(self, name: str) -> Engine:
        engine = get_engine(self.get(name), threads=self.threads)
        self._devices[name] = engine.device
        return engine

    def device(self, name: str) -> str | None:
        """The device the model ran on, once it has been loaded (nothing is loaded here)."""
        return self._devices.get(str(name))
