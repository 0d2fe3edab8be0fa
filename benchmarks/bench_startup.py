"""A one-image ``translation convert`` as a user runs it: the whole command's wall and CPU time
(interpreter start, imports, the ONNX Runtime session, inference, writing), for each shipped model.

    .venv/bin/python benchmarks/bench_startup.py --runs 5
    .venv/bin/python benchmarks/bench_startup.py --models colorization --before /tmp/before-checkout

Variants, alternated within each round so a machine whose load comes and goes hits them alike:
``cold``: an empty session cache (the first run after installing or re-exporting a model: it writes
the optimised graph); ``warm``: the cache filled by an earlier run; ``off``: ``TRANSLATION_ORT_CACHE=0``;
``before`` (with ``--before``): another checkout, through PYTHONPATH. Each run converts one example
photo of the model's task (``examples/TASK/``, the first file) into a fresh folder. CPU time is the
child's user + system time: on a shared machine it moves far less than the wall time.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from translation.examples import EXAMPLES_DIR
from translation.runtime import resolve_model
from translation.runtime.session_cache import SWITCH, entry_path

SHIPPED = ("colorization", "super-resolution", "sketch-to-photo", "style-photo2art", "style-art2photo")


def example_for(model: str) -> Path:
    task = resolve_model(model).task.name
    return sorted(p for p in (EXAMPLES_DIR / task).iterdir() if p.suffix in (".jpg", ".png"))[0]


def cached(model: str, cache: Path) -> bool:
    """Whether the cache holds the entry of ``model`` as it is now (it may be re-exported meanwhile)."""
    entry = entry_path(resolve_model(model).path, ["CPUExecutionProvider"], cache / "ort")
    return entry is not None and entry.is_file()


def command_line() -> list[str]:
    script = Path(sys.executable).parent / "translation"   # the console script, as a user types it
    return [str(script)] if script.is_file() else [sys.executable, "-m", "translation"]


def run_once(model: str, image: Path, work: Path, env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one conversion of ``image`` into an empty folder."""
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # run outside the checkout, so PYTHONPATH (--before) comes first on sys.path
    result = subprocess.run([*command_line(), "convert", "--model", model, str(image), "-o", str(out)],
                            capture_output=True, text=True, env=env, cwd=work)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0 or not any(out.iterdir()):
        raise SystemExit(f"{model}: the conversion failed:\n{result.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(SHIPPED))
    parser.add_argument("--runs", type=int, default=5, help="rounds; each runs every variant once (default: 5)")
    parser.add_argument("--before", type=Path, default=None, help="a checkout (holding translation/) to compare with")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work, cache = Path(tmp), Path(tmp) / "cache"
        base = {**os.environ, "TRANSLATION_CACHE": str(cache)}
        base.pop(SWITCH, None)
        variants = {"cold": base, "warm": base, "off": {**base, SWITCH: "0"}}
        if args.before:
            variants["before"] = {**base, "PYTHONPATH": str(args.before.resolve())}
        print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the start", file=sys.stderr)
        rows = []
        for model in args.models:
            image = example_for(model)
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
            for round_ in range(args.runs):
                order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
                for name in order:
                    if name == "cold":
                        shutil.rmtree(cache, ignore_errors=True)
                    elif name == "warm" and not cached(model, cache):
                        run_once(model, image, work, variants[name])   # fills the cache
                    times[name].append(run_once(model, image, work, variants[name]))
                print(f"{model} round {round_ + 1}: " + ", ".join(
                    f"{name} {times[name][-1][0]:.2f} s ({times[name][-1][1]:.2f} s CPU)" for name in order)
                    + f"; load {os.getloadavg()[0]:.1f}", file=sys.stderr)
            rows.append((model, image.name, {name: (statistics.median(w for w, _ in values),
                                                    statistics.median(c for _, c in values))
                                             for name, values in times.items()}))
    print(f"\nmedian of {args.runs} runs: wall s / CPU s of the whole command")
    print("| model (input) | " + " | ".join(variants) + " |")
    print("| --- |" + " --- |" * len(variants))
    for model, image, medians in rows:
        print(f"| {model} ({image}) | " + " | ".join(f"{w:.2f} / {c:.2f}" for w, c in medians.values()) + " |")


if __name__ == "__main__":
    main()
