"""Training throughput (images/s) of the real training step, fast path vs plain fp32 eager.

    .venv/bin/python benchmarks/train_throughput.py                       # pix2pix and CycleGAN, batch 1 and 16
    .venv/bin/python benchmarks/train_throughput.py --quick --append      # fewer steps; add the table to RESULTS.md
    .venv/bin/python benchmarks/train_throughput.py --only pix2pix:1 --variants plain channels_last bf16 fused_adam

What is timed: ``Family.train_step`` of translation/training/families/pix2pix.py and cyclegan.py (forward, losses,
backward, both optimizer steps) on synthetic batches already on the device, so data loading is excluded;
with ``--loader``, a second row per model runs the real DataLoader of the training loop on a small
synthetic dataset (decode, augmentation, host-to-device copies and the epoch boundaries included).

Variants (each a ``SpeedPlan``, see translation/training/fast.py):
  plain          fp32, NCHW, Adam (foreach), eager: the baseline
  fast           what ``translation train`` uses on this device (``plan_speed``; with --compile also torch.compile)
  fast_bf16      CPU only: the fast path with ``--cpu-bf16`` (bf16 autocast where the CPU has native bf16)
  channels_last / bf16 / fused_adam / compile: plain plus that one option (to see what each does here)

Variants are measured in alternation (each repeat runs every variant once, in a rotating order), so a
background load slows them alike; warm-up steps are excluded; images/s is the median over the repeats,
the ratio to plain the median of the per-repeat ratios.
The same initial weights and batch are used for every variant.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from macs import count_macs, cpu_peak, load_average, publish  # noqa: E402

from translation.data.datasets import EpochSampler  # noqa: E402
from translation.networks import build_generator  # noqa: E402
from translation.tasks import get_task  # noqa: E402
from translation.training import TrainConfig  # noqa: E402
from translation.training.distributed import Runtime  # noqa: E402
from translation.training.fast import SpeedPlan, cpu_has_native_bf16, plan_speed  # noqa: E402
from translation.training.data import train_loader  # noqa: E402
from translation.training.families import get_family  # noqa: E402
from translation.training.loop import build_data  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
NETWORKS = {"pix2pix": "unet_256", "cyclegan": "resnet_9blocks"}


@dataclass(frozen=True)
class Case:
    model: str
    batch: int
    size: int
    steps: int      # timed steps per repeat

    @property
    def label(self) -> str:
        return f"{self.model} {NETWORKS[self.model]} + basic D, {self.size}x{self.size}, batch {self.batch}"


def variants(names: list[str], config: TrainConfig, device: torch.device) -> dict[str, SpeedPlan]:
    plain = SpeedPlan(device.type)
    options = {"channels_last": dict(channels_last=True), "bf16": dict(amp=True),
               "fused_adam": dict(fused_adam=True), "compile": dict(compile=True)}
    chosen: dict[str, SpeedPlan] = {}
    for name in names:
        if name == "plain":
            chosen[name] = plain
        elif name in ("fast", "fast_bf16"):
            if name == "fast_bf16" and device.type != "cpu":
                continue  # on CUDA bf16 is part of "fast" already
            plan = plan_speed(dataclasses.replace(config, cpu_bf16=name == "fast_bf16"), device)
            chosen[name] = dataclasses.replace(plan, pin_memory=False, persistent_workers=False)  # no loader here
        else:
            chosen[name] = dataclasses.replace(plain, **options[name])
    return chosen


def config_for(case: Case, ngf: int, compile: bool, device: torch.device, **extra) -> TrainConfig:
    return TrainConfig(model=case.model, netG=NETWORKS[case.model], ngf=ngf, ndf=ngf, batch_size=case.batch,
                       crop_size=case.size, load_size=case.size, compile=compile, device=str(device), **extra)


def training_macs(case: Case, ngf: int) -> float:
    """Multiply-adds of one training step per image: forward MACs (hook counter) of every network pass,
    x3 for a pass that is back-propagated into trained weights (forward, input and weight gradients),
    x2 for one back-propagated through frozen weights (forward, input gradients)."""
    config = config_for(case, ngf, False, torch.device("cpu"))
    spec = get_task("custom")
    g = count_macs(build_generator(config.generator(spec.in_channels, spec.out_channels)), 1, 3, case.size, case.size)
    if case.model == "pix2pix":
        family = get_family("pix2pix")(config, spec, Runtime(torch.device("cpu")), SpeedPlan("cpu"))
        d = count_macs(family.D, 1, 6, case.size, case.size)
        # G: fwd+bwd; D step: fake and real pairs, fwd+bwd; G step: D fwd + input gradients
        return 3 * g + 2 * 3 * d + 2 * d
    family = get_family("cyclegan")(config, spec, Runtime(torch.device("cpu")), SpeedPlan("cpu"))
    d = count_macs(family.networks["D_A"], 1, 3, case.size, case.size)
    passes = 6 if config.family_options.lambda_identity > 0 else 4  # G_A(A), G_B(G_A(A)), G_B(B), G_A(G_B(B)) [+ identity]
    # generators fwd+bwd; G step: D_A, D_B fwd + input gradients; D step: 4 passes fwd+bwd
    return 3 * passes * g + 2 * 2 * d + 4 * 3 * d


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_runner(case: Case, ngf: int, plan: SpeedPlan, device: torch.device) -> Callable[[], None]:
    """One training step of the real family on a fixed synthetic batch (already on the device)."""
    config = config_for(case, ngf, plan.compile, device)
    spec = get_task("custom")
    torch.manual_seed(0)
    family = get_family(case.model)(config, spec, Runtime(device), plan)
    g = torch.Generator().manual_seed(1)
    batch = {k: (torch.rand(case.batch, 3, case.size, case.size, generator=g) * 2 - 1)
             .to(device, memory_format=plan.memory_format) for k in ("A", "B")}

    def run() -> None:
        family.train_step(batch, plan.autocast)
    return run


def loader_runner(case: Case, ngf: int, plan: SpeedPlan, device: torch.device, data_dir: Path,
                  workers: int) -> Callable[[], None]:
    """``case.steps`` steps of the training loop's own DataLoader + train_step (several short epochs)."""
    config = config_for(case, ngf, plan.compile, device, data=data_dir, workers=workers, flip=True)
    data = build_data(config)
    speed = dataclasses.replace(plan, persistent_workers=plan.persistent_workers and workers > 0)
    sampler = EpochSampler(len(data.train), seed=0)
    loader = train_loader(data, sampler, config, speed)
    torch.manual_seed(0)
    family = get_family(case.model)(config, data.spec, Runtime(device), speed)
    epoch = [0]

    def run() -> None:
        done = 0
        while done < case.steps:
            sampler.set_epoch(epoch[0])
            epoch[0] += 1
            for batch in loader:
                batch = {k: v.to(device, non_blocking=True, memory_format=speed.memory_format)
                         for k, v in batch.items() if isinstance(v, torch.Tensor)}
                family.train_step(batch, speed.autocast)
                done += 1
                if done == case.steps:
                    break
    return run


