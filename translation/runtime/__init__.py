"""Serving models with ONNX Runtime: find a model, open an Engine, translate images of any size.

    from translation.runtime import Engine, translate
    engine = Engine("colorization")              # a name in exports/ (or $TRANSLATION_MODELS) or a path
    result = translate("old_photo.jpg", engine)  # LoadedImage: .rgb (uint8/uint16), .alpha
"""
from .compare import Comparison, card_summary, compare_models
from .engine import Engine, default_threads
from .models import DEFAULT_MODELS_DIR, ModelInfo, find_models, read_metadata, read_model_info, resolve_model
from .pipeline import convert_image, get_engine, sketch_image, translate

__all__ = [
    "DEFAULT_MODELS_DIR", "Comparison", "Engine", "ModelInfo", "card_summary", "compare_models", "convert_image",
    "default_threads", "find_models",
    "get_engine", "read_metadata", "read_model_info", "resolve_model", "sketch_image", "translate",
]
