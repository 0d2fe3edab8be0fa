"""Flicker of the shipped models on video, frame by frame vs stabilised, and video throughput.

    .venv/bin/python benchmarks/bench_video.py --threads 2

A slow noisy pan over a photo (``examples/style-transfer/fresh-flower.jpg``, 320x240 frames, 0.6 px a
frame sideways, a slight zoom, sensor noise of 1.5 gray levels; super-resolution gets the same clip at
a quarter of the size, so its output is 320x240 as well) goes through each shipped model twice:
frame by frame and stabilised (``translate_frames``, the frames ``translate_video`` encodes). For each,

* the warping error (Lai et al. 2018: mean absolute difference, 0-255, between each frame and the
  previous one warped along the motion of the inputs, on the pixels that stay in view), with the
  clip's exact motion, so no flow estimate of the benchmark's own enters the measure; the input
  frames' own warping error is the floor (their noise and resampling);
* the mean PSNR between the stabilised and the frame-by-frame frames (the translation kept);
* frames/s of ``translate_video`` on the clip as an H.264 file (decode, pre-processing, flow,
  inference, post-processing, stabilisation, encode, audio copy) against the model alone
  (``Engine.run`` on the prepared frames), and their ratio (target >= 0.8); timed alternately,
  ``--repeat`` times, best of each, on the clip played forth and back to ``--throughput-frames``
  frames (a file's fixed costs, opening and the encoder's start and flush, spread as over a clip of
  seconds). On a busy machine wall times swing, so the CPU time a frame costs (all threads) is given
  too: model alone / end to end, the share of the work that is the model's;
* with ``--stages``, the CPU time of each stage of the video path a frame, run one after the other
  in this thread (decode, flow, pre-processing, model, post-processing, stabilisation, encode).
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from translation.examples import EXAMPLES_DIR
from translation.imaging.io import LoadedImage, read_image, to_float
from translation.metrics import psnr
from translation.runtime import Engine, find_models
from translation.runtime.batch import infer_many
from translation.runtime.pipeline import prepare_image
from translation.tasks import finish
from translation.video import Stabilizer, VideoOptions, VideoReader, VideoWriter, translate_frames, translate_video
from translation.video.flicker import warping_error
from translation.video.flow import MotionEstimator, flow_gray
from translation.video.opencv_threads import single_threaded_opencv
from translation.video.synthetic import slow_noisy_pan, write_clip

PHOTO = EXAMPLES_DIR / "style-transfer" / "fresh-flower.jpg"


def cpu_seconds() -> float:
    """CPU time of this process, all its threads (steadier than wall time on a shared machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def model_only(engine: Engine, frames: list[np.ndarray], sketch: bool) -> tuple[float, float]:
    """(frames/s, CPU seconds a frame) of the engine alone on the prepared frames."""
    prepared = [prepare_image(LoadedImage(rgb=f), engine.info, sketch_from_photo=sketch) for f in frames]
    started, cpu = time.perf_counter(), cpu_seconds()
    infer_many(prepared, engine)
    return len(frames) / (time.perf_counter() - started), (cpu_seconds() - cpu) / len(frames)


def stage_costs(engine: Engine, source: Path, frames: list[np.ndarray], sketch: bool, folder: Path) -> dict[str, float]:
    """CPU ms a frame of each stage of ``translate_video``'s path, each over all the frames in turn."""
    costs: dict[str, float] = {}

    def timed(stage: str, work):
        cpu = cpu_seconds()
        result = work()
        costs[stage] = 1000 * (cpu_seconds() - cpu) / len(frames)
        return result

    with single_threaded_opencv(engine.device == "CPU"):
        with VideoReader(source) as reader:
            info = reader.info
            decoded = timed("decode", lambda: list(reader.frames()))
        estimator = MotionEstimator()
        grays = [flow_gray(frame.rgb) for frame in decoded]
        motions = timed("flow", lambda: [None] + [estimator(a, b) for a, b in zip(grays, grays[1:])])
        prepared = timed("pre-process", lambda: [prepare_image(LoadedImage(rgb=f.rgb), engine.info,
                                                               sketch_from_photo=sketch) for f in decoded])
        outputs = timed("model", lambda: infer_many(prepared, engine))
        finished = timed("post-process", lambda: [finish(engine.info.task, o, p.context)
                                                   for o, p in zip(outputs, prepared)])
        stabilizer = Stabilizer()
        steady = timed("stabilise", lambda: [stabilizer(f, m) for f, m in zip(finished, motions)])

        def encode() -> None:
            height, width = steady[0].shape[:2]
            with VideoWriter(folder / "stages.mp4", info, width, height) as writer:
                for frame, rgb in zip(decoded, steady):
                    writer.write(cv2.convertScaleAbs(rgb, alpha=255.0), frame.pts)

        timed("quantise + encode", encode)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each, best kept (default: 5)")
    parser.add_argument("--throughput-frames", type=int, default=96,
                        help="frames of the clip timed end to end: the clip forth and back (default: 96)")
    parser.add_argument("--stages", action="store_true", help="also the CPU time of each stage a frame")
    parser.add_argument("--models", nargs="*", default=None, help="shipped model names (default: all)")
    args = parser.parse_args()

    photo = read_image(PHOTO).rgb
    models = [m for m in find_models() if args.models is None or m.name in args.models]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for info in sorted(models, key=lambda m: m.name):
            engine = Engine(info, threads=args.threads)
            scale = info.task.scale
            clip = slow_noisy_pan(photo, width=args.width, height=args.height, frames=args.frames, scale=scale)
            sketch = info.task.name == "sketch-to-photo"
            plain = list(translate_frames(clip.frames, engine, options=VideoOptions(stabilize=False),
                                          sketch_from_photo=sketch))
            steady = list(translate_frames(clip.frames, engine, sketch_from_photo=sketch))
            forth_and_back = clip.frames + clip.frames[-2:0:-1]
            timed_frames = [forth_and_back[i % len(forth_and_back)] for i in range(args.throughput_frames)]
            source = write_clip(Path(tmp) / f"{info.name}.mp4", timed_frames, fps=25,
                                audio_seconds=len(timed_frames) / 25)
            e2e, e2e_cpu, model_fps, model_cpu = [], [], [], []
            for _ in range(args.repeat):   # alternately, so the machine's load hits both alike; best of each
                cpu = cpu_seconds()
                summary = translate_video(source, Path(tmp) / f"{info.name}-out.mp4", engine, sketch_from_photo=sketch)
                e2e_cpu.append((cpu_seconds() - cpu) / summary.frames)
                e2e.append(summary.frames_per_second)
                fps, cpu_per_frame = model_only(engine, timed_frames, sketch)
                model_fps.append(fps)
                model_cpu.append(cpu_per_frame)
            if args.stages:
                costs = stage_costs(engine, source, timed_frames, sketch, Path(tmp))
                print(f"{info.name}: CPU ms a frame by stage: "
                      + ", ".join(f"{stage} {ms:.2f}" for stage, ms in costs.items())
                      + f"; all but the model {sum(costs.values()) - costs['model']:.2f}", flush=True)
            rows.append(dict(
                model=info.name, size=f"{summary.width}x{summary.height}",
                input=warping_error(clip.frames, clip.flows, clip.visible),
                plain=warping_error(plain, clip.flows, clip.visible),
                steady=warping_error(steady, clip.flows, clip.visible),
                # from the second frame: the first is the same in both by construction
                psnr=float(np.mean([psnr(to_float(a), to_float(b)) for a, b in zip(plain[1:], steady[1:])])),
                e2e=max(e2e), model_fps=max(model_fps), e2e_cpu=min(e2e_cpu), model_cpu=min(model_cpu)))
            print(f"{info.name}: {summary.line()}", flush=True)

    print(f"\nflicker on {args.frames} frames; throughput on {args.throughput_frames}, {args.threads} threads, "
          f"best of {args.repeat}, load average {os.getloadavg()[0]:.1f}\n")
    print("| model | output | warping error: input | frame by frame | stabilised | reduction | PSNR stabilised vs "
          "frame by frame | end-to-end frames/s | model-only frames/s | wall ratio | CPU ms a frame: end to end "
          "| model only | CPU time ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        flickers = r["plain"] > r["input"]
        reduction = f"{100 * (1 - r['steady'] / r['plain']):.0f}%" + ("" if flickers else " (no flicker to remove)")
        print(f"| {r['model']} | {r['size']} | {r['input']:.2f} | {r['plain']:.2f} | {r['steady']:.2f} | {reduction} | "
              f"{r['psnr']:.1f} dB | {r['e2e']:.2f} | {r['model_fps']:.2f} | {r['e2e'] / r['model_fps']:.2f} | "
              f"{1000 * r['e2e_cpu']:.1f} | {1000 * r['model_cpu']:.1f} | {r['model_cpu'] / r['e2e_cpu']:.2f} |")


if __name__ == "__main__":
    main()
