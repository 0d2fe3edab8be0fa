"""The anti-aliased ResNet generator of the CUT reference implementation (taesungp/contrastive-unpaired-
translation, its default unless trained with --no_antialias --no_antialias_up), so its ``latest_net_G.pth``
loads with strict keys and exports like any other generator.

Down-sampling there is a stride-1 3x3 convolution, norm, ReLU, then a fixed blur and stride-2 subsampling
(Zhang 2019, "Making convolutional networks shift-invariant again"): the binomial [1, 2, 1] filter in both
axes, depthwise, after reflection padding. Up-sampling is the mirror image: a stride-2 transposed depthwise
convolution with the [1, 3, 3, 1] filter (times 4, so a flat input stays flat) after replication padding,
then a 3x3 convolution. The fixed filters are buffers named ``filt``, as the reference saves them; a
state dict with such keys is how ``detect_generator_config`` tells this layout apart.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from .generator import Generator
from .norms import conv_bias, norm_layer
from .registry import register_generator
from .resnet import ResnetBlock, ResnetGenerator

if TYPE_CHECKING:
    from .config import GeneratorConfig


def binomial(taps: int) -> torch.Tensor:
    """The ``taps`` x ``taps`` binomial filter (outer product of a row of Pascal's triangle), summing to 1."""
    row = torch.tensor([float(math.comb(taps - 1, k)) for k in range(taps)])
    kernel = row[:, None] * row[None, :]
    return kernel / kernel.sum()


class BlurDown(nn.Module):
    """Reflection pad 1, [1, 2, 1]^2 / 16 depthwise, stride 2: H x W -> ceil(H / 2) x ceil(W / 2)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("filt", binomial(3)[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), self.filt, stride=2, groups=x.shape[1])


class BlurUp(nn.Module):
    """Replication pad 1, stride-2 transposed depthwise [1, 3, 3, 1]^2 / 16 (x4 for the zeros it fills in),
    cropped back to 2H x 2W."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("filt", (binomial(4) * 4)[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv_transpose2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), self.filt, stride=2, padding=2,
                               groups=x.shape[1])
        return y[:, :, 1:-1, 1:-1]


class AntialiasedResnetGenerator(ResnetGenerator):
    """The ResNet generator with blur-pool down- and up-sampling (the CUT reference's default layout):
    ``model`` is stem, [conv, norm, ReLU, BlurDown] x 2, blocks, [BlurUp, conv, norm, ReLU] x 2, head;
    ``encode`` / ``paper_layers`` as for the plain one (the paper's layers are 0, 4, 8, 12, 16 here)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9,
                 norm: str = "instance", dropout: bool = False, residual: bool = False) -> None:
        Generator.__init__(self, in_channels, out_channels, residual)  # the layers are not the plain ones
        make_norm = norm_layer(norm)
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias),
                                   make_norm(ngf), nn.ReLU(True)]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, padding=1, bias=bias), make_norm(ngf * mult * 2),
                       nn.ReLU(True), BlurDown(ngf * mult * 2)]
        layers += [ResnetBlock(ngf * 4, norm, dropout) for _ in range(n_blocks)]
        for mult in (4, 2):
            layers += [BlurUp(ngf * mult), nn.Conv2d(ngf * mult, ngf * mult // 2, 3, padding=1, bias=bias),
                       make_norm(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)


@register_generator("resnet_{n}blocks_antialias", size_multiple=4, norm="instance", dropout=False)
def resnet_antialias(blocks: int, config: GeneratorConfig) -> AntialiasedResnetGenerator:
    """resnet_Nblocks with the CUT reference's anti-aliased sampling (its latest_net_G.pth files)."""
    return AntialiasedResnetGenerator(config.in_channels, config.out_channels, config.ngf, blocks, config.norm,
                                      config.dropout, config.residual)
