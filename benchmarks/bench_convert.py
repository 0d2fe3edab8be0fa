"""End-to-end ``translation convert`` throughput vs the model alone.

    .venv/bin/python benchmarks/bench_convert.py --images 200 --net resnet_9blocks --ngf 32 --threads 2
    .venv/bin/python benchmarks/bench_convert.py --images 50 --model super-resolution   # a shipped model
    .venv/bin/python benchmarks/bench_convert.py --images 50 --model colorization --ray  # the same on Ray

Writes ``--images`` synthetic 512x512 JPEGs, exports a compact generator with random weights, then
measures (1) the model alone: ``Engine.run`` on one 512x512 input at a time, and (2) the CLI
converting every JPEG to PNG (decode, pre-processing, inference, post-processing, encode, atomic
write). Reports images/s for both and their ratio (target >= 0.9).

``--model NAME`` takes an exported model (the shipped ones: super-resolution, colorization, ...)
instead; its model-only rate is the network's own work at the size it runs at, without tile overlap:
for the x4 super-resolution model, a 512x512 photo is a 2048x2048 output, 16 runs of a 512x512 tile.
``--ray`` runs the conversion with ``--ray`` (a local Ray instance started by the command, one actor
per ``--threads`` CPUs). The command runs as ``python -m translation``, so ``PYTHONPATH`` can point it
at another checkout (a before/after comparison).
"""
from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from translation.export import export_generator
from translation.networks import GeneratorConfig, build_generator
from translation.runtime import Engine, resolve_model


def synthetic_photo(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth colour fields with some texture: compresses and decodes like a photo, not like noise."""
    coarse = rng.uniform(0, 255, (size // 32, size // 32, 3)).astype(np.float32)
    image = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    image += rng.normal(0, 8, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_synthetic_jpegs(folder: Path, count: int, rng: np.random.Generator, size: int = 512,
                          gray: bool = False) -> Path:
    """``count`` synthetic photos as JPEGs (quality 90) in a new ``folder``, black-and-white ones if ``gray``."""
    folder.mkdir()
    for i in range(count):
        photo = synthetic_photo(rng, size)
        photo = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY) if gray else photo
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return folder


def network_work(engine: Engine, rng: np.random.Generator, size: int) -> tuple[np.ndarray, int]:
    """One network input of the size the model runs at, and how many such runs one photo needs.

    The size at which the network runs: the photo's, times the task's scale, shrunk to its working
    size; cut into tiles of the model's tile size without overlap when larger (the network's own work).
    """
    spec = engine.info.task
    side = size * spec.scale
    if spec.working_size:
        side = min(side, spec.working_size)
    tile = min(side, engine.tile_size)
    runs = math.ceil(side / tile) ** 2
    photo = cv2.resize(synthetic_photo(rng, size), (tile, tile), interpolation=cv2.INTER_CUBIC)
    x = photo.astype(np.float32).transpose(2, 0, 1)[None] / np.float32(127.5) - np.float32(1.0)
    return np.ascontiguousarray(x[:, :engine.info.in_channels]), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--net", default="resnet_9blocks")
    parser.add_argument("--ngf", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--model-runs", type=int, default=20)
    parser.add_argument("--format", default="png")
    parser.add_argument("--model", default=None, help="an exported model (name or path) instead of --net")
    parser.add_argument("--ray", action="store_true", help="convert with --ray (a local Ray instance)")
    parser.add_argument("--tile-size", type=int, default=None, help="passed to translation convert")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        write_synthetic_jpegs(tmp / "in", args.images, rng, args.size)
        if args.model:
            model = resolve_model(args.model).path
            label = f"{model.stem} ({resolve_model(args.model).network})"
        else:
            torch.manual_seed(0)
            config = GeneratorConfig.named(args.net, ngf=args.ngf)
            model = export_generator(build_generator(config).eval(), tmp / "bench.onnx", task="style-transfer",
                                     config=config)
            label = f"{config.name} ngf {args.ngf}"

        engine = Engine(model, providers="cpu", threads=args.threads)
        x, runs_per_image = network_work(engine, rng, args.size)

        def model_only() -> float:
            engine.run(x)
            start = time.perf_counter()
            for _ in range(args.model_runs):
                engine.run(x)
            return args.model_runs / runs_per_image / (time.perf_counter() - start)

        before = model_only()
        command = [sys.executable, "-m", "translation", "-v", "convert", "--model", str(model),
                   str(tmp / "in"), "-o", str(tmp / "out"), "--device", "cpu", "--threads", str(args.threads),
                   "--workers", str(args.workers), "--format", args.format, *(["--ray"] if args.ray else []),
                   *(["--tile-size", str(args.tile_size)] if args.tile_size else [])]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp)  # not the checkout
        wall = time.perf_counter() - start
        found = re.search(r"converted (\d+).*\(([\d.]+) images/s\)", result.stderr)
        assert found and int(found.group(1)) == args.images, result.stderr[-2000:]
        convert_rate = float(found.group(2))
        busy = re.search(r"inference busy (\d+)%", result.stderr)
        after = model_only()  # measured on both sides of the conversion: the machine may be shared
        model_rate = (before + after) / 2

    print(f"model: {label}, {args.size}x{args.size} inputs, {args.threads} threads, "
          f"{args.workers} decode + {args.workers} encode workers, output {args.format}{', on Ray' if args.ray else ''}"
          f"{f', --tile-size {args.tile_size}' if args.tile_size else ''}")
    print(f"model only ({runs_per_image} x Engine.run of {x.shape[2]}x{x.shape[3]} per image): {model_rate:.3f} "
          f"images/s  (before {before:.3f}, after {after:.3f})")
    print(f"convert, during the run:           {convert_rate:.3f} images/s  (ratio {convert_rate / model_rate:.2f})")
    print(f"convert, whole command incl. start: {args.images / wall:.2f} images/s  ({wall:.1f} s for {args.images})")
    print(f"engine busy during the conversion:  {busy.group(1) if busy else '?'}% of the run "
          "(how well decoding and encoding overlap inference)")


if __name__ == "__main__":
    main()
