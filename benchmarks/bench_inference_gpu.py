"""GPU inference: ONNX Runtime CUDA (IO binding, fp16, batched fixed-shape tiles) vs PyTorch eager fp32 batch 1.

    .venv/bin/python benchmarks/bench_inference_gpu.py [--append]

The baseline is how the reference's test script runs: PyTorch eager, fp32, one image per forward.
Each variant runs the same random-weight generator (unet_256, ngf 64) exported by
``translation.export.export_generator`` (fp32, and ``--fp16``) through ``translation.runtime.Engine``
(CUDA provider, heuristic cuDNN algorithm search, IO binding). 256x256 images per second for
batches of 1 and ``--batch``, and 1024x1024 images through the runtime's tiler (512 tiles, batched).
"Of peak" = multiply-adds per second / the GPU's dense peak (``--peak-tflops``, fp16 tensor cores;
H100 SXM: 989). Without CUDA (for PyTorch and ONNX Runtime) it prints "not measured" and exits 0.
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
from macs import count_macs, publish  # noqa: E402

from translation.export import export_generator  # noqa: E402
from translation.networks import GeneratorConfig, build_generator  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def images_per_second(fn, images_per_call: int, seconds: float, sync=None) -> float:
    """Calls ``fn`` for about ``seconds`` after a warm-up; median rate over five slices."""
    for _ in range(3):
        fn()
    if sync:
        sync()
    rates = []
    for _ in range(5):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 5:
            fn()
            calls += 1
        if sync:
            sync()
        rates.append(calls * images_per_call / (time.perf_counter() - start))
    return statistics.median(rates)


def cuda_ready() -> str | None:
    """Why the GPU rows cannot be measured here, or None when they can."""
    import onnxruntime as ort

    if not torch.cuda.is_available():
        return "no CUDA device for PyTorch"
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return "this ONNX Runtime has no CUDA provider"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", default="unet_256")
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16, help="batched images (or tiles) per run")
    parser.add_argument("--seconds", type=float, default=5.0, help="timing per variant")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense fp16 tensor-core peak")
    parser.add_argument("--append", action="store_true", help=f"append the table to {RESULTS}")
    args = parser.parse_args()

    heading = f"### GPU inference, {datetime.date.today().isoformat()}"
    missing = cuda_ready()
    if missing:
        publish(f"{heading}\n\nNot measured: {missing}.\n", RESULTS, args.append)
        return

    from translation.runtime import Engine
    from translation.runtime.tiling import run_tiled

    torch.manual_seed(0)
    config = GeneratorConfig.named(args.net, ngf=args.ngf)
    net = build_generator(config).eval()
    macs = count_macs(net, 1, 3, 256, 256)
    device = torch.device("cuda")
    net.to(device)
    x1 = torch.rand(1, 3, 256, 256, device=device) * 2 - 1

    def eager() -> None:
        with torch.inference_mode():
            net(x1)

    rows: list[tuple[str, float]] = []
    baseline = images_per_second(eager, 1, args.seconds, torch.cuda.synchronize)
    rows.append(("PyTorch eager fp32, batch 1 (baseline)", baseline))
    net.cpu()
    with tempfile.TemporaryDirectory() as tmp:
        paths = {precision: export_generator(net, Path(tmp) / f"{precision}.onnx", task="custom", config=config,
                                             fp16=precision == "fp16")
                 for precision in ("fp32", "fp16")}
        engines = {}
        for precision, path in paths.items():
            engine = engines[precision] = Engine(path, providers="cuda")
            assert engine.device == "CUDA" and engine.io_binding
            for batch in (1, args.batch):
                x = np.random.default_rng(0).uniform(-1, 1, (batch, 3, 256, 256)).astype(np.float32)
                rate = images_per_second(lambda: engine.run(x), batch, args.seconds)
                rows.append((f"ORT CUDA {precision}, IO binding, batch {batch}", rate))
        engine = engines["fp16"]
        big = np.random.default_rng(1).uniform(-1, 1, (3, 1024, 1024)).astype(np.float32)
        tiles_per_batch = max(1, args.batch // 4)

        def tiled() -> None:
            run_tiled(engine.run, big, multiple=engine.size_multiple, tile=512, overlap=32,
                      batch_size=tiles_per_batch)

        tiled_rate = images_per_second(tiled, 1, args.seconds)

    peak_macs = args.peak_tflops * 1e12 / 2
    lines = [heading, "",
             f"Machine: {torch.cuda.get_device_name(0)}, torch {torch.__version__}. Network {args.net} ngf {args.ngf} "
             f"({macs / 1e9:.2f} GMAC per 256x256 image). Command: `benchmarks/bench_inference_gpu.py "
             f"{' '.join(sys.argv[1:])}`. Peak: {args.peak_tflops:.0f} dense fp16 TFLOP/s.", "",
             "| variant | 256x256 images/s | vs baseline | of peak |", "| --- | --- | --- | --- |"]
    for name, rate in rows:
        lines.append(f"| {name} | {rate:.1f} | {rate / baseline:.1f}x | {rate * macs / peak_macs:.1%} |")
    lines += ["", f"1024x1024 through the tiler (fp16, 512 tiles with 32 px overlap, {tiles_per_batch} tiles per run): "
              f"{tiled_rate:.2f} images/s ({1 / tiled_rate * 1e3:.0f} ms per image)."]
    publish("\n".join(lines) + "\n", RESULTS, args.append)


if __name__ == "__main__":
    main()
