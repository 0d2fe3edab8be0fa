"""The Batch tab's results to look at before downloading the zip: a thumbnail (input | output) per file."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from translation.imaging.io import read_image, write_image
from translation.imaging.preview import side_by_side

THUMBNAIL_HEIGHT = 200


def batch_gallery_component() -> gr.Gallery:
    return gr.Gallery(label="Results (input → output)", columns=3, height=320, object_fit="contain",
                      interactive=False, elem_id="batch-gallery")


def thumbnails(pairs: list[tuple[Path, Path]], folder: Path, max_pixels: int | None) -> list[tuple[str, str]]:
    """(thumbnail file, caption) per (input, output) pair, the thumbnails written into ``folder/thumbnails/``."""
    entries = []
    for index, (source, output) in enumerate(pairs):
        pixels = side_by_side([read_image(source, max_pixels=max_pixels), read_image(output, max_pixels=None)],
                              THUMBNAIL_HEIGHT)
        thumbnail = write_image(folder / "thumbnails" / f"{index:04d}.jpg", pixels, quality=85)
        entries.append((str(thumbnail), f"{source.name} → {output.name}"))
    return entries
