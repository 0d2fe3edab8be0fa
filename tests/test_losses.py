"""GAN losses against their definitions, the gradient penalty against a case solved by hand, L1 losses."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from translation.errors import TranslationError
from translation.losses import GANLoss, cycle_loss, gradient_penalty, identity_loss, l1_loss

SCORES = torch.tensor([[-2.0, -0.5], [0.3, 1.5]]).view(1, 1, 2, 2)


def test_vanilla_is_binary_cross_entropy_on_logits():
    loss = GANLoss("vanilla")
    p = torch.sigmoid(SCORES)
    assert torch.allclose(loss(SCORES, True), -torch.log(p).mean())
    assert torch.allclose(loss(SCORES, False), -torch.log(1 - p).mean())
    assert torch.allclose(loss(SCORES, True, for_generator=True), loss(SCORES, True))


def test_lsgan_is_least_squares():
    loss = GANLoss("lsgan")
    assert torch.allclose(loss(SCORES, True), ((SCORES - 1) ** 2).mean())
    assert torch.allclose(loss(SCORES, False), (SCORES ** 2).mean())


def test_hinge_and_wgangp():
    hinge = GANLoss("hinge")
    assert torch.allclose(hinge(SCORES, True), F.relu(1 - SCORES).mean())   # (3 + 1.5 + 0.7 + 0) / 4
    assert torch.allclose(hinge(SCORES, True), torch.tensor(5.2 / 4))
    assert torch.allclose(hinge(SCORES, False), F.relu(1 + SCORES).mean())
    assert torch.allclose(hinge(SCORES, True, for_generator=True), -SCORES.mean())
    wgan = GANLoss("wgangp")
    assert torch.allclose(wgan(SCORES, True), -SCORES.mean())
    assert torch.allclose(wgan(SCORES, False), SCORES.mean())


def test_losses_are_float32_under_bfloat16_inputs():
    assert GANLoss("vanilla")(SCORES.bfloat16(), True).dtype == torch.float32
    assert l1_loss(SCORES.bfloat16(), SCORES).dtype == torch.float32


def test_unknown_mode():
    with pytest.raises(TranslationError, match="unknown GAN mode 'wgan'"):
        GANLoss("wgan")


def test_gradient_penalty_matches_the_hand_computed_value():
    # D(x) = sum(w * x) has gradient w everywhere: penalty = weight * (||w|| - 1)^2, for any mix.
    critic = nn.Conv2d(1, 1, kernel_size=2, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[[[3.0, 0.0], [0.0, 4.0]]]]))  # ||w|| = 5 on a 2x2 input
    real, fake = torch.rand(3, 1, 2, 2), torch.rand(3, 1, 2, 2)
    penalty = gradient_penalty(critic, real, fake, weight=10.0)
    assert torch.allclose(penalty, torch.tensor(10.0 * (5 - 1) ** 2))
    penalty.backward()  # it trains the critic: d/dw of 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    assert torch.allclose(critic.weight.grad, 20 * 4 * critic.weight.detach() / 5)


def test_l1_cycle_identity():
    a, b = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)
    assert l1_loss(a, b).item() == cycle_loss(a, b).item() == identity_loss(a, b).item() == 0.5
