"""The local path against Ray Data on one machine, with the fixed start-up and the steady state apart.

    .venv/bin/python benchmarks/bench_ray_overhead.py --model colorization --images 200 --rounds 3

Each variant runs in a fresh Python process (as ``translation convert`` would), alternating local and Ray
each round, on the same ``--images`` synthetic 512x512 JPEGs. Per run:
- ``whole``: process start to exit, imports, session or actor start and (Ray) ``ray.init`` / shutdown included;
- ``steady``: images/s over the files after the first quarter, from the times the outputs were written (the
  temp file's last write, renamed into place; Ray's results reach the driver in bursts): the rate once every
  process has started, the same span for both variants.
Ray starts an instance of its own unless $RAY_ADDRESS names a running one (``ray start --head``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert import write_synthetic_jpegs  # noqa: E402

# Run in the child: converts the folder and prints one JSON line of result times.
CHILD = r"""
import json, sys, time
started, started_wall = time.perf_counter(), time.time()
from translation.convert import ConvertOptions, plan_jobs, run_jobs, cpu_lanes
from translation.runtime import Engine, resolve_model
variant, model, inputs, out, threads = sys.argv[1:6]
threads = int(threads)
info = resolve_model(model)
plan = plan_jobs([inputs], out, model=info.name, task=info.task.name, options=ConvertOptions())
if variant == "local":
    lanes = cpu_lanes(threads)
    engine = Engine(info, providers="cpu", threads=max(1, threads // lanes), warmup=False, spinning=False)
    summary = run_jobs(plan.todo, engine, ConvertOptions(lanes=lanes))
else:
    from translation.convert_ray import RayOptions, ray_session, run_jobs_on_ray
    with ray_session(None):
        summary = run_jobs_on_ray(plan.todo, info, ConvertOptions(), RayOptions(threads=threads, device="cpu"))
# when each output was written (its temp file's last write, renamed into place): the actor's own times,
# where Ray's results reach the driver in bursts
times = [job.output.stat().st_mtime - started_wall for job in plan.todo]
print(json.dumps({"times": times, "converted": summary.converted, "whole": time.perf_counter() - started}))
"""


def run(variant: str, model: str, inputs: Path, out: Path, threads: int) -> dict[str, float]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", CHILD, variant, model, str(inputs), str(out), str(threads)],
                            capture_output=True, text=True, check=True)
    whole = time.perf_counter() - started    # the interpreter's own start and exit too
    found = json.loads(result.stdout.strip().splitlines()[-1])
    times = sorted(found["times"])
    count = len(times)
    assert found["converted"] == count > 4, result.stderr[-2000:]
    quarter = count // 4
    return {"whole": whole, "images_per_s_whole": count / whole,
            "steady": (count - quarter) / (times[-1] - times[quarter - 1]),
            "first_output": times[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="colorization")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    rows: dict[str, list[dict[str, float]]] = {"local": [], "ray": []}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = write_synthetic_jpegs(Path(tmp) / "in", args.images, rng)
        for round_ in range(args.rounds):
            for variant in (("local", "ray") if round_ % 2 == 0 else ("ray", "local")):
                row = run(variant, args.model, inputs, Path(tmp) / f"out-{variant}-{round_}", args.threads)
                rows[variant].append(row)
                print(f"round {round_ + 1} {variant} (load {os.getloadavg()[0]:.1f}): whole {row['whole']:.1f} s "
                      f"({row['images_per_s_whole']:.2f} images/s), steady {row['steady']:.2f} images/s, first "
                      f"output after {row['first_output']:.1f} s", flush=True)
    median = {v: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for v, rs in rows.items()}
    for key, label in (("images_per_s_whole", "whole run"), ("steady", "steady state")):
        print(f"== {args.model}, {args.images} photos, {label}: local {median['local'][key]:.2f}, Ray "
              f"{median['ray'][key]:.2f} images/s: Ray at {median['ray'][key] / median['local'][key]:.2f}x")


if __name__ == "__main__":
    main()