def write_dataset(root: Path, model: str, size: int, count: int) -> Path:
    """``count`` synthetic photos (smooth colour fields with texture), as aligned pairs or trainA/trainB."""
    rng = np.random.default_rng(0)

    def photo() -> np.ndarray:
        coarse = rng.uniform(0, 255, (8, 8, 3)).astype(np.float32)
        image = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC) + rng.normal(0, 8, (size, size, 3))
        return np.clip(image, 0, 255).astype(np.uint8)

    for i in range(count):
        if model == "pix2pix":
            path = root / "train" / f"{i:03d}.jpg"
            image = np.concatenate([photo(), photo()], axis=1)
        else:
            path = root / ("trainA" if i % 2 == 0 else "trainB") / f"{i:03d}.jpg"
            image = photo()
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), image)
    return root


def measure(runners: dict[str, Callable[[], None]], case: Case, device: torch.device, warmup: int,
            repeats: int) -> dict[str, list[float]]:
    """Images/s of each runner in every repeat; the runners alternate, in a rotating order."""
    names = list(runners)
    for name in names:
        for _ in range(warmup):
            runners[name]()
        synchronize(device)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            synchronize(device)
            start = time.perf_counter()
            runners[name]() if name.endswith("+loader") else [runners[name]() for _ in range(case.steps)]
            synchronize(device)
            rates[name].append(case.batch * case.steps / (time.perf_counter() - start))
    return rates


