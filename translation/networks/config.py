"""Network configurations as plain dataclasses, saved beside weights so a checkpoint describes itself."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import TranslationError
from .registry import discriminator_builder, generator_entry

# How a generator doubles its resolution on the way up: "transpose" (stride-2 transposed convolutions, the
# reference layout) or "resize" (nearest x2, then a 3x3 convolution: no checkerboard, resize_conv.py).
# A generator offers the choice by registering an ``upsample`` default (the U-Nets and ResNets do).
UPSAMPLE_MODES = ("transpose", "resize")


@dataclass(frozen=True)
class GeneratorConfig:
    """A generator by its registered name (registry.py) and the options its function builds it with."""

    name: str = "unet_256"
    in_channels: int = 3
    out_channels: int = 3
    ngf: int = 64
    norm: str = "batch"
    dropout: bool = True
    residual: bool = False  # output = clamp(input + network(input)): learn a correction of the input
    upsample: str = "transpose"

    def __post_init__(self) -> None:
        entry = generator_entry(self.name)  # an unknown name fails here, not when the network is built
        if self.upsample not in UPSAMPLE_MODES:
            raise TranslationError(f"unknown up-sampling {self.upsample!r}; choose one of {', '.join(UPSAMPLE_MODES)}")
        if self.upsample != "transpose" and "upsample" not in entry.defaults:
            raise TranslationError(f"generator {self.name!r} has one way of up-sampling; upsample "
                                   f"{self.upsample!r} is for the generators that offer a choice (unet_N, resnet_Nblocks)")

    @classmethod
    def named(cls, name: str, **overrides: Any) -> "GeneratorConfig":
        """The generator's own defaults (e.g. instance norm for a ResNet), then the options given (None: unset)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls(name=name, **{**generator_entry(name).defaults, **given})

    @property
    def size_multiple(self) -> int:
        """Height and width must be multiples of this for the output to match the input size."""
        return generator_entry(self.name).size_multiple

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GeneratorConfig":
        data = dict(data)
        if "kind" in data:  # written before generators had names: {"kind": "unet", "depth": 8, ...}
            kind, depth = data.pop("kind"), data.pop("depth")
            data.setdefault("name", f"unet_{2 ** depth}" if kind == "unet" else f"resnet_{depth}blocks")
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


@dataclass(frozen=True)
class DiscriminatorConfig:
    name: str = "basic"  # a registered discriminator: basic (= n_layers 3), n_layers, pixel
    in_channels: int = 6
    ndf: int = 64
    n_layers: int = 3
    norm: str = "batch"
    spectral_norm: bool = False  # every weight spectrally normalised (spectral.py), applied after init_weights

    def __post_init__(self) -> None:
        discriminator_builder(self.name)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
