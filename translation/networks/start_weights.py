"""Weights a training run starts from (``translation train --start-from``): to fine-tune a shipped model
on your own images, or to continue a default model's training with other settings.

Three sources: an ONNX file this project exported (``exports/NAME.onnx``), one of our checkpoints
(``RUN_DIR/checkpoints/best.pt``: the EMA weights when the run had them) or a reference state dict
(``latest_net_G.pth``). An ONNX file keeps most weights under their state-dict names; the few the
exporter renames (PReLU slopes, reshaped to ``C x 1 x 1``) are matched in the order the graph uses them.
Batch norm folded into the convolutions at export cannot be undone, so such a file is refused. Weights
read from ONNX are checked: the network must reproduce the file's own output on a test input.
A pixel-shuffle network may start from a shallower one's weights: it grows from them (``deepen``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..digest import file_sha256
from ..errors import TranslationError
from .checkpoint import _RUNNING_STATS, averaged_weights, generator_entries, load_state_dict_into, read_checkpoint

PARITY_TOLERANCE = 1e-3  # of outputs in [-1, 1]: float32 export noise is ~1e-6


def load_start_weights(net: nn.Module, path: str | Path, name: str, size_multiple: int) -> dict[str, Any]:
    """Load ``path``'s weights into ``net`` (generator ``name`` of the run); returns what the run records
    of where it started (file, sha256, and the model card's training summary when one lies beside it)."""
    path = Path(path)
    if not path.is_file():
        raise TranslationError(f"--start-from {path}: file not found")
    is_onnx = path.suffix.lower() == ".onnx"
    if is_onnx:
        graph = _onnx_graph(path)
        keys = [i.name for i in graph.initializer]
    else:
        state = _checkpoint_state_dict(path, name)
        keys = list(state)
    target = _shallower_twin(net, keys) or net  # read once, whichever network it then loads into
    if is_onnx:
        load_state_dict_into(target, _onnx_state_dict(graph, target, path), source=str(path))
        _check_parity(target, path, size_multiple)
    else:
        load_state_dict_into(target, state, source=str(path))
    origin: dict[str, Any] = {"file": path.name, "sha256": file_sha256(path)}
    if target is not net:
        net.deepen(target)
        origin["grown_from_blocks"] = len(target.body)
    card = path.with_suffix(".json")
    if is_onnx and card.is_file():
        try:
            training = json.loads(card.read_text(encoding="utf-8")).get("training", {})
        except (OSError, ValueError):
            training = {}
        origin["training"] = {k: training[k] for k in ("steps", "wall_time_s", "command", "settings", "started_from")
                              if k in training}
    return origin


_BODY_BLOCK = re.compile(r"(?:^|\.)body\.(\d+)\.0\.weight$")


def _shallower_twin(net: nn.Module, keys: list[str]) -> nn.Module | None:
    """For a pixel-shuffle network and the weight names of a file of one with fewer blocks: a network of
    the file's depth to load first (the deeper network then grows from it); else None."""
    from .pixel_shuffle import PixelShuffleGenerator

    if not isinstance(net, PixelShuffleGenerator):
        return None
    blocks = len({match.group(1) for match in map(_BODY_BLOCK.search, keys) if match})
    return net.with_depth(blocks) if 0 < blocks < len(net.body) else None


def _checkpoint_state_dict(path: Path, name: str) -> dict[str, torch.Tensor]:
    checkpoint = read_checkpoint(path)
    entries = generator_entries(checkpoint)
    if not entries:
        raise TranslationError(f"{path}: holds no generator weights (neither a state dict nor a translation checkpoint)")
    if name not in entries:
        if len(entries) > 1:
            raise TranslationError(f"{path}: no generator {name!r}; it holds {', '.join(entries)}: "
                                   f"name one, e.g. --start-from {name}={path}")
        name = next(iter(entries))
    return averaged_weights(checkpoint).get(name, entries[name][0])


def _onnx_graph(path: Path):
    import onnx

    try:
        return onnx.load(str(path)).graph
    except Exception as exc:  # noqa: BLE001 - any parse failure means a corrupt or foreign file
        raise TranslationError(f"{path}: not a readable ONNX model ({type(exc).__name__})") from None


def _onnx_state_dict(graph, net: nn.Module, path: Path) -> dict[str, torch.Tensor]:
    from onnx import numpy_helper

    initialisers = {i.name: i for i in graph.initializer}
    wanted = {k: v for k, v in net.state_dict().items() if not k.endswith(_RUNNING_STATS)}
    found = {k: numpy_helper.to_array(initialisers[k]) for k in wanted
             if k in initialisers and tuple(initialisers[k].dims) == tuple(wanted[k].shape)}
    rest = [k for k in wanted if k not in found]
    used: list[str] = []  # the unnamed float initialisers, in the order the graph first uses them
    for node in graph.node:
        for input_name in node.input:
            if input_name in initialisers and input_name not in wanted and input_name not in used:
                used.append(input_name)
    anonymous = iter(a for a in map(numpy_helper.to_array, (initialisers[n] for n in used))
                     if np.issubdtype(a.dtype, np.floating))
    for index, key in enumerate(rest):  # in module order; constants of other sizes (a clamp's bounds) are passed over
        match = next((a for a in anonymous if a.size == wanted[key].numel()), None)
        if match is None:
            raise TranslationError(
                f"{path}: its weights do not map onto this network: {len(rest) - index} of its {len(wanted)} "
                f"tensors (first: {key}) have no counterpart in the file (batch norm folded into the convolutions "
                "at export, or another --netG/--ngf); start from the run's checkpoint instead")
        found[key] = match.reshape(tuple(wanted[key].shape))
    return {k: torch.from_numpy(np.array(v)).to(wanted[k].dtype) for k, v in found.items()}


def _check_parity(net: nn.Module, path: Path, size_multiple: int) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0]
    side = max(64, size_multiple)
    x = np.random.default_rng(0).uniform(-1, 1, (1, feed.shape[1], side, side)).astype(np.float32)
    expected = session.run(None, {feed.name: x})[0]
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            device = next(net.parameters()).device
            got = net(torch.from_numpy(x).to(device)).float().cpu().numpy()
    finally:
        net.train(was_training)
    difference = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
    if difference > PARITY_TOLERANCE:
        raise TranslationError(f"{path}: the weights read from it do not reproduce its outputs (largest "
                               f"difference {difference:.3g}); is it an export of this --netG?")
