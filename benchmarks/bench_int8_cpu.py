"""CPU inference of one generator three ways: PyTorch eager fp32, ONNX Runtime fp32, ONNX Runtime INT8.

    .venv/bin/python benchmarks/bench_int8_cpu.py --checkpoint RUN/checkpoints/step_*.pt \\
        --calibration PHOTOS/train --check PHOTOS/val --threads 2 --append

The checkpoint is exported (``translation.export.export_generator``, fp32, eval-mode norms) and
quantised (``translation.quantize.quantize_model``: static QDQ, per-channel int8 weights, uint8
activations, calibrated on crops of the --calibration photos prepared by the model's task at --size).
Quality: PSNR of the INT8 model's finished images against the fp32 model's, on crops of the --check
photos (held out from calibration). Speed: one --size x --size input at a time (batch 1), every engine
limited to --threads; the three alternate within each repeat (so a background load hits them alike);
the figures are medians over repeats; the ratio is the median of the per-repeat ratios to PyTorch.
"""
from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from macs import count_macs, cpu_peak, load_average, publish  # noqa: E402

from translation.errors import TranslationError  # noqa: E402
from translation.evaluation import evaluate, list_photos  # noqa: E402
from translation.export import export_generator  # noqa: E402
from translation.networks.checkpoint import load_generator  # noqa: E402
from translation.quantize import image_files, model_crops, output_psnr, quantize_model, take  # noqa: E402
from translation.runtime import Engine, read_model_info  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--checkpoint", type=Path, required=True, help="a trained generator (ours or reference)")
    parser.add_argument("--calibration", type=Path, required=True, help="folder of photos to calibrate on")
    parser.add_argument("--check", type=Path, default=None,
                        help="held-out photos for the PSNR (default: --calibration)")
    parser.add_argument("--size", type=int, default=256, help="model input side (default 256)")
    parser.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    parser.add_argument("--crops", type=int, default=16, help="calibration crops (default 16)")
    parser.add_argument("--check-crops", type=int, default=8, help="held-out crops for the PSNR (default 8)")
    parser.add_argument("--method", default="minmax", help="calibration method (minmax, percentile, entropy)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per engine per repeat (default 5)")
    parser.add_argument("--repeats", type=int, default=7, help="repeats; the median counts (default 7)")
    parser.add_argument("--keep", type=Path, default=None, help="also keep the fp32 and INT8 models in this folder")
    parser.add_argument("--append", action="store_true", help=f"append the table to {RESULTS}")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    loads = [load_average()]
    started = time.perf_counter()
    net, config, info = load_generator(args.checkpoint)
    net = net.float().eval()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        fp32_path = export_generator(args.checkpoint, folder / "fp32.onnx", tile_size=args.size)
        result = quantize_model(fp32_path, folder / "int8.onnx", args.calibration, crop_size=args.size,
                                crops=args.crops, check_crops=2, method=args.method, threads=args.threads)
        spec = read_model_info(fp32_path).task
        fp32 = Engine(fp32_path, providers="cpu", threads=args.threads)
        int8 = Engine(result.path, providers="cpu", threads=args.threads)
        checks = take(model_crops(spec, image_files(args.check or args.calibration), args.size,
                                  config.size_multiple, np.random.default_rng(1)), args.check_crops)
        psnr = output_psnr(fp32, int8, spec, checks)
        try:  # the task's own measure against the photos, where the task has one (not style transfer)
            photos = list_photos(args.check or args.calibration)
            task_scores = {name: evaluate(engine, photos).summary for name, engine in (("fp32", fp32), ("INT8", int8))}
        except TranslationError as exc:
            print(f"no task evaluation: {exc}", file=sys.stderr)
            task_scores = {}
        x = checks[0][0]
        tensor = torch.from_numpy(x)

        def eager() -> None:
            with torch.inference_mode():
                net(tensor)

        engines = {"PyTorch eager fp32": eager, "ONNX Runtime fp32": lambda: fp32.run(x),
                   "ONNX Runtime INT8": lambda: int8.run(x)}
        seconds = timed(engines, args.runs, args.repeats)
        loads.append(load_average())
        sizes = {"ONNX Runtime fp32": fp32_path.stat().st_size, "ONNX Runtime INT8": result.path.stat().st_size}

    macs = count_macs(net, *x.shape)
    peak = cpu_peak(args.threads)
    baseline = "PyTorch eager fp32"
    lines = [f"### INT8 on the CPU, {datetime.date.today().isoformat()}", "",
             f"Model: {config.name} ngf {config.ngf} ({config.norm} norm), task {spec.name}, from "
             f"`{args.checkpoint}` (trained {info.get('steps', '?')} steps), input 1x{x.shape[1]}x{args.size}x"
             f"{args.size}, {macs / 1e9:.2f} GMAC per image. Threads: {args.threads} for every engine. "
             f"Command: `{' '.join(['benchmarks/bench_int8_cpu.py'] + sys.argv[1:])}` "
             f"({(time.perf_counter() - started) / 60:.0f} min). Load average (1, 5, 15 min) before / after: "
             f"{'; '.join(loads)}.", "",
             f"INT8: static QDQ, {args.method} calibration on {result.calibration_crops} crops of "
             f"`{args.calibration}`; PSNR of its finished images against the fp32 model's on {len(checks)} crops "
             f"of `{args.check or args.calibration}`: **{psnr:.2f} dB**." + (
                 " Task quality on those photos (`translation.evaluation`, PSNR against the photo): fp32 "
                 f"{task_scores['fp32']['psnr']:.2f} dB, INT8 {task_scores['INT8']['psnr']:.2f} dB (difference "
                 f"{task_scores['fp32']['psnr'] - task_scores['INT8']['psnr']:+.2f} dB)"
                 + (f"; bicubic upscaling {task_scores['fp32']['bicubic_psnr']:.2f} dB"
                    if "bicubic_psnr" in task_scores["fp32"] else "") + "." if task_scores else ""),
             f"Peak estimate: {peak.basis}." if peak else "Peak: unknown.", "",
             f"| engine | ms per image (median) | images/s | vs {baseline} | GMAC/s | of peak | file |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, (median, ratio) in seconds.items():
        gmacs = macs / median / 1e9
        limit = (peak.gmacs * (peak.int8_factor if "INT8" in name else 1)) if peak else None
        share = f"{gmacs / limit:.0%}" if limit else "n/a"
        size = f"{sizes[name] / 1e6:.1f} MB" if name in sizes else "-"
        lines.append(f"| {name} | {median * 1e3:.1f} | {1 / median:.2f} | {ratio:.2f}x | {gmacs:.1f} | {share} "
                     f"| {size} |")
    publish("\n".join(lines) + "\n", args.results, args.append)


def timed(engines: dict, runs: int, repeats: int) -> dict[str, tuple[float, float]]:
    """(median seconds per run, median per-repeat speed-up over the first engine) for each engine."""
    names = list(engines)
    for name in names:  # warm-up: memory planning, kernel selection
        for _ in range(2):
            engines[name]()
    per_run: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            for _ in range(runs):
                engines[name]()
            per_run[name].append((time.perf_counter() - start) / runs)
    base = per_run[names[0]]
    return {name: (statistics.median(times), statistics.median(b / t for b, t in zip(base, times)))
            for name, times in per_run.items()}


if __name__ == "__main__":
    main()
