"""End-to-end ``translation convert`` throughput vs the model alone.

    .venv/bin/python benchmarks/bench_convert.py --images 200 --net resnet_9blocks --ngf 32 --threads 2

Writes ``--images`` synthetic 512x512 JPEGs, exports a compact generator with random weights, then
measures (1) the model alone: ``Engine.run`` on one 512x512 input at a time, and (2) the CLI
converting every JPEG to PNG (decode, pre-processing, inference, post-processing, encode, atomic
write). Reports images/s for both and their ratio (target >= 0.9).
"""
from __future__ import annotations

import argparse
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
from translation.runtime import Engine


def synthetic_photo(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth colour fields with some texture: compresses and decodes like a photo, not like noise."""
    coarse = rng.uniform(0, 255, (size // 32, size // 32, 3)).astype(np.float32)
    image = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    image += rng.normal(0, 8, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


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
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        (tmp / "in").mkdir()
        for i in range(args.images):
            cv2.imwrite(str(tmp / "in" / f"{i:04d}.jpg"), synthetic_photo(rng, args.size),
                        [cv2.IMWRITE_JPEG_QUALITY, 90])
        torch.manual_seed(0)
        config = GeneratorConfig.named(args.net, ngf=args.ngf)
        model = export_generator(build_generator(config).eval(), tmp / "bench.onnx", task="style-transfer",
                                 config=config)

        engine = Engine(model, providers="cpu", threads=args.threads)
        photo = synthetic_photo(rng, args.size).astype(np.float32) / 127.5 - 1.0
        x = np.ascontiguousarray(photo.transpose(2, 0, 1)[None])

        def model_only() -> float:
            engine.run(x)
            start = time.perf_counter()
            for _ in range(args.model_runs):
                engine.run(x)
            return args.model_runs / (time.perf_counter() - start)

        before = model_only()
        command = [str(Path(sys.executable).parent / "translation"), "-v", "convert", "--model", str(model),
                   str(tmp / "in"), "-o", str(tmp / "out"), "--device", "cpu", "--threads", str(args.threads),
                   "--workers", str(args.workers), "--format", args.format]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        found = re.search(r"converted (\d+).*\(([\d.]+) images/s\)", result.stderr)
        assert found and int(found.group(1)) == args.images, result.stderr[-2000:]
        convert_rate = float(found.group(2))
        busy = re.search(r"inference busy (\d+)%", result.stderr)
        after = model_only()  # measured on both sides of the conversion: the machine may be shared
        model_rate = (before + after) / 2

    print(f"model: {config.name} ngf {args.ngf}, {args.size}x{args.size}, {args.threads} threads, "
          f"{args.workers} decode + {args.workers} encode workers, output {args.format}")
    print(f"model only (Engine.run, batch 1):  {model_rate:.2f} images/s  (before {before:.2f}, after {after:.2f})")
    print(f"convert, during the run:           {convert_rate:.2f} images/s  (ratio {convert_rate / model_rate:.2f})")
    print(f"convert, whole command incl. start: {args.images / wall:.2f} images/s  ({wall:.1f} s for {args.images})")
    print(f"engine busy during the conversion:  {busy.group(1) if busy else '?'}% of the run "
          "(how well decoding and encoding overlap inference)")


if __name__ == "__main__":
    main()
