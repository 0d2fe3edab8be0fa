"""CPU time of each shipped model for one 512x512 output through ``translate`` (the issue's limit: 0.5 s).

    .venv/bin/python benchmarks/bench_shipped_cpu.py --threads 2

Super-resolution gets a 128x128 input (its output is 512x512); the others 512x512. Best of ``--repeat``
after a warm-up, so a busy shared machine shows the model's own time rather than its neighbours'.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from translation.runtime import DEFAULT_MODELS_DIR, Engine, find_models, translate

OUTPUT_SIDE = 512


def best_time(engine: Engine, image: np.ndarray, repeat: int) -> float:
    translate(image, engine)  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        translate(image, engine)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("| model | network | input | output | best of %d (ms) |" % args.repeat)
    print("| --- | --- | --- | --- | --- |")
    for info in find_models(extra_dirs=[DEFAULT_MODELS_DIR]):
        side = OUTPUT_SIDE // info.task.scale
        image = (rng.random((side, side, 3)) * 255).astype(np.uint8)
        engine = Engine(info, providers=["CPUExecutionProvider"], threads=args.threads)
        seconds = best_time(engine, image, args.repeat)
        print(f"| {info.name} | {info.network} | {side}² | {OUTPUT_SIDE}² | {seconds * 1000:.0f} |")


if __name__ == "__main__":
    main()
