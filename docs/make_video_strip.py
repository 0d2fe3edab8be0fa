"""Draw docs/video_strip.png: consecutive frames of a slow noisy pan through a model, frame by frame and
stabilised, each with what changed since the previous frame (the flicker; motion taken out).

    python docs/make_video_strip.py                          # the shipped style-photo2art model
    python docs/make_video_strip.py --model colorization -o strip.png

Rows: the input frames; the model's frames translated one by one; how much each differs from the
previous one warped along the camera's motion (brighter is more flicker, x4); the same two rows with
temporal stabilisation. The row labels give the mean warping error (gray levels, 0-255).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from translation.examples import EXAMPLES_DIR
from translation.imaging.io import read_image, write_image
from translation.runtime import Engine
from translation.video import VideoOptions, translate_frames
from translation.video.flicker import warping_error
from translation.video.flow import resize_flow, warp
from translation.video.synthetic import slow_noisy_pan

PHOTO = EXAMPLES_DIR / "style-transfer" / "fresh-flower.jpg"
LABEL_WIDTH = 190
GAP = 6
AMPLIFY = 4


def changes(frames: list[np.ndarray], flows: list, visible: list) -> list[np.ndarray]:
    """|frame t - frame t-1 warped along the motion|, gray, amplified; black where the motion leaves the frame."""
    out = [np.zeros_like(frames[0])]
    for t in range(1, len(frames)):
        height, width = frames[t].shape[:2]
        flow = resize_flow(flows[t], height, width)
        difference = np.abs(frames[t].astype(np.float32) - warp(frames[t - 1].astype(np.float32), flow)).mean(axis=2)
        mask = np.asarray(Image.fromarray(visible[t].astype(np.uint8)).resize((width, height))) > 0
        gray = np.clip(difference * AMPLIFY, 0, 255).astype(np.uint8) * mask
        out.append(np.repeat(gray[:, :, None], 3, axis=2))
    return out


def strip_rows(model: str | Path, *, width: int, height: int, frames: int, shown: int) -> list[tuple[str, list]]:
    engine = Engine(model, providers=["CPUExecutionProvider"])
    clip = slow_noisy_pan(read_image(PHOTO).rgb, width=width, height=height, frames=frames, scale=engine.info.task.scale)
    sketch = engine.info.task.name == "sketch-to-photo"
    plain = list(translate_frames(clip.frames, engine, options=VideoOptions(stabilize=False), sketch_from_photo=sketch))
    steady = list(translate_frames(clip.frames, engine, sketch_from_photo=sketch))
    last = slice(frames - shown, frames)   # frames late in the clip: the stabilisation has settled
    rows = [("input", clip.frames[last])]
    for name, output in (("frame by frame", plain), ("stabilised", steady)):
        error = warping_error(output, clip.flows, clip.visible)
        rows += [(name, output[last]), (f"  its flicker (x{AMPLIFY})\n  warping error {error:.2f}",
                                        changes(output, clip.flows, clip.visible)[last])]
    return rows


def draw(rows: list[tuple[str, list[np.ndarray]]], title: str) -> Image.Image:
    cell_h = max(frame.shape[0] for _, frames in rows for frame in frames)
    cell_w = max(frame.shape[1] for _, frames in rows for frame in frames)
    columns = max(len(frames) for _, frames in rows)
    top = 28
    sheet = Image.new("RGB", (LABEL_WIDTH + columns * (cell_w + GAP), top + len(rows) * (cell_h + GAP)), "white")
    pen = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=15)
    pen.text((GAP, 6), title, fill=(30, 30, 30), font=font)
    for r, (label, frames) in enumerate(rows):
        y = top + r * (cell_h + GAP)
        pen.text((GAP, y + cell_h // 2 - 18), label, fill=(30, 30, 30), font=font)
        for c, frame in enumerate(frames):
            image = Image.fromarray(frame)
            if image.size != (cell_w, cell_h):   # a super-resolution input: its pixels, enlarged
                image = image.resize((cell_w, cell_h), Image.Resampling.NEAREST)
            sheet.paste(image, (LABEL_WIDTH + c * (cell_w + GAP), y))
    return sheet


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="style-photo2art", help="a model name or .onnx path (default: style-photo2art)")
    parser.add_argument("--size", default="192x144", help="frame size WxH (default: 192x144)")
    parser.add_argument("--frames", type=int, default=16, help="frames translated (default: 16)")
    parser.add_argument("--shown", type=int, default=5, help="the last frames shown (default: 5)")
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).resolve().parent / "video_strip.png")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    rows = strip_rows(args.model, width=width, height=height, frames=args.frames, shown=args.shown)
    title = (f"{Path(str(args.model)).stem}: {args.shown} consecutive frames of a slow noisy pan over a photo, "
             "frame by frame vs stabilised")
    write_image(args.output, np.asarray(draw(rows, title)))
    print(f"wrote {args.output}")
    return args.output


if __name__ == "__main__":
    main()
