"""PatchNCE (Park et al. 2020, contrastive unpaired translation): a patch of the output should match the
patch of the input at the same place better than the other patches of that input.

The generator's encoder gives features at a few layers; at ``patches`` random places per layer (the same
places in the input's and the output's features) a two-layer MLP head per layer projects them onto the
unit sphere, and the loss is the cross-entropy of picking the input's own patch among the input's
patches, with similarities divided by ``temperature``. The input's side (the keys) carries no gradient.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


class PatchHeads(nn.Module):
    """One projection head per feature layer: Linear(C, width), ReLU, Linear(width, width), then L2 norm."""

    def __init__(self, channels: Sequence[int], width: int = 256) -> None:
        super().__init__()
        self.mlps = nn.ModuleList(nn.Sequential(nn.Linear(c, width), nn.ReLU(), nn.Linear(width, width))
                                  for c in channels)

    def forward(self, features: Sequence[torch.Tensor], places: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Features (N x C x H x W each) at ``places`` (flat indices into H x W, one tensor per layer)
        -> N x P x width unit vectors per layer."""
        projected = []
        for feature, where, mlp in zip(features, places, self.mlps):
            picked = feature.flatten(2)[:, :, where.to(feature.device)].transpose(1, 2)  # N x P x C
            projected.append(F.normalize(mlp(picked), dim=-1, eps=1e-7))
        return projected


def random_places(features: Sequence[torch.Tensor], patches: int) -> list[torch.Tensor]:
    """Up to ``patches`` distinct places per layer, drawn from the global (CPU) torch generator, which
    checkpoints save, so a resumed run draws the same ones."""
    return [torch.randperm(f.shape[2] * f.shape[3])[:patches] for f in features]


def patch_nce_loss(query: torch.Tensor, key: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean cross-entropy over the N x P queries (N x P x D): the positive is the key at the same place,
    the negatives are the other P - 1 keys of the same image (CUT's choice for unpaired translation)."""
    query, key = query.float(), key.detach().float()
    positive = (query * key).sum(-1, keepdim=True)                     # N x P x 1
    negative = query @ key.transpose(1, 2)                             # N x P x P
    same = torch.eye(query.shape[1], dtype=torch.bool, device=query.device)
    negative = negative.masked_fill(same, -10.0)                       # a patch is no negative of itself
    logits = torch.cat([positive, negative], dim=-1) / temperature
    target = torch.zeros(logits.shape[0] * logits.shape[1], dtype=torch.long, device=query.device)
    return F.cross_entropy(logits.flatten(0, 1), target)


@dataclass(frozen=True)
class NCESettings:
    layers: tuple[int, ...]     # indices into the generator's layers (ResnetGenerator.encode)
    patches: int = 256
    temperature: float = 0.07
    identity: bool = True       # CUT: also NCE(B, G(B)); FastCUT: no
    flip: bool = False          # FastCUT: G(flip(A)) flipped back must match A patch by patch


class ContrastiveGenerator(nn.Module):
    """The generator and its projection heads as one module, so that one forward pass (and one DDP wrapper)
    covers every weight the generator step trains: G(A) (and G(B) for the identity term) and the PatchNCE
    losses. The features of the inputs (the keys) come from the pass that makes G(A) unless it ran on
    flipped inputs."""

    def __init__(self, generator: nn.Module, heads: PatchHeads, settings: NCESettings) -> None:
        super().__init__()
        self.generator, self.heads, self.settings = generator, heads, settings

    def forward(self, real_a: torch.Tensor, real_b: torch.Tensor, flipped: bool) -> dict[str, torch.Tensor]:
        s = self.settings
        real = torch.cat([real_a, real_b]) if s.identity else real_a
        if flipped:
            real = real.flip(3)
        if flipped:  # the keys are the features of the inputs as they are
            fake = self.generator(real)
            with torch.no_grad():
                keys = self.generator.encode(real.flip(3), s.layers)
        else:
            fake, keys = self.generator.forward_with_features(real, s.layers)
        fake_b = fake[:len(real_a)]
        queries = self.generator.encode(fake, s.layers)
        if flipped:  # back in the inputs' orientation
            queries = [q.flip(3) for q in queries]
        out = {"fake_B": fake_b, "NCE": self._nce(queries, keys, slice(0, len(real_a)))}
        if s.identity:
            out["idt_B"] = fake[len(real_a):]
            out["NCE_Y"] = self._nce(queries, keys, slice(len(real_a), None))
        return out

    def _nce(self, queries: list[torch.Tensor], keys: list[torch.Tensor], which: slice) -> torch.Tensor:
        """The PatchNCE loss of the images ``which`` of the batch, averaged over the layers."""
        queries, keys = [q[which] for q in queries], [k[which] for k in keys]
        places = random_places(keys, self.settings.patches)
        with torch.autocast(keys[0].device.type, enabled=False):  # similarities / 0.07 want full precision
            projected_q = self.heads([q.float() for q in queries], places)
            with torch.no_grad():
                projected_k = self.heads([k.float() for k in keys], places)
            losses = [patch_nce_loss(q, k, self.settings.temperature) for q, k in zip(projected_q, projected_k)]
        return torch.stack(losses).mean()
