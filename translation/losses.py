"""Losses of pix2pix and CycleGAN: adversarial (vanilla, lsgan, hinge, wgangp), L1, cycle, identity.

Every adversarial loss takes the discriminator's raw output (logits / scores, any shape) and averages
over all of it, so a PatchGAN's map of patch verdicts counts each patch once.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .errors import TranslationError

GAN_MODES = ("vanilla", "lsgan", "hinge", "wgangp")


class GANLoss(nn.Module):
    """The adversarial loss of one mode.

    ``loss(prediction, target_is_real)`` is what the discriminator minimises on real (True) and
    fake (False) images; the generator minimises ``loss(prediction_on_fake, True, for_generator=True)``.
    vanilla: binary cross-entropy on logits (the pix2pix paper); lsgan: least squares (CycleGAN);
    hinge: max(0, 1 -+ D) for D and -D for G; wgangp: the Wasserstein critic -+ D, to be combined with
    ``gradient_penalty``.
    """

    def __init__(self, mode: str = "vanilla", real_label: float = 1.0, fake_label: float = 0.0) -> None:
        super().__init__()
        if mode not in GAN_MODES:
            raise TranslationError(f"unknown GAN mode {mode!r}; choose one of {', '.join(GAN_MODES)}")
        self.mode = mode
        self.real_label = real_label
        self.fake_label = fake_label

    def forward(self, prediction: torch.Tensor, target_is_real: bool, *, for_generator: bool = False) -> torch.Tensor:
        prediction = prediction.float()  # losses in full precision, also under bf16 autocast
        if self.mode in ("vanilla", "lsgan"):
            target = torch.full_like(prediction, self.real_label if target_is_real else self.fake_label)
            if self.mode == "vanilla":
                return F.binary_cross_entropy_with_logits(prediction, target)
            return F.mse_loss(prediction, target)
        if for_generator or self.mode == "wgangp":
            return -prediction.mean() if target_is_real else prediction.mean()
        # hinge, discriminator side
        return F.relu(1.0 - prediction).mean() if target_is_real else F.relu(1.0 + prediction).mean()


def gradient_penalty(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, *,
                     weight: float = 10.0, target_norm: float = 1.0) -> torch.Tensor:
    """WGAN-GP: ``weight * (||grad_x D(x)|| - target_norm)^2`` on random mixes of real and fake images.

    ``fake`` is detached here; the graph is kept (create_graph) so the penalty trains the discriminator.
    """
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = discriminator(mixed).float()
    (grads,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grads.flatten(1).float().norm(2, dim=1)
    return weight * ((norms - target_norm) ** 2).mean()


def l1_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error, in float32: pix2pix weighs it by lambda_L1 (100)."""
    return F.l1_loss(output.float(), target.float())


def l2_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error, in float32 (pix2pix --reconstruction l2)."""
    return F.mse_loss(output.float(), target.float())


def cycle_loss(reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """||G_B(G_A(A)) - A||_1: CycleGAN weighs it by lambda_cycle (10)."""
    return l1_loss(reconstructed, original)


def identity_loss(same_domain_output: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """||G_A(B) - B||_1: CycleGAN weighs it by lambda_identity * lambda_cycle (0.5 * 10)."""
    return l1_loss(same_domain_output, original)
