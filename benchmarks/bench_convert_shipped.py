"""``translation convert`` against the model alone, for the shipped models, alternating two checkouts
(before / after a change) or the local path and ``--ray``, so a machine whose load comes and goes hits
every variant alike.

    .venv/bin/python benchmarks/bench_convert_shipped.py --before /tmp/before-checkout --rounds 3
    .venv/bin/python benchmarks/bench_convert_shipped.py --models colorization --ray --images 24
    .venv/bin/python benchmarks/bench_convert_shipped.py --models colorization --gray --images 200 --rounds 3

Each round runs, per model and variant in alternating order: the model alone (``network_work`` of
bench_convert: the network's own work per 512x512 photo, without tile overlap), one conversion of
``--images`` synthetic 512x512 JPEGs to PNG (the command's own images/s, start-up excluded, and its
CPU seconds per image), the model alone again. Ratios are per round (conversion / mean of the two
model-only rates); the medians over rounds are printed. CPU seconds are a second view that a shared
machine disturbs less: model-only CPU per image / conversion CPU per image (the command's CPU includes
its start-up: imports and the session, shared out over the photos).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert import network_work, write_synthetic_jpegs  # noqa: E402

from translation.runtime import Engine, resolve_model  # noqa: E402

SHIPPED = ("super-resolution", "colorization", "sketch-to-photo", "style-photo2art")


def model_only(engine: Engine, x: np.ndarray, runs_per_image: int, runs: int) -> tuple[float, float]:
    """(images/s, CPU seconds per image) of the network alone."""
    engine.run(x)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        engine.run(x)
    images = runs / runs_per_image
    return images / (time.perf_counter() - wall), (time.process_time() - cpu) / images


def convert(model: Path, inputs: Path, out: Path, threads: int, env: dict, ray: bool) -> tuple[float, float]:
    """(images/s during the run, CPU seconds per image of the whole command)."""
    command = [sys.executable, "-m", "translation", "convert", "--model", str(model), str(inputs), "-o", str(out),
               "--device", "cpu", "--threads", str(threads), *(["--ray"] if ray else [])]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # run outside the checkout: `python -m` puts the working folder first on sys.path, before PYTHONPATH
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=True, cwd=out.parent)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = re.search(r"converted (\d+).*\(([\d.]+) images/s\)", result.stderr)
    assert found and int(found.group(1)) > 0, result.stderr[-2000:]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return float(found.group(2)), cpu / int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(SHIPPED))
    parser.add_argument("--before", type=Path, default=None, help="a checkout (holding translation/) to compare with")
    parser.add_argument("--ray", action="store_true", help="compare the local path with --ray instead")
    parser.add_argument("--images", type=int, default=16, help="photos per conversion (x4 models: a quarter)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model-runs", type=int, default=8, help="network runs per model-only measurement")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gray", action="store_true",
                        help="black-and-white JPEGs (one channel) instead of colour ones: what colorization is fed")
    args = parser.parse_args()

    here = dict(os.environ)
    variants = {"after": (here, False)}
    if args.before:
        variants = {"before": ({**here, "PYTHONPATH": str(args.before.resolve())}, False), **variants}
    if args.ray:   # Ray's CPU time is spent in its workers, outside this process's children: not comparable
        variants = {"local": (here, False), "ray": (here, True)}
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in args.models:
            info = resolve_model(name)
            count = max(2, args.images // 4 if info.task.scale > 1 else args.images)   # x4: 2048x2048 outputs
            inputs = write_synthetic_jpegs(tmp / f"in-{name}", count, rng, gray=args.gray)
            engine = Engine(info, providers="cpu", threads=args.threads)
            x, runs_per_image = network_work(engine, rng, 512)
            rows: dict[str, list[tuple[float, float, float, float]]] = {v: [] for v in variants}
            for round_ in range(args.rounds):
                order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
                for variant in order:
                    env, ray = variants[variant]
                    rate_a, cpu_a = model_only(engine, x, runs_per_image, args.model_runs)
                    rate, cpu = convert(info.path, inputs, tmp / f"out-{name}-{variant}-{round_}", args.threads,
                                        env, ray)
                    rate_b, cpu_b = model_only(engine, x, runs_per_image, args.model_runs)
                    model_rate, model_cpu = (rate_a + rate_b) / 2, (cpu_a + cpu_b) / 2
                    rows[variant].append((rate, model_rate, rate / model_rate, model_cpu / cpu))
                    print(f"{name} {variant} round {round_ + 1} (load {os.getloadavg()[0]:.1f}): convert {rate:.3f} "
                          f"images/s, model only {model_rate:.3f} ({rate_a:.3f} / {rate_b:.3f}): ratio "
                          f"{rate / model_rate:.2f}; CPU s per image {cpu:.2f} vs model only {model_cpu:.2f}: "
                          f"ratio {model_cpu / cpu:.2f}", flush=True)
            for variant, values in rows.items():
                print(f"== {name} {variant}: {count} photos, median ratio {statistics.median(v[2] for v in values):.2f} "
                      f"(images/s), {statistics.median(v[3] for v in values):.2f} (CPU); convert "
                      f"{statistics.median(v[0] for v in values):.3f} images/s", flush=True)


if __name__ == "__main__":
    main()
