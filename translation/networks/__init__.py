"""Generators and discriminators by name (registry.py), compatible with reference checkpoints.

``create_generator("unet_256", ngf=32)`` builds a registered generator from options;
``build_generator(config)`` builds one from its saved ``GeneratorConfig``. Discriminators likewise.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from .config import DiscriminatorConfig, GeneratorConfig
# importing the network modules registers their networks
from .discriminators import PatchDiscriminator, PixelDiscriminator
from .init import init_weights
from .registry import (discriminator_builder, discriminator_names, generator_entry, generator_names,
                       register_discriminator, register_generator)
from .resnet import ResnetGenerator
from .spectral import apply_spectral_norm
from .unet import UnetGenerator
from .pixel_shuffle import PixelShuffleGenerator  # noqa: I001 - after the reference networks in --netG's list
from .antialias import AntialiasedResnetGenerator  # noqa: I001 - CUT's reference layout, last in the list


def build_generator(config: GeneratorConfig, *, initialise: bool = True) -> nn.Module:
    entry = generator_entry(config.name)
    net = entry.build(config)
    return init_weights(net) if initialise and entry.initialise else net


def create_generator(name: str, *, initialise: bool = True, **options: Any) -> nn.Module:
    """The generator registered as ``name``, with its defaults for the options not given."""
    return build_generator(GeneratorConfig.named(name, **options), initialise=initialise)


def build_discriminator(config: DiscriminatorConfig, *, initialise: bool = True) -> nn.Module:
    net = discriminator_builder(config.name)(config)
    if initialise:
        init_weights(net)
    return apply_spectral_norm(net) if config.spectral_norm else net


def create_discriminator(name: str, *, initialise: bool = True, **options: Any) -> nn.Module:
    return build_discriminator(DiscriminatorConfig(name, **options), initialise=initialise)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


__all__ = [
    "AntialiasedResnetGenerator", "DiscriminatorConfig", "GeneratorConfig", "PatchDiscriminator", "PixelDiscriminator", "PixelShuffleGenerator",
    "ResnetGenerator", "UnetGenerator", "build_discriminator", "build_generator", "count_parameters", "create_discriminator",
    "create_generator", "discriminator_names", "generator_names", "init_weights", "register_discriminator",
    "register_generator",
]
