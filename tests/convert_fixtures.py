"""What the conversion tests share: a tiny style model, smooth test photos, a folder with a broken file, and
digests of a folder's files."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from translation.export import export_generator
from translation.imaging.io import write_image
from translation.networks import GeneratorConfig, build_generator


def export_tiny_style_model(folder: Path) -> Path:
    """A one-block ResNet (4 features) exported as a style-transfer model: fast, and it changes every pixel."""
    torch.manual_seed(0)
    config = GeneratorConfig.named("resnet_1blocks", ngf=4)
    return export_generator(build_generator(config), folder / "tiny.onnx", task="style-transfer", config=config)


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    phase = seed * 0.7
    base = np.stack([np.sin(x / 9.0 + phase), np.cos(y / 7.0 + phase), np.sin((x + y) / 13.0)], -1)
    return np.round((base * 0.5 + 0.5) * 255).astype(np.uint8)


def write_two_good_and_a_truncated(folder: Path) -> None:
    """good1.png, good2.jpg and truncated.jpg (a JPEG cut after 300 bytes) in ``folder``."""
    write_image(folder / "good1.png", photo(20, 20))
    write_image(folder / "good2.jpg", photo(24, 20, 1))
    buffer = io.BytesIO()
    Image.fromarray(photo(64, 64)).save(buffer, "JPEG")
    (folder / "truncated.jpg").write_bytes(buffer.getvalue()[:300])


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
