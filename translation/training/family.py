"""What the training loop needs from a model family (pix2pix, CycleGAN), and the helpers they share.

A family builds its networks and optimizers and defines ``train_step`` (one iteration: forward,
losses, backward, optimizer steps) and ``visuals`` (rows of a sample grid). The loop does the rest.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

import torch
from torch import nn

from ..networks import DiscriminatorConfig, GeneratorConfig
from ..tasks import TaskSpec
from .config import TrainConfig
from .distributed import Runtime
from .fast import SpeedPlan, compile_module
from .metrics import to_display
from .pool import ImagePool


def set_requires_grad(net: nn.Module, flag: bool) -> None:
    for parameter in net.parameters():
        parameter.requires_grad_(flag)


class Family:
    generator_configs: dict[str, GeneratorConfig]
    discriminator_configs: dict[str, DiscriminatorConfig]
    networks: dict[str, nn.Module]          # the bare networks (what checkpoints hold)
    optimizers: dict[str, torch.optim.Optimizer]
    pools: dict[str, ImagePool]

    def __init__(self, config: TrainConfig, spec: TaskSpec, runtime: Runtime, speed: SpeedPlan) -> None:
        self.config, self.spec, self.runtime, self.speed = config, spec, runtime, speed
        self.memory_format = speed.memory_format
        self.pools = {}
        self._compiled: dict[int, nn.Module] = {}

    def train_step(self, batch: dict[str, torch.Tensor],
                   autocast: Callable[[], AbstractContextManager]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def visuals(self, batch: dict[str, torch.Tensor]) -> list[list[torch.Tensor]]:
        raise NotImplementedError

    # ------------------------------------------------------------------ shared helpers
    def place(self, net: nn.Module) -> nn.Module:
        return net.to(self.runtime.device, memory_format=self.memory_format)

    def adam(self, parameters: Iterable[nn.Parameter]) -> torch.optim.Adam:
        return self.speed.adam(parameters, self.config.lr, (self.config.beta1, self.config.beta2))

    def forward_of(self, net: nn.Module) -> nn.Module:
        """What the training step calls for ``net`` (itself or its DDP wrapper): compiled under
        ``--compile``, once per module; checkpoints are still written from the bare networks."""
        if not self.speed.compile:
            return net
        if id(net) not in self._compiled:
            self._compiled[id(net)] = compile_module(net)
        return self._compiled[id(net)]

    def run_eval(self, net: nn.Module, images: torch.Tensor) -> torch.Tensor:
        was_training = net.training
        net.eval()
        try:
            return net(images).float()
        finally:
            net.train(was_training)

    @staticmethod
    def display(images: torch.Tensor, space: str, source: torch.Tensor | None = None) -> torch.Tensor:
        return to_display(images, space, source).cpu()

    def pool_states(self) -> dict[str, Any]:
        return {name: pool.state_dict() for name, pool in self.pools.items()}

    def load_pool_states(self, states: dict[str, Any]) -> None:
        for name, state in states.items():
            self.pools[name].load_state_dict(state, self.runtime.device)
