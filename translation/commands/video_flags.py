"""``translation convert``'s video options (a helper of commands/convert.py, not a command)."""
from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager

VIDEO_HELP = """\
videos (.mp4 .mov .mkv .webm .avi, decoded and encoded by the FFmpeg inside PyAV):
  translation convert --model style-photo2art clips/ -o painted/              # stabilised, audio copied
  translation convert --model colorization old.avi -o out/ --video-format mp4 --video-quality 18
  translation convert --model super-resolution clip.mkv -o big/ --no-stabilize   # frame by frame

Every frame goes through the model as an image would; the output keeps the frame count, the
timestamps (variable frame rates too), the rotation and the audio stream (copied unchanged), at the
model's scale. Temporal stabilisation is on: each frame is blended with the previous output warped
along the optical flow of the inputs where a forward-backward check trusts the flow, and starts
afresh at scene cuts, so the translation does not flicker.
"""


def _codec_help() -> str:
    from ..video import available_encoders  # loads PyAV

    encoders = available_encoders()
    default = "libx264 (H.264)" if "libx264" in encoders else (encoders[0] if encoders else "none available")
    return (f"video encoder (default: H.264 where this FFmpeg build has an encoder for it, else the best the "
            f"container takes: {default} here; VP9 for .webm). This build: {', '.join(encoders)}")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Asks FFmpeg for its encoders only when --help is shown, not on every run."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return _codec_help() if action.dest == "video_codec" else super()._get_help_string(action)


def add_video_arguments(parser: argparse.ArgumentParser) -> None:
    """The video flags; ``parser`` should use ``HelpFormatter`` for --video-codec's help."""
    from ..video import CONTAINERS, DEFAULT_QUALITY, DEFAULT_STRENGTH, VideoLimits

    group = parser.add_argument_group("video")
    group.add_argument("--no-stabilize", dest="stabilize", action="store_false",
                       help="translate each frame on its own (flickers; default: stabilised along the motion)")
    group.add_argument("--stabilize-strength", type=float, default=DEFAULT_STRENGTH, metavar="S",
                       help=f"share of the warped previous output each frame keeps, 0-0.99 (default: {DEFAULT_STRENGTH})")
    group.add_argument("--video-format", choices=tuple(CONTAINERS), default=None,
                       help="container of the output videos (default: the input's)")
    group.add_argument("--video-codec", default=None, metavar="ENCODER", help="video encoder")
    group.add_argument("--video-quality", type=int, default=DEFAULT_QUALITY, metavar="CRF",
                       help=f"constant quality, 0 (lossless) to 51 (smallest); default {DEFAULT_QUALITY}")
    group.add_argument("--no-audio", dest="copy_audio", action="store_false", help="leave the audio out")
    group.add_argument("--max-video-seconds", type=float, default=VideoLimits().max_seconds, metavar="S",
                       help=f"refuse longer videos (default: {VideoLimits().max_seconds:.0f})")


def video_options(args: argparse.Namespace):
    """(VideoOptions, output container or None) from the parsed flags."""
    from ..errors import TranslationError
    from ..video import VideoLimits, VideoOptions

    if not 0.0 <= args.stabilize_strength < 1.0:
        raise TranslationError(f"--stabilize-strength {args.stabilize_strength}: use a value from 0 to 0.99")
    options = VideoOptions(stabilize=args.stabilize, strength=args.stabilize_strength, codec=args.video_codec,
                           quality=args.video_quality, copy_audio=args.copy_audio,
                           limits=VideoLimits(max_seconds=args.max_video_seconds))
    return options, args.video_format


@contextmanager
def frames_bar():
    """An ``on_frames`` callback drawing a second progress bar for the frames of the video at hand."""
    from tqdm import tqdm

    state: dict = {"job": None, "bar": None}

    def on_frames(job, done: int, total: int) -> None:
        if state["job"] is not job:
            if state["bar"] is not None:
                state["bar"].close()
            state["job"] = job
            state["bar"] = tqdm(total=total or None, unit="frame", desc=job.source.name, leave=False,
                                dynamic_ncols=True, file=sys.stderr, position=1)
        bar = state["bar"]
        bar.update(done - bar.n)

    try:
        yield on_frames
    finally:
        if state["bar"] is not None:
            state["bar"].close()
