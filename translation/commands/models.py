"""``translation models``: the available models and what their metadata says."""
from __future__ import annotations

import argparse
import json

EPILOG = """\
Models are the .onnx files in exports/, in every folder of $TRANSLATION_MODELS (separated by ':'),
and in each --models DIR. A model is self-describing: its task, network and tiling come from the file.
"""

COLUMNS = ("name", "task", "network", "channels", "multiple", "tile", "scale", "size")


def register(subparsers: argparse._SubParsersAction, name: str, help: str) -> None:
    parser = subparsers.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".",
                                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", action="append", default=[], metavar="DIR",
                        help="extra folder with .onnx models (repeatable)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    parser.set_defaults(handler=run)


def describe(info) -> dict:
    """One model as a plain dict (the JSON output and the table rows)."""
    return {
        "name": info.name,
        "path": str(info.path),
        "task": info.task.name,
        "network": info.network,
        "in_channels": info.in_channels,
        "out_channels": info.out_channels,
        "input_space": info.task.input_space,
        "output_space": info.task.output_space,
        "size_multiple": info.size_multiple,
        "tile_size": info.tile_size,
        "scale": info.task.scale,
        "working_size": info.task.working_size,
        "working_shape": info.task.working_shape,
        "chroma_gain": info.task.chroma_gain,
        "keep_detail": info.task.keep_detail,
        "norm_mode": info.metadata.get("norm_mode", ""),
        "precision": info.metadata.get("precision", ""),
        "file_size": info.path.stat().st_size,
        "training": info.training,
        "card": info.card,
    }


def _row(entry: dict) -> tuple[str, ...]:
    return (entry["name"], entry["task"], entry["network"], f"{entry['in_channels']}->{entry['out_channels']}",
            str(entry["size_multiple"]), str(entry["tile_size"]), f"x{entry['scale']}",
            f"{entry['file_size'] / 1e6:.1f} MB")


def format_table(entries: list[dict]) -> str:
    rows = [COLUMNS, *(_row(e) for e in entries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def run(args: argparse.Namespace) -> int:
    from ..runtime.models import find_models, model_dirs

    entries = [describe(info) for info in find_models(args.models)]
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    if not entries:
        searched = ", ".join(str(d) for d in model_dirs(args.models))
        print(f"no models found (searched: {searched}); export one with `translation export`")
        return 0
    print(format_table(entries))
    return 0
