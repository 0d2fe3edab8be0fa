"""PatchGAN (n-layer) and pixel (1x1) discriminators with the reference module layout."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .norms import conv_bias, norm_layer
from .registry import register_discriminator

if TYPE_CHECKING:
    from .config import DiscriminatorConfig


class PatchDiscriminator(nn.Module):
    """Classifies overlapping patches; 70x70 receptive field at ``n_layers=3``."""

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=bias),
                       make_norm(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """A 1x1 PatchGAN: judges each pixel's colour on its own."""

    def __init__(self, in_channels: int, ndf: int = 64, norm: str = "batch") -> None:
        super().__init__()
        bias = conv_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, bias=bias), norm_layer(norm)(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register_discriminator("basic")
def basic(config: DiscriminatorConfig) -> PatchDiscriminator:
    """The 70x70 PatchGAN of both papers (n_layers 3)."""
    return PatchDiscriminator(config.in_channels, config.ndf, 3, config.norm)


@register_discriminator("n_layers")
def n_layers(config: DiscriminatorConfig) -> PatchDiscriminator:
    """A PatchGAN of ``config.n_layers`` layers (a receptive field that grows with them)."""
    return PatchDiscriminator(config.in_channels, config.ndf, config.n_layers, config.norm)


@register_discriminator("pixel")
def pixel(config: DiscriminatorConfig) -> PixelDiscriminator:
    return PixelDiscriminator(config.in_channels, config.ndf, config.norm)
