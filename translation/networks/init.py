"""Weight initialisation of the pix2pix / CycleGAN papers (normal) and of CUT (Xavier)."""
from __future__ import annotations

from torch import nn


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """Convs from N(0, gain), biases 0; batch-norm weights from N(1, gain), biases 0."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)
    return net


def init_xavier(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """CUT's initialisation (Park et al. 2020): conv and linear weights Xavier-normal with ``gain``, biases 0."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_normal_(module.weight, gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return net
