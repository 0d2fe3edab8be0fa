"""Generators and discriminators, built by name or config, compatible with reference checkpoints."""
from __future__ import annotations

from torch import nn

from ..errors import TranslationError
from .config import DISCRIMINATORS, GENERATORS, DiscriminatorConfig, GeneratorConfig
from .discriminators import PatchDiscriminator, PixelDiscriminator
from .init import init_weights
from .resnet import ResnetGenerator
from .unet import UnetGenerator


def build_generator(config: GeneratorConfig, *, initialise: bool = True) -> nn.Module:
    if config.kind == "unet":
        net: nn.Module = UnetGenerator(config.in_channels, config.out_channels, config.depth, config.ngf,
                                       config.norm, config.dropout, config.residual)
    elif config.kind == "resnet":
        net = ResnetGenerator(config.in_channels, config.out_channels, config.ngf, config.depth,
                              config.norm, config.dropout, config.residual)
    else:
        raise TranslationError(f"unknown generator kind {config.kind!r}; use 'unet' or 'resnet'")
    return init_weights(net) if initialise else net


def build_discriminator(config: DiscriminatorConfig, *, initialise: bool = True) -> nn.Module:
    if config.kind in ("basic", "n_layers"):
        layers = 3 if config.kind == "basic" else config.n_layers
        net: nn.Module = PatchDiscriminator(config.in_channels, config.ndf, layers, config.norm)
    elif config.kind == "pixel":
        net = PixelDiscriminator(config.in_channels, config.ndf, config.norm)
    else:
        raise TranslationError(f"unknown discriminator {config.kind!r}; choose one of {', '.join(DISCRIMINATORS)}")
    return init_weights(net) if initialise else net


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


__all__ = [
    "DISCRIMINATORS", "GENERATORS", "DiscriminatorConfig", "GeneratorConfig", "PatchDiscriminator",
    "PixelDiscriminator", "ResnetGenerator", "UnetGenerator", "build_discriminator", "build_generator",
    "count_parameters", "init_weights",
]
