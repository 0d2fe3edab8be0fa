"""The speed settings of a training run, resolved once for the device at hand.

CUDA: bf16 autocast (``--no-amp`` turns it off), channels_last tensors, fused Adam, pinned host memory
with non-blocking copies, persistent loader workers and, with ``--compile``, ``torch.compile`` of the
networks' forward passes.

CPU: only what measured faster there (benchmarks/train_throughput.py; figures in benchmarks/RESULTS.md):
fused Adam (never slower, up to 1.2x) and persistent workers. channels_last is not used (0.84x-1.14x,
depending on the network). bf16 autocast is 1.3x-2x faster on a CPU that computes bf16 natively
(AVX512-BF16 or AMX) but slower where bf16 is emulated, and it changes the numbers a CPU run produces,
so on the CPU it is opt-in (``--cpu-bf16``). ``--compile`` works on the CPU too, but measured slower
there (0.64x at batch 1).

Left out: GPU augmentation and CUDA graphs. The random crop / flip stays in the loader because every
sample's transform is seeded from (seed, epoch, index), which is what makes a resumed run repeat the
uninterrupted one exactly, and the self-supervised tasks build their input from the cropped photo on
the CPU anyway. CUDA graphs need static shapes and no host synchronisation inside the captured step,
while the CycleGAN image pool decides on the host per image, and an epoch's last batch may be smaller.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from .config import TrainConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeedPlan:
    device_type: str               # "cuda" or "cpu"
    amp: bool = False              # bf16 autocast around the forward passes
    channels_last: bool = False    # NHWC memory format for networks and batches
    fused_adam: bool = False       # one fused kernel per optimizer step
    compile: bool = False          # torch.compile of the forward passes
    pin_memory: bool = False       # page-locked loader output, so host-to-device copies can overlap
    persistent_workers: bool = False

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp:
            return torch.autocast(self.device_type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def adam(self, parameters: Iterable[nn.Parameter], lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
        return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=True if self.fused_adam else None)

    def describe(self) -> str:
        on = [name for name, flag in (("bf16 autocast", self.amp), ("channels_last", self.channels_last),
                                      ("fused Adam", self.fused_adam), ("torch.compile", self.compile),
                                      ("pinned memory", self.pin_memory),
                                      ("persistent workers", self.persistent_workers)) if flag]
        return ", ".join(on) if on else "plain fp32 eager"


def plan_speed(config: TrainConfig, device: torch.device) -> SpeedPlan:
    """What of the fast path this run uses on ``device``; CUDA-only requests on the CPU are logged and ignored."""
    workers = config.workers > 0
    if device.type == "cuda":
        amp = config.amp and torch.cuda.is_bf16_supported()
        if config.amp and not amp:
            log.info("this GPU has no bf16 support: training in fp32")
        return SpeedPlan("cuda", amp=amp, channels_last=config.channels_last, fused_adam=True,
                         compile=config.compile, pin_memory=True, persistent_workers=workers)
    ignored = [name for name, flag in (("bf16 autocast (--amp)", config.amp and not config.cpu_bf16),
                                       ("channels_last", config.channels_last)) if flag]
    if ignored:
        log.info("on the CPU: %s not used (CUDA options)%s", " and ".join(ignored),
                 "; --cpu-bf16 turns bf16 on for a CPU with native bf16" if config.amp and not config.cpu_bf16 else "")
    amp = config.cpu_bf16 and cpu_has_native_bf16()
    if config.cpu_bf16 and not amp:
        log.info("--cpu-bf16: this CPU has no native bf16 (AVX512-BF16 or AMX), where bf16 is slower; training in fp32")
    return SpeedPlan(device.type, amp=amp, fused_adam=True, compile=config.compile, persistent_workers=workers)


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: bf16 dot products in hardware (elsewhere PyTorch emulates them, slowly)."""
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check() for check in checks if check is not None)


def compile_module(net: nn.Module) -> nn.Module:
    """``torch.compile(net)``: a wrapper that shares ``net``'s parameters; ``net`` itself (and so every
    checkpoint, which is written from the bare networks) keeps its key layout without ``_orig_mod.``."""
    return torch.compile(net)
