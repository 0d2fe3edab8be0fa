"""A compact super-resolution generator that works at the low resolution and upsamples at its end.

The ideas, from these papers (the code is our own):

* Shi et al., 2016, "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel
  Convolutional Neural Network" (ESPCN): run every convolution on the small input and let the last one
  produce ``scale ** 2`` values per output channel, which ``PixelShuffle`` rearranges into the large
  image. Each layer costs ``1 / scale ** 2`` of what it would at the output size (x4: 1/16), which is
  what lets a deep network stay fast on a CPU.
* Lim et al., 2017, "Enhanced Deep Residual Networks for Single Image Super-Resolution" (EDSR): no
  batch norm (it removes the range flexibility a regression to pixel values needs, and costs time).
* the compact VGG-style network of the Real-ESRGAN project (Wang et al., 2021): a plain chain of 3x3
  convolutions with PReLU, no inner skips, plus a global skip of the upsampled input, so the network
  learns only the residual detail that interpolation misses.

Layout: ``head`` (conv 3x3, in -> features, PReLU) -> ``body`` (``blocks`` x [conv 3x3, PReLU]) ->
``tail`` (conv 3x3, features -> out * scale ** 2) -> ``PixelShuffle(scale)``, plus the input upsampled
(``upsample``: bilinear by default) when ``residual``; output clamped to [-1, 1] like the other
generators. Any height and width work (no downsampling inside).

Initialisation (done here, so do not run ``init_weights``' N(0, 0.02) over it: through 16 layers such
small weights shrink the signal by orders of magnitude): He et al., 2015, "Delving Deep into Rectifiers"
(the paper of PReLU, whose initial slope 0.25 the gain accounts for). The tail is initialised as Aitken
et al., 2017, "Checkerboard artifact free sub-pixel convolution" propose (ICNR): the ``scale ** 2``
sub-pixel kernels of each output channel start equal, so the untrained shuffle is a nearest upsampling
and shows no checkerboard; it is also scaled by 0.1, so the untrained network starts close to plain
interpolation.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import TranslationError

SCALES = (2, 3, 4)
UPSAMPLE_MODES = ("nearest", "bilinear", "bicubic")
PRELU_SLOPE = 0.25
TAIL_GAIN = 0.1


class PixelShuffleGenerator(nn.Module):
    """N x in_channels x H x W in [-1, 1] -> N x out_channels x (scale * H) x (scale * W) in [-1, 1]."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, scale: int = 4, features: int = 64,
                 blocks: int = 16, *, residual: bool = True, upsample: str = "bilinear") -> None:
        super().__init__()
        _check(in_channels, out_channels, scale, features, blocks, residual, upsample)
        self.scale, self.residual, self.upsample = scale, residual, upsample
        self.head = _conv_prelu(in_channels, features)
        self.body = nn.Sequential(*(_conv_prelu(features, features) for _ in range(blocks)))
        self.tail = nn.Conv2d(features, out_channels * scale ** 2, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        self._initialise()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.shuffle(self.tail(self.body(self.head(x))))
        if self.residual:
            corners = {} if self.upsample == "nearest" else {"align_corners": False}
            y = y + F.interpolate(x, scale_factor=self.scale, mode=self.upsample, **corners)
        return y.clamp(-1.0, 1.0)

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, a=PRELU_SLOPE, nonlinearity="leaky_relu")
                nn.init.zeros_(module.bias)
        with torch.no_grad():  # ICNR: one kernel per output channel, repeated for its scale ** 2 sub-pixels
            kernels = self.tail.weight[::self.scale ** 2] * TAIL_GAIN
            self.tail.weight.copy_(kernels.repeat_interleave(self.scale ** 2, dim=0))


def _conv_prelu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1),
                         nn.PReLU(out_channels, init=PRELU_SLOPE))


def _check(in_channels: int, out_channels: int, scale: int, features: int, blocks: int, residual: bool,
           upsample: str) -> None:
    if scale not in SCALES:
        raise TranslationError(f"pixel-shuffle generator: scale must be one of {', '.join(map(str, SCALES))}, "
                               f"got {scale}")
    if min(in_channels, out_channels, features) < 1 or blocks < 0:
        raise TranslationError(f"pixel-shuffle generator: channels and features must be >= 1 and blocks >= 0 "
                               f"(got in {in_channels}, out {out_channels}, features {features}, blocks {blocks})")
    if upsample not in UPSAMPLE_MODES:
        raise TranslationError(f"pixel-shuffle generator: unknown upsample {upsample!r}; "
                               f"choose one of {', '.join(UPSAMPLE_MODES)}")
    if residual and in_channels != out_channels:
        raise TranslationError(f"a residual generator needs as many output channels as input channels "
                               f"(got {in_channels} in, {out_channels} out); pass residual=False")
