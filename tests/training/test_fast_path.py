"""The training fast path (translation/training/fast.py): what it turns on where, and that it changes no
file format: fused-Adam state resumes without fusion, compiled networks save the plain key layout."""
from __future__ import annotations

import copy
import json
import logging

import torch

from translation.data.datasets import EpochSampler
from translation.networks import create_generator
from translation.training import TrainConfig, train
from translation.training.checkpointing import list_checkpoints, load_latest_checkpoint
from translation.training.fast import SpeedPlan, cpu_has_native_bf16, plan_speed
from translation.training.data import train_loader
from translation.training.loop import build_data

from training_fixtures import aligned_data, one_torch_thread, tiny  # noqa: F401 - fixtures

CPU = torch.device("cpu")


def test_cpu_uses_what_helps_there_and_logs_what_it_ignores(caplog):
    config = TrainConfig(amp=True, channels_last=True, workers=2, compile=True)
    with caplog.at_level(logging.INFO, logger="translation.training.fast"):
        plan = plan_speed(config, CPU)
    assert (plan.amp, plan.channels_last, plan.pin_memory) == (False, False, False)
    assert plan.fused_adam and plan.compile and plan.persistent_workers
    assert plan.memory_format == torch.contiguous_format
    assert "bf16 autocast (--amp) and channels_last not used (CUDA options); --cpu-bf16" in caplog.text
    assert plan.describe() == "fused Adam, torch.compile, persistent workers"
    assert not plan_speed(TrainConfig(workers=0), CPU).persistent_workers
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="translation.training.fast"):
        assert plan_speed(TrainConfig(amp=False, channels_last=False, workers=0), CPU).describe() == "fused Adam"
    assert caplog.text == ""


def test_cpu_bf16_is_opt_in_and_needs_native_bf16(caplog):
    assert not plan_speed(TrainConfig(), CPU).amp
    with caplog.at_level(logging.INFO, logger="translation.training.fast"):
        plan = plan_speed(TrainConfig(cpu_bf16=True, channels_last=False), CPU)
    assert plan.amp == cpu_has_native_bf16()
    assert ("no native bf16" in caplog.text) == (not plan.amp)
    assert "--amp" not in caplog.text  # asked for on the CPU: nothing ignored


def test_plan_builds_what_it_says():
    net = torch.nn.Conv2d(3, 4, 3)
    assert SpeedPlan("cpu", fused_adam=True).adam(net.parameters(), 1e-3, (0.5, 0.999)).defaults["fused"]
    assert not SpeedPlan("cpu").adam(net.parameters(), 1e-3, (0.5, 0.999)).defaults["fused"]
    with SpeedPlan("cpu", amp=True).autocast():
        assert torch.is_autocast_enabled("cpu")
    with SpeedPlan("cpu").autocast():
        assert not torch.is_autocast_enabled("cpu")


def test_fused_adam_state_continues_in_plain_adam():
    """A checkpoint written by a CUDA run (fused Adam) resumes on the CPU (foreach Adam) and vice versa."""
    torch.manual_seed(0)
    net = create_generator("unet_32", ngf=4, dropout=False)
    x = torch.rand(2, 3, 32, 32) * 2 - 1

    def step(model, optimizer) -> None:
        optimizer.zero_grad()
        model(x).abs().mean().backward()
        optimizer.step()

    fused_net = copy.deepcopy(net)
    fused = SpeedPlan("cpu", fused_adam=True).adam(fused_net.parameters(), 1e-3, (0.5, 0.999))
    for _ in range(2):
        step(fused_net, fused)
    plain_net = copy.deepcopy(fused_net)
    plain = SpeedPlan("cpu").adam(plain_net.parameters(), 1e-3, (0.5, 0.999))
    plain.load_state_dict(copy.deepcopy(fused.state_dict()))  # as read back from a checkpoint
    step(fused_net, fused)
    step(plain_net, plain)
    assert not plain.defaults["fused"]
    for a, b in zip(fused_net.parameters(), plain_net.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(a, b) for a, b in zip(fused_net.parameters(), net.parameters()))


def test_loader_keeps_its_workers_between_epochs(aligned_data, tiny, tmp_path):
    config = tiny("pix2pix", aligned_data, tmp_path / "run", workers=1)
    data = build_data(config)
    loader = train_loader(data, EpochSampler(len(data.train)), config, plan_speed(config, CPU))
    assert loader.persistent_workers and loader.num_workers == 1
    assert not loader.pin_memory  # CUDA only


def test_compiled_run_saves_the_plain_key_layout_and_resumes_eagerly(aligned_data, tiny, tmp_path):
    settings = dict(max_steps=2, dropout=False, save_every=1, keep=0)  # no dropout: the same step in both
    eager = train(tiny("pix2pix", aligned_data, tmp_path / "eager", **settings))
    compiled = train(tiny("pix2pix", aligned_data, tmp_path / "compiled", compile=True, **settings))
    _, plain_checkpoint = load_latest_checkpoint(eager)
    _, compiled_checkpoint = load_latest_checkpoint(compiled)
    for name in ("G", "D"):
        keys = list(compiled_checkpoint["networks"][name])
        assert keys == list(plain_checkpoint["networks"][name])
        assert not any("_orig_mod" in key for key in keys)
    weights = torch.load(compiled / "latest_net_G.pth", weights_only=True)
    create_generator("unet_32", ngf=8, dropout=False).load_state_dict(weights)  # strict

    # The compiled networks compute what the eager ones do: the same losses on the first step.
    def first_losses(run):
        return json.loads((run / "losses.jsonl").read_text().splitlines()[0])
    want, got = first_losses(eager), first_losses(compiled)
    for name in ("G_GAN", "G_L1", "D_real", "D_fake"):
        assert abs(got[name] - want[name]) <= 1e-4 * max(1.0, abs(want[name])), name

    # ... and the run continues without --compile from its checkpoint (the option may change on resume).
    train(tiny("pix2pix", aligned_data, compiled, **{**settings, "max_steps": 3}, resume=True))
    assert [step for step, _ in list_checkpoints(compiled)] == [1, 2, 3]


def test_cpu_bf16_run_trains_and_saves_fp32_weights(aligned_data, tiny, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="translation.training.loop"):
        run = train(tiny("pix2pix", aligned_data, tmp_path / "bf16", max_steps=3, cpu_bf16=True))
    assert ("bf16 autocast" in caplog.text) == cpu_has_native_bf16()
    losses = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert len(losses) == 3 and all(torch.isfinite(torch.tensor(row["G_L1"])) for row in losses)
    weights = torch.load(run / "latest_net_G.pth", weights_only=True)
    assert {w.dtype for w in weights.values() if w.is_floating_point()} == {torch.float32}
