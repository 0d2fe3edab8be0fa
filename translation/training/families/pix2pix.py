"""pix2pix (Isola et al., 2017): a generator G(A) ~ B trained with L1 * lambda_L1 plus a conditional
PatchGAN that judges (A, B) pairs, i.e. concat(A, real B) against concat(A, G(A)).

Under --diffaugment the discriminator sees the pairs augmented as wholes (input and output move together;
colour jitters each half as an image of its own), the real and the generated pair of a step with one draw."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

import torch
from torch import nn

from ...errors import TranslationError
from ...losses import GANLoss, l1_loss, l2_loss
from ...networks import build_discriminator, build_generator
from ...tasks import TaskSpec
from ..config import TrainConfig
from ..data import TrainingData, paired_data
from ..distributed import Runtime
from ..fast import SpeedPlan
from ..family import Family, option, set_requires_grad
from . import register_family

RECONSTRUCTION_LOSSES = {"l1": l1_loss, "l2": l2_loss}


@register_family("pix2pix")
class Pix2Pix(Family):
    summary = "Train pix2pix (paired: learn A -> B from pairs, Isola et al. 2017)"
    description = f"{summary}: a U-Net generator with L1 and a conditional PatchGAN."
    examples = (
        "translation train pix2pix --data datasets/facades --out runs/facades --direction BtoA",
        "translation train pix2pix --task colorization --data PHOTOS_DIR --out runs/colorize",
        "translation train pix2pix --out runs/facades --resume        # continue after a stop",
    )
    defaults = dict(netG="unet_256", norm="batch", gan_mode="vanilla")
    generators = {"G": "A -> B"}

    @dataclass(frozen=True)
    class Options:
        lambda_l1: float = option(100.0, "weight of the reconstruction loss (L1 unless --reconstruction l2)")
        reconstruction: str = option(
            "l1", "how G(A) is held to B: l1 (the paper's mean absolute error) or l2 (mean squared error, what "
            "PSNR measures: for a last fine-tune of a model judged by PSNR, e.g. super-resolution)")

        def __post_init__(self) -> None:
            if self.reconstruction not in RECONSTRUCTION_LOSSES:
                raise TranslationError(f"unknown --reconstruction {self.reconstruction!r}; choose one of "
                                       f"{', '.join(RECONSTRUCTION_LOSSES)}")

    @classmethod
    def build_data(cls, config: TrainConfig, spec: TaskSpec) -> TrainingData:
        return paired_data(config, spec)

    def __init__(self, config: TrainConfig, spec: TaskSpec, runtime: Runtime, speed: SpeedPlan) -> None:
        super().__init__(config, spec, runtime, speed)
        self.generator_configs = {"G": config.generator(spec.in_channels, spec.out_channels)}
        self.discriminator_configs = {"D": config.discriminator(spec.in_channels + spec.out_channels)}
        self.G = self.place(build_generator(self.generator_configs["G"]))
        self.D = self.place(build_discriminator(self.discriminator_configs["D"]))
        self.networks = {"G": self.G, "D": self.D}
        self.optimizers = {"G": self.adam(self.G.parameters()), "D": self.adam(self.D.parameters())}
        self.G_ddp, self.D_ddp = self.forward_of(runtime.wrap(self.G)), self.forward_of(runtime.wrap(self.D))
        self.D_alone = self.forward_of(self.D)  # without DDP: the generator step wants no D gradients
        self.gan = GANLoss(config.gan_mode)
        self.augment = self.diff_augment(channel_groups=(spec.in_channels, spec.out_channels))
        self.reconstruction_loss = RECONSTRUCTION_LOSSES[self.options.reconstruction]
        self.reconstruction_name = f"G_{self.options.reconstruction.upper()}"  # G_L1 | G_L2 in the logs

    def train_step(self, batch: dict[str, torch.Tensor],
                   autocast: Callable[[], AbstractContextManager]) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        with autocast():
            fake_b = self.G_ddp(real_a)

        # Discriminator: real pairs -> real, generated pairs -> fake.
        real_pair, fake_pair = self.augmented_alike(torch.cat([real_a, real_b], 1),
                                                    torch.cat([real_a, fake_b.detach().to(real_a.dtype)], 1))
        loss_d_real, loss_d_fake = self.update_discriminator(self.D, self.D_ddp, real_pair, fake_pair, autocast)

        # Generator: fool D (whose own DDP wrapper is bypassed: its gradients are not wanted) and match B.
        set_requires_grad(self.D, False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        fake_pair = self.augmented(torch.cat([real_a, fake_b.to(real_a.dtype)], 1))
        with autocast():
            loss_g_gan = self.gan(self.D_alone(fake_pair), True, for_generator=True)
        loss_g_match = self.reconstruction_loss(fake_b, real_b) * self.options.lambda_l1
        (loss_g_gan + loss_g_match).backward()
        self.optimizers["G"].step()

        return {"G_GAN": loss_g_gan.detach(), self.reconstruction_name: loss_g_match.detach(),
                "D_real": loss_d_real, "D_fake": loss_d_fake}

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor], generators: Mapping[str, nn.Module]) -> list[list[torch.Tensor]]:
        """One row per image: input | output | target."""
        real_a, real_b = batch["A"], batch["B"]
        fake_b = self.run_eval(generators["G"], real_a)
        columns = [self.display(real_a, self.spec.input_space), self.display(fake_b, self.spec.output_space, real_a),
                   self.display(real_b, self.spec.output_space, real_a)]
        return [list(row) for row in zip(*columns)]
