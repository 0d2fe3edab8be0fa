"""Training checkpoints: written atomically, the newest K kept, the newest *complete* one found on resume.

A checkpoint is a dict of tensors and plain Python values (no numpy arrays, no custom classes), so
``torch.load(weights_only=True)`` reads it; the layout is in docs/ARCHITECTURE.md ("Checkpoints").
Beside them, ``best.pt`` holds the generators of the step with the best validation score (the family's
``best_score``): the same layout without the training state, outside the --keep rotation.
"""
from __future__ import annotations

import logging
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import TEMP_PREFIX, atomic_path
from ..errors import TranslationError
from ..networks.checkpoint import CHECKPOINT_KIND, read_checkpoint

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
BEST_NAME = "best.pt"
RUN_CHECKPOINTS = ("latest", "best")  # what run_checkpoint picks from a run folder
_NAME = re.compile(r"step_(\d+)\.pt")
# What a checkpoint needs to continue a run (beyond the generator weights any checkpoint holds).
TRAINING_KEYS = frozenset({"config", "networks", "optimizers", "schedulers", "step", "epoch", "data_order", "ranks"})


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{step:09d}.pt"


def best_checkpoint_path(run_dir: Path) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / BEST_NAME


def run_checkpoint(run_dir: Path, which: str = "latest") -> Path:
    """The checkpoint of a run folder to export: its newest (``"latest"``) or ``best.pt`` (``"best"``)."""
    run_dir = Path(run_dir)
    if which not in RUN_CHECKPOINTS:
        raise TranslationError(f"unknown checkpoint {which!r} of a run; choose one of {', '.join(RUN_CHECKPOINTS)}")
    if which == "best":
        best = best_checkpoint_path(run_dir)
        if not best.is_file():
            raise TranslationError(f"{run_dir}: no best checkpoint ({best}): it is written after the first "
                                   "epoch of a run with validation data")
        return best
    found = list_checkpoints(run_dir)
    if not found:
        raise TranslationError(f"{run_dir}: no checkpoints in {run_dir / CHECKPOINT_DIR}; is this the --out folder "
                               "of a training run?")
    return found[-1][1]


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of the checkpoint files in ``run_dir``, oldest first."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.fullmatch(p.name))]
    return sorted(found)


def save_checkpoint(run_dir: Path, step: int, payload: dict[str, Any], keep: int) -> Path:
    """Write ``payload`` as the checkpoint of ``step`` (atomically), then drop all but the newest ``keep``
    (``keep`` 0 keeps every one)."""
    path = checkpoint_path(run_dir, step)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    if keep:
        for _, old in list_checkpoints(run_dir)[:-keep]:
            old.unlink(missing_ok=True)
    log.debug("saved %s", path)
    return path


def save_best_checkpoint(run_dir: Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` as the run's ``best.pt`` (atomically, over the previous best)."""
    path = best_checkpoint_path(run_dir)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_latest_checkpoint(run_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that reads back completely; interrupted writes are skipped with a warning.

    Temp files of writes that never finished are deleted (each can be as large as a checkpoint).
    """
    folder = Path(run_dir) / CHECKPOINT_DIR
    if folder.is_dir():
        for leftover in sorted(folder.glob(f"{TEMP_PREFIX}*")):
            log.warning("ignoring %s: left over from an interrupted checkpoint write; deleting it", leftover)
            leftover.unlink(missing_ok=True)
    for step, path in reversed(list_checkpoints(run_dir)):
        try:
            payload = read_checkpoint(path)
        except TranslationError as exc:
            log.warning("ignoring checkpoint %s (incomplete or corrupt: %s); trying an older one", path, exc)
            continue
        if not (isinstance(payload, dict) and payload.get("kind") == CHECKPOINT_KIND and payload.get("step") == step
                and TRAINING_KEYS <= payload.keys()):
            log.warning("ignoring checkpoint %s: not a complete training checkpoint of this tool", path)
            continue
        return path, payload
    return None


# ------------------------------------------------------------------------------------ RNG states

def rng_state(device: torch.device) -> dict[str, Any]:
    """The global generators' states as tensors, lists and numbers."""
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [np_name, torch.from_numpy(np_keys.astype(np.int64)), int(np_pos), int(np_has_gauss), float(np_gauss)],
        "python": [py_version, list(py_internal), py_gauss],
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
