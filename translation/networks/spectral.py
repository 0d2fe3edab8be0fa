"""Spectral normalisation of a discriminator (Miyato et al., 2018, "Spectral Normalization for Generative
Adversarial Networks").

Each weight is divided by an estimate of its largest singular value, kept by one power iteration per
training forward pass, so every layer is (about) 1-Lipschitz and the discriminator cannot sharpen its
decision boundary without bound: a steadier signal for the generator, which matters most when few
images let an unconstrained discriminator overfit. A convolution's weight is taken as the matrix
``out x (in * kh * kw)``, the paper's cheap stand-in for the norm of the convolution operator itself.

Norm layers: this function leaves them where they are and wraps only the weights. With spectral norm,
build the discriminator with ``norm="none"``, as the paper does: batch norm divides by the batch's
standard deviation, a gain with no bound that undoes the constraint (and mixes real and fake batches'
statistics into the judgement); instance norm rescales likewise. Keeping them is allowed (a checkpoint
of such a discriminator still loads), just not recommended.

Use the parametrization API (``torch.nn.utils.parametrizations``): the weight is recomputed from
``parametrizations.weight.original`` when read, and the power-iteration vectors ``_u`` / ``_v`` are
buffers, so they go into state dicts and DDP broadcasts them from rank 0. Apply it *after*
``init_weights``: writing into a parametrized ``weight`` changes a temporary, not the stored weight.
"""
from __future__ import annotations

from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

WRAPPED = (nn.Conv2d, nn.Linear)


def apply_spectral_norm(module: nn.Module, *, n_power_iterations: int = 1) -> nn.Module:
    """Spectral-normalise the weight of every Conv2d and Linear in ``module`` (in place; also returned).

    Layers already parametrized are left alone, so applying it twice changes nothing."""
    for layer in list(module.modules()):  # a list: wrapping adds submodules
        if isinstance(layer, WRAPPED) and not parametrize.is_parametrized(layer, "weight"):
            spectral_norm(layer, n_power_iterations=n_power_iterations)
    return module
