"""Fixtures shared by the app tests: tiny exported models, small images, a running app.

(Not a conftest.py: the tests folders have no __init__.py, so a second conftest.py would replace the
top-level one as the module ``conftest`` that other tests import from.)
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# name -> (task, generator, in channels, out channels); what every tab of the app needs
TINY_MODELS = {
    "colorization": ("colorization", "unet_32", 1, 2),
    "super-resolution": ("super-resolution", "resnet_1blocks", 3, 3),
    "sketch-to-photo": ("sketch-to-photo", "unet_32", 1, 3),
    "style-photo2art": ("style-transfer", "resnet_1blocks", 3, 3),
    "style-art2photo": ("style-transfer", "resnet_1blocks", 3, 3),
    "my-custom": ("custom", "resnet_1blocks", 3, 3),
}
_EXPORTED: dict[Path, dict[str, Path]] = {}


def export_tiny_models(folder: Path) -> dict[str, Path]:
    """Random-weight generators (ngf 4) exported with their task, as a user would export theirs."""
    if folder in _EXPORTED:
        return _EXPORTED[folder]
    import torch

    from translation.export import export_generator
    from translation.networks import GeneratorConfig, build_generator

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (task, network, c_in, c_out) in TINY_MODELS.items():
        config = GeneratorConfig.named(network, ngf=4, in_channels=c_in, out_channels=c_out)
        # PyTorch's default init (not the 0.02-std GAN init) so the random outputs clearly differ from the inputs
        paths[name] = export_generator(build_generator(config, initialise=False), folder / f"{name}.onnx", task=task,
                                       config=config, info={"dataset": "random weights (tests)"})
    _EXPORTED[folder] = paths
    return paths


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "app-models"
    export_tiny_models(folder)
    return folder


def write_test_image(path: Path, width: int = 48, height: int = 40, *, gray: bool = False) -> Path:
    """A smooth colour gradient with a square (so sketches have edges), written with our writer."""
    from translation.imaging.io import write_image

    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.dstack([x / width, y / height, 0.5 + 0.5 * np.sin(x / 5)]).astype(np.float32)
    rgb[height // 4: height // 2, width // 4: width // 2] = 0.1
    if gray:
        rgb = np.repeat(rgb.mean(axis=2, keepdims=True), 3, axis=2)
    return write_image(path, rgb)


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("app-images")
    not_image = folder / "notes.png"
    not_image.write_text("this is not an image, only text with a .png name\n")
    return {
        "photo": write_test_image(folder / "photo.png"),
        "gray": write_test_image(folder / "old-photo.jpg", gray=True),
        "small": write_test_image(folder / "small.png", 24, 20),
        "not_image": not_image,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppProcess:
    url: str
    process: subprocess.Popen
    temp_root: Path      # the app's TMPDIR: its workspace is created inside
    startup_seconds: float

    def workspaces(self) -> list[Path]:
        return sorted(self.temp_root.glob("translation-app-*"))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextlib.contextmanager
def run_app(models_dir: Path, temp_root: Path, *extra: str, timeout: float = 60.0) -> Iterator[AppProcess]:
    """``translation app --port N --models DIR`` in a subprocess, waited on until it answers."""
    port = free_port()
    temp_root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TMPDIR": str(temp_root), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("TRANSLATION_MODELS", None)
    log_path = temp_root / "app.log"
    command = [sys.executable, "-m", "translation", "app", "--port", str(port), "--models", str(models_dir),
               "--threads", "1", *extra]
    started = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    app = AppProcess(url, process, temp_root, 0.0)
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"the app exited with {process.returncode}:\n{log_path.read_text()}")
            if time.monotonic() - started > timeout:
                pytest.fail(f"the app did not answer within {timeout:.0f} s:\n{log_path.read_text()}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            time.sleep(0.2)
        app.startup_seconds = time.monotonic() - started
        yield app
    finally:
        app.stop()
        if app.process.returncode not in (0, None):
            print(log_path.read_text(), file=sys.stderr)


@contextlib.contextmanager
def api_client(app: AppProcess):
    """A gradio_client ``Client`` of ``app`` that keeps its downloads, and the empty folder it leaves in the
    temp dir for each of them, inside the app's temp root."""
    from gradio_client import Client

    scratch = app.temp_root / "client-scratch"
    scratch.mkdir()
    saved, tempfile.tempdir = tempfile.tempdir, str(scratch)
    try:
        yield Client(app.url, verbose=False, download_files=str(app.temp_root / "client-downloads"))
    finally:
        tempfile.tempdir = saved
