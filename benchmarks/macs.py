"""Multiply-adds per image of a network, and an estimate of the CPU's peak, for "fraction of the hardware limit".

    .venv/bin/python benchmarks/macs.py                      # the reference generators at 256x256

Counting: forward hooks on every Conv2d / ConvTranspose2d / Linear (the layers that hold >99% of the
arithmetic of these networks; normalisation, activations, padding and concatenation are left out).
A Conv2d does out_elements x (in_channels / groups) x kH x kW multiply-adds; a ConvTranspose2d scatters
every input element into out_channels x kH x kW outputs, i.e. in_elements x (out_channels / groups) x kH x kW.
A training step costs about 3x the forward (forward, gradient w.r.t. the inputs, w.r.t. the weights).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn


def count_macs(net: nn.Module, *shape: int) -> int:
    """Multiply-adds of one forward pass of ``net`` on a zero tensor of ``shape`` (N x C x H x W)."""
    total = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.ConvTranspose2d):
            kh, kw = module.kernel_size
            total += inputs[0].numel() * (module.out_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += output.numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in net.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            net(torch.zeros(*shape))
    finally:
        net.train(was_training)
        for handle in handles:
            handle.remove()
    return total


@dataclass(frozen=True)
class CpuPeak:
    cores: int
    ghz: float
    fp32_flops_per_cycle: int   # per core: FMA units x SIMD lanes x 2
    basis: str
    bf16_factor: int = 1        # bf16 multiply-adds per fp32 one (2 with AVX512-BF16: VDPBF16PS)
    int8_factor: int = 1        # int8 multiply-adds per fp32 one (4 with VNNI: VPDPBUSD)

    @property
    def gmacs(self) -> float:
        """Peak fp32 multiply-adds per second over all ``cores``, in GMAC/s (1 FMA = 1 MAC)."""
        return self.cores * self.ghz * self.fp32_flops_per_cycle / 2


def cpu_peak(cores: int | None = None, cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuPeak | None:
    """An estimate from /proc/cpuinfo: the widest FMA the CPU advertises, two FMA pipes per core (true for
    recent Intel server cores and AMD Zen 4/5), the reported clock (a base clock: turbo raises the real peak)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    flags = set(re.search(r"^flags\s*:\s*(.*)$", text, re.M).group(1).split()) if "flags" in text else set()
    mhz = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)]
    if not mhz:
        return None
    cores = cores or os.cpu_count() or 1
    if "avx512f" in flags:
        lanes, isa = 16, "AVX-512"
    elif "avx2" in flags and "fma" in flags:
        lanes, isa = 8, "AVX2+FMA"
    else:
        lanes, isa = 4, "SSE (no FMA: counted as mul+add)"
    per_cycle = 2 * lanes * 2  # 2 pipes x lanes x (mul + add)
    ghz = max(mhz) / 1000
    bf16 = 2 if "avx512_bf16" in flags else 1
    int8 = 4 if {"avx512_vnni", "avx_vnni"} & flags else 1
    return CpuPeak(cores, ghz, per_cycle,
                   f"{isa} in /proc/cpuinfo: 2 FMA pipes x {lanes} fp32 lanes = {per_cycle} FLOP/cycle/core "
                   f"x {ghz:.2f} GHz (the clock /proc/cpuinfo reports; boost clocks are higher, so this "
                   f"underestimates) x {cores} cores = {cores * ghz * per_cycle:.0f} GFLOP/s "
                   f"= {cores * ghz * per_cycle / 2:.0f} fp32 GMAC/s"
                   + (f"; x{bf16} for bf16 (AVX512-BF16)" if bf16 > 1 else "")
                   + (f"; x{int8} for int8 (VNNI)" if int8 > 1 else ""), bf16, int8)


def publish(text: str, results: Path, append: bool) -> None:
    """Print a benchmark's markdown table and, with ``append``, add it to an existing RESULTS.md."""
    print(text)
    if append:
        if not results.exists():
            raise SystemExit(f"{results}: does not exist (yet); not appending")
        with results.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text)
        print(f"appended to {results}", file=sys.stderr)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as "a.aa b.bb c.cc"."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    from translation.networks import create_discriminator, create_generator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--ngf", type=int, default=64)
    args = parser.parse_args()
    print("| network | input | GMAC per image (forward) |")
    print("| --- | --- | --- |")
    for name in ("unet_256", "resnet_9blocks"):
        net = create_generator(name, ngf=args.ngf)
        macs = count_macs(net, 1, 3, args.size, args.size)
        print(f"| {name} ngf {args.ngf} | 3x{args.size}x{args.size} | {macs / 1e9:.2f} |")
    for channels in (6, 3):
        net = create_discriminator("basic", in_channels=channels, ndf=args.ngf)
        print(f"| basic D ({channels} ch) | {channels}x{args.size}x{args.size} | "
              f"{count_macs(net, 1, channels, args.size, args.size) / 1e9:.2f} |")
    peak = cpu_peak()
    print(f"\nCPU peak estimate: {peak.basis}" if peak else "\nCPU peak: unknown (no /proc/cpuinfo)")


if __name__ == "__main__":
    main()
