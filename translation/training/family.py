"""What the training loop needs from a model family (pix2pix, CycleGAN, ...), and the helpers they share.

A family is a ``Family`` subclass in a module of ``training/families/``, registered there with
``@register_family("NAME")``; ``translation train NAME`` and the loop find it by that name.

Declared by the class, read before anything is built (``--help``, the configuration):

    summary, description, examples   what ``translation train NAME --help`` says
    Options      its options: a frozen dataclass whose fields are made with ``option`` (the help text of
                 each becomes ``--the-name``); ``config.family_options`` holds the values of a run
    defaults     its values for the shared options a user leaves unset: netG, norm, gan_mode
    generators   the generators it trains, name -> what it maps; each is written as
                 RUN_DIR/latest_net_NAME.pth at the end, and validation measures the first
    build_data   the data it trains on (training/data.py: paired_data, unpaired_data)

Built for a run (``__init__``): its networks and optimizers. Then per step ``train_step`` (forward,
losses, backward, optimizer steps) and ``visuals`` (rows of a sample grid). The loop does the rest.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import torch
from torch import nn

from ..networks import DiscriminatorConfig, GeneratorConfig
from ..tasks import TaskSpec
from .config import TrainConfig
from .data import TrainingData
from .distributed import Runtime
from .fast import SpeedPlan, compile_module
from .metrics import to_display
from .pool import ImagePool


def option(default: bool | int | float | str, help: str) -> Any:  # noqa: A002 - argparse's word
    """A field of a family's ``Options``: its default and the help of its command-line flag."""
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """The options of a family that has none of its own."""


def set_requires_grad(net: nn.Module, flag: bool) -> None:
    for parameter in net.parameters():
        parameter.requires_grad_(flag)


class Family:
    name: ClassVar[str]                      # set by register_family
    summary: ClassVar[str]
    description: ClassVar[str]
    examples: ClassVar[tuple[str, ...]] = ()
    Options: ClassVar[type] = NoOptions
    defaults: ClassVar[dict[str, str]]
    generators: ClassVar[dict[str, str]]

    generator_configs: dict[str, GeneratorConfig]
    discriminator_configs: dict[str, DiscriminatorConfig]
    networks: dict[str, nn.Module]          # the bare networks (what checkpoints hold)
    optimizers: dict[str, torch.optim.Optimizer]
    pools: dict[str, ImagePool]

    @classmethod
    def build_data(cls, config: TrainConfig, spec: TaskSpec) -> TrainingData:
        raise NotImplementedError

    def __init__(self, config: TrainConfig, spec: TaskSpec, runtime: Runtime, speed: SpeedPlan) -> None:
        self.config, self.spec, self.runtime, self.speed = config, spec, runtime, speed
        self.options = config.family_options
        self.memory_format = speed.memory_format
        self.discriminator_configs = {}
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
