"""The Engine: one ONNX Runtime session, providers picked and verified, clear errors."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from tiny_models import export_tiny, tiny_net

from translation.errors import TranslationError
from translation.runtime import Engine, default_threads
from translation.runtime.engine import normalise_providers


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return export_tiny(tmp_path_factory.mktemp("engine"), "tiny", "resnet_1blocks", seed=4)


def test_engine_runs_the_model_on_cpu_like_pytorch(model):
    engine = Engine(model)
    assert engine.device == "CPU" or engine.device == "CUDA"
    assert engine.threads == default_threads() >= 1
    assert engine.info.name == "tiny" and engine.size_multiple == 4 and engine.tile_size == 512
    net, _ = tiny_net("resnet_1blocks", seed=4)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 36, 44)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    first = engine.run(x)
    np.testing.assert_allclose(first, expected, atol=1e-4)
    np.testing.assert_array_equal(engine.run(x), first)   # the same session, deterministic


def test_explicit_cpu_provider_and_threads(model):
    engine = Engine(str(model), providers=["cpu"], threads=1, warmup=False)
    assert engine.device == "CPU" and engine.providers == ["CPUExecutionProvider"] and engine.threads == 1
    assert Engine(model, providers="CPUExecutionProvider").device == "CPU"


def test_io_binding_gives_the_same_result(model):
    x = np.random.default_rng(1).uniform(-1, 1, (3, 3, 32, 40)).astype(np.float32)
    plain = Engine(model, providers="cpu", warmup=False)
    bound = Engine(model, providers="cpu", io_binding=True)
    assert not plain.io_binding and bound.io_binding  # on by default only on CUDA
    np.testing.assert_array_equal(bound.run(x), plain.run(x))
    with pytest.raises(TranslationError, match="N x 3 x H x W"):
        bound.run(np.zeros((1, 2, 8, 8), np.float32))


def test_unknown_provider_and_bad_batches_are_clear_errors(model):
    with pytest.raises(TranslationError, match="not available"):
        normalise_providers(["NoSuchExecutionProvider"])
    engine = Engine(model, providers=["cpu"])
    with pytest.raises(TranslationError, match="N x 3 x H x W"):
        engine.run(np.zeros((1, 1, 8, 8), np.float32))
    with pytest.raises(TranslationError, match="N x 3 x H x W"):
        engine.run(np.zeros((3, 8, 8), np.float32))


def test_cuda_request_gets_cuda_or_a_clear_error(model):
    try:
        engine = Engine(model, providers="cuda,cpu")
    except TranslationError as exc:
        assert "CUDAExecutionProvider" in str(exc)
    else:
        assert engine.device == "CUDA"


def test_auto_providers_log_nothing_scary_without_a_gpu(model):
    # a fresh process, because ONNX Runtime logs from C++ straight to the process's stderr
    code = ("import logging; logging.basicConfig(level=logging.WARNING); "
            "from translation.runtime import Engine; "
            f"e = Engine({str(model)!r}); print(e.device)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in ("CPU", "CUDA")
    assert "onnxruntime" not in result.stderr and "Error" not in result.stderr and "Traceback" not in result.stderr


def test_a_corrupt_model_is_a_clear_error(tmp_path, model):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    with pytest.raises(TranslationError, match="broken.onnx"):
        Engine(broken)


def test_spinning_off_lets_idle_threads_sleep_with_the_same_results(model):
    x = np.random.default_rng(2).uniform(-1, 1, (1, 3, 32, 40)).astype(np.float32)
    spinning = Engine(model, providers="cpu", threads=2, warmup=False)
    sleeping = Engine(model, providers="cpu", threads=2, warmup=False, spinning=False)
    assert spinning.spinning and not sleeping.spinning

    def allows_spinning(engine: Engine) -> bool:   # what the session was really opened with
        try:
            return engine._session.get_session_options().get_session_config_entry(
                "session.intra_op.allow_spinning") != "0"
        except RuntimeError:                         # not set: ONNX Runtime's default, spinning
            return True

    assert allows_spinning(spinning) and not allows_spinning(sleeping)
    np.testing.assert_array_equal(sleeping.run(x), spinning.run(x))
