"""The ``translation`` console script: one entry point, a subcommand per job.

Each subcommand lives in ``translation/commands/<name>.py`` with ``register(subparsers)`` and
``run(args) -> int``. Modules are imported only when needed so ``--help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .errors import TranslationError

# name -> one-line help; the module translation.commands.<name> does the work.
COMMANDS = {
    "train": "train pix2pix (paired) or CycleGAN (unpaired) on your own images",
    "export": "export a trained generator (ours or a reference checkpoint) to ONNX",
    "convert": "translate whole folders of images and videos with an ONNX model",
    "models": "list the available models and their metadata",
    "quantize": "make an INT8 (static QDQ) variant of an ONNX model for faster CPU inference",
    "eval": "measure a model on held-out photographs (PSNR, SSIM, ...)",
    "data": "prepare the built-in photo collections used by the default models",
    "app": "start the web app (Gradio) on 127.0.0.1:7860",
}


def _command_module(name: str):
    return importlib.import_module(f"translation.commands.{name.replace('-', '_')}")


def build_parser(names: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser with the full options of the commands in ``names``; the others (all of them when
    ``names`` is None) only listed with their one-line help, so the top-level ``--help`` imports nothing."""
    parser = argparse.ArgumentParser(
        prog="translation",
        description="Image-to-image translation: train, export and serve pix2pix and CycleGAN models.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        if names is not None and name in names:
            _command_module(name).register(sub, name, summary)
        else:
            sub.add_parser(name, help=summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Only import the chosen command's module (torch and friends are slow to import).
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser([chosen] if chosen in COMMANDS else None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except TranslationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
