"""``translation convert --model NAME INPUT... -o OUT_DIR``: translate files and whole folders."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import sys

from .video_flags import VIDEO_HELP, HelpFormatter, add_video_arguments, frames_bar, video_options

EPILOG = """\
examples:
  translation convert --model colorization old_photos/ -o colorized/
  translation convert --model exports/sr.onnx scans/ -r --include '*.png' -o big/ --format jpg --quality 90
  translation convert --model sketch-to-photo photos/ --sketch-from-photo -o drawn/ --name '{stem}_{model}'

Outputs mirror the input folder tree. Existing outputs are skipped, so re-running an interrupted
command finishes the rest (--overwrite redoes everything). Files that cannot be read are reported
on one line each and skipped; the exit code is 1 when any file failed. Inputs are never modified:
a plan that would write over an input is refused.

On a Ray cluster (pip install 'translation[ray]'; inputs and output on a filesystem every node sees):
  ray start --head                      # once per cluster (or KubeRay on Kubernetes)
  translation convert --model colorization photos/ -o out/ -r --ray auto
  translation convert --model super-resolution photos/ -o big/ --ray ray://head:10001 --actors 8

--ray lists the inputs once on this machine and converts them in a pool of Ray actors that each open
the model once (one GPU each where the cluster has GPUs, else --threads CPU threads each); skipping,
atomic writes, error lines and the exit code are those of a local run.
"""


def register(subparsers: argparse._SubParsersAction, name: str, help: str) -> None:
    parser = subparsers.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".",
                                   epilog=EPILOG + "\n" + VIDEO_HELP, formatter_class=HelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image and video files and/or folders")
    parser.add_argument("-m", "--model", required=True, metavar="NAME_OR_PATH",
                        help="a model name (see `translation models`) or a path to an .onnx file")
    parser.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="folder for the results")
    parser.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders")
    parser.add_argument("--include", action="append", default=[], metavar="GLOB",
                        help="only files whose name or relative path matches (repeatable), e.g. '*.jpg'")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="skip files whose name or relative path matches (repeatable)")
    parser.add_argument("--name", default="{stem}", metavar="TEMPLATE",
                        help="output file name without suffix; fields {stem} {model} {task} {ext} "
                             "(default: '{stem}')")
    parser.add_argument("--format", choices=("png", "jpg", "webp"), default="png", help="output format (default: png)")
    parser.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality 1-100 (default: 95)")
    parser.add_argument("--png-compression", choices=("fast", "compact"), default="fast",
                        help="PNG outputs: fast (default) or compact (files ~25%% smaller, encoding takes 3-6x "
                             "the CPU time)")
    parser.add_argument("--overwrite", action="store_true", help="redo outputs that already exist")
    parser.add_argument("--sketch-from-photo", action="store_true",
                        help="sketch-to-photo models: turn each photo into a line drawing first")
    parser.add_argument("--chroma-gain", type=float, default=None, metavar="G",
                        help="colorization models: colour strength, the predicted colour times G (default: the "
                             "model's own, 1.2 for the shipped one; 1 is the network as trained)")
    perf = parser.add_argument_group("performance")
    perf.add_argument("--tile-size", type=int, default=None,
                      help="images larger than this run tile by tile (default: the model's, usually 512)")
    perf.add_argument("--overlap", type=int, default=32, help="pixels shared by neighbouring tiles (default: 32)")
    perf.add_argument("--batch-size", type=int, default=None,
                      help="tiles per inference call (default: 1 on CPU, fastest there; 4 on GPU)")
    perf.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                      help="auto: CUDA when usable, else CPU (default)")
    perf.add_argument("--providers", default=None, metavar="LIST",
                      help="ONNX Runtime execution providers, comma-separated (overrides --device)")
    perf.add_argument("--threads", type=int, default=None,
                      help="inference threads (default: the number of physical cores; with --ray: per actor, "
                           "default 2)")
    perf.add_argument("--workers", type=int, default=2,
                      help="decode and encode threads each, running beside inference when images go one at a "
                           "time (one lane, a GPU) (default: 2)")
    perf.add_argument("--lanes", type=int, default=None,
                      help="images converted side by side, each lane decoding, running the network on --threads "
                           "/ LANES threads and encoding one image at a time (default: 2 on the CPU with 2 or more "
                           "threads, for images; 1 on a GPU, and with videos among the inputs: their frames go "
                           "one by one); 1: one multi-threaded network run at a time, --workers threads around it")
    perf.add_argument("--max-pixels", type=int, default=None,
                      help="refuse images with more pixels than this, and larger outputs that would be held "
                           "in memory whole (default: 64 million); PNG outputs of pixel-wise tasks such as "
                           "super-resolution over 16 million pixels are written in row bands instead")
    add_video_arguments(parser)
    cluster = parser.add_argument_group(
        "cluster (Ray)", "each job first starts its actors (a few seconds on a running cluster, more when it "
        "starts one); then actors convert at the local rate each. For a short job on one machine the local "
        "path is faster")
    cluster.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                         help="convert on a Ray cluster: 'auto' (the running cluster), ray://HOST:10001, or no "
                              "value ($RAY_ADDRESS or a running cluster, else a local one for this run)")
    cluster.add_argument("--actors", type=int, default=None,
                         help="with --ray: actors converting at once, each with the model open (default: the "
                              "cluster's GPUs, or its CPUs divided by --threads)")
    parser.add_argument("--models", action="append", default=[], metavar="DIR",
                        help="extra folder with .onnx models (repeatable)")
    parser.set_defaults(handler=run)


def auto_lanes(threads: int, jobs) -> int:
    """Lanes for a local run (``cpu_lanes``); 1 for a single image, or when videos are among the jobs (their
    frames run one by one, on every thread)."""
    from ..convert import cpu_lanes
    from ..video import is_video_path

    if len(jobs) < 2 or any(is_video_path(job.source) for job in jobs):
        return 1
    return cpu_lanes(threads)


def providers_for(device: str, providers: str | None) -> str | None:
    if providers:
        return providers
    return {"auto": None, "cpu": "cpu", "cuda": "cuda,cpu"}[device]


def _with_progress(total: int, convert):
    """``convert(on_result)`` under a progress bar that also prints each failure on its own line."""
    from tqdm import tqdm

    with tqdm(total=total, unit="img", dynamic_ncols=True, file=sys.stderr) as bar:
        def on_result(job, status: str, reason: str | None) -> None:
            if status == "failed":
                bar.write(f"failed: {job.source}: {reason}", file=sys.stderr)
            bar.update(1)

        return convert(on_result)


def run(args: argparse.Namespace) -> int:
    from ..convert import ConvertOptions, plan_jobs, remove_stale_temp_files, run_jobs
    from ..imaging.io import DEFAULT_MAX_PIXELS
    from ..errors import TranslationError
    from ..runtime import Engine, resolve_model
    from ..runtime.engine import default_threads

    video, video_format = video_options(args)
    options = ConvertOptions(
        recursive=args.recursive, include=tuple(args.include), exclude=tuple(args.exclude),
        name_template=args.name, format=args.format, quality=args.quality,
        png_compression=args.png_compression, tile_size=args.tile_size,
        overlap=args.overlap, batch_size=args.batch_size, overwrite=args.overwrite,
        sketch_from_photo=args.sketch_from_photo, workers=args.workers,
        max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS, video=video, video_format=video_format)
    if args.ray is not None:
        ray_address(args.ray)   # before anything is planned: an input read as the address is a mistake
    elif args.actors is not None:
        raise TranslationError("--actors sets the size of a Ray actor pool: use it with --ray")
    if args.lanes is not None and (args.lanes < 1 or args.ray is not None):
        raise TranslationError(f"--lanes {args.lanes}: give 1 or more lanes" if args.lanes < 1 else
                               "--lanes is for local runs; with --ray, --actors sets how many images convert at once")
    info = resolve_model(args.model, args.models)
    if args.chroma_gain is not None:
        info = info.with_chroma_gain(args.chroma_gain)
    plan = plan_jobs(args.inputs, args.output, model=info.name, task=info.task.name, options=options)
    for path, reason in plan.missing:
        print(f"failed: {path}: {reason}", file=sys.stderr)
    if plan.not_images:
        names = ", ".join(str(p) for p in plan.not_images[:3]) + (", ..." if len(plan.not_images) > 3 else "")
        print(f"ignoring {len(plan.not_images)} file(s) without an image or video suffix ({names}); "
              "name a file on the command line to try it anyway", file=sys.stderr)
    if plan.done:
        print(f"skipping {len(plan.done)} image(s) already converted (--overwrite redoes them)", file=sys.stderr)
    if not plan.todo:
        print(f"nothing to convert; {len(plan.done)} done, {len(plan.missing)} missing", file=sys.stderr)
        return 1 if plan.missing else 0
    remove_stale_temp_files(plan.todo)
    if args.ray is not None:
        summary = _run_on_ray(args, info, plan, options)
    else:
        threads = args.threads or default_threads()
        lanes = args.lanes or auto_lanes(threads, plan.todo)
        # no warm-up run: the first image does that work itself (a one-image run would pay twice)
        engine = Engine(info, providers=providers_for(args.device, args.providers), threads=max(1, threads // lanes),
                        warmup=False, spinning=False)
        if engine.device != "CPU" and args.lanes is None:
            lanes = 1
        options = dataclasses.replace(options, lanes=lanes)
        layout = f"{engine.threads} threads" if lanes == 1 else f"{lanes} lanes x {engine.threads} thread(s)"
        print(f"{info.name} ({info.task.name}, {info.network}) on {engine.device}, {layout}: "
              f"{len(plan.todo)} image(s) -> {args.output}", file=sys.stderr)
        with frames_bar() as on_frames:
            summary = _with_progress(len(plan.todo),
                                     lambda on_result: run_jobs(plan.todo, engine, options, on_result, on_frames))
    summary.skipped += len(plan.done)
    summary.failed += len(plan.missing)
    print(summary.line(), file=sys.stderr)
    if summary.converted and summary.seconds > 0:
        logging.getLogger(__name__).debug("inference busy %.0f%% of the run",
                                          100 * summary.inference_seconds / summary.seconds)
    return 1 if summary.failed else 0


def ray_address(value: str) -> str:
    """The --ray value checked: 'auto', 'local', ray://HOST:PORT, HOST:PORT or nothing."""
    from ..errors import TranslationError

    if value in ("", "auto", "local") or value.startswith("ray://") or re.fullmatch(r"[\w.\-\[\]:]+:\d+", value):
        return value
    raise TranslationError(f"--ray {value!r} is not a Ray address (auto, ray://HOST:10001 or HOST:6379); an input "
                           "right after --ray is read as its address: put --ray after the inputs or write --ray=ADDRESS")


def _run_on_ray(args: argparse.Namespace, info, plan, options):
    from ..convert_ray import RayOptions, ray_session, run_jobs_on_ray
    from ..errors import TranslationError

    if args.providers:
        raise TranslationError("--providers is for local runs; with --ray use --device (auto, cpu or cuda)")
    ray_options = RayOptions(address=ray_address(args.ray) or None, actors=args.actors, threads=args.threads,
                             device=args.device)
    with ray_session(ray_options.address):
        print(f"{info.name} ({info.task.name}, {info.network}) on Ray: {len(plan.todo)} image(s) -> {args.output}",
              file=sys.stderr)
        return _with_progress(len(plan.todo), lambda on_result: run_jobs_on_ray(plan.todo, info, options,
                                                                                ray_options, on_result))
