"""``python -m translation.app``: the same as ``translation app`` (same options)."""
import sys

from translation.cli import main

sys.exit(main(["app", *sys.argv[1:]]))
