"""ONNX Runtime vs PyTorch eager on CPU, the same weights, one image at a time.

    .venv/bin/python benchmarks/bench_inference_cpu.py --threads 2

Builds each generator with random weights (ngf 64, the reference configurations), exports it with
``translation.export.export_generator`` (eval mode) and times ``Engine.run`` against
``net(x)`` under ``torch.inference_mode()``, both limited to the same number of threads, timed
alternately. Prints a Markdown table (median of ``--repeat`` runs after warm-up).
"""
from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from translation.export import export_generator
from translation.networks import GeneratorConfig, build_generator
from translation.runtime import Engine


def interleaved_medians(first, second, repeat: int) -> tuple[float, float]:
    """Median seconds of two callables timed alternately, so a shared machine's load hits both alike."""
    first(), second()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, bucket in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--nets", nargs="+", default=["unet_256", "resnet_9blocks"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[256, 512])
    parser.add_argument("--ngf", type=int, default=64)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"threads {args.threads}, median of {args.repeat}\n")
    print("| network | size | PyTorch eager (ms) | ONNX Runtime (ms) | speed-up |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.nets:
            torch.manual_seed(0)
            config = GeneratorConfig.named(name, ngf=args.ngf)
            net = build_generator(config).eval()
            path = export_generator(net, Path(tmp) / f"{name}.onnx", task="custom", config=config)
            engine = Engine(path, providers="cpu", threads=args.threads)
            for size in args.sizes:
                x = np.random.default_rng(0).uniform(-1, 1, (1, 3, size, size)).astype(np.float32)
                tensor = torch.from_numpy(x)

                def eager() -> None:
                    with torch.inference_mode():
                        net(tensor)

                t_torch, t_ort = interleaved_medians(eager, lambda: engine.run(x), args.repeat)
                print(f"| {name} | {size}x{size} | {t_torch * 1e3:.0f} | {t_ort * 1e3:.0f} | "
                      f"{t_torch / t_ort:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
