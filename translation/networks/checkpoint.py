"""Reading checkpoints safely: ours and the reference implementation's (``latest_net_G.pth``...).

Everything loads with ``torch.load(weights_only=True)``; a file holding pickled objects is refused.
The architecture of a reference state dict is read off its keys and shapes, so no flags are needed.
"""
from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import TranslationError, first_line
from .config import GeneratorConfig

CHECKPOINT_KIND = "translation.checkpoint"
WEIGHTS = ("ema", "live")  # the two weight sets of a checkpoint trained with --ema
_RUNNING_STATS = ("running_mean", "running_var", "num_batches_tracked")


def read_checkpoint(path: str | Path) -> Any:
    """``torch.load`` with weights only, on CPU, with one clear error per way it can fail."""
    path = Path(path)
    if not path.is_file():
        raise TranslationError(f"{path}: checkpoint not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols of foreign files
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise TranslationError(
            f"{path}: refused to load: the file holds pickled Python objects, not only weights "
            f"({_unpickling_reason(exc)}); re-save it as a plain state_dict") from None
    except Exception as exc:  # noqa: BLE001 - any failure to parse means a corrupt or foreign file
        reason = f"{type(exc).__name__}: {first_line(exc)}" if str(exc).strip() else type(exc).__name__
        raise TranslationError(f"{path}: not a readable PyTorch checkpoint (truncated or corrupt?): {reason[:200]}") from None


def _unpickling_reason(exc: Exception) -> str:
    """What torch's weights-only unpickler refused (its message wraps that line in general advice)."""
    advice = ("Weights only load failed", "Check the documentation", "Please file an issue", "(1)", "(2)")
    lines = [line.strip() for line in str(exc).splitlines() if not line.strip().startswith(advice)]
    specific = [text for line in lines if (text := line.split("WeightsUnpickler error:", 1)[-1].strip())]
    return (specific or ["unsafe content"])[0].split(" Please use ")[0][:160]


def strip_prefixes(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the ``module.`` prefix that DataParallel / DDP put on every key."""
    if state_dict and all(key.startswith("module.") for key in state_dict):
        return {key[len("module."):]: value for key, value in state_dict.items()}
    return dict(state_dict)


def is_state_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def load_state_dict_into(net: nn.Module, state_dict: dict[str, torch.Tensor], source: str = "state dict") -> None:
    """Strict load; running-stat keys the network has no use for (old instance-norm checkpoints) are dropped."""
    own = net.state_dict()
    cleaned = {k: v for k, v in strip_prefixes(state_dict).items()
               if k in own or not k.endswith(_RUNNING_STATS)}
    missing = sorted(set(own) - set(cleaned))
    unexpected = sorted(set(cleaned) - set(own))
    mismatched = [k for k in own.keys() & cleaned.keys() if own[k].shape != cleaned[k].shape]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (first: {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (first: {unexpected[0]})")
        if mismatched:
            k = sorted(mismatched)[0]
            parts.append(f"shape mismatch at {k}: file {tuple(cleaned[k].shape)} vs network {tuple(own[k].shape)}")
        raise TranslationError(f"{source}: weights do not fit the network: {'; '.join(parts)}; "
                               "check --netG/--ngf/--norm or let the architecture be detected")
    net.load_state_dict(cleaned, strict=True)


def _norm_from_keys(state_dict: dict[str, torch.Tensor], conv_keys: list[str]) -> str:
    # Batch norm is affine: it has 1-D weights. Instance norm (affine=False) has none, though
    # old checkpoints carry its running stats. A bias on the inner convs means no batch norm.
    if any(v.ndim == 1 and k.endswith(".weight") for k, v in state_dict.items()):
        return "batch"
    return "instance" if any(k.replace(".weight", ".bias") in state_dict for k in conv_keys) else "batch"


def detect_generator_config(state_dict: dict[str, torch.Tensor], **overrides: Any) -> GeneratorConfig:
    """Read U-Net depth / ResNet blocks, channels, ngf and norm off a reference-layout state dict."""
    sd = strip_prefixes(state_dict)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "model.model.0.weight" in sd:
        first = sd["model.model.0.weight"]
        # the outermost up-convolution: transposed (in x out x 4 x 4) or a resize-convolution (out x in x 3 x 3)
        resize = "model.model.3.conv.weight" in sd
        last = sd.get("model.model.3.conv.weight" if resize else "model.model.3.weight")
        if last is None:
            raise TranslationError("U-Net state dict lacks its outermost up-convolution (model.model.3.weight)")
        depth = max(key.split(".").count("model") - 1 for key in sd)
        inner_convs = [k for k in sd if k.endswith(".model.1.weight") and sd[k].ndim == 4]
        detected = dict(name=f"unet_{2 ** depth}", in_channels=first.shape[1],
                        out_channels=last.shape[0 if resize else 1], ngf=first.shape[0],
                        norm=_norm_from_keys(sd, inner_convs), upsample="resize" if resize else "transpose")
        detected["dropout"] = detected["norm"] == "batch"
    elif "model.1.weight" in sd and sd["model.1.weight"].ndim == 4 and sd["model.1.weight"].shape[-1] == 7:
        first = sd["model.1.weight"]
        blocks = {int(m.group(1)) for k in sd if (m := re.match(r"model\.(\d+)\.conv_block\.", k))}
        conv_keys = sorted((k for k in sd if k.endswith(".weight") and sd[k].ndim == 4),
                           key=lambda k: int(k.split(".")[1]))
        # A dropout layer inside the blocks shifts the second conv from index 5 to 6.
        dropout = any(k.endswith(".conv_block.6.weight") and sd[k].ndim == 4 for k in sd)  # a conv, not a norm
        resize = any(re.fullmatch(r"model\.\d+\.conv\.weight", k) for k in sd)  # ResizeConv2d up-sampling
        antialias = "_antialias" if any(k.endswith(".filt") for k in sd) else ""  # CUT's blur-pool layout
        detected = dict(name=f"resnet_{len(blocks)}blocks{antialias}", in_channels=first.shape[1],
                        out_channels=sd[conv_keys[-1]].shape[0], ngf=first.shape[0],
                        norm=_norm_from_keys(sd, conv_keys[1:3]), dropout=dropout,
                        upsample="resize" if resize else "transpose")
    else:
        sample = ", ".join(list(sd)[:3])
        raise TranslationError(f"not a generator state dict this tool knows (keys start: {sample}); "
                               "expected a U-Net (model.model.*) or ResNet (model.N.conv_block.*) generator")
    return GeneratorConfig(**{**detected, **overrides})


def generator_entries(checkpoint: Any) -> dict[str, tuple[dict[str, torch.Tensor], dict[str, Any] | None]]:
    """The generators a checkpoint holds: name -> (state dict, saved config or None)."""
    if isinstance(checkpoint, dict) and checkpoint.get("kind") == CHECKPOINT_KIND:
        configs = checkpoint.get("generators", {})
        return {name: (checkpoint["networks"][name], configs[name]) for name in configs}
    if is_state_dict(checkpoint):
        return {"G": (checkpoint, None)}
    if isinstance(checkpoint, dict) and is_state_dict(checkpoint.get("state_dict")):
        return {"G": (checkpoint["state_dict"], None)}
    return {}


def averaged_weights(checkpoint: Any) -> dict[str, dict[str, torch.Tensor]]:
    """The EMA weights of a training checkpoint's generators (``--ema``): name -> state dict; {} when none."""
    if isinstance(checkpoint, dict) and checkpoint.get("kind") == CHECKPOINT_KIND:
        return {name: average["weights"] for name, average in checkpoint.get("ema", {}).items()}
    return {}


def load_generator(path: str | Path, which: str | None = None, *, weights: str | None = None,
                   **overrides: Any) -> tuple[nn.Module, GeneratorConfig, dict[str, Any]]:
    """Build the generator stored in ``path`` (our checkpoint or a reference ``*_net_G*.pth``).

    ``which`` picks a generator from a CycleGAN checkpoint ("G_A" or "G_B"). ``weights`` picks from a
    checkpoint of a run with ``--ema``: "ema" (the average, the default there) or "live" (the weights the
    optimizer trained); its info then says which (``info["weights"]``). Returns the network in eval mode,
    its config and the checkpoint's extra information (task, training summary).
    """
    from . import build_generator

    if weights not in (None, *WEIGHTS):
        raise TranslationError(f"unknown weights {weights!r}; choose one of {', '.join(WEIGHTS)}")
    path = Path(path)
    checkpoint = read_checkpoint(path)
    entries = generator_entries(checkpoint)
    if not entries:
        raise TranslationError(f"{path}: holds no generator weights (neither a state dict nor a translation checkpoint)")
    if which is None:
        which = "G" if "G" in entries else ("G_A" if "G_A" in entries else next(iter(entries)))
    if which not in entries:
        raise TranslationError(f"{path}: no generator {which!r}; it holds {', '.join(entries)}")
    state_dict, saved = entries[which]
    averaged = averaged_weights(checkpoint)
    if weights == "ema" and which not in averaged:
        raise TranslationError(f"{path}: holds no EMA weights (the run was trained without --ema); use the live ones")
    if averaged and weights != "live":
        state_dict = averaged[which]
    if saved is not None:
        config = GeneratorConfig.from_dict({**saved, **{k: v for k, v in overrides.items() if v is not None}})
    else:
        try:
            config = detect_generator_config(state_dict, **overrides)
        except TranslationError as exc:  # a foreign state dict: say which file it is
            raise TranslationError(f"{path}: {exc}") from None
    net = build_generator(config, initialise=False)
    load_state_dict_into(net, state_dict, source=str(path))
    net.eval()
    info = dict(checkpoint.get("info", {})) if isinstance(checkpoint, dict) and checkpoint.get("kind") == CHECKPOINT_KIND else {}
    info.setdefault("generator", which)
    if averaged:
        info["weights"] = "live" if weights == "live" else "ema"
    return net, config, info


def save_generator_checkpoint(path: str | Path, net: nn.Module, config: GeneratorConfig,
                              info: dict[str, Any] | None = None, name: str = "G") -> Path:
    """Write one generator as a self-describing checkpoint (config beside weights), atomically."""
    from ..atomic import atomic_path

    payload = {"kind": CHECKPOINT_KIND, "version": 1, "generators": {name: config.to_dict()},
               "networks": {name: {k: v.detach().cpu() for k, v in net.state_dict().items()}},
               "info": dict(info or {})}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)
