"""Markdown for the page: a model's card and metadata, an image's size, a run's summary."""
from __future__ import annotations

import html
from typing import Any

from translation.runtime import ModelInfo

_SPACES = {"rgb": "RGB", "gray": "gray", "lab_l": "Lab L", "lab_ab": "Lab ab"}
_TRAINING_KEYS = ("dataset", "model", "steps", "epochs", "image_size", "source")


def _cell(value: Any) -> str:
    """A value as one escaped table cell (no pipes or new lines can break the table)."""
    if isinstance(value, float):
        value = f"{value:.4g}"
    elif isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return html.escape(str(value)).replace("|", "&#124;").replace("\n", " ")


def _plain(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def model_card(info: ModelInfo, device: str | None = None) -> str:
    """A short description (from the card, if any) and a two-column table of what matters to a user."""
    card = info.card or {}
    meta = info.metadata
    spec = info.task
    rows: list[tuple[str, Any]] = [
        ("Model", info.name),
        ("Task", spec.name),
        ("Input → output", f"{_SPACES.get(spec.input_space, spec.input_space)} → "
                           f"{_SPACES.get(spec.output_space, spec.output_space)}"),
    ]
    if spec.scale > 1:
        rows.append(("Scale", f"×{spec.scale}"))
    if meta.get("network"):
        rows.append(("Network", meta["network"]))
    if meta.get("tile_size") and meta["tile_size"] != "0":
        rows.append(("Default tile", f"{meta['tile_size']} px"))
    training = info.training
    rows += [(key.replace("_", " ").capitalize(), training[key]) for key in _TRAINING_KEYS if key in training]
    rows += [(str(key).replace("_", " ").capitalize(), value) for key, value in card.items()
             if key not in ("description", "name", "task") and value not in (None, "", [], {})]
    try:
        size_mb = info.path.stat().st_size / 1e6
        rows.append(("File", f"{info.path.name} ({size_mb:.1f} MB)"))
    except OSError:
        rows.append(("File", info.path.name))
    rows.append(("Device", device or "chosen on first run (CUDA when available, else CPU)"))

    lines = []
    if card.get("description"):
        lines += [html.escape(str(card["description"])), ""]
    lines += ["| | |", "| --- | --- |"]
    lines += [f"| {_cell(name)} | {_cell(value)} |" for name, value in rows]
    return "\n".join(lines)


def missing_model_notice(task: str, title: str) -> str:
    return (f"⚠️ **No {title.lower()} model is installed.** Export one with "
            f"`translation export CHECKPOINT --task {task} -o exports/{task}.onnx` "
            f"(or put it in a folder given with `translation app --models DIR`), then restart the app.")


def image_summary(width: int, height: int, bit_depth: int, has_alpha: bool) -> str:
    return f"{width}×{height} px · {bit_depth}-bit {'RGBA' if has_alpha else 'RGB'}"


def run_summary(model: str, size_in: tuple[int, int], size_out: tuple[int, int], device: str,
                seconds: float, output_name: str) -> str:
    return (f"**{html.escape(model)}** on {html.escape(device)} · {size_in[0]}×{size_in[1]} → "
            f"{size_out[0]}×{size_out[1]} px · {seconds:.2f} s · `{html.escape(output_name)}`")
