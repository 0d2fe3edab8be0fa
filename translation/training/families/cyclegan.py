"""CycleGAN (Zhu et al., 2017): G_A: A -> B and G_B: B -> A, judged by D_A (real vs fake B) and D_B
(real vs fake A), held together by cycle consistency G_B(G_A(A)) ~ A, G_A(G_B(B)) ~ B and, optionally,
identity G_A(B) ~ B, G_B(A) ~ A. Discriminators see generated images through 50-image history pools and,
under --diffaugment, every image they judge with a draw of its own. Validation: the cycle PSNR of the
held-out images (A -> B -> A, B -> A -> B)."""
from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from ...errors import TranslationError
from ...losses import GANLoss, cycle_loss, gradient_penalty, identity_loss
from ...networks import build_discriminator, build_generator
from ...tasks import TaskSpec
from ..config import TrainConfig
from ..data import TrainingData, unpaired_data
from ..distributed import Runtime
from ..fast import SpeedPlan
from ..family import Family, option, set_requires_grad
from ..metrics import evaluate_cycles
from ..pool import ImagePool
from . import register_family


@register_family("cyclegan")
class CycleGAN(Family):
    summary = "Train CycleGAN (unpaired: learn A <-> B from two sets of images, Zhu et al. 2017)"
    description = f"{summary}: two ResNet generators, two PatchGANs, cycle and identity losses."
    examples = (
        "translation train cyclegan --data datasets/horse2zebra --out runs/horse2zebra",
        "translation train cyclegan --out runs/horse2zebra --resume",
    )
    defaults = dict(netG="resnet_9blocks", norm="instance", gan_mode="lsgan")
    generators = {"G_A": "A -> B", "G_B": "B -> A"}
    best_score = "cycle_psnr"

    @dataclass(frozen=True)
    class Options:
        lambda_cycle: float = option(10.0, "weight of the cycle losses")
        lambda_cycle_b: float | None = option(
            None, "weight of the B -> A -> B cycle alone, where pictures of B must come back more (or less) "
            "faithfully than those of A (the reference's --lambda_B)", kind=float, shown="--lambda-cycle")
        lambda_identity: float = option(0.5, "identity loss weight, relative to --lambda-cycle; 0 turns it off")
        pool_size: int = option(50, "generated images the discriminators remember; 0 turns the pool off")

        def __post_init__(self) -> None:
            if self.lambda_cycle_b is None:
                object.__setattr__(self, "lambda_cycle_b", self.lambda_cycle)
            if self.lambda_cycle < 0 or self.lambda_cycle_b < 0:
                raise TranslationError(f"the cycle weights must not be negative, got --lambda-cycle "
                                       f"{self.lambda_cycle} and --lambda-cycle-b {self.lambda_cycle_b}")

    @classmethod
    def build_data(cls, config: TrainConfig, spec: TaskSpec) -> TrainingData:
        if (spec.input_space, spec.output_space) != ("rgb", "rgb"):
            raise TranslationError(f"--task {spec.name}: CycleGAN translates between two sets of colour "
                                   "images; use pix2pix for this task")
        if spec.self_supervised:
            raise TranslationError(f"--task {spec.name}: CycleGAN learns from two sets of images and cannot make "
                                   "pairs from photos; use pix2pix for this task")
        return unpaired_data(config, spec)

    def __init__(self, config: TrainConfig, spec: TaskSpec, runtime: Runtime, speed: SpeedPlan) -> None:
        super().__init__(config, spec, runtime, speed)
        a_channels, b_channels = spec.in_channels, spec.out_channels
        if self.options.lambda_identity > 0 and a_channels != b_channels:
            raise TranslationError("the identity loss needs as many channels in A as in B; use --lambda-identity 0")
        self.generator_configs = {"G_A": config.generator(a_channels, b_channels),
                                  "G_B": config.generator(b_channels, a_channels)}
        self.discriminator_configs = {"D_A": config.discriminator(b_channels), "D_B": config.discriminator(a_channels)}
        self.networks = {name: self.place(build_generator(c)) for name, c in self.generator_configs.items()}
        self.networks |= {name: self.place(build_discriminator(c)) for name, c in self.discriminator_configs.items()}
        self.ddp = {name: self.forward_of(runtime.wrap(net)) for name, net in self.networks.items()}
        self.alone = {name: self.forward_of(net) for name, net in self.networks.items()}  # no DDP gradients
        n = self.networks
        self.optimizers = {"G": self.adam(itertools.chain(n["G_A"].parameters(), n["G_B"].parameters())),
                           "D": self.adam(itertools.chain(n["D_A"].parameters(), n["D_B"].parameters()))}
        # Pools of generated images, seeded apart from each other and from the global generator.
        pool_size = self.options.pool_size
        self.pools = {"fake_A": ImagePool(pool_size, seed=config.seed * 2 + 1 + 1000 * runtime.rank),
                      "fake_B": ImagePool(pool_size, seed=config.seed * 2 + 2 + 1000 * runtime.rank)}
        self.gan = GANLoss(config.gan_mode)
        self.augment = self.diff_augment()

    def train_step(self, batch: dict[str, torch.Tensor],
                   autocast: Callable[[], AbstractContextManager]) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        n, ddp, options = self.networks, self.ddp, self.options
        use_identity = options.lambda_identity > 0
        with autocast():
            fake_b = ddp["G_A"](real_a)
            rec_a = ddp["G_B"](fake_b)
            fake_a = ddp["G_B"](real_b)
            rec_b = ddp["G_A"](fake_a)
            if use_identity:
                idt_a, idt_b = ddp["G_A"](real_b), ddp["G_B"](real_a)

        # Generators (discriminators frozen and called without their DDP wrappers).
        set_requires_grad(n["D_A"], False)
        set_requires_grad(n["D_B"], False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with autocast():
            loss_g_a = self.gan(self.alone["D_A"](self.augmented(fake_b)), True, for_generator=True)
            loss_g_b = self.gan(self.alone["D_B"](self.augmented(fake_a)), True, for_generator=True)
        loss_cycle_a = cycle_loss(rec_a, real_a) * options.lambda_cycle
        loss_cycle_b = cycle_loss(rec_b, real_b) * options.lambda_cycle_b
        losses = {"G_A": loss_g_a, "G_B": loss_g_b, "cycle_A": loss_cycle_a, "cycle_B": loss_cycle_b}
        if use_identity:
            losses["idt_A"] = identity_loss(idt_a, real_b) * options.lambda_cycle * options.lambda_identity
            losses["idt_B"] = identity_loss(idt_b, real_a) * options.lambda_cycle * options.lambda_identity
        sum(losses.values()).backward()
        self.optimizers["G"].step()

        # Discriminators, on real images and on generated ones drawn from the history pools.
        set_requires_grad(n["D_A"], True)
        set_requires_grad(n["D_B"], True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        loss_d_a = self._discriminator_loss("D_A", real_b, self.pools["fake_B"].query(fake_b), autocast)
        loss_d_b = self._discriminator_loss("D_B", real_a, self.pools["fake_A"].query(fake_a), autocast)
        (loss_d_a + loss_d_b).backward()
        self.optimizers["D"].step()

        return {**{k: v.detach() for k, v in losses.items()}, "D_A": loss_d_a.detach(), "D_B": loss_d_b.detach()}

    def _discriminator_loss(self, name: str, real: torch.Tensor, fake: torch.Tensor,
                            autocast: Callable[[], AbstractContextManager]) -> torch.Tensor:
        real, fake = self.augmented(real), self.augmented(fake.detach().to(real.dtype))
        with autocast():
            loss = 0.5 * (self.gan(self.ddp[name](real), True) + self.gan(self.ddp[name](fake), False))
        if self.config.gan_mode == "wgangp":
            loss = loss + gradient_penalty(self.networks[name], real, fake, weight=self.config.lambda_gp)
        return loss

    def validate(self, loader: DataLoader, generators: Mapping[str, nn.Module]) -> dict[str, float]:
        """Cycle PSNR of the held-out images (unpaired_data's ``val``: each domain's list of files)."""
        held_out = loader.dataset
        return evaluate_cycles(generators["G_A"], generators["G_B"], loader,
                               (len(held_out.files_a), len(held_out.files_b)),
                               (self.spec.input_space, self.spec.output_space), self.runtime.device,
                               prepare=lambda x: x.to(memory_format=self.memory_format))

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor], generators: Mapping[str, nn.Module]) -> list[list[torch.Tensor]]:
        """Rows real A | G_A(A) | G_B(G_A(A)), then real B | G_B(B) | G_A(G_B(B))."""
        n = generators
        real_a, real_b = batch["A"], batch["B"]
        fake_b, fake_a = self.run_eval(n["G_A"], real_a), self.run_eval(n["G_B"], real_b)
        rec_a, rec_b = self.run_eval(n["G_B"], fake_b), self.run_eval(n["G_A"], fake_a)
        a_space, b_space = self.spec.input_space, self.spec.output_space
        rows_a = zip(self.display(real_a, a_space), self.display(fake_b, b_space), self.display(rec_a, a_space))
        rows_b = zip(self.display(real_b, b_space), self.display(fake_a, a_space), self.display(rec_b, b_space))
        return [list(r) for r in rows_a] + [list(r) for r in rows_b]
