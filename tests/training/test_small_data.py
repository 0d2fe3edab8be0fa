"""The small-data options of ``translation train`` on tiny models: --diffaugment, --ema, --spectral-norm,
--upsample resize, and checkpoints/best.pt (by validation PSNR, or cycle PSNR for CycleGAN)."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from translation.cli import main
from translation.errors import TranslationError
from translation.networks.checkpoint import load_generator, read_checkpoint
from translation.runtime import read_model_info
from translation.tasks import get_task
from translation.training import train
from translation.training.checkpointing import best_checkpoint_path, checkpoint_path, list_checkpoints, run_checkpoint
from translation.training.distributed import Runtime
from translation.training.families import get_family
from translation.training.fast import plan_speed
from translation.training.loop import build_data
from translation.training.metrics import evaluate

from training_fixtures import aligned_data, draw_shapes, one_torch_thread, tiny, unpaired_data, write_rgb  # noqa: F401

CPU = torch.device("cpu")


def family_for(config):
    """The family of ``config`` built on the CPU, without the training loop around it."""
    return get_family(config.model)(config, get_task(config.task or "custom"), Runtime(CPU), plan_speed(config, CPU))


def inputs_of(net: nn.Module) -> list[torch.Tensor]:
    """Every input ``net`` is called with from now on."""
    seen: list[torch.Tensor] = []
    net.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    return seen


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def onnx_output(path: Path, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.numpy()})[0]


# ------------------------------------------------------------------------------------ --diffaugment

@pytest.mark.parametrize("policy", ["", "translation,cutout"])
def test_pix2pix_discriminator_sees_each_pair_moved_as_a_whole(policy, aligned_data, tiny, tmp_path):
    family = family_for(tiny("pix2pix", aligned_data, tmp_path, diffaugment=policy))
    seen = inputs_of(family.D)
    torch.manual_seed(0)
    a = torch.rand(2, 3, 32, 32) * 2 - 1
    family.train_step({"A": a, "B": -a}, contextlib.nullcontext)
    fake_d, real_d, fake_g = seen  # the D step (generated, real), then the G step
    if not policy:
        assert torch.equal(real_d, torch.cat([a, -a], 1))
        return
    assert family.augment.channel_groups == (3, 3)
    assert not torch.equal(real_d, torch.cat([a, -a], 1))
    # the halves of a pair moved together (B = -A holds wherever they went, zeros included) ...
    assert torch.equal(real_d[:, 3:], -real_d[:, :3])
    # ... the real and the generated pair of the D step with one draw, the G step with another
    assert torch.equal(real_d[:, :3], fake_d[:, :3])
    assert not torch.equal(fake_g[:, :3], fake_d[:, :3])


def test_cyclegan_discriminators_see_every_image_augmented(unpaired_data, tiny, tmp_path):
    family = family_for(tiny("cyclegan", unpaired_data, tmp_path, diffaugment="translation,cutout"))
    seen = inputs_of(family.networks["D_A"])
    torch.manual_seed(0)
    real_a, real_b = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    family.train_step({"A": real_a, "B": real_b}, contextlib.nullcontext)
    fake_g, real_d, fake_d = seen  # the G step, then the D step on a real B and a pooled fake B
    assert real_d.shape == real_b.shape and not torch.equal(real_d, real_b)
    shifted = real_d != 0
    assert torch.isin(real_d[shifted], real_b).all()  # moved or cut out, not changed
    assert not torch.equal(fake_g == 0, fake_d == 0)  # each image its own draw


def test_diffaugment_changes_the_run_and_is_recorded(aligned_data, tiny, tmp_path):
    runs = {policy: train(tiny("pix2pix", aligned_data, tmp_path / (policy or "off"), max_steps=3, diffaugment=policy))
            for policy in ("", "color,translation,cutout")}
    plain, augmented = (torch.load(run / "latest_net_G.pth", weights_only=True) for run in runs.values())
    assert not all(torch.equal(plain[k], augmented[k]) for k in plain)
    assert json.loads((runs["color,translation,cutout"] / "config.json").read_text())["diffaugment"] == \
        "color,translation,cutout"
    # colour jitter is for images of one intensity scale: Lab ab outputs refuse it, the geometric parts work
    with pytest.raises(TranslationError, match="the color part would shift the hue of colorization's lab_ab "
                                               "images; leave it out .--diffaugment translation,cutout."):
        tiny("pix2pix", aligned_data, tmp_path / "c", task="colorization", diffaugment="color,translation,cutout").validate()
    config = tiny("pix2pix", aligned_data, tmp_path / "c", task="colorization", diffaugment="translation,cutout")
    config.validate()
    assert family_for(config).augment.channel_groups == (1, 2)


# ------------------------------------------------------------------------------------ --ema

def test_ema_is_what_validation_latest_net_and_export_use(aligned_data, tiny, tmp_path):
    config = tiny("pix2pix", aligned_data, tmp_path / "run", ema=0.9, epochs=1, epochs_decay=1, save_every=16, keep=0)
    run = train(config)
    path = checkpoint_path(run, 32)
    checkpoint = read_checkpoint(path)
    live, averaged = checkpoint["networks"]["G"], checkpoint["ema"]["G"]["weights"]
    assert checkpoint["ema"]["G"]["updates"] == 32 and live.keys() == averaged.keys()
    assert not all(torch.equal(live[k], averaged[k]) for k in live)
    final = torch.load(run / "latest_net_G.pth", weights_only=True)
    assert all(torch.equal(final[k], averaged[k]) for k in averaged)

    ema_net, _, ema_info = load_generator(path)
    live_net, _, live_info = load_generator(path, weights="live")
    assert (ema_info["weights"], live_info["weights"]) == ("ema", "live")
    data = build_data(config)
    scores = {name: evaluate(net, DataLoader(data.val, batch_size=1), data.spec, CPU)["psnr"]
              for name, net in (("ema", ema_net), ("live", live_net))}
    measured = read_jsonl(run / "metrics.jsonl")[-1]["psnr"]  # the validation after the last epoch
    assert scores["ema"] == pytest.approx(measured, abs=1e-5) and scores["live"] != pytest.approx(measured, abs=1e-3)

    x = torch.rand(1, 3, 32, 32) * 2 - 1
    for weights, net in (([], ema_net), (["--weights", "live"], live_net)):
        out = tmp_path / f"{weights[-1] if weights else 'default'}.onnx"
        assert main(["export", str(run), "-o", str(out), *weights]) == 0
        with torch.no_grad():
            assert np.abs(onnx_output(out, x) - net(x).numpy()).max() < 1e-4
        assert read_model_info(out).training["weights"] == ("live" if weights else "ema")


def test_weights_ema_of_a_run_without_ema_is_one_error(aligned_data, tiny, tmp_path, capsys):
    run = train(tiny("pix2pix", aligned_data, tmp_path / "run", max_steps=1))
    assert "weights" not in load_generator(checkpoint_path(run, 1))[2]
    assert main(["export", str(run), "-o", str(tmp_path / "m.onnx"), "--weights", "ema"]) == 1
    err = capsys.readouterr().err
    assert "holds no EMA weights (the run was trained without --ema)" in err and err.count("\n") == 1


# ------------------------------------------------------------------------------------ --spectral-norm, --upsample

def test_spectral_norm_and_resize_upsampling_are_saved_with_the_networks(aligned_data, tiny, tmp_path):
    run = train(tiny("pix2pix", aligned_data, tmp_path / "run", max_steps=2, spectral_norm=True, upsample="resize"))
    checkpoint = read_checkpoint(checkpoint_path(run, 2))
    assert checkpoint["discriminators"]["D"] == {"name": "basic", "in_channels": 6, "ndf": 8, "n_layers": 3,
                                                 "norm": "none", "spectral_norm": True}
    assert any(key.endswith("parametrizations.weight.original") for key in checkpoint["networks"]["D"])
    assert not any("running_mean" in key for key in checkpoint["networks"]["D"])  # no norm layers
    assert checkpoint["generators"]["G"]["upsample"] == "resize"
    # the reference-layout file says it by its keys: it loads strictly without being told
    net, config, _ = load_generator(run / "latest_net_G.pth")
    assert config.upsample == "resize" and not any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    saved = json.loads((run / "config.json").read_text())
    assert (saved["spectral_norm"], saved["upsample"], saved["ema"], saved["diffaugment"]) == (True, "resize", None, "")


# ------------------------------------------------------------------------------------ checkpoints/best.pt

def test_best_checkpoint_outlives_the_rotation_and_exports(aligned_data, tiny, tmp_path):
    config = tiny("pix2pix", aligned_data, tmp_path / "run", epochs=3, epochs_decay=1, lr=1e-3, save_every=16, keep=1)
    run = train(config)
    assert [step for step, _ in list_checkpoints(run)] == [64]
    metrics = read_jsonl(run / "metrics.jsonl")
    top = max(metrics[1:], key=lambda m: m["psnr"])  # the untrained start is not a candidate
    best = best_checkpoint_path(run)
    assert run_checkpoint(run, "best") == best and run_checkpoint(run, "latest") == checkpoint_path(run, 64)
    net, _, info = load_generator(best)
    assert info["best"] == {"metric": "psnr", "value": top["psnr"], "step": top["step"], "epoch": top["epoch"]}
    assert info["steps"] == top["step"] and info["validation"]["psnr"] == top["psnr"]
    data = build_data(config)
    assert evaluate(net, DataLoader(data.val, batch_size=1), data.spec, CPU)["psnr"] == pytest.approx(top["psnr"], abs=1e-5)

    out = tmp_path / "best.onnx"
    assert main(["export", str(run), "--checkpoint", "best", "-o", str(out)]) == 0
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert np.abs(onnx_output(out, x) - net(x).numpy()).max() < 1e-4
    assert read_model_info(out).training["best"]["step"] == top["step"]
    with pytest.raises(TranslationError, match="unknown checkpoint 'first' of a run; choose one of latest, best"):
        run_checkpoint(run, "first")


def unpaired_without_test_folders(root: Path, count_a: int, count_b: int) -> Path:
    rng = np.random.default_rng(2)
    for folder, count in (("trainA", count_a), ("trainB", count_b)):
        for i in range(count):
            write_rgb(root / folder / f"{i:03d}.png", draw_shapes(rng))
    return root


def test_cyclegan_holds_out_training_files_for_its_cycle_validation(tiny, tmp_path, capsys):
    data = unpaired_without_test_folders(tmp_path / "data", 6, 5)
    config = tiny("cyclegan", data, tmp_path / "run", val_fraction=0.2, epochs=1, epochs_decay=1)
    held = build_data(config)
    files = {domain: (held.train.files_a if domain == "A" else held.train.files_b,
                      held.val.files_a if domain == "A" else held.val.files_b) for domain in "AB"}
    assert [(len(t), len(v)) for t, v in files.values()] == [(5, 1), (4, 1)]
    assert all(not set(t) & set(v) for t, v in files.values())
    assert "cycle validation: A 1 held out (--val-fraction 0.2), B 1 held out (--val-fraction 0.2)" in held.describe

    run = train(config)
    metrics = read_jsonl(run / "metrics.jsonl")
    assert [(m["step"], m["images_A"], m["images_B"]) for m in metrics] == [(0, 1, 1), (5, 1, 1), (10, 1, 1)]
    assert all(m["cycle_psnr"] == pytest.approx((m["cycle_psnr_A"] + m["cycle_psnr_B"]) / 2) for m in metrics)
    assert load_generator(best_checkpoint_path(run), which="G_B")[2]["best"]["metric"] == "cycle_psnr"

    # without held-out images: no validation, so no best checkpoint to export
    none = train(tiny("cyclegan", data, tmp_path / "none", val_fraction=0.0, epochs=1, epochs_decay=0))
    assert not (none / "metrics.jsonl").exists() and not best_checkpoint_path(none).exists()
    assert main(["export", str(none), "--checkpoint", "best", "-o", str(tmp_path / "m.onnx")]) == 1
    assert "no best checkpoint" in capsys.readouterr().err
