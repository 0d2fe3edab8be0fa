"""The example inputs in ``examples/``: small pictures made from held-out photographs and artworks,
so nothing a default model was trained on is shown as an example."""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import atomic_path
from ..errors import TranslationError
from .cache import manifest, split_dir

log = logging.getLogger(__name__)

EXAMPLE_SIDE = 512          # long side of the example inputs
LOW_RESOLUTION_SIDE = 160   # long side of the super-resolution inputs
QUALITY = 88
# Which held-out pictures (by example_name) each task shows. Wood is almost colourless and gives an
# almost empty sketch, so it only serves super-resolution; the artworks are the two most unlike each other.
TASK_PICTURES = {
    "colorization": ("fresh-flower", "green-meadow", "one-stands-out"),
    "super-resolution": ("fresh-flower", "green-meadow", "one-stands-out", "wood"),
    "sketch-to-photo": ("fresh-flower", "green-meadow", "one-stands-out"),
    "style-transfer": ("fresh-flower", "one-stands-out", "kay", "safe-landing"),
}


def example_name(entry: str) -> str:
    """``/usr/share/wallpapers/OneStandsOut`` -> ``one-stands-out``."""
    stem = Path(entry).stem if Path(entry).suffix else Path(entry).name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", stem).replace("_", "-").lower()


def write_examples(output: str | os.PathLike[str], cache: str | os.PathLike[str] | None = None) -> list[Path]:
    """Write ``<output>/<task>/<name>.jpg`` (sketches: ``.png``) for the four tasks; returns the files."""
    output = Path(output)
    held_out = {example_name(r["entry"]): r for r in manifest(cache)["files"] if r["split"] == "val"}
    missing = sorted({name for names in TASK_PICTURES.values() for name in names} - set(held_out))
    if missing:
        raise TranslationError(f"{missing[0]}: not a held-out picture of the prepared cache; "
                               "update TASK_PICTURES in translation/collections/examples.py")
    sketcher = _sketcher()
    written: list[Path] = []
    for task, names in TASK_PICTURES.items():
        for name in names:
            image = _load(held_out[name], cache)
            if task == "colorization":
                image = image.convert("L")
            elif task == "super-resolution":
                image.thumbnail((LOW_RESOLUTION_SIDE, LOW_RESOLUTION_SIDE), Image.Resampling.LANCZOS)
            elif task == "sketch-to-photo":
                if sketcher is None:
                    break
                sketch = sketcher(np.asarray(image, dtype=np.float32) / 255.0)
                image = Image.fromarray(np.round(sketch * 255).astype(np.uint8), mode="L")
            written.append(_save(image, output / task / f"{name}{'.png' if task == 'sketch-to-photo' else '.jpg'}"))
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


def _sketcher():
    try:
        from ..tasks import extract_sketch
    except ImportError:
        log.warning("translation.tasks.extract_sketch is not available: no sketch-to-photo examples")
        return None
    return extract_sketch
