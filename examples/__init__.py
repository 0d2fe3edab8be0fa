"""Example inputs for each task (installed as the package ``translation.examples``): ``TASK/*.jpg|png``,
made from held-out pictures. The app's galleries read them through this package."""
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent
