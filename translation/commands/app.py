"""``translation app``: serve the web app (Gradio) on this machine."""
from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = """\
Start the web app: a tab per task (style transfer, colorization, ...: each task of translation.tasks
that describes one), any exported ONNX model in the Custom tab, and a Batch tab that returns a zip.

Models are found in exports/, in every folder of $TRANSLATION_MODELS and in the --models folders,
by the task written in their metadata. The app serves only this machine unless --host says otherwise,
makes no network calls, and deletes its temporary files when it stops.

examples:
  translation app
  translation app --port 8080 --models runs/my-model/exports
  translation app --host 0.0.0.0 --max-file-size 50MB      # reachable from the local network
"""


def register(subparsers: argparse._SubParsersAction, name: str, help: str) -> None:
    from translation.app.server import DEFAULT_HOST, DEFAULT_MAX_FILE_SIZE, DEFAULT_PORT

    parser = subparsers.add_parser(name, help=help, description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; "
                             "0.0.0.0 opens it to the network)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--share", action="store_true",
                        help="also publish a temporary public gradio.live link (off by default; needs internet)")
    parser.add_argument("--models", metavar="DIR", type=Path, action="append", default=[],
                        help="another folder of exported .onnx models (repeatable)")
    parser.add_argument("--max-file-size", default=DEFAULT_MAX_FILE_SIZE, metavar="SIZE",
                        help=f"largest upload accepted, e.g. 20MB, 512KB (default {DEFAULT_MAX_FILE_SIZE})")
    parser.add_argument("--concurrency", type=int, default=1, metavar="N",
                        help="model runs at the same time, all users together (default 1; "
                             "others wait in the queue)")
    parser.add_argument("--queue-size", type=int, default=32, metavar="N",
                        help="requests that may wait in the queue (default 32)")
    parser.add_argument("--examples", metavar="DIR", type=Path, default=None,
                        help="folder with <task>/ subfolders of example images (default: examples/)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="ONNX Runtime threads per model (default: ONNX Runtime's choice)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from translation.app.server import AppConfig, serve

    serve(AppConfig(host=args.host, port=args.port, share=args.share, models_dirs=tuple(args.models),
                    max_file_size=args.max_file_size, concurrency=args.concurrency,
                    queue_size=args.queue_size, examples_dir=args.examples, threads=args.threads))
    return 0
