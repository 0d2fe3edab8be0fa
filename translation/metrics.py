"""Image quality metrics on H x W x 3 float images in [0, 1] (numpy in, Python floats out)."""
from __future__ import annotations

import numpy as np
import torch
from kornia.metrics import ssim as _kornia_ssim


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def l1(a: np.ndarray, b: np.ndarray) -> float:
    a, b = _pair(a, b)
    return float(np.abs(a - b).mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for values in [0, 1] (inf for identical images)."""
    a, b = _pair(a, b)
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray, window: int = 11) -> float:
    """Mean structural similarity (Gaussian window 11, the usual constants), via kornia."""
    _pair(a, b)
    to_tensor = lambda x: torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(2, 0, 1)[None]  # noqa: E731
    return float(_kornia_ssim(to_tensor(a), to_tensor(b), window, max_val=1.0).mean())


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk's colourfulness (0 for a gray image; ~100+ for vivid photos), on a 0-255 scale."""
    pixels = rgb.astype(np.float64) * 255.0
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
