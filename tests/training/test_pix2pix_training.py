"""pix2pix learns a synthetic mapping, and a bad file in the data does not stop it."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from translation.networks import build_generator
from translation.networks.checkpoint import load_generator
from translation.training import train

from training_fixtures import aligned_data, one_torch_thread, tiny  # noqa: F401 - fixtures


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_pix2pix_learns_colour_inversion(aligned_data, tiny, tmp_path):
    config = tiny("pix2pix", aligned_data, tmp_path / "run", epochs=14, epochs_decay=6, lr=1e-3, sample_every=160)
    run = train(config)

    metrics = read_jsonl(run / "metrics.jsonl")
    assert [m["epoch"] for m in metrics] == list(range(21))  # before training, then after each epoch
    first, last = metrics[0], metrics[-1]
    assert first["step"] == 0 and last["step"] == 320 and last["images"] == 4
    assert last["l1"] < 0.4 * first["l1"], (first, last)
    assert last["psnr"] > first["psnr"] + 6
    assert last["ssim"] > first["ssim"]

    # The final weights: a checkpoint, the reference-layout generator, samples, logs.
    net, config_g, info = load_generator(run / "checkpoints" / "step_000000320.pt")
    assert (config_g.name, config_g.ngf, info["steps"], info["epochs"]) == ("unet_32", 8, 320, 20)
    reference = torch.load(run / "latest_net_G.pth", weights_only=True)
    build_generator(config_g, initialise=False).load_state_dict(reference, strict=True)
    assert all(torch.equal(reference[k], v) for k, v in net.state_dict().items())
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_000000160.png", "step_000000320.png"]
    losses = read_jsonl(run / "losses.jsonl")
    assert [r["step"] for r in losses] == list(range(1, 321))
    assert {"G_GAN", "G_L1", "D_real", "D_fake", "lr"} <= losses[0].keys()
    assert losses[-1]["lr"] < losses[0]["lr"]  # linear decay in the last epochs
    assert json.loads((run / "config.json").read_text())["epochs"] == 14


def test_corrupt_image_is_skipped_with_a_warning(aligned_data, tiny, tmp_path, caplog):
    broken = aligned_data / "train" / "005.png"
    broken.write_bytes(broken.read_bytes()[:60])  # truncated PNG
    (aligned_data / "train" / "zzz.jpg").write_bytes(b"not an image at all")
    config = tiny("pix2pix", aligned_data, tmp_path / "run", epochs=1, epochs_decay=0)
    with caplog.at_level(logging.WARNING, logger="translation"):
        run = train(config)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(broken) in w and "truncated or corrupt" in w for w in warnings), warnings
    assert any("zzz.jpg" in w for w in warnings), warnings
    assert sum(str(broken) in w for w in warnings) == 1  # remembered, logged once
    assert (run / "latest_net_G.pth").is_file()
    assert read_jsonl(run / "losses.jsonl")[-1]["step"] == 17  # 17 files, 17 steps: the epoch ran to its end


def test_an_l2_reconstruction_loss_replaces_l1(aligned_data, tiny, tmp_path):
    # the same first step (same seed, same batch, same untrained G(A)) under each reconstruction loss, weight 1
    runs = {loss: train(tiny("pix2pix", aligned_data, tmp_path / loss, max_steps=1, lambda_l1=1.0,
                             reconstruction=loss)) for loss in ("l1", "l2")}
    first = {loss: json.loads((run / "losses.jsonl").read_text().splitlines()[0]) for loss, run in runs.items()}
    assert "G_L1" in first["l1"] and "G_L1" not in first["l2"]
    mean_absolute, mean_squared = first["l1"]["G_L1"], first["l2"]["G_L2"]
    assert first["l1"]["G_GAN"] == first["l2"]["G_GAN"]  # the same output, judged by the same discriminator
    # Jensen: the mean square of the errors is at least their mean magnitude squared (equal only if all |e| match)
    assert mean_squared > mean_absolute ** 2
    assert mean_squared != pytest.approx(mean_absolute)
    assert json.loads((runs["l2"] / "config.json").read_text())["family_options"]["reconstruction"] == "l2"
