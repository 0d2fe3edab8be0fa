"""Draw docs/gallery.png: for each model in exports/, held-out example inputs next to its outputs.

    python docs/make_gallery.py                      # exports/ and examples/ of this checkout
    python docs/make_gallery.py --models DIR --examples DIR -o gallery.png

Rerun it whenever a shipped model changes; the README shows the result.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from translation.examples import EXAMPLES_DIR
from translation.imaging.files import list_images
from translation.imaging.io import read_image, write_image
from translation.runtime import DEFAULT_MODELS_DIR, Engine, find_models, translate

CELL_HEIGHT = 150
LABEL_WIDTH = 150
GAP = 6
BACKGROUND = (255, 255, 255)


def _cell(rgb: np.ndarray) -> Image.Image:
    image = Image.fromarray(np.asarray(rgb[:, :, :3], dtype=np.uint8) if rgb.dtype == np.uint8
                            else (rgb[:, :, :3] >> 8).astype(np.uint8))
    width = max(1, round(image.width * CELL_HEIGHT / image.height))
    # Nearest for small inputs (a super-resolution input shows its real pixels), area-like otherwise.
    resample = Image.Resampling.NEAREST if image.height < CELL_HEIGHT else Image.Resampling.LANCZOS
    return image.resize((width, CELL_HEIGHT), resample)


def gallery_rows(models_dir: Path, examples_dir: Path, per_model: int) -> list[tuple[str, list[Image.Image]]]:
    """(label, [input, output, input, output, ...]) for every model in ``models_dir`` with examples."""
    rows = []
    for info in find_models(extra_dirs=[models_dir]):
        if info.path.parent.resolve() != Path(models_dir).resolve():
            continue  # only the folder asked for, not $TRANSLATION_MODELS
        folder = Path(examples_dir) / info.task.name
        inputs = list_images(folder)[:per_model] if folder.is_dir() else []
        if not inputs:
            continue
        engine = Engine(info, providers=["CPUExecutionProvider"])
        cells = []
        for path in inputs:
            source = read_image(path)
            cells += [_cell(source.rgb), _cell(translate(source, engine).rgb)]
        rows.append((info.name, cells))
    return rows


def _advance(k: int) -> int:
    """Space after cell ``k``: a pair (input, output) sits close, pairs apart."""
    return GAP * 3 if k % 2 else GAP // 2


def draw(rows: list[tuple[str, list[Image.Image]]]) -> Image.Image:
    width = LABEL_WIDTH + max(sum(c.width + _advance(k) for k, c in enumerate(cells)) for _, cells in rows)
    sheet = Image.new("RGB", (width, len(rows) * (CELL_HEIGHT + GAP) + GAP), BACKGROUND)
    pen = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=15)
    for r, (label, cells) in enumerate(rows):
        y = GAP + r * (CELL_HEIGHT + GAP)
        pen.text((GAP, y + CELL_HEIGHT // 2 - 24), label + "\n\ninput | output", fill=(30, 30, 30), font=font)
        x = LABEL_WIDTH
        for k, cell in enumerate(cells):
            sheet.paste(cell, (x, y))
            x += cell.width + _advance(k)
    return sheet


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR, help="model folder (default: exports/)")
    parser.add_argument("--examples", type=Path, default=EXAMPLES_DIR, help="example inputs, one folder per task")
    parser.add_argument("--per-model", type=int, default=3, help="examples per model (default: 3)")
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).resolve().parent / "gallery.png")
    args = parser.parse_args(argv)
    rows = gallery_rows(args.models, args.examples, args.per_model)
    if not rows:
        parser.error(f"no model in {args.models} has examples in {args.examples}")
    write_image(args.output, np.asarray(draw(rows)))
    print(f"wrote {args.output} ({len(rows)} models)")
    return args.output


if __name__ == "__main__":
    main()
