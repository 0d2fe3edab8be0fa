"""CPU time per image of each stage of ``translation convert``'s lanes, in-process: decode + prepare,
the network, finish, write. The stage times are each thread's own CPU, so they hold on a machine whose
speed comes and goes better than images/s ratios do.

    .venv/bin/python benchmarks/bench_convert_stages.py --model colorization --images 200
    PYTHONPATH=/tmp/before .venv/bin/python benchmarks/bench_convert_stages.py --model $PWD/exports/colorization.onnx
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert import write_synthetic_jpegs  # noqa: E402

import translation.convert as convert  # noqa: E402
from translation.runtime import Engine, resolve_model  # noqa: E402

STAGES = ("prepare_image", "infer", "finish_image", "write_image")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="colorization")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--lanes", type=int, default=2)
    args = parser.parse_args()

    cpu: dict[str, float] = collections.defaultdict(float)
    lock = threading.Lock()

    def timed(name, function):
        def wrapper(*a, **k):
            started = time.thread_time()
            try:
                return function(*a, **k)
            finally:
                with lock:
                    cpu[name] += time.thread_time() - started
        return wrapper

    for name in STAGES:   # the names the pipeline calls, wrapped where it looks them up
        setattr(convert, name, timed(name, getattr(convert, name)))
    info = resolve_model(args.model)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = write_synthetic_jpegs(Path(tmp) / "in", args.images, rng)
        plan = convert.plan_jobs([inputs], Path(tmp) / "out", model=info.name, task=info.task.name,
                                 options=convert.ConvertOptions())
        engine = Engine(info, providers="cpu", threads=max(1, 2 // args.lanes), warmup=False, spinning=False)
        options = dataclasses.replace(convert.ConvertOptions(), lanes=args.lanes)
        wall, process = time.perf_counter(), time.process_time()
        convert.run_jobs(plan.todo, engine, options)
        wall, process = time.perf_counter() - wall, time.process_time() - process
    count = len(plan.todo)
    stages = ", ".join(f"{name} {cpu[name] / count * 1000:.1f}" for name in STAGES)
    outside = (process - cpu["infer"]) / count * 1000
    print(f"{info.name}: {count / wall:.2f} images/s; CPU ms per image: process {process / count * 1000:.1f}, "
          f"{stages}; outside the network {outside:.1f}")


if __name__ == "__main__":
    main()
