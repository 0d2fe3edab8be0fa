"""Image-to-image translation: pix2pix and CycleGAN, trained with PyTorch, served with ONNX Runtime."""
import os

# ONNX Runtime collects usage events on Linux unless told not to before it is first imported;
# this tool makes no network calls and keeps no such records.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
