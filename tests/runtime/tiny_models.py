"""Tiny generators exported to ONNX for the runtime tests (ngf 4-8, a few hundred KB each)."""
from __future__ import annotations

from pathlib import Path

import torch

from translation.export import export_generator
from translation.networks import GeneratorConfig, build_generator
from translation.tasks import TaskSpec


def tiny_net(name: str = "resnet_1blocks", *, seed: int = 0, **config) -> tuple[torch.nn.Module, GeneratorConfig]:
    torch.manual_seed(seed)
    cfg = GeneratorConfig.named(name, ngf=config.pop("ngf", 8), **config)
    net = build_generator(cfg)
    # He-initialised convs keep the signal alive through a random network, so outputs span the
    # tanh range and differences between code paths are visible (N(0, 0.02) shrinks them to ~1e-5).
    for module in net.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return net.eval(), cfg


def export_tiny(folder: Path, stem: str, name: str = "resnet_1blocks", *, task: str | TaskSpec = "style-transfer",
                seed: int = 0, export_options: dict | None = None, **config) -> Path:
    net, cfg = tiny_net(name, seed=seed, **config)
    return export_generator(net, Path(folder) / f"{stem}.onnx", task=task, config=cfg, **(export_options or {}))
