"""An installed wheel works without the checkout: the shipped models, the examples and the app come along.

The wheel is built from a copy of the source tree and installed without dependencies into a fresh virtual
environment; the dependencies come from this environment's site-packages through a ``.pth`` line (a
directory named there is added to ``sys.path`` only: its own ``.pth`` files, among them the editable
install's finder, are not run), so the checkout cannot leak in.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT
from PIL import Image

pytestmark = pytest.mark.slow

# Top-level folders of the repository that are installed into the translation namespace.
MAPPED_FOLDERS = {"translation.app": "app", "translation.default_models": "exports", "translation.examples": "examples"}
NOT_SOURCE = {".git", ".venv", "build", "dist", "runs", "datasets", "outputs", ".cache", ".pytest_cache", "__pycache__"}


def _setuptools_config() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_of_the_tree_is_listed_for_the_wheel():
    config = _setuptools_config()
    in_tree = {".".join(p.parent.relative_to(REPO_ROOT).parts) for p in (REPO_ROOT / "translation").rglob("__init__.py")
               if "__pycache__" not in p.parts}
    assert set(config["packages"]) == in_tree | set(MAPPED_FOLDERS)
    assert {k: v for k, v in config["package-dir"].items() if k in MAPPED_FOLDERS} == MAPPED_FOLDERS


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(REPO_ROOT, source, dirs_exist_ok=True,
                    ignore=lambda folder, names: [n for n in names if n in NOT_SOURCE or n.endswith(".egg-info")])
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(source)], check=True, timeout=600)
    (found,) = dist.glob("translation-*.whl")
    return found


def test_wheel_holds_the_shipped_models_and_no_top_level_app(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"translation", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    shipped = sorted(p.name for p in (REPO_ROOT / "exports").glob("*.onnx"))
    assert shipped and all(f"translation/default_models/{name}" in names for name in shipped)
    assert any(name.startswith("translation/examples/colorization/") for name in names)
    assert "translation/app/ui.py" in names


def test_installed_wheel_converts_with_a_shipped_model_outside_the_checkout(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-compile",
                    "-q", str(wheel)], check=True, timeout=600)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    photo = (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8)
    Image.fromarray(photo).convert("L").save(work / "old.png")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TRANSLATION_MODELS")}
    env["OMP_NUM_THREADS"] = "1"

    def run(*args: str) -> str:
        done = subprocess.run([str(venv / "bin" / "translation"), *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    where = subprocess.run([str(python), "-c", "import translation, translation.app, translation.examples; "
                            "print(translation.__file__); print(translation.examples.EXAMPLES_DIR)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where
    assert "colorization" in run("models")
    run("convert", "--model", "colorization", "old.png", "-o", "out")
    result = np.asarray(Image.open(work / "out" / "old.png"))
    assert result.shape == (48, 64, 3)
    assert np.ptp(result.astype(int), axis=2).max() > 0  # colour was added to the gray picture
    examples = sorted(p.name for p in Path(where[1]).joinpath("colorization").iterdir())
    assert examples == sorted(p.name for p in (REPO_ROOT / "examples" / "colorization").iterdir())
