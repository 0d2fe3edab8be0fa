"""What the U-Net and ResNet generators share: the optional residual wiring around their ``model``."""
from __future__ import annotations

import torch
from torch import nn

from ..errors import TranslationError


class Generator(nn.Module):
    """A generator whose layers are ``self.model``. With ``residual`` the output is
    ``clamp(input + model(input))``: the network learns a correction of its input (adds no parameters)."""

    model: nn.Module

    def __init__(self, in_channels: int, out_channels: int, residual: bool) -> None:
        super().__init__()
        if residual and in_channels != out_channels:
            raise TranslationError(f"a residual generator needs as many output channels as input channels "
                                   f"(got {in_channels} in, {out_channels} out)")
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.model(x)
        return (x + y).clamp(-1.0, 1.0) if self.residual else y
