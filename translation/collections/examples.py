"""The example inputs in ``examples/``: small pictures made from held-out photographs and artworks,
so nothing a default model was trained on is shown as an example."""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import atomic_path
from ..errors import TranslationError
from ..tasks import Task, registered_tasks
from .cache import manifest, split_dir

EXAMPLE_SIDE = 512          # long side of the held-out pictures the examples are made from
QUALITY = 88


def example_name(entry: str) -> str:
    """``/usr/share/wallpapers/OneStandsOut`` -> ``one-stands-out``."""
    stem = Path(entry).stem if Path(entry).suffix else Path(entry).name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", stem).replace("_", "-").lower()


def write_examples(output: str | os.PathLike[str], cache: str | os.PathLike[str] | None = None,
                   tasks: Sequence[Task] | None = None) -> list[Path]:
    """Write ``<output>/<task>/<name><suffix>`` for each task with examples (``Task.examples``: which
    held-out pictures, made into inputs how; default: every registered task); returns the files."""
    output = Path(output)
    held_out = {example_name(r["entry"]): r for r in manifest(cache)["files"] if r["split"] == "val"}
    tasks = [task for task in (registered_tasks() if tasks is None else tasks) if task.examples is not None]
    missing = sorted({name for task in tasks for name in task.examples.pictures} - set(held_out))
    if missing:
        raise TranslationError(f"{missing[0]}: not a held-out picture of the prepared cache; "
                               "change the task's examples (Task.examples in translation/tasks/)")
    written: list[Path] = []
    for task in tasks:
        for name in task.examples.pictures:
            example = task.examples.make(np.asarray(_load(held_out[name], cache)))
            image = Image.fromarray(np.ascontiguousarray(example))
            written.append(_save(image, output / task.name / f"{name}{task.examples.suffix}"))
    return written


def _load(record: dict, cache: str | os.PathLike[str] | None) -> Image.Image:
    folder = split_dir(record["collection"], record["split"], cache)
    with Image.open(folder / Path(record["path"]).name) as image:
        image = image.convert("RGB")
    image.thumbnail((EXAMPLE_SIDE, EXAMPLE_SIDE), Image.Resampling.LANCZOS)
    return image


def _save(image: Image.Image, target: Path) -> Path:
    """Sketches as PNG (JPEG rings around thin lines), the rest as JPEG."""
    with atomic_path(target) as tmp:
        if target.suffix == ".png":
            image.save(tmp, format="PNG", optimize=True)
        else:
            image.save(tmp, format="JPEG", quality=QUALITY, optimize=True)
    target.chmod(0o644)  # the temp file was private; examples are for everyone
    return target

