"""Normalisation layers by name, as the reference implementation builds them."""
from __future__ import annotations

import functools
from collections.abc import Callable

from torch import nn

from ..errors import TranslationError

NORMS = ("batch", "instance", "none")


class Identity(nn.Module):
    def forward(self, x):  # noqa: D401 - trivial
        return x


def norm_layer(name: str) -> Callable[[int], nn.Module]:
    """Return a factory ``channels -> layer``. Instance norm is affine-free with no running stats."""
    if name == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if name == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if name == "none":
        return lambda channels: Identity()
    raise TranslationError(f"unknown norm {name!r}; choose one of {', '.join(NORMS)}")


def conv_bias(norm: str) -> bool:
    """Convolutions followed by batch norm carry no bias (the norm's shift replaces it)."""
    return norm != "batch"
