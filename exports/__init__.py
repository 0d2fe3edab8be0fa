"""The shipped default models (installed as the package ``translation.default_models``): ``NAME.onnx``
files with their model cards ``NAME.json``. ``translation.runtime`` finds them through this package, so
an installed wheel serves them without the checkout."""
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
