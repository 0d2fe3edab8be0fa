"""DiffAugment (Zhao et al., 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

With few training images the discriminator memorises them and its feedback to the generator turns
useless. DiffAugment applies one family of random, *differentiable* transforms T to everything the
discriminator sees: ``D(T(real))`` and ``D(T(fake))`` in its own step, and ``D(T(G(x)))`` in the
generator's step, so the generator's gradients pass through T. Because T is used for real and fake
alike, the discriminator cannot tell them apart by the augmentation, and the generator is not pushed to
produce augmented-looking images.

Three parts, named in a comma-separated policy (the paper's "color,translation,cutout"), applied in the
order written, each drawn per image:

* ``color``: brightness (add U(-0.5, 0.5)), saturation (scale the distance to the channel mean by
  U(0, 2)) and contrast (scale the distance to the image mean by U(0.5, 1.5)), on images in [-1, 1].
* ``translation``: shift by a whole number of pixels, up to 1/8 of the height and of the width (rounded),
  filling with zeros.
* ``cutout``: set a rectangle of half the height and half the width to zero, its centre anywhere in
  the image (so it may be cut by the border).

Conditional discriminators (pix2pix) see the input and the output concatenated on channels. The
geometric parts act on the whole tensor, so both halves move together and the pair stays aligned. The
colour part takes ``channel_groups`` (e.g. ``(in_channels, out_channels)``): every group is treated as
an image of its own for the saturation and contrast means (a gray or L input is not mixed into the RGB
means of the output, and saturation leaves a one-channel group alone), while one image's random factors
are shared by its groups, so the condition and the output are jittered alike and a real pair still
looks consistent. Colour assumes each group's channels share one scale (RGB, gray, L); for Lab ``ab``
outputs, whose "brightness" would be a hue shift, leave ``color`` out of the policy.

Randomness: every draw is made on the CPU, from the given ``torch.Generator`` (or torch's global CPU
generator when none is given), and only then moved to the images' device, so CPU and CUDA runs draw the
same transforms and a generator's state fixes them. For bit-identical ``--resume``, keep one
:class:`DiffAugment` per process, seeded e.g. with ``sample_seed(config.seed, rank, ...)``, and save its
``state_dict()`` in the checkpoint beside the image pools (one per rank).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import TranslationError

DEFAULT_POLICY = "color,translation,cutout"
# Image spaces whose channels share one intensity scale, which the colour part assumes (not Lab ab).
ONE_SCALE_SPACES = frozenset({"rgb", "gray", "lab_l"})
TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2

Groups = Sequence[int] | None


def parse_policy(policy: str) -> tuple[str, ...]:
    """The policy's parts in order; "" (or only commas and spaces) is the identity. TranslationError for
    an unknown or repeated part."""
    parts = tuple(part.strip().lower() for part in policy.split(",") if part.strip())
    for part in parts:
        if part not in _PARTS:
            raise TranslationError(f"DiffAugment policy {policy!r}: unknown part {part!r}; "
                                   f"use a comma-separated subset of {', '.join(_PARTS)} (or '' for none)")
    repeated = sorted({part for part in parts if parts.count(part) > 1})
    if repeated:
        raise TranslationError(f"DiffAugment policy {policy!r}: {', '.join(repeated)} is listed more than once")
    return parts


def check_colour(policy: str, spaces: Sequence[str], task: str) -> None:
    """TranslationError when ``policy`` has the colour part but one of the images' ``spaces`` (a task's
    input and output) is not one intensity scale: brightness would shift the hue of Lab ab."""
    unfit = sorted(set(spaces) - ONE_SCALE_SPACES)
    if "color" in parse_policy(policy) and unfit:
        fitting = ",".join(part for part in parse_policy(policy) if part != "color") or "translation,cutout"
        raise TranslationError(f"--diffaugment {policy}: the color part would shift the hue of {task}'s "
                               f"{unfit[0]} images; leave it out (--diffaugment {fitting})")


def diff_augment(x: torch.Tensor, policy: str = DEFAULT_POLICY, generator: torch.Generator | None = None,
                 *, channel_groups: Groups = None) -> torch.Tensor:
    """``x`` (N x C x H x W) augmented by ``policy``, differentiably; same shape, dtype and device.

    ``generator`` must be a CPU generator (see the module's notes on randomness); ``channel_groups``
    splits the channels for the colour part (default: one group of all channels)."""
    if x.dim() != 4:
        raise ValueError(f"DiffAugment expects N x C x H x W images, got shape {tuple(x.shape)}")
    groups = _check_groups(channel_groups, x.shape[1])
    for part in parse_policy(policy):
        x = _PARTS[part](x, generator, groups)
    return x


class DiffAugment:
    """A policy and its own random generator, whose state goes into training checkpoints.

    ``augment(x)`` draws new transforms for each call, as the paper does for the real and the fake batch;
    ``augment.same(real, fake)`` applies one draw to batches of the same shape."""

    def __init__(self, policy: str = DEFAULT_POLICY, *, seed: int = 0, channel_groups: Groups = None) -> None:
        parse_policy(policy)  # fail at construction, not at the first training step
        self.policy = policy
        self.channel_groups = tuple(channel_groups) if channel_groups is not None else None
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.policy, self.generator, channel_groups=self.channel_groups)

    def same(self, *batches: torch.Tensor) -> tuple[torch.Tensor, ...]:
        start = self.generator.get_state()
        out = []
        for batch in batches:
            self.generator.set_state(start)
            out.append(self(batch))
        return tuple(out)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])


# ---------------------------------------------------------------------------------------------- the parts
def _color(x: torch.Tensor, generator: torch.Generator | None, groups: list[int]) -> torch.Tensor:
    n = x.shape[0]
    brightness = _uniform(n, -0.5, 0.5, generator, x)
    saturation = _uniform(n, 0.0, 2.0, generator, x)
    contrast = _uniform(n, 0.5, 1.5, generator, x)
    out = []
    for part in torch.split(x + brightness, groups, dim=1):
        channel_mean = part.mean(dim=1, keepdim=True)
        part = (part - channel_mean) * saturation + channel_mean
        image_mean = part.mean(dim=(1, 2, 3), keepdim=True)
        out.append((part - image_mean) * contrast + image_mean)
    return torch.cat(out, dim=1) if len(out) > 1 else out[0]


def _translation(x: torch.Tensor, generator: torch.Generator | None, groups: list[int]) -> torch.Tensor:
    """Each output pixel reads one distinct pixel of the zero-padded input: the gradient is a plain
    permutation (no overlapping writes, so it is deterministic on CUDA too)."""
    n, _, height, width = x.shape
    reach_y, reach_x = _rounded(height * TRANSLATION_RATIO), _rounded(width * TRANSLATION_RATIO)
    shift_y = _integers(n, -reach_y, reach_y, generator, x.device)
    shift_x = _integers(n, -reach_x, reach_x, generator, x.device)
    padded = F.pad(x, (reach_x, reach_x, reach_y, reach_y))
    rows = torch.arange(height, device=x.device) + reach_y - shift_y[:, None]   # N x H, in the padded image
    cols = torch.arange(width, device=x.device) + reach_x - shift_x[:, None]    # N x W
    picked = padded[torch.arange(n, device=x.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return _like(picked.permute(0, 3, 1, 2), x)  # advanced indexing put the channels last


def _cutout(x: torch.Tensor, generator: torch.Generator | None, groups: list[int]) -> torch.Tensor:
    n, _, height, width = x.shape
    size_y, size_x = _rounded(height * CUTOUT_RATIO), _rounded(width * CUTOUT_RATIO)
    top = _integers(n, 0, height - 1, generator, x.device) - size_y // 2
    left = _integers(n, 0, width - 1, generator, x.device) - size_x // 2
    rows = torch.arange(height, device=x.device)[None, :] - top[:, None]    # N x H: row within the cut
    cols = torch.arange(width, device=x.device)[None, :] - left[:, None]
    inside = ((rows >= 0) & (rows < size_y))[:, :, None] & ((cols >= 0) & (cols < size_x))[:, None, :]
    return x * (~inside).to(x.dtype)[:, None]


_PARTS: dict[str, Callable[[torch.Tensor, torch.Generator | None, list[int]], torch.Tensor]] = {
    "color": _color, "translation": _translation, "cutout": _cutout}


# ------------------------------------------------------------------------------------------------ helpers
def _check_groups(channel_groups: Groups, channels: int) -> list[int]:
    if channel_groups is None:
        return [channels]
    groups = [int(g) for g in channel_groups]
    if any(g < 1 for g in groups) or sum(groups) != channels:
        raise ValueError(f"channel_groups {tuple(groups)} must be positive and add up to the {channels} channels")
    return groups


def _uniform(n: int, low: float, high: float, generator: torch.Generator | None,
             like: torch.Tensor) -> torch.Tensor:
    """N x 1 x 1 x 1 factors from U(low, high), drawn on the CPU, on ``like``'s device and dtype."""
    values = torch.rand(n, 1, 1, 1, generator=generator) * (high - low) + low
    return values.to(device=like.device, dtype=like.dtype)


def _integers(n: int, low: int, high: int, generator: torch.Generator | None,
              device: torch.device) -> torch.Tensor:
    """N integers from low to high inclusive, drawn on the CPU."""
    return torch.randint(low, high + 1, (n,), generator=generator).to(device)


def _rounded(value: float) -> int:
    return int(value + 0.5)


def _like(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``out`` in ``x``'s memory layout (the training loop runs channels_last on CUDA)."""
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    return out.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
