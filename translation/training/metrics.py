"""What a run reports: validation PSNR / SSIM / L1 (kornia.metrics), cycle PSNR, the sliced Wasserstein distance
to the target domain, sample grids, JSON-lines logs."""
from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import kornia
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..atomic import atomic_write_text
from ..tasks import TaskSpec, decode


def to_display(images: torch.Tensor, space: str, luminance_input: torch.Tensor | None = None) -> torch.Tensor:
    """Network-space images (N x C x H x W in [-1, 1]) -> N x 3 x H x W RGB in [0, 1] for viewing and metrics,
    on the same device: each image as the runtime finishes it (``translation.tasks.decode``).

    ``lab_ab`` outputs (colorization) are merged with the L channel of their ``lab_l`` input.
    """
    pixels = images.detach().float().cpu().numpy()
    lightness = None if luminance_input is None else (luminance_input.detach().float()[:, 0].cpu().numpy() + 1) * 50
    rgb = [decode(space, image, {} if lightness is None else {"lab_l": lightness[i]})
           for i, image in enumerate(pixels)]
    return torch.from_numpy(np.ascontiguousarray(np.stack(rgb).transpose(0, 3, 1, 2))).to(images.device)


@torch.no_grad()
def evaluate(generator: nn.Module, loader: DataLoader, spec: TaskSpec, device: torch.device,
             prepare: Callable[[torch.Tensor], torch.Tensor] = lambda x: x) -> dict[str, float]:
    """Mean L1 (network space), PSNR (dB) and SSIM (11 px window) of G(A) against B, image by image.

    PSNR / SSIM are measured on the RGB pictures (``to_display``), so colorization is scored on colour.
    """
    totals = {"l1": 0.0, "psnr": 0.0, "ssim": 0.0}
    count = 0
    with evaluating(generator):
        for batch in loader:
            source, target = prepare(batch["A"].to(device)), batch["B"].to(device)
            output = generator(source).float()
            out_rgb = to_display(output, spec.output_space, source)
            ref_rgb = to_display(target, spec.output_space, source)
            for i in range(output.shape[0]):
                totals["l1"] += (output[i] - target[i].float()).abs().mean().item()
                totals["psnr"] += kornia.metrics.psnr(out_rgb[i:i + 1], ref_rgb[i:i + 1], 1.0).item()
                totals["ssim"] += kornia.metrics.ssim(out_rgb[i:i + 1], ref_rgb[i:i + 1], 11).mean().item()
            count += output.shape[0]
    return {**{k: v / max(count, 1) for k, v in totals.items()}, "images": count}


@torch.no_grad()
def evaluate_cycles(g_ab: nn.Module, g_ba: nn.Module, loader: DataLoader, counts: tuple[int, int],
                    spaces: tuple[str, str], device: torch.device,
                    prepare: Callable[[torch.Tensor], torch.Tensor] = lambda x: x) -> dict[str, float]:
    """Cycle PSNR (dB, on the RGB pictures): G_BA(G_AB(a)) against a and G_AB(G_BA(b)) against b, each
    held-out image once; ``cycle_psnr`` is the mean of the two directions.

    ``loader`` yields {"A", "B"} batches in order, item i holding A image i % counts[0] and B image
    i % counts[1] (an ``UnpairedDataset`` with ``train=False``): the items past a domain's count repeat
    its images and are left out."""
    scores: dict[str, list[float]] = {"A": [], "B": []}
    seen = 0
    with evaluating(g_ab, g_ba):
        for batch in loader:
            for domain, there, back, count, space in (("A", g_ab, g_ba, counts[0], spaces[0]),
                                                      ("B", g_ba, g_ab, counts[1], spaces[1])):
                real = prepare(batch[domain][:max(0, count - seen)].to(device))
                if len(real):
                    rebuilt = to_display(back(there(real)).float(), space)
                    original = to_display(real, space)
                    scores[domain] += [kornia.metrics.psnr(rebuilt[i:i + 1], original[i:i + 1], 1.0).item()
                                       for i in range(len(real))]
            seen += len(batch["A"])
    mean_a, mean_b = (sum(s) / max(len(s), 1) for s in (scores["A"], scores["B"]))
    return {"cycle_psnr": (mean_a + mean_b) / 2, "cycle_psnr_A": mean_a, "cycle_psnr_B": mean_b,
            "images_A": len(scores["A"]), "images_B": len(scores["B"])}


@torch.no_grad()
def evaluate_distribution(generator: nn.Module, loader: DataLoader, counts: tuple[int, int], spaces: tuple[str, str],
                          device: torch.device,
                          prepare: Callable[[torch.Tensor], torch.Tensor] = lambda x: x) -> dict[str, float]:
    """How far G(A) of the held-out A images lies from the held-out B images as a distribution: ``swd``, the
    sliced Wasserstein distance of their Laplacian-pyramid patches (sliced_wasserstein.py; lower is better),
    and ``swd_input``, that of the A images themselves (what an unchanged picture scores). ``loader`` as
    for ``evaluate_cycles``."""
    from ..sliced_wasserstein import swd

    inputs: list[np.ndarray] = []
    outputs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    seen = 0
    pictures = lambda images, space: list(to_display(images, space).permute(0, 2, 3, 1).cpu().numpy())  # noqa: E731
    with evaluating(generator):
        for batch in loader:
            real_a = prepare(batch["A"][:max(0, counts[0] - seen)].to(device))
            if len(real_a):
                inputs += pictures(real_a, spaces[0])
                outputs += pictures(generator(real_a).float(), spaces[1])
            real_b = batch["B"][:max(0, counts[1] - seen)]
            if len(real_b):
                targets += pictures(real_b, spaces[1])
            seen += len(batch["A"])
    return {"swd": swd(outputs, targets)["swd"], "swd_input": swd(inputs, targets)["swd"],
            "images_A": len(inputs), "images_B": len(targets)}


@contextlib.contextmanager
def evaluating(*nets: nn.Module) -> Iterator[None]:
    """``nets`` in eval mode for the block, then back in the modes they had."""
    modes = [net.training for net in nets]
    for net in nets:
        net.eval()
    try:
        yield
    finally:
        for net, mode in zip(nets, modes):
            net.train(mode)


def grid_picture(rows: Sequence[Sequence[torch.Tensor]], gap: int = 2) -> np.ndarray:
    """Rows of equally tall RGB images (3 x H x W in [0, 1]) side by side, on white: H' x W' x 3 float32."""
    lines = []
    for row in rows:
        height = row[0].shape[-2]
        spacer = torch.ones(3, height, gap)
        parts: list[torch.Tensor] = []
        for image in row:
            parts += [image.detach().float().cpu(), spacer]
        lines.append(torch.cat(parts[:-1], 2))
    width = max(line.shape[-1] for line in lines)
    lines = [torch.nn.functional.pad(line, (0, width - line.shape[-1]), value=1.0) for line in lines]
    spaced: list[torch.Tensor] = []
    for line in lines:
        spaced += [line, torch.ones(3, gap, width)]
    grid = torch.cat(spaced[:-1], 1).permute(1, 2, 0).numpy()
    return np.ascontiguousarray(grid, dtype=np.float32)


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def truncate_jsonl(path: Path, last_step: int) -> None:
    """Drop records logged after ``last_step`` (by a run that is now resumed from that step)."""
    if not path.is_file():
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= last_step]
    atomic_write_text(path, "".join(line + "\n" for line in kept))