def machine(device: torch.device, threads: int) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    return f"{model}, {os.cpu_count()} cores, {threads} torch threads, torch {torch.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--only", nargs="+", metavar="MODEL:BATCH[:SIZE]",
                        help="cases to run, e.g. pix2pix:1 cyclegan:16:64 "
                             "(default: both models at batch 1 and 16, 256x256)")
    parser.add_argument("--variants", nargs="+", default=None,
                        choices=("plain", "fast", "fast_bf16", "channels_last", "bf16", "fused_adam", "compile"),
                        help="default: plain, fast (and fast_bf16 on a CPU with native bf16)")
    parser.add_argument("--compile", action="store_true", help="the fast path includes torch.compile")
    parser.add_argument("--ngf", type=int, default=64, help="generator and discriminator width (default 64)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per repeat (default 10)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 3; --quick 1)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats per variant; the median counts (default 5; --quick 3)")
    parser.add_argument("--quick", action="store_true",
                        help="CPU-sized: fewer warm-up steps and repeats, timed steps scaled down for big cases")
    parser.add_argument("--loader", nargs="*", metavar="MODEL", default=None,
                        help="also time the real DataLoader for the batch-1 cases of these models "
                             "(no names: all)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads on the CPU (default: all cores)")
    parser.add_argument("--append", action="store_true", help=f"append the table to {RESULTS}")
    parser.add_argument("--results", type=Path, default=RESULTS, help="file for --append")
    args = parser.parse_args()

    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(False)
    else:
        torch.backends.cudnn.benchmark = True
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    args.repeats = args.repeats if args.repeats is not None else (3 if args.quick else 5)
    if args.variants is None:
        args.variants = ["plain", "fast"] + (["fast_bf16"] if device.type == "cpu" and cpu_has_native_bf16() else [])

    cases = []
    for spec in args.only or ["pix2pix:1", "pix2pix:16", "cyclegan:1", "cyclegan:16"]:
        parts = spec.split(":")
        model, batch, size = parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else 256
        steps = args.steps
        if args.quick:  # about one second of CPU work per timed stretch, at least one step
            work = batch * size * size * (20 if model == "cyclegan" else 1)
            steps = max(1, min(args.steps, round(2 * 256 * 256 / work)))
        cases.append(Case(model, batch, size, steps))

    peak = cpu_peak(threads) if device.type == "cpu" else None
    loads = [load_average()]
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            config = config_for(case, args.ngf, args.compile, device)
            plans = variants(args.variants, config, device)
            runners = {name: step_runner(case, args.ngf, plan, device) for name, plan in plans.items()}
            loader_case = dataclasses.replace(case, steps=max(case.steps, 12))
            if (args.loader is not None and (not args.loader or case.model in args.loader) and case.batch == 1
                    and {"plain", "fast"} <= plans.keys()):
                data_dir = write_dataset(Path(tmp) / case.model, case.model, case.size + case.size // 8, 8)
                workers = min(2, os.cpu_count() or 1)
                full = plan_speed(config_for(case, args.ngf, args.compile, device, workers=workers), device)
                for name, plan in (("plain+loader", plans["plain"]), ("fast+loader", full)):
                    runners[name] = loader_runner(loader_case, args.ngf, plan, device, data_dir, workers)
            print(f"{case.label}: {', '.join(runners)} ({case.steps} steps x {args.repeats} repeats) ...",
                  file=sys.stderr, flush=True)
            step_runners = {k: v for k, v in runners.items() if not k.endswith("+loader")}
            rates = measure(step_runners, case, device, args.warmup, args.repeats)
            loader_runners = {k: v for k, v in runners.items() if k.endswith("+loader")}
            if loader_runners:
                rates |= measure(loader_runners, loader_case, device, 0, args.repeats)
            macs = training_macs(case, args.ngf)
            rows.append((case, plans, rates, macs))
            loads.append(load_average())
            print(f"  {case.label}: " + ", ".join(f"{k} {statistics.median(v):.3f} img/s" for k, v in rates.items()),
                  file=sys.stderr, flush=True)
    minutes = (time.perf_counter() - started) / 60

    command = " ".join(["benchmarks/train_throughput.py"] + sys.argv[1:])
    lines = [f"### Training throughput, {datetime.date.today().isoformat()}, {device.type.upper()}", "",
             f"Machine: {machine(device, threads)}. Command: `{command}`"
             f" ({minutes:.0f} min). Load average (1, 5, 15 min) before and after each case: {'; '.join(loads)}.",
             "", *legend(rows, peak, args.ngf), "",
             "| case | variant | images/s | vs plain | GMAC/s | of peak |", "| --- | --- | --- | --- | --- | --- |"]
    for case, plans, rates, macs in rows:
        for name, values in rates.items():
            rate = statistics.median(values)
            base = rates.get("plain+loader" if name.endswith("+loader") else "plain")
            gmacs = rate * macs / 1e9
            plan = plans.get(name.removesuffix("+loader"))
            limit = peak.gmacs * (peak.bf16_factor if plan is not None and plan.amp else 1) if peak else None
            share = f"{gmacs / limit:.0%}" if limit else "n/a"
            # the median of the ratios within each repeat: a load that comes and goes cancels out
            ratio = f"{statistics.median(v / b for v, b in zip(values, base)):.2f}x" if base else "-"
            what = plans[name.removesuffix("+loader")].describe() if name.removesuffix("+loader") in plans else name
            lines.append(f"| {case.label} ({case.steps} steps) | {name}: {what} | {rate:.3f} | {ratio} | "
                         f"{gmacs:.1f} | {share} |")
    if not torch.cuda.is_available():
        lines += ["", "GPU (CUDA): not measured (no GPU in this session). Targets there: fast >= 2x plain at batch 16, "
                  ">= 1.5x at batch 1."]
    publish("\n".join(lines) + "\n", args.results, args.append)


def legend(rows, peak, ngf: int) -> list[str]:
    lines = [f"Networks at ngf = ndf = {ngf}. Training multiply-adds per image (forward MACs of every pass "
             "from a hook counter, x3 when the pass trains weights, x2 through frozen weights): " +
             "; ".join(f"{c.model} {c.size}x{c.size} {m / 1e9:.1f} GMAC" for c, _, _, m in
                       {(r[0].model, r[0].size): r for r in rows}.values()) + "."]
    if peak:
        lines.append(f"Peak estimate: {peak.basis}; 'of peak' = achieved GMAC/s / that peak.")
    return lines


if __name__ == "__main__":
    main()
