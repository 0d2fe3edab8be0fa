"""Several models on one image: each output with the time it took and a one-line summary of its card.

    from translation.runtime import compare_models
    for result in compare_models("sketch.png", ["sketch-to-photo", "runs/mine/exports/epoch40.onnx"]):
        print(result.model.name, f"{result.seconds:.2f} s", result.summary)
        write_image(f"{result.model.name}.png", result.image.rgb, result.image.alpha)
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import TranslationError
from ..imaging.io import DEFAULT_MAX_PIXELS, LoadedImage
from .models import ModelInfo
from .pipeline import ImageSource, get_engine, load, translate


@dataclass(frozen=True)
class Comparison:
    """One model's result on the shared input."""

    model: ModelInfo
    image: LoadedImage     # the output, as ``translate`` returns it
    seconds: float         # the translation alone (the model was loaded before the clock started)
    device: str            # "CPU" or "CUDA"

    @property
    def summary(self) -> str:
        return card_summary(self.model)


def compare_models(image: ImageSource, models: Sequence[ModelInfo | str | Path], *,
                   providers: Sequence[str] | str | None = None, threads: int | None = None,
                   extra_dirs: Sequence[str | Path] = (), max_pixels: int | None = DEFAULT_MAX_PIXELS,
                   on_model: Callable[[int, ModelInfo], None] | None = None,
                   **translate_options) -> list[Comparison]:
    """``models`` (names, paths or ``ModelInfo``) on one image, read once, in the order given.

    ``translate_options`` go to every ``translate`` call (``tile_size``, ``sketch_from_photo``, ...);
    ``on_model(index, info)`` is called before each model runs (for a progress bar).
    """
    if not models:
        raise TranslationError("no models to compare: name at least one")
    source = load(image, max_pixels=max_pixels)
    results = []
    for index, model in enumerate(models):
        engine = get_engine(model, providers=providers, threads=threads, extra_dirs=extra_dirs)
        if on_model is not None:
            on_model(index, engine.info)
        started = time.perf_counter()
        output = translate(source, engine, **translate_options)
        results.append(Comparison(engine.info, output, time.perf_counter() - started, engine.device))
    return results


def card_summary(info: ModelInfo) -> str:
    """The network, its precision, size and training, and its held-out scores, in one line."""
    card = info.card or {}
    training = card.get("training") if isinstance(card.get("training"), dict) else info.training
    parts = [info.network]
    if info.metadata.get("precision", "fp32") != "fp32":
        parts.append(info.metadata["precision"].upper())
    if isinstance(card.get("parameters"), (int, float)):
        parts.append(f"{card['parameters'] / 1e6:.1f} M parameters")
    if isinstance(training.get("steps"), int):
        parts.append(f"{training['steps']:,} steps")
    metrics = card.get("metrics") if isinstance(card.get("metrics"), dict) else {}
    scores = [f"{name.upper()} {metrics[name]:.{digits}f}{unit}" for name, digits, unit in
              (("psnr", 2, " dB"), ("ssim", 3, "")) if isinstance(metrics.get(name), (int, float))]
    if scores:
        parts.append("held-out " + ", ".join(scores))
    elif not card and info.training.get("dataset"):
        parts.append(f"trained on {info.training['dataset']}")
    return " · ".join(parts)
