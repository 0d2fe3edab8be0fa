"""A compact super-resolution generator that works at the low resolution and upsamples at its end.

Our super-resolution task feeds every network the bicubic x4 upscale of the small image (so tiling,
training pairs and the conditional discriminator see one size in and out). This generator folds that
upscale back to the low resolution without losing a value (``PixelUnshuffle``: each 4x4 block becomes
48 channels of one pixel), runs all its convolutions there, and unfolds the result with ``PixelShuffle``;
the output is the input plus that correction. Per layer it costs 1/16 of a network at the output size.

The ideas, from these papers (the code is our own):

* Shi et al., 2016, "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel
  Convolutional Neural Network" (ESPCN): the last convolution produces ``scale ** 2`` values per
  output channel, which ``PixelShuffle`` rearranges into the large image.
* Lim et al., 2017, "Enhanced Deep Residual Networks for Single Image Super-Resolution" (EDSR): no
  batch norm (it removes the range flexibility a regression to pixel values needs, and costs time).
* the compact VGG-style network of the Real-ESRGAN project (Wang et al., 2021): a plain chain of 3x3
  convolutions with PReLU, no inner skips, plus a global skip of the upsampled input, so the network
  learns only the residual detail that interpolation misses.

Layout: ``unshuffle(scale)`` -> ``head`` (conv 3x3, in * scale ** 2 -> features, PReLU) -> ``body``
(``blocks`` x [conv 3x3, PReLU]) -> ``tail`` (conv 3x3, features -> out * scale ** 2) ->
``PixelShuffle(scale)``, plus the input when ``residual``; output clamped to [-1, 1] like the other
generators. Height and width must be multiples of ``scale``.

Initialisation (done here, so the registry tells ``build_generator`` not to run ``init_weights``'
N(0, 0.02) over it: through 16 layers such small weights shrink the signal by orders of magnitude):
He et al., 2015, "Delving Deep into Rectifiers" (the paper of PReLU, whose initial slope 0.25 the gain
accounts for). The tail is initialised as Aitken et al., 2017, "Checkerboard artifact free sub-pixel
convolution" propose (ICNR): the ``scale ** 2`` sub-pixel kernels of each output channel start equal,
so the untrained shuffle adds a blocky but seamless correction; it is also scaled by 0.1, so the
untrained network starts close to its input.

Growth (``deepen``): a trained network can be continued as a deeper one without losing what it learnt,
after Chen et al., 2016, "Net2Net" (Net2DeeperNet): its layers are spread evenly through the deeper
body and the layers between start as identities (a centred one-hot kernel, then PReLU with slope 1),
so the grown network computes exactly what the trained one did and training only adds to it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ..errors import TranslationError
from .registry import register_generator

if TYPE_CHECKING:
    from .config import GeneratorConfig

SCALES = (2, 3, 4)
PRELU_SLOPE = 0.25
TAIL_GAIN = 0.1


class PixelShuffleGenerator(nn.Module):
    """N x in_channels x H x W in [-1, 1] -> N x out_channels x H x W in [-1, 1]; H, W multiples of scale."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, scale: int = 4, features: int = 64,
                 blocks: int = 16, *, residual: bool = True) -> None:
        super().__init__()
        _check(in_channels, out_channels, scale, features, blocks, residual)
        self.scale, self.residual = scale, residual
        self.layout = (in_channels, out_channels, scale, features, residual)  # all but the depth
        self.unshuffle = nn.PixelUnshuffle(scale)
        self.head = _conv_prelu(in_channels * scale ** 2, features)
        self.body = nn.Sequential(*(_conv_prelu(features, features) for _ in range(blocks)))
        self.tail = nn.Conv2d(features, out_channels * scale ** 2, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        self._initialise()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.shuffle(self.tail(self.body(self.head(self.unshuffle(x)))))
        return (x + y).clamp(-1.0, 1.0) if self.residual else y.clamp(-1.0, 1.0)

    def with_depth(self, blocks: int) -> PixelShuffleGenerator:
        """A new network of this one's layout with ``blocks`` blocks."""
        in_channels, out_channels, scale, features, residual = self.layout
        return PixelShuffleGenerator(in_channels, out_channels, scale, features, blocks, residual=residual)

    def deepen(self, shallower: PixelShuffleGenerator) -> None:
        """Take ``shallower``'s weights (same scale, channels and features, fewer or as many blocks): its
        layers spread evenly through this body, identity layers between them (Net2DeeperNet)."""
        if shallower.layout != self.layout or len(shallower.body) > len(self.body):
            raise TranslationError(
                f"cannot grow a pixel-shuffle network of {len(shallower.body)} blocks (channels in, out, scale, "
                f"features, residual: {shallower.layout}) into one of {len(self.body)} blocks ({self.layout}): only "
                "the depth may grow")
        kept = {index * len(self.body) // len(shallower.body): block for index, block in enumerate(shallower.body)}
        with torch.no_grad():
            self.head.load_state_dict(shallower.head.state_dict())
            self.tail.load_state_dict(shallower.tail.state_dict())
            for index, block in enumerate(self.body):
                if index in kept:
                    block.load_state_dict(kept[index].state_dict())
                    continue
                conv, prelu = block
                conv.weight.zero_()
                centre = conv.kernel_size[0] // 2
                conv.weight[range(conv.out_channels), range(conv.in_channels), centre, centre] = 1.0
                conv.bias.zero_()
                prelu.weight.fill_(1.0)

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, a=PRELU_SLOPE, nonlinearity="leaky_relu")
                nn.init.zeros_(module.bias)
        with torch.no_grad():  # ICNR: one kernel per output channel, repeated for its scale ** 2 sub-pixels
            kernels = self.tail.weight[::self.scale ** 2] * TAIL_GAIN
            self.tail.weight.copy_(kernels.repeat_interleave(self.scale ** 2, dim=0))


@register_generator("shuffle4_{n}blocks", size_multiple=4, norm="none", dropout=False, residual=True,
                    initialise=False)
def shuffle4(blocks: int, config: GeneratorConfig) -> PixelShuffleGenerator:
    """shuffle4_Nblocks: N blocks at a quarter of the resolution (x4 super-resolution); ``ngf`` features."""
    return PixelShuffleGenerator(config.in_channels, config.out_channels, 4, config.ngf, blocks,
                                 residual=config.residual)


def _conv_prelu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1),
                         nn.PReLU(out_channels, init=PRELU_SLOPE))


def _check(in_channels: int, out_channels: int, scale: int, features: int, blocks: int, residual: bool) -> None:
    if scale not in SCALES:
        raise TranslationError(f"pixel-shuffle generator: scale must be one of {', '.join(map(str, SCALES))}, "
                               f"got {scale}")
    if min(in_channels, out_channels, features) < 1 or blocks < 0:
        raise TranslationError(f"pixel-shuffle generator: channels and features must be >= 1 and blocks >= 0 "
                               f"(got in {in_channels}, out {out_channels}, features {features}, blocks {blocks})")
    if residual and in_channels != out_channels:
        raise TranslationError(f"a residual generator needs as many output channels as input channels "
                               f"(got {in_channels} in, {out_channels} out); pass residual=False")
