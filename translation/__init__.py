"""Image-to-image translation: pix2pix and CycleGAN, trained with PyTorch, served with ONNX Runtime."""

__version__ = "0.1.0"
