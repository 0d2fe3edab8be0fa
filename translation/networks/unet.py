"""U-Net generator with the reference implementation's module layout (nested skip blocks).

Each block is ``down -> inner block -> up`` with its input concatenated onto its output, so the
state-dict keys (``model.model.1.model.3...``) match the reference checkpoints exactly. With
``upsample="resize"`` every up-convolution is a ``ResizeConv2d`` (no checkerboard artifacts), whose
weights sit one level deeper (``...model.3.conv.weight``): a layout of its own.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ..errors import TranslationError
from .generator import Generator
from .norms import conv_bias, norm_layer
from .registry import register_generator
from .resize_conv import ResizeConv2d

if TYPE_CHECKING:
    from .config import GeneratorConfig


class UnetSkipBlock(nn.Module):
    def __init__(
        self,
        outer_channels: int,
        inner_channels: int,
        *,
        in_channels: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm: str = "batch",
        dropout: bool = False,
        upsample: str = "transpose",
    ) -> None:
        super().__init__()
        self.outermost = outermost
        make_norm = norm_layer(norm)
        bias = conv_bias(norm)
        in_channels = outer_channels if in_channels is None else in_channels
        down_conv = nn.Conv2d(in_channels, inner_channels, 4, stride=2, padding=1, bias=bias)
        down_relu = nn.LeakyReLU(0.2, True)
        up_relu = nn.ReLU(True)

        if outermost:
            up_conv = _up_conv(inner_channels * 2, outer_channels, True, upsample)
            layers = [down_conv, submodule, up_relu, up_conv, nn.Tanh()]
        elif innermost:
            up_conv = _up_conv(inner_channels, outer_channels, bias, upsample)
            layers = [down_relu, down_conv, up_relu, up_conv, make_norm(outer_channels)]
        else:
            up_conv = _up_conv(inner_channels * 2, outer_channels, bias, upsample)
            layers = [down_relu, down_conv, make_norm(inner_channels), submodule,
                      up_relu, up_conv, make_norm(outer_channels)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


def _up_conv(in_channels: int, out_channels: int, bias: bool, upsample: str) -> nn.Module:
    """A x2 up-sampling convolution: the reference's transposed one, or resize + 3x3 convolution."""
    if upsample == "resize":
        return ResizeConv2d(in_channels, out_channels, bias=bias)
    return nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, bias=bias)


class UnetGenerator(Generator):
    """U-Net with ``num_downs`` stride-2 levels; H and W must be divisible by ``2 ** num_downs``.

    With ``residual`` the output is ``clamp(input + network(input))`` (adds no parameters); ``upsample``:
    "transpose" (the reference) or "resize"."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, num_downs: int = 8, ngf: int = 64,
                 norm: str = "batch", dropout: bool = True, residual: bool = False,
                 upsample: str = "transpose") -> None:
        super().__init__(in_channels, out_channels, residual)
        if num_downs < 5:
            raise ValueError("a U-Net needs at least 5 downsamplings")
        block = UnetSkipBlock(ngf * 8, ngf * 8, innermost=True, norm=norm, upsample=upsample)
        for _ in range(num_downs - 5):
            block = UnetSkipBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, dropout=dropout, upsample=upsample)
        for mult in (4, 2, 1):
            block = UnetSkipBlock(ngf * mult, ngf * mult * 2, submodule=block, norm=norm, upsample=upsample)
        self.model = UnetSkipBlock(out_channels, ngf, in_channels=in_channels, submodule=block,
                                   outermost=True, norm=norm, upsample=upsample)


def _unet_side(size: int) -> int:
    """unet_N runs log2(N) stride-2 levels, so image sides must be multiples of N."""
    if size < 32 or size & (size - 1):
        raise TranslationError(f"generator 'unet_{size}': the U-Net size must be a power of two >= 32")
    return size


@register_generator("unet_256", size_multiple=256, norm="batch", dropout=True, upsample="transpose")
def unet_256(config: GeneratorConfig) -> UnetGenerator:
    """pix2pix's default: 8 levels."""
    return unet(256, config)


@register_generator("unet_128", size_multiple=128, norm="batch", dropout=True, upsample="transpose")
def unet_128(config: GeneratorConfig) -> UnetGenerator:
    return unet(128, config)


@register_generator("unet_{n}", size_multiple=_unet_side, norm="batch", dropout=True, upsample="transpose")
def unet(size: int, config: GeneratorConfig) -> UnetGenerator:
    """unet_N for any power of two N >= 32: log2(N) levels."""
    return UnetGenerator(config.in_channels, config.out_channels, size.bit_length() - 1, config.ngf,
                         config.norm, config.dropout, config.residual, config.upsample)
