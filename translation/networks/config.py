"""Network configurations as plain dataclasses, saved beside weights so a checkpoint describes itself."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from ..errors import TranslationError

GENERATORS = ("unet_256", "unet_128", "resnet_9blocks", "resnet_6blocks")
DISCRIMINATORS = ("basic", "n_layers", "pixel")


@dataclass(frozen=True)
class GeneratorConfig:
    """``kind`` is "unet" or "resnet"; ``depth`` is num_downs for a U-Net, residual blocks for a ResNet."""

    kind: str = "unet"
    in_channels: int = 3
    out_channels: int = 3
    ngf: int = 64
    depth: int = 8
    norm: str = "batch"
    dropout: bool = True
    residual: bool = False  # output = clamp(input + network(input)): learn a correction of the input

    @classmethod
    def named(cls, name: str, **overrides: Any) -> "GeneratorConfig":
        """Reference names (unet_256, unet_128, resnet_9blocks, resnet_6blocks) and their kin:
        ``unet_N`` for any power of two N >= 32, ``resnet_Nblocks`` for any N >= 1."""
        if match := re.fullmatch(r"unet_(\d+)", name):
            size = int(match.group(1))
            if size < 32 or size & (size - 1):
                raise TranslationError(f"generator {name!r}: the U-Net size must be a power of two >= 32")
            preset: dict[str, Any] = dict(kind="unet", depth=size.bit_length() - 1, norm="batch", dropout=True)
        elif match := re.fullmatch(r"resnet_(\d+)blocks", name):
            preset = dict(kind="resnet", depth=int(match.group(1)), norm="instance", dropout=False)
        else:
            raise TranslationError(f"unknown generator {name!r}; use unet_256, unet_128 (or unet_N), "
                                   "resnet_9blocks, resnet_6blocks (or resnet_Nblocks)")
        return cls(**{**preset, **{k: v for k, v in overrides.items() if v is not None}})

    @property
    def name(self) -> str:
        if self.kind == "unet":
            return f"unet_{2 ** self.depth}"
        return f"resnet_{self.depth}blocks"

    @property
    def size_multiple(self) -> int:
        """Height and width must be multiples of this for the output to match the input size."""
        return 2 ** self.depth if self.kind == "unet" else 4

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GeneratorConfig":
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


@dataclass(frozen=True)
class DiscriminatorConfig:
    kind: str = "basic"  # basic (= n_layers 3), n_layers, pixel
    in_channels: int = 6
    ndf: int = 64
    n_layers: int = 3
    norm: str = "batch"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DiscriminatorConfig":
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})
