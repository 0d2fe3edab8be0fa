"""Peak memory (max RSS) of ``translation convert`` on one 4096x4096 photo.

    .venv/bin/python benchmarks/bench_memory.py --net unet_256 --ngf 64
    .venv/bin/python benchmarks/bench_memory.py --model super-resolution   # a 16384x16384 output, in row bands

Exports a generator with random weights, writes one large synthetic JPEG and runs the CLI in a
child process; the child's peak resident set size comes from ``getrusage(RUSAGE_CHILDREN)``
(each measurement in its own wrapper process, so models do not mix). Target: <= 1.5 GB.
``--model`` measures shipped (or any exported) models instead of random-weight networks.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from translation.export import export_generator
from translation.networks import GeneratorConfig, build_generator
from translation.runtime import resolve_model

# Runs the command as a child and reports that child's peak RSS (ru_maxrss is in KiB on Linux).
_MEASURE = ("import json, resource, subprocess, sys, time; t = time.perf_counter(); "
            "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(json.dumps({'rc': r.returncode, 'seconds': time.perf_counter() - t, "
            "'max_rss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, 'stderr': r.stderr[-1500:]}))")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--net", nargs="+", default=["unet_256", "resnet_9blocks"])
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--model", nargs="+", default=[], metavar="NAME_OR_PATH",
                        help="exported models to measure (e.g. super-resolution) instead of --net")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="more arguments for translation convert (e.g. --tile-size 256 --batch-size 2)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        coarse = rng.uniform(0, 255, (args.size // 64, args.size // 64, 3)).astype(np.float32)
        photo = cv2.resize(coarse, (args.size, args.size), interpolation=cv2.INTER_CUBIC)
        photo = np.clip(photo + rng.normal(0, 6, photo.shape), 0, 255).astype(np.uint8)
        (tmp / "in").mkdir()
        cv2.imwrite(str(tmp / "in" / "big.jpg"), photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
        del photo, coarse
        models = [(resolve_model(name).path, resolve_model(name).network) for name in args.model]
        for name in [] if args.model else args.net:
            torch.manual_seed(0)
            config = GeneratorConfig.named(name, ngf=args.ngf)
            models.append((export_generator(build_generator(config).eval(), tmp / f"{name}.onnx",
                                            task="style-transfer", config=config), f"{name} ngf {args.ngf}"))
        for model, name in models:
            out = tmp / f"out-{model.stem}"
            command = [str(Path(sys.executable).parent / "translation"), "convert", "--model", str(model),
                       str(tmp / "in"), "-o", str(out), "--device", "cpu", "--threads", str(args.threads),
                       *args.extra]
            measured = json.loads(subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True,
                                                 text=True, check=True).stdout)
            assert measured["rc"] == 0 and (out / "big.png").is_file(), measured["stderr"]
            print(f"{model.stem}: {name} ({model.stat().st_size / 1e6:.0f} MB model), {args.size}x{args.size} "
                  f"JPEG -> PNG {' '.join(args.extra)}: peak RSS {measured['max_rss_kib'] / 1024 ** 2:.2f} GiB, "
                  f"{measured['seconds']:.1f} s", flush=True)


if __name__ == "__main__":
    main()
