"""Recipes: the exact settings that produce the default models shipped in ``exports/``.

A recipe names a model family, its options, the built-in collection it trains on and the ONNX files
it ships. ``translation train --recipe NAME`` trains it (continuing a stopped run), and ``--ship``
exports, evaluates on the held-out photographs and writes the model card beside each ONNX file.
The settings are sized for a CPU (2 cores, minutes per model); on a GPU raise the epochs.
"""
from __future__ import annotations

import json
import logging
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import TranslationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shipped:
    """One ONNX file a recipe ships: which generator of the run, as which task."""

    stem: str
    generator: str
    task: str
    title: str


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    model: str                          # a registered family: pix2pix | cyclegan
    options: dict[str, Any]             # TrainConfig fields
    ships: tuple[Shipped, ...]
    family_options: dict[str, Any] = field(default_factory=dict)  # the family's own (its Options)
    unpaired: bool = False              # photos (A) and art (B) as two sets; else the photos alone
    skip_grayscale: bool = False        # leave black-and-white photos out (colorization)
    # packages whose pictures the recipe leaves out (train and validation alike; the held-out measure of
    # ``ship`` still takes every held-out picture)
    skip_packages: tuple[str, ...] = ()
    eval_back: dict[str, str] = field(default_factory=dict)  # stem -> stem of the opposite direction
    export_options: dict[str, Any] = field(default_factory=dict)  # export_generator's (working_size, tile_size)
    # stem -> collection whose held-out images are the domain it translates into (the distribution distance)
    eval_target: dict[str, str] = field(default_factory=dict)
    default: bool = True                # ships a default model of exports/ (else an alternative to compare)
    # generator -> stem of a shipped model whose weights the run starts from (a recipe that continues one)
    start_from: dict[str, str] = field(default_factory=dict)

    def config(self, data: Path, out: Path, **overrides: Any):
        from .training.config import TrainConfig

        from .default_models import MODELS_DIR

        options = {**self.options, **{k: v for k, v in overrides.items() if v is not None}}
        options.setdefault("start_from", {name: str(MODELS_DIR / f"{stem}.onnx") for name, stem in self.start_from.items()})
        return TrainConfig(model=self.model, data=data, out=out, family_options=self.family_options, **options)


# Shared by the three pix2pix recipes: a compact U-Net (ngf 32: ~13.6 M weights, ~54 MB as fp32 ONNX).
_PIX2PIX = dict(netG="unet_256", ngf=32, ndf=32, crop_size=256, batch_size=4, repeats=10, workers=2,
                save_every=240, sample_every=240, keep=2, log_every=12, val_max=8)

_SUPER_RESOLUTION = {**_PIX2PIX, "task": "super-resolution", "netG": "shuffle4_12blocks", "ngf": 48, "ndf": 16,
                     "crop_size": 128, "batch_size": 16, "repeats": 8, "preprocess": "random_scale",
                     "load_size": 512, "rotate": True, "norm": "none", "dropout": False, "residual": True,
                     "lr": 5e-4, "beta1": 0.9, "epochs": 60, "epochs_decay": 60, "save_every": 350,
                     "sample_every": 700, "log_every": 35}
# One tile of 2048 px (the x4 output of a 512 px photo: no overlap to compute twice, nothing to blend);
# the network works at a quarter of that, so a tile needs ~50 MB per layer (benchmarks/RESULTS.md).
_SUPER_RESOLUTION_EXPORT = {"tile_size": 2048}
_STYLE = dict(netG="resnet_6blocks", ngf=32, ndf=32, load_size=160, crop_size=128, batch_size=1,
              task="style-transfer", repeats=5, workers=2, epochs=8, epochs_decay=8,
              save_every=475, sample_every=475, keep=2, log_every=19)
_STYLE_SHIPS = (Shipped("style-photo2art", "G_A", "style-transfer", "Style transfer: photo to art"),
                Shipped("style-art2photo", "G_B", "style-transfer", "Style transfer: art to photo"))
_STYLE_BACK = {"style-photo2art": "style-art2photo", "style-art2photo": "style-photo2art"}
_STYLE_TARGET = {"style-photo2art": "art", "style-art2photo": "photos"}
# The photographs the colorization, sketch and style files were trained without: 224 of 290 colour photos
# would be its landscapes, and a colorization run on them learnt a sky-over-sand prior that painted
# everyday close-ups wrong (benchmarks/RESULTS.md, session 17); super-resolution gains from them.
_LANDSCAPES = ("endless-sky-data",)

RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("super-resolution", "x4 super-resolution: a pixel-shuffle network (12 blocks of 48 features at a "
           "quarter of the resolution, no norm, as in ESPCN / EDSR) refines the bicubic upscale; trained on photo "
           "crops at random scales, turns and flips, area-downscaled with occasional blur, noise and JPEG; L1 with "
           "a faint PatchGAN term (lambda_L1 100000): a stronger one trades PSNR for texture",
           "pix2pix", _SUPER_RESOLUTION,
           (Shipped("super-resolution", "G", "super-resolution", "Super-resolution x4"),),
           family_options={"lambda_l1": 100000.0}, export_options=_SUPER_RESOLUTION_EXPORT),
    Recipe("colorization", "L -> ab colorization (Lab colour space), pix2pix U-Net with batch norm and "
           "resize-convolution up-sampling (no checkerboard), a strong L1 term (lambda_L1 500: a muted colour "
           "beats a wrong one), DiffAugment (translation, cutout) for the PatchGAN and an EMA of the weights; "
           "trained on whole photos resized to 286 px squares, so it colours the whole photo resized to a 256 px "
           "square (its size multiple nearest that scale; the shape it learnt from, where a photo padded out to a "
           "square measured 0.9 dB worse) and the chroma is resized back onto the full-resolution L, at 1.35 times the "
           "strength the L1 regression predicts (chosen on the held-out photos: 1.35-1.45 keep it above the gray "
           "input's PSNR with at least 60% of the photos' colourfulness)",
           "pix2pix", {**_PIX2PIX, "task": "colorization", "load_size": 286, "epochs": 7, "epochs_decay": 7,
                       "upsample": "resize", "ema": 0.999, "diffaugment": "translation,cutout",
                       "save_every": 165, "sample_every": 330, "log_every": 15},
           (Shipped("colorization", "G", "colorization", "Colorization"),), skip_grayscale=True, skip_packages=_LANDSCAPES,
           family_options={"lambda_l1": 500.0}, export_options={"working_size": 256, "working_shape": "square", "chroma_gain": 1.35}),
    Recipe("sketch-to-photo", "line drawing (extracted from the photo) -> photo, pix2pix U-Net with batch norm and "
           "resize-convolution up-sampling, learning from shaded sketches of photo crops at random scales; a strong L1 term (lambda_L1 "
           "500: a plausible muted colour beats a saturated wrong one), DiffAugment for the PatchGAN, an EMA of the "
           "weights",
           "pix2pix", {**_PIX2PIX, "task": "sketch-to-photo", "preprocess": "random_scale", "load_size": 512,
                       "epochs": 3, "epochs_decay": 3, "upsample": "resize", "ema": 0.999,
                       "diffaugment": "translation,cutout", "save_every": 165, "sample_every": 330,
                       "log_every": 15},
           (Shipped("sketch-to-photo", "G", "sketch-to-photo", "Sketch to photo"),), skip_grayscale=True,
           skip_packages=_LANDSCAPES,
           family_options={"lambda_l1": 500.0}),
    Recipe("style-transfer", "CycleGAN between the photographs and the digital artworks (unpaired), compact "
           "ResNet generators; both directions shipped",
           "cyclegan", _STYLE, _STYLE_SHIPS, unpaired=True, eval_back=_STYLE_BACK, eval_target=_STYLE_TARGET,
           skip_packages=_LANDSCAPES),
    Recipe("super-resolution-refine", "the shipped super-resolution model trained on: the same network and losses, "
           "from its weights, at a fifth of the learning rate, on crops of 256 px from photos scaled to 256-768 px "
           "(at a quarter of 128 px, the network's view of a crop was mostly its zero padding) and on clean area "
           "downscales only (--degradation 0: the model it starts from has learnt blur, noise and JPEG, which it "
           "keeps; more of them cost clean inputs), no photo enlarged beyond its own size (--no-enlarge: the "
           "endless-sky photographs are 360 px high), 3 + 3 epochs of the 293 training photos",
           "pix2pix", {**_SUPER_RESOLUTION, "lr": 1e-4, "crop_size": 256, "batch_size": 4, "load_size": 768,
                       "degradation": 0.0, "enlarge": False, "epochs": 3, "epochs_decay": 3, "save_every": 276,
                       "sample_every": 1380, "log_every": 23},
           (Shipped("super-resolution", "G", "super-resolution", "Super-resolution x4"),),
           family_options={"lambda_l1": 100000.0}, export_options=_SUPER_RESOLUTION_EXPORT,
           start_from={"G": "super-resolution"}),
    Recipe("style-transfer-refine", "the shipped style models trained on as one CycleGAN: from their weights, "
           "with four times the cycle weight (lambda 40: a style that keeps more of the photo, so it can be "
           "undone; the identity term kept at its absolute weight of 10), an EMA of the generators' weights, and "
           "crops at random scales up to 512 px (the first run saw whole pictures shrunk to 160 px); shipped to run "
           "at 384 px with the photo's own detail kept (the change the network makes there, upsampled onto the "
           "photo: 0.56x the work of 512 px, the same cycle and style on the training pictures)",
           "cyclegan", {**_STYLE, "preprocess": "random_scale", "load_size": 512, "lr": 1e-4, "epochs": 1,
                        "epochs_decay": 6, "ema": 0.999},
           _STYLE_SHIPS, unpaired=True, family_options={"lambda_cycle": 40.0, "lambda_identity": 0.25},
           skip_packages=_LANDSCAPES,
           eval_back=_STYLE_BACK, eval_target=_STYLE_TARGET, start_from={"G_A": "style-photo2art", "G_B": "style-art2photo"},
           export_options={"working_size": 384, "keep_detail": True}),
    Recipe("style-transfer-cut", "CUT (contrastive unpaired translation) from the photographs to the digital "
           "artworks: the style recipe's compact ResNet (with resize-convolution up-sampling) and data, PatchNCE "
           "instead of a second generator and a cycle (one direction, about 0.6x CycleGAN's time per step). Not "
           "a default: at equal CPU time it measured worse than CycleGAN (benchmarks/RESULTS.md)",
           "cut", dict(netG="resnet_6blocks", ngf=32, ndf=32, load_size=160, crop_size=128, batch_size=1,
                       upsample="resize", task="style-transfer", repeats=5, workers=2, epochs=8, epochs_decay=8,
                       save_every=475, sample_every=475, keep=2, log_every=19),
           (Shipped("style-photo2art-cut", "G", "style-transfer", "Style transfer: photo to art (CUT)"),),
           unpaired=True, family_options={"mode": "cut"}, eval_target={"style-photo2art-cut": "art"},
           skip_packages=_LANDSCAPES,
           default=False),
)}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise TranslationError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def _link_files(folder: Path, files: list[Path]) -> None:
    """A folder of symlinks (the cache's files are never copied or touched)."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f.name: f for f in files}
    for existing in folder.iterdir():
        if existing.name not in wanted:
            existing.unlink()
    for name, target in wanted.items():
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(target.resolve())


def dataset_for(recipe: Recipe, run_dir: Path, cache: str | Path | None = None) -> Path:
    """Lay the prepared collections out as the trainer expects, in ``run_dir/dataset``."""
    from . import collections

    collections.prepare(cache)
    root = collections.split_dir("photos", "train", cache).parents[1]
    skipped = set(recipe.skip_packages)
    records = [r for r in collections.manifest(cache)["files"]
               if not (recipe.skip_grayscale and r.get("grayscale"))
               and not skipped.intersection(collections.packages.holders(r["entry"]))]

    def files(name: str, split: str) -> list[Path]:
        return sorted(root / r["path"] for r in records if r["collection"] == name and r["split"] == split)

    data = run_dir / "dataset"
    if recipe.unpaired:
        for side, name in (("A", "photos"), ("B", "art")):
            _link_files(data / f"train{side}", files(name, "train"))
            _link_files(data / f"test{side}", files(name, "val"))
    else:
        _link_files(data / "train", files("photos", "train"))
        _link_files(data / "val", files("photos", "val"))
    return data


def hardware() -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA)"
    model = platform.processor() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {torch.get_num_threads()} threads (CPU)"


def ship(recipe: Recipe, run_dir: Path, exports_dir: Path, *, cache: str | Path | None = None) -> list[Path]:
    """Export the run's generators into ``exports_dir``, evaluate them on the held-out images and write
    a model card (``STEM.json``) beside each ONNX file."""
    from . import collections
    from .atomic import atomic_write_text
    from .evaluation import evaluate, list_photos
    from .export import export_generator
    from .networks import count_parameters
    from .networks.checkpoint import load_generator
    from .training.checkpointing import best_checkpoint_path, run_checkpoint

    # the epoch with the best validation score; the newest checkpoint of a run stopped within its first epoch
    best = best_checkpoint_path(run_dir)
    checkpoint = best if best.is_file() else run_checkpoint(run_dir, "latest")
    generators, paths = {}, {}
    for item in recipe.ships:  # each generator read once, for its export and its card
        net, config, info = generators[item.stem] = load_generator(checkpoint, which=item.generator)
        paths[item.stem] = export_generator(net, exports_dir / f"{item.stem}.onnx", config=config, task=item.task,
                                            info={**info, "source": checkpoint.name}, **recipe.export_options)
    for item in recipe.ships:
        net, config, info = generators[item.stem]
        back = recipe.eval_back.get(item.stem)
        # A style model is measured on what it is meant to take: photos for photo->art, art for art->photo.
        source = "art" if item.stem.endswith("2photo") else "photos"
        target = recipe.eval_target.get(item.stem)
        result = evaluate(paths[item.stem], list_photos(collections.split_dir(source, "val", cache)),
                          back_model=paths.get(back),
                          target=list_photos(collections.split_dir(target, "val", cache)) if target else ())
        eval_command = f"translation eval --model {item.stem}" + (f" --back-model {back}" if back else "")
        if source == "art":
            eval_command += " --photos ~/.cache/translation/collections/art/val"
        if target:
            eval_command += f" --target ~/.cache/translation/collections/{target}/val"
        card = {
            "name": item.stem, "title": item.title, "task": item.task, "recipe": recipe.name,
            "description": recipe.summary, "family": recipe.model, "generator": item.generator,
            "network": config.to_dict(), "parameters": count_parameters(net),
            "onnx_bytes": paths[item.stem].stat().st_size,
            "data": {"packages": list(collections.PACKAGES), "images": _count(run_dir / "dataset", recipe),
                     "curation": "translation/collections/*.txt"},
            "training": {"checkpoint": checkpoint.name, "steps": info.get("steps"), "epochs": info.get("epochs"),
                         "wall_time_s": info.get("wall_time_s"), "crop_size": info.get("crop_size"),
                         "batch_size": recipe.options.get("batch_size", 1), "hardware": hardware(),
                         "command": f"translation train --recipe {recipe.name} --ship",
                         # the recipe as it was for this run (recipes change between refinement stages)
                         "settings": {**recipe.options, **recipe.family_options},
                         **({"started_from": info["started_from"][item.generator]}
                            if item.generator in info.get("started_from", {}) else {})},
            **({"export": dict(recipe.export_options)} if recipe.export_options else {}),
            "metrics": {"held_out_images": result.images,
                        **{k: round(v, 4) for k, v in result.summary.items()}, "command": eval_command},
            "licence": "weights: MIT (this project); training images: their Debian packages' licences (GPL-2+, "
                       "CC-BY(-SA), CC0, BSD, LGPL; see translation/collections/*.txt)",
        }
        atomic_write_text(exports_dir / f"{item.stem}.json", json.dumps(card, indent=2) + "\n")
        log.info("shipped %s: %s", paths[item.stem], card["metrics"])
    return list(paths.values())


def _count(data: Path, recipe: Recipe) -> dict[str, int]:
    def n(folder: Path) -> int:
        return sum(1 for _ in folder.iterdir()) if folder.is_dir() else 0

    if recipe.unpaired:
        return {"photos_train": n(data / "trainA"), "art_train": n(data / "trainB"),
                "photos_val": n(data / "testA"), "art_val": n(data / "testB")}
    return {"train": n(data / "train"), "val": n(data / "val")}


def describe() -> str:
    lines = []
    for recipe in RECIPES.values():
        files = ", ".join(f"exports/{s.stem}.onnx" for s in recipe.ships)
        lines.append(f"  {recipe.name:23s} {recipe.model:9s} -> {files}" + ("" if recipe.default else " (not a default)"))
    return "\n".join(lines)
