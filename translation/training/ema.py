"""An exponential moving average of a generator's weights, for validation and export.

GAN generators oscillate from step to step as they chase a moving discriminator; the running average of
their weights (Yazıcı et al., 2019, "The Unusual Effectiveness of Averaging in GAN Training"; used by
Karras et al., 2018, "Progressive Growing of GANs") sits near the centre of that oscillation and gives
steadier, usually better images, at no cost to training. Only the generator's optimizer sees the live
weights; the average is read, never trained.

Parameters are averaged: ``average = decay * average + (1 - decay) * live`` after each optimizer step.
Buffers (batch-norm running statistics and step counters) are *copied* from the live network: they are
not trained by gradients but are already running averages of the live network's activations, counters
cannot be averaged, and a second, slower average would describe activations of weights long gone. The
copied statistics belong to the live weights, not exactly to the averaged ones; with batch norm that
mismatch is small at a decay near 1 (and vanishes for networks without running statistics).

With ``warmup`` the decay starts low and rises, ``min(decay, (1 + n) / (10 + n))`` at the n-th update
(counted from 0), so the average soon forgets the random initial weights instead of dragging them along
for ~1 / (1 - decay) steps.
"""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

DEFAULT_DECAY = 0.999


def unwrap(model: nn.Module) -> nn.Module:
    """The network inside DDP's ``.module`` and ``torch.compile``'s ``_orig_mod`` (in either order)."""
    while True:
        if isinstance(model, DistributedDataParallel):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = model._orig_mod
        else:
            return model


class EMA:
    """The averaged copy of ``model``: ``update(model)`` after every generator step, ``module`` to use it.

    ``module`` is a deep copy, in eval mode and without gradients, on the model's device; give it to
    validation and export as it is. ``state_dict()`` holds plain tensors and numbers (readable with
    ``torch.load(weights_only=True)``); its ``"weights"`` alone are a state dict of the generator, in the
    live network's key layout."""

    def __init__(self, model: nn.Module, decay: float = DEFAULT_DECAY, *, warmup: bool = False) -> None:
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"EMA decay must lie in [0, 1], got {decay}")
        self.decay = decay
        self.warmup = warmup
        self.updates = 0
        self.module = copy.deepcopy(unwrap(model)).eval().requires_grad_(False)

    def current_decay(self) -> float:
        """The decay the next update uses."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        live = unwrap(model)
        weight = 1.0 - self.current_decay()
        for (name, average), (live_name, value) in zip(self.module.named_parameters(), live.named_parameters(),
                                                       strict=True):
            _same_name(name, live_name)
            average.lerp_(value.detach(), weight)
        for (name, average), (live_name, value) in zip(self.module.named_buffers(), live.named_buffers(), strict=True):
            _same_name(name, live_name)
            average.copy_(value)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "weights": self.module.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["weights"])
        self.updates = int(state["updates"])


def _same_name(average: str, live: str) -> None:
    if average != live:
        raise ValueError(f"EMA: the model's {live!r} does not match the average's {average!r} (another network?)")
