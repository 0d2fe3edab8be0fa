"""``translation eval``: measure a model on held-out photographs."""
from __future__ import annotations

import argparse
import json
import textwrap

EXAMPLE = """\
examples:
  translation eval --model super-resolution --photos held-out/ --json sr-metrics.json
  translation eval --model my-cut.onnx --photos photos/val --target art/val      # unpaired, no way back
"""


def _epilog() -> str:
    """What each registered task's measure compares, one wrapped entry per task."""
    from ..tasks import registered_tasks

    lines = ["what is measured, by task:"]
    for task in registered_tasks():
        if task.measure is not None:
            lines += textwrap.wrap(task.measure.summary, 100, initial_indent=f"  {task.name:17s} ",
                                   subsequent_indent=" " * 20)
    return "\n".join(lines) + "\n\n" + EXAMPLE


def register(subparsers, name: str, help: str) -> None:
    parser = subparsers.add_parser(name, help=help, description=help, epilog=_epilog(),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model name (from exports/ or --models) or .onnx path")
    parser.add_argument("--back-model", help="the opposite direction, for cycle reconstruction (style transfer)")
    parser.add_argument("--photos", help="folder of held-out photos (default: the prepared collection's "
                                         "validation photos, see `translation data prepare`)")
    parser.add_argument("--target", metavar="DIR",
                        help="images of the domain the model translates into (e.g. held-out artworks for photo -> "
                             "art): adds swd, the sliced Wasserstein distance of the outputs' Laplacian-pyramid "
                             "patches to theirs (lower is better; needs no downloaded weights), and swd_input, "
                             "that of the untranslated photos; enough for a model without --back-model (CUT)")
    parser.add_argument("--models", action="append", default=[], metavar="DIR", help="extra model folder")
    parser.add_argument("--max-side", type=int, default=512, help="photos are shrunk to this long side (default 512)")
    parser.add_argument("--json", metavar="FILE", help="also write per-image and mean metrics as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..atomic import atomic_write_text
    from ..evaluation import evaluate, list_photos
    from ..runtime import Engine

    if args.photos:
        photos = list_photos(args.photos)
    else:
        from ..collections import split_dir

        photos = list_photos(split_dir("photos", "val"))
    engine = Engine(args.model, extra_dirs=args.models)
    back = Engine(args.back_model, extra_dirs=args.models) if args.back_model else None
    with tqdm(total=len(photos), desc=f"eval {engine.info.name}", unit="img") as bar:
        result = evaluate(engine, photos, back_model=back, target=list_photos(args.target) if args.target else (),
                          max_side=args.max_side, progress=lambda done, total: bar.update(done - bar.n))
    print(f"{result.model} ({result.task}) on {result.images} photos:")
    for key, value in result.summary.items():
        print(f"  {key:22s} {value:8.4f}")
    if args.json:
        atomic_write_text(args.json, json.dumps(result.to_dict(), indent=2))
    return 0
