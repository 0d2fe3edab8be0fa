"""The session cache: ONNX Runtime's optimised graph saved once, loaded by later CPU sessions, never in the way."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
from tiny_models import export_tiny

from translation.cli import main
from translation.imaging.io import read_image, write_image
from translation.runtime import Engine
from translation.runtime.session_cache import ENTRIES_PER_MODEL, SWITCH

X = np.random.default_rng(0).uniform(-1, 1, (1, 3, 32, 64)).astype(np.float32)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLATION_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(SWITCH, raising=False)
    return tmp_path / "cache" / "ort"


@pytest.fixture
def model(tmp_path):
    return export_tiny(tmp_path / "models", "tiny", "unet_32", seed=3)


def entries(cache):
    return sorted(cache.glob("*.onnx")) if cache.is_dir() else []


def cpu_engine(model, **options) -> Engine:
    return Engine(model, providers="cpu", threads=1, warmup=False, **options)


def loaded_from_cache(engine: Engine) -> bool:
    """Sessions on a cached graph run with graph optimisation off: it was done when the graph was saved."""
    level = engine._session.get_session_options().graph_optimization_level
    return level == ort.GraphOptimizationLevel.ORT_DISABLE_ALL


def test_the_second_session_loads_the_saved_graph_and_computes_the_same(model, cache):
    expected = cpu_engine(model, session_cache=False).run(X)
    assert entries(cache) == []
    first = cpu_engine(model)
    [entry] = entries(cache)
    assert entry.name.startswith("tiny-") and not loaded_from_cache(first)
    second = cpu_engine(model)
    assert loaded_from_cache(second) and entries(cache) == [entry]
    np.testing.assert_array_equal(first.run(X), expected)
    np.testing.assert_array_equal(second.run(X), expected)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "another model"])
def test_a_corrupt_or_foreign_entry_is_ignored_and_rebuilt(model, cache, tmp_path, damage):
    expected = cpu_engine(model, session_cache=False).run(X)
    cpu_engine(model)
    [entry] = entries(cache)
    good = entry.read_bytes()
    if damage == "garbage":
        entry.write_bytes(b"not a model" * 100)
    elif damage == "truncated":
        entry.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        entry.write_bytes(b"")
    else:   # a valid graph of a model with other metadata
        other = export_tiny(tmp_path / "other", "other", "unet_32", seed=3, task="colorization", in_channels=1,
                            out_channels=2)
        entry.write_bytes(other.read_bytes())
    rebuilt = cpu_engine(model)
    assert not loaded_from_cache(rebuilt)
    np.testing.assert_array_equal(rebuilt.run(X), expected)
    assert entries(cache) == [entry] and len(entry.read_bytes()) == len(good)
    again = cpu_engine(model)
    assert loaded_from_cache(again)
    np.testing.assert_array_equal(again.run(X), expected)


def test_a_re_exported_model_gets_its_own_entry_and_old_ones_are_pruned(model, cache):
    for seed in range(ENTRIES_PER_MODEL + 2):
        export_tiny(model.parent, "tiny", "unet_32", seed=seed)
        expected = cpu_engine(model, session_cache=False).run(X)
        cpu_engine(model)
        warm = cpu_engine(model)
        assert loaded_from_cache(warm)
        np.testing.assert_array_equal(warm.run(X), expected)   # never an older export's graph
    assert len(entries(cache)) == ENTRIES_PER_MODEL


def test_a_cache_folder_that_cannot_be_made_still_converts(model, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("TRANSLATION_CACHE", str(blocker / "cache"))
    monkeypatch.delenv(SWITCH, raising=False)
    expected = cpu_engine(model, session_cache=False).run(X)
    np.testing.assert_array_equal(cpu_engine(model).run(X), expected)
    photo = tmp_path / "photo.png"
    write_image(photo, np.full((24, 28, 3), 120, np.uint8))
    assert main(["convert", "--model", str(model), str(photo), "-o", str(tmp_path / "out"), "--device", "cpu"]) == 0
    assert read_image(tmp_path / "out" / "photo.png").rgb.shape == (24, 28, 3)


def test_the_switch_and_the_option_turn_it_off(model, cache, monkeypatch):
    engine = cpu_engine(model, session_cache=False)
    assert not engine.session_cache and entries(cache) == []
    monkeypatch.setenv(SWITCH, "0")
    engine = cpu_engine(model)
    assert not engine.session_cache and entries(cache) == [] and not loaded_from_cache(engine)
    monkeypatch.setenv(SWITCH, "1")
    assert cpu_engine(model).session_cache and len(entries(cache)) == 1


def test_an_image_conversion_loads_no_heavy_package(model, tmp_path):
    photo = tmp_path / "photo.png"
    write_image(photo, np.full((24, 28, 3), 120, np.uint8))
    heavy = ("torch", "albumentations", "gradio", "kornia", "av", "ray", "onnx", "psutil", "scipy")
    script = (f"import sys; from translation.cli import main; "
              f"code = main(['convert', '--model', {str(model)!r}, {str(photo)!r}, '-o', {str(tmp_path / 'out')!r}]); "
              f"print(sorted(m for m in {heavy!r} if m in sys.modules)); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={"TRANSLATION_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
