"""ResNet generator (Johnson et al.) with the reference implementation's module layout."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from .generator import Generator
from .norms import conv_bias, norm_layer
from .registry import register_generator
from .resize_conv import ResizeConv2d

if TYPE_CHECKING:
    from .config import GeneratorConfig


class ResnetBlock(nn.Module):
    def __init__(self, channels: int, norm: str, dropout: bool) -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
                                   make_norm(channels), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), make_norm(channels)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(Generator):
    """Two stride-2 downsamplings, ``n_blocks`` residual blocks, two upsamplings; sides divisible by 4.

    With ``residual`` the output is ``clamp(input + network(input))`` (adds no parameters); ``upsample``:
    "transpose" (the reference) or "resize" (no checkerboard; keys ``model.N.conv.*`` for those layers)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9,
                 norm: str = "instance", dropout: bool = False, residual: bool = False,
                 upsample: str = "transpose") -> None:
        super().__init__(in_channels, out_channels, residual)
        make_norm = norm_layer(norm)
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias),
                                   make_norm(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=bias),
                       make_norm(ngf * mult * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4, norm, dropout) for _ in range(n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            up: nn.Module = (ResizeConv2d(ngf * mult, ngf * mult // 2, bias=bias) if upsample == "resize" else
                             nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1,
                                                output_padding=1, bias=bias))
            layers += [up, make_norm(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def encode(self, x: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
        """The outputs of ``self.model[i]`` for each ``i`` in ``layers`` (ascending indices), the rest of the
        network not run: the features PatchNCE compares (CUT). Adds no weights; the keys stay as they are."""
        return self._run(x, layers, self.model[:max(layers) + 1])[1]

    def forward_with_features(self, x: torch.Tensor, layers: Sequence[int]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``forward(x)`` and, from the same pass, the features ``encode(x, layers)`` would give."""
        y, features = self._run(x, layers, self.model)
        return ((x + y).clamp(-1.0, 1.0) if self.residual else y), features

    @staticmethod
    def _run(x: torch.Tensor, layers: Sequence[int], modules: nn.Sequential) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        for index, layer in enumerate(modules):
            x = layer(x)
            if index in layers:
                features.append(x)
        return x, features

    def paper_layers(self) -> list[int]:
        """The layers CUT (Park et al. 2020) takes its features from: the (padded) input pixels, the two
        down-sampling convolutions, the first residual block and the fifth (the last when there are fewer)."""
        blocks = [i for i, layer in enumerate(self.model) if isinstance(layer, ResnetBlock)]
        down = [i for i, layer in enumerate(self.model[:blocks[0]]) if isinstance(layer, nn.Conv2d)][1:]
        return sorted({0, *down, blocks[0], blocks[min(4, len(blocks) - 1)]})


# Two stride-2 levels whatever the number of blocks: sides must be multiples of 4.
@register_generator("resnet_9blocks", size_multiple=4, norm="instance", dropout=False, upsample="transpose")
def resnet_9blocks(config: GeneratorConfig) -> ResnetGenerator:
    """CycleGAN's default (for 256x256 images)."""
    return resnet(9, config)


@register_generator("resnet_6blocks", size_multiple=4, norm="instance", dropout=False, upsample="transpose")
def resnet_6blocks(config: GeneratorConfig) -> ResnetGenerator:
    """CycleGAN's choice for 128x128 images."""
    return resnet(6, config)


@register_generator("resnet_{n}blocks", size_multiple=4, norm="instance", dropout=False, upsample="transpose")
def resnet(blocks: int, config: GeneratorConfig) -> ResnetGenerator:
    """resnet_Nblocks for any N >= 1."""
    return ResnetGenerator(config.in_channels, config.out_channels, config.ngf, blocks, config.norm, config.dropout,
                           config.residual, config.upsample)
