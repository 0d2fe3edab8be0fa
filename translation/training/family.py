"""What the training loop needs from a model family (pix2pix, CycleGAN, ...), and the helpers they share.

A family is a ``Family`` subclass in a module of ``training/families/``, registered there with
``@register_family("NAME")``; ``translation train NAME`` and the loop find it by that name.

Declared by the class, read before anything is built (``--help``, the configuration):

    summary, description, examples   what ``translation train NAME --help`` says
    Options      its options: a frozen dataclass whose fields are made with ``option`` (the help text of
                 each becomes ``--the-name``); ``config.family_options`` holds the values of a run
    defaults     its values for the shared options a user leaves unset: netG, norm, gan_mode
    generators   the generators it trains, name -> what it maps; each is written as
                 RUN_DIR/latest_net_NAME.pth at the end
    build_data   the data it trains on (training/data.py: paired_data, unpaired_data)
    best_score   the score of ``validate`` (higher is better, or lower with ``lower_is_better``) that
                 picks RUN_DIR/checkpoints/best.pt

Built for a run (``__init__``): its networks and optimizers (discriminators from
``config.discriminator``, which carries --spectral-norm) and, if it applies --diffaugment,
``self.augment = self.diff_augment(...)``; ``run_details`` adds to what checkpoints say about the run.
Then per step ``train_step`` (forward, losses, backward, optimizer steps; what a discriminator judges
passes through ``augmented`` / ``augmented_alike``); for the sample grids ``visuals``, and after each
epoch ``validate``, both given the generators to show (the averages under --ema). The loop does the
rest, --ema included.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..data.augment import sample_seed
from ..losses import gradient_penalty
from ..networks import DiscriminatorConfig, GeneratorConfig
from ..tasks import TaskSpec
from .config import TrainConfig
from .data import TrainingData
from .diffaugment import DiffAugment, parse_policy
from .distributed import Runtime
from .fast import SpeedPlan, compile_module
from .metrics import evaluate, evaluating, to_display
from .pool import ImagePool


def option(default: bool | int | float | str | None, help: str, *,  # noqa: A002 - argparse's word
           kind: type | None = None, shown: str | None = None) -> Any:
    """A field of a family's ``Options``: its default and the help of its command-line flag.

    A default of None is one the family fills in from its other options (in the Options' ``__post_init__``):
    ``kind`` is then the flag's type and ``shown`` what its help says the default is."""
    return dataclasses.field(default=default, metadata={"help": help, "kind": kind or type(default),
                                                        "shown": shown if shown is not None else str(default)})


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
    best_score: ClassVar[str] = "psnr"
    lower_is_better: ClassVar[bool] = False  # of best_score (a distance, not a PSNR)

    generator_configs: dict[str, GeneratorConfig]
    discriminator_configs: dict[str, DiscriminatorConfig]
    networks: dict[str, nn.Module]          # the bare networks (what checkpoints hold)
    optimizers: dict[str, torch.optim.Optimizer]
    pools: dict[str, ImagePool]
    augment: DiffAugment | None             # --diffaugment, when the family applies it

    @classmethod
    def build_data(cls, config: TrainConfig, spec: TaskSpec) -> TrainingData:
        raise NotImplementedError

    def __init__(self, config: TrainConfig, spec: TaskSpec, runtime: Runtime, speed: SpeedPlan) -> None:
        self.config, self.spec, self.runtime, self.speed = config, spec, runtime, speed
        self.options = config.family_options
        self.memory_format = speed.memory_format
        self.discriminator_configs = {}
        self.pools = {}
        self.augment = None
        self._compiled: dict[int, nn.Module] = {}

    def train_step(self, batch: dict[str, torch.Tensor],
                   autocast: Callable[[], AbstractContextManager]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def run_details(self) -> dict[str, Any]:
        """What a checkpoint's ``info`` (and an export's ``training`` metadata) adds about this run's model."""
        return {}

    def visuals(self, batch: dict[str, torch.Tensor], generators: Mapping[str, nn.Module]) -> list[list[torch.Tensor]]:
        raise NotImplementedError

    def validate(self, loader: DataLoader, generators: Mapping[str, nn.Module]) -> dict[str, float]:
        """Scores on the held-out data, for metrics.jsonl; by default L1 / PSNR / SSIM of the first
        generator's G(A) against B (paired data)."""
        generator = generators[next(iter(self.generators))]
        return evaluate(generator, loader, self.spec, self.runtime.device,
                        prepare=lambda x: x.to(memory_format=self.memory_format))

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

    def diff_augment(self, channel_groups: Sequence[int] | None = None) -> DiffAugment | None:
        """The run's DiffAugment (None without --diffaugment), with a generator of its own per process."""
        if not parse_policy(self.config.diffaugment):
            return None
        return DiffAugment(self.config.diffaugment, seed=sample_seed(self.config.seed, self.runtime.rank, 2),
                           channel_groups=channel_groups)

    def augmented(self, images: torch.Tensor) -> torch.Tensor:
        """What a discriminator sees of ``images``: a fresh DiffAugment draw, or the images as they are."""
        return images if self.augment is None else self.augment(images)

    def augmented_alike(self, *batches: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``batches`` (a real and a generated one of the same shape) augmented with one draw."""
        return batches if self.augment is None else self.augment.same(*batches)

    def update_discriminator(self, net: nn.Module, forward: Callable[[torch.Tensor], torch.Tensor],
                             real: torch.Tensor, fake: torch.Tensor,
                             autocast: Callable[[], AbstractContextManager]) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of the "D" optimizer for ``net`` (called through ``forward``, e.g. its DDP wrapper):
        ``real`` judged real, ``fake`` (detached) fake, plus the gradient penalty under wgangp.
        Returns the two halves of the loss, detached, for the log."""
        set_requires_grad(net, True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        with autocast():
            loss_fake = self.gan(forward(fake), False)
            loss_real = self.gan(forward(real), True)
        loss = 0.5 * (loss_fake + loss_real)
        if self.config.gan_mode == "wgangp":
            loss = loss + gradient_penalty(net, real, fake, weight=self.config.lambda_gp)
        loss.backward()
        self.optimizers["D"].step()
        return loss_real.detach(), loss_fake.detach()

    def run_eval(self, net: nn.Module, images: torch.Tensor) -> torch.Tensor:
        with evaluating(net):
            return net(images).float()

    @staticmethod
    def display(images: torch.Tensor, space: str, source: torch.Tensor | None = None) -> torch.Tensor:
        return to_display(images, space, source).cpu()

    def rank_state(self) -> dict[str, Any]:
        """What this process adds to a checkpoint's ``ranks``: its image pools and DiffAugment generator."""
        state: dict[str, Any] = {"pools": {name: pool.state_dict() for name, pool in self.pools.items()}}
        if self.augment is not None:
            state["diffaugment"] = self.augment.state_dict()
        return state

    def load_rank_state(self, state: dict[str, Any]) -> None:
        for name, pool_state in state["pools"].items():
            self.pools[name].load_state_dict(pool_state, self.runtime.device)
        if self.augment is not None:
            self.augment.load_state_dict(state["diffaugment"])
