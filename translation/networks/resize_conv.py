"""Resize-convolution: a x2 upsampling layer without checkerboard artifacts (Odena, Dumoulin and Olah,
2016, "Deconvolution and Checkerboard Artifacts").

A transposed convolution of stride 2 builds each output pixel from a different subset of its kernel's
taps depending on the pixel's parity, so even a flat input comes out with a 2x2-periodic pattern unless
the four sub-kernels happen to agree, which nothing in training enforces. Upsampling first (nearest or
bilinear) and then applying an ordinary 3x3 convolution uses every tap for every output pixel: a flat
input stays flat, and the checkerboard cannot appear by construction.

``ResizeConv2d(inner, outer)`` replaces the U-Net's ``ConvTranspose2d(inner, outer, kernel_size=4,
stride=2, padding=1)``: same channels, same output size (2H x 2W), same ``bias`` switch. Its weights
live in ``conv`` (keys ``...conv.weight`` / ``...conv.bias``), so a checkpoint says which up path it has.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import TranslationError

MODES = ("nearest", "bilinear")


class ResizeConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, *, mode: str = "nearest", bias: bool = True) -> None:
        super().__init__()
        if mode not in MODES:
            raise TranslationError(f"unknown resize-convolution mode {mode!r}; choose one of {', '.join(MODES)}")
        corners = {} if mode == "nearest" else {"align_corners": False}  # half-pixel centres, as ONNX Resize
        self.upsample = nn.Upsample(scale_factor=2, mode=mode, **corners)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.upsample(x))
