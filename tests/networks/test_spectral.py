"""Spectral norm on a discriminator: unit largest singular values, state round trip, training still works."""
from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from torch.nn.utils import parametrize

from translation.networks import (DiscriminatorConfig, PatchDiscriminator, PixelDiscriminator, build_discriminator,
                                  discriminator_names, init_weights)
from translation.networks.spectral import apply_spectral_norm


def largest_singular_values(net: nn.Module) -> list[float]:
    return [float(torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2))
            for layer in net.modules() if isinstance(layer, (nn.Conv2d, nn.Linear))]


def pairs(seed: int = 0) -> torch.Tensor:
    return torch.randn(2, 6, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_every_weight_has_a_largest_singular_value_of_one():
    torch.manual_seed(0)
    net = init_weights(PatchDiscriminator(6, ndf=8, n_layers=3, norm="none"))
    before = largest_singular_values(net)
    apply_spectral_norm(net)
    for _ in range(5):  # one power iteration per training forward
        net.train()(pairs())
    after = largest_singular_values(net)
    assert len(after) == 5 and all(abs(s - 1) > 0.2 for s in before)
    assert all(abs(s - 1) < 0.02 for s in after), after


def test_linear_layers_are_wrapped_and_twice_is_once():
    net = nn.Sequential(nn.Linear(12, 7), nn.LeakyReLU(0.2), nn.Linear(7, 1))
    apply_spectral_norm(apply_spectral_norm(net))
    keys = set(net.state_dict())
    assert {"0.parametrizations.weight.original", "2.parametrizations.weight.0._u"} <= keys
    assert len(net[0].parametrizations.weight) == len(net[2].parametrizations.weight) == 1
    assert all(abs(s - 1) < 0.05 for s in largest_singular_values(net))


def test_state_dict_round_trip_gives_the_same_discriminator():
    torch.manual_seed(1)
    net = apply_spectral_norm(init_weights(PatchDiscriminator(6, ndf=8, n_layers=2, norm="none")))
    net.train()(pairs())  # move u and v off their initial values
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(2)
    other = apply_spectral_norm(init_weights(PatchDiscriminator(6, ndf=8, n_layers=2, norm="none")))
    other.load_state_dict(torch.load(buffer, weights_only=True))
    with torch.no_grad():
        assert torch.equal(net.eval()(pairs(3)), other.eval()(pairs(3)))
        assert torch.equal(net.train()(pairs(4)), other.train()(pairs(4)))  # same power iteration too
    for key, value in net.state_dict().items():
        assert torch.equal(value, other.state_dict()[key]), key


@pytest.mark.parametrize(("make", "channels", "norm_layers"), [
    (lambda: PatchDiscriminator(6, ndf=8, n_layers=3, norm="batch"), 6, 3),
    (lambda: PatchDiscriminator(3, ndf=8, n_layers=3, norm="instance"), 3, 3),
    (lambda: PixelDiscriminator(6, ndf=8, norm="none"), 6, 0),
])
def test_discriminators_still_train(make, channels, norm_layers):
    torch.manual_seed(0)
    net = apply_spectral_norm(init_weights(make())).train()
    x = torch.randn(2, channels, 32, 32, requires_grad=True)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    score = net(x)
    score.mean().backward()
    originals = [layer.parametrizations.weight.original for layer in net.modules() if isinstance(layer, nn.Conv2d)]
    assert originals and all(w.grad is not None and w.grad.abs().sum() > 0 for w in originals)
    assert x.grad is not None and torch.isfinite(x.grad).all()
    optimizer.step()
    assert torch.isfinite(net(x)).all() and net(x).shape == score.shape
    norms = [m for m in net.modules() if isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d))]
    assert len(norms) == norm_layers  # norm layers are left in place


@pytest.mark.parametrize("name", discriminator_names())
def test_every_registered_discriminator_is_built_with_it_from_its_config(name):
    config = DiscriminatorConfig(name, in_channels=6, ndf=8, n_layers=2, norm="none", spectral_norm=True)
    torch.manual_seed(0)
    net = build_discriminator(config).train()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(parametrize.is_parametrized(conv, "weight") for conv in convs)
    net(pairs())
    assert all(abs(s - 1) < 0.05 for s in largest_singular_values(net))
    # what a checkpoint holds rebuilds the same discriminator (weights and power-iteration vectors)
    again = build_discriminator(DiscriminatorConfig(**config.to_dict()), initialise=False)
    again.load_state_dict(net.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.equal(again.train()(pairs(5)), net(pairs(5)))
    assert not any(parametrize.is_parametrized(m) for m in build_discriminator(DiscriminatorConfig(name)).modules())
