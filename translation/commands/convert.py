"""``translation convert --model NAME INPUT... -o OUT_DIR``: translate files and whole folders."""
from __future__ import annotations

import argparse
import logging
import sys

EPILOG = """\
examples:
  translation convert --model colorization old_photos/ -o colorized/
  translation convert --model exports/sr.onnx scans/ -r --include '*.png' -o big/ --format jpg --quality 90
  translation convert --model sketch-to-photo photos/ --sketch-from-photo -o drawn/ --name '{stem}_{model}'

Outputs mirror the input folder tree. Existing outputs are skipped, so re-running an interrupted
command finishes the rest (--overwrite redoes everything). Files that cannot be read are reported
on one line each and skipped; the exit code is 1 when any file failed. Inputs are never modified:
a plan that would write over an input is refused.
"""


def register(subparsers: argparse._SubParsersAction, name: str, help: str) -> None:
    parser = subparsers.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".",
                                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and/or folders")
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
    parser.add_argument("--overwrite", action="store_true", help="redo outputs that already exist")
    parser.add_argument("--sketch-from-photo", action="store_true",
                        help="sketch-to-photo models: turn each photo into a line drawing first")
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
                      help="inference threads (default: the number of physical cores)")
    perf.add_argument("--workers", type=int, default=2,
                      help="decode and encode threads each, running beside inference (default: 2)")
    perf.add_argument("--max-pixels", type=int, default=None,
                      help="refuse images with more pixels than this (default: 64 million)")
    parser.add_argument("--models", action="append", default=[], metavar="DIR",
                        help="extra folder with .onnx models (repeatable)")
    parser.set_defaults(handler=run)


def providers_for(device: str, providers: str | None) -> str | None:
    if providers:
        return providers
    return {"auto": None, "cpu": "cpu", "cuda": "cuda,cpu"}[device]


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..convert import ConvertOptions, plan_jobs, remove_stale_temp_files, run_jobs
    from ..imaging.io import DEFAULT_MAX_PIXELS
    from ..runtime import Engine, resolve_model

    options = ConvertOptions(
        recursive=args.recursive, include=tuple(args.include), exclude=tuple(args.exclude),
        name_template=args.name, format=args.format, quality=args.quality, tile_size=args.tile_size,
        overlap=args.overlap, batch_size=args.batch_size, overwrite=args.overwrite,
        sketch_from_photo=args.sketch_from_photo, workers=args.workers,
        max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS)
    info = resolve_model(args.model, args.models)
    plan = plan_jobs(args.inputs, args.output, model=info.name, task=info.task.name, options=options)
    for path, reason in plan.missing:
        print(f"failed: {path}: {reason}", file=sys.stderr)
    if plan.not_images:
        names = ", ".join(str(p) for p in plan.not_images[:3]) + (", ..." if len(plan.not_images) > 3 else "")
        print(f"ignoring {len(plan.not_images)} file(s) without an image suffix ({names}); "
              "name a file on the command line to try it anyway", file=sys.stderr)
    if plan.done:
        print(f"skipping {len(plan.done)} image(s) already converted (--overwrite redoes them)", file=sys.stderr)
    if not plan.todo:
        print(f"nothing to convert; {len(plan.done)} done, {len(plan.missing)} missing", file=sys.stderr)
        return 1 if plan.missing else 0
    remove_stale_temp_files(plan.todo)
    engine = Engine(info, providers=providers_for(args.device, args.providers), threads=args.threads)
    print(f"{info.name} ({info.task.name}, {info.network}) on {engine.device}, {engine.threads} threads: "
          f"{len(plan.todo)} image(s) -> {args.output}", file=sys.stderr)

    with tqdm(total=len(plan.todo), unit="img", dynamic_ncols=True, file=sys.stderr) as bar:
        def on_result(job, status: str, reason: str | None) -> None:
            if status == "failed":
                bar.write(f"failed: {job.source}: {reason}", file=sys.stderr)
            bar.update(1)

        summary = run_jobs(plan.todo, engine, options, on_result)
    summary.skipped = len(plan.done)
    summary.failed += len(plan.missing)
    print(summary.line(), file=sys.stderr)
    if summary.converted and summary.seconds > 0:
        logging.getLogger(__name__).debug("inference busy %.0f%% of the run",
                                          100 * summary.inference_seconds / summary.seconds)
    return 1 if summary.failed else 0
