"""CycleGAN vs CUT vs FastCUT at equal CPU time on the style collections (photos -> art).

    nice -n 10 .venv/bin/python benchmarks/bench_unpaired.py --minutes 6 --out runs/bench-unpaired

Each model trains for the same budget of CPU time (this process's user + system time, one torch thread,
no loader workers, so everything it does is counted: steps, validation, checkpoints) on the prepared
collections (`translation data prepare`): photos/train as A, art/train as B, the style recipe's network
(resnet_6blocks, ngf 32, ndf 32, 160 -> 128 crops, batch 1) at a constant learning rate; CUT-antialias is
CUT with the CUT reference's default generator (resnet_6blocks_antialias: blur-pool sampling). A run is
stopped by ``--max-steps`` and continued with ``--resume`` until the budget is used (the per-step cost
measured on the way). Then its photo -> art generator is exported to ONNX and measured on the held-out
photos against the held-out artworks, as ``translation eval --target`` does: the sliced Wasserstein
distance of the outputs (swd, lower is better) beside that of the untranslated photos (swd_input), and
CycleGAN's cycle PSNR with its way back. Prints a Markdown table (``--append`` adds it to RESULTS.md).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import torch

MODELS = {  # name -> (family, family options)
    "CycleGAN": ("cyclegan", {}),
    "CUT": ("cut", {"mode": "cut"}),
    "FastCUT": ("cut", {"mode": "fastcut"}),
    # the CUT reference's default generator: blur-pool down- and up-sampling (no checkerboard)
    "CUT-antialias": ("cut", {"mode": "cut", "netG": "resnet_6blocks_antialias"}),
}
NETWORK = dict(netG="resnet_6blocks", ngf=32, ndf=32, load_size=160, crop_size=128, batch_size=1)


def cpu_seconds() -> float:
    usage = os.times()
    return usage.user + usage.system


def link_layout(root: Path, cache: Path | None) -> Path:
    """DATA/trainA, trainB, testA, testB as symlinks to the prepared collections' files."""
    from translation.collections import split_dir

    for side, collection in (("A", "photos"), ("B", "art")):
        for split, folder in (("train", f"train{side}"), ("val", f"test{side}")):
            target = root / folder
            target.mkdir(parents=True, exist_ok=True)
            for path in sorted(split_dir(collection, split, cache).iterdir()):
                if not (target / path.name).exists():
                    (target / path.name).symlink_to(path)
    return root


def train_for(family: str, options: dict, data: Path, run: Path, budget: float, seed: int) -> dict:
    """Train until ``budget`` CPU seconds are used; returns steps, CPU and wall seconds."""
    from translation.training import TrainConfig, train
    from translation.training.checkpointing import list_checkpoints

    settings = {**dict(data=data, out=run, task="style-transfer", workers=0, device="cpu", epochs=1000,
                       epochs_decay=1, save_every=1_000_000, sample_every=1_000_000, log_every=10, seed=seed),
                **NETWORK, **options}
    used = wall = 0.0
    steps, target = 0, 20
    while True:
        start_cpu, start_wall = cpu_seconds(), time.monotonic()
        train(TrainConfig.from_options(family, max_steps=target, resume=steps > 0, **settings))
        segment_cpu = cpu_seconds() - start_cpu
        used, wall = used + segment_cpu, wall + time.monotonic() - start_wall
        per_step = segment_cpu / (target - steps)
        steps = list_checkpoints(run)[-1][0]
        left = budget - used
        if left < 0.05 * budget or left < 2 * per_step:
            return {"steps": steps, "cpu_s": used, "wall_s": wall}
        target = steps + max(1, int(left / per_step * 0.97))


def measure(family: str, run: Path, data: Path, exports: Path, max_side: int) -> dict:
    from translation.evaluation import evaluate, list_photos
    from translation.export import export_generator
    from translation.runtime import Engine

    there = export_generator(run, exports / f"{run.name}-photo2art.onnx", which="G_A" if family == "cyclegan" else "G")
    back = (Engine(export_generator(run, exports / f"{run.name}-art2photo.onnx", which="G_B"), threads=1)
            if family == "cyclegan" else None)
    result = evaluate(Engine(there, threads=1), list_photos(data / "testA"), back_model=back,
                      target=list_photos(data / "testB"), max_side=max_side)
    return result.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=6.0, help="CPU minutes per model (default 6)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-unpaired"), help="work folder (runs, exports)")
    parser.add_argument("--only", nargs="*", choices=list(MODELS), default=list(MODELS), help="models to run")
    parser.add_argument("--max-side", type=int, default=256, help="held-out pictures shrunk to this long side")
    parser.add_argument("--cache", type=Path, default=None, help="collections cache (default: the usual one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--append", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = parser.parse_args()

    torch.set_num_threads(1)
    data = link_layout(args.out / "data", args.cache)
    exports = args.out / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.only:
        family, options = MODELS[name]
        run = args.out / name.lower()
        if (run / "bench.json").is_file():  # measured already (the work folder is kept between calls)
            rows.append(json.loads((run / "bench.json").read_text()))
            continue
        spent = train_for(family, options, data, run, args.minutes * 60, args.seed)
        scores = measure(family, run, data, exports, args.max_side)
        row = {"model": name, **spent, "cpu_s_per_step": spent["cpu_s"] / spent["steps"],
               "wall_s_per_step": spent["wall_s"] / spent["steps"], **scores}
        (run / "bench.json").write_text(json.dumps(row, indent=2))
        rows.append(row)
        print(json.dumps(row))

    header = ("| model | steps in the budget | CPU s / step | wall s / step | swd (outputs vs held-out art) "
              "| swd_input (photos as they are) | cycle PSNR (dB) |\n| --- | --- | --- | --- | --- | --- | --- |")
    lines = [f"| {r['model']} | {r['steps']} | {r['cpu_s_per_step']:.2f} | {r['wall_s_per_step']:.2f} | "
             f"{r['swd']:.1f} | {r['swd_input']:.1f} | "
             f"{r['cycle_psnr']:.2f} |" if "cycle_psnr" in r else
             f"| {r['model']} | {r['steps']} | {r['cpu_s_per_step']:.2f} | {r['wall_s_per_step']:.2f} | "
             f"{r['swd']:.1f} | {r['swd_input']:.1f} | (no way back) |" for r in rows]
    load = os.getloadavg()
    table = (f"\n{header}\n" + "\n".join(lines) + f"\n\n{datetime.date.today()}, {platform.processor() or 'CPU'}, "
             f"{args.minutes:g} CPU-minutes each, 1 torch thread, load average at the end "
             f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")
    print(table)
    if args.append:
        with open(Path(__file__).with_name("RESULTS.md"), "a", encoding="utf-8") as handle:
            handle.write(table)


if __name__ == "__main__":
    main()
