"""The image history of Shrivastava et al. (2017), as CycleGAN uses it for discriminator updates."""
from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    """Up to ``size`` earlier generated images. Until full, ``query`` stores and returns the new images;
    then, per image, with probability 0.5 it returns a stored one (replacing it by the new image),
    otherwise the new image itself. ``size`` 0 turns the pool off.

    It draws from its own generator, so its choices are part of its state (saved with checkpoints).
    """

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        chosen = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                chosen.append(image)
            elif torch.rand(1, generator=self.generator).item() > 0.5:
                slot = int(torch.randint(self.size, (1,), generator=self.generator).item())
                chosen.append(self.images[slot].clone())
                self.images[slot] = image.clone()
            else:
                chosen.append(image)
        return torch.cat(chosen, 0)

    def state_dict(self) -> dict[str, Any]:
        stored = torch.cat(self.images).cpu() if self.images else torch.empty(0)
        return {"size": self.size, "images": stored, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
        self.size = int(state["size"])
        self.images = [image.unsqueeze(0).to(device) for image in state["images"]] if state["images"].numel() else []
        self.generator.set_state(state["generator"])
