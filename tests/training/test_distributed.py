"""Two processes under torchrun (gloo on CPU) train one model and write one set of outputs."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import torch

from translation.networks.checkpoint import read_checkpoint
from translation.training.checkpointing import list_checkpoints

from training_fixtures import aligned_data, one_torch_thread  # noqa: F401 - fixtures


def test_torchrun_two_processes_write_one_checkpoint_set(aligned_data, tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "translation", "train", "pix2pix", "--data", str(aligned_data), "--out", str(run),
               "--netG", "unet_32", "--ngf", "8", "--ndf", "8", "--load-size", "36", "--crop-size", "32",
               "--epochs", "1", "--epochs-decay", "1", "--save-every", "5", "--keep", "2", "--log-every", "1",
               "--sample-every", "8", "--workers", "0", "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]

    # 16 images over 2 processes: 8 steps per epoch, 2 epochs.
    assert [step for step, _ in list_checkpoints(run)] == [15, 16]  # every 5 steps, the newest 2, the end
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoints", "config.json", "latest_net_G.pth", "losses.jsonl", "metrics.jsonl", "samples", "tensorboard"]
    assert not list((run / "checkpoints").glob(".tmp-*"))
    assert [json.loads(line)["step"] for line in (run / "losses.jsonl").read_text().splitlines()] == list(range(1, 17))
    assert [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [0, 1, 2]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_000000008.png", "step_000000016.png"]
    assert result.stdout.count("trained pix2pix") == 1

    checkpoint = read_checkpoint(run / "checkpoints" / "step_000000016.pt")
    assert checkpoint["data_order"]["world_size"] == 2 and len(checkpoint["ranks"]) == 2
    assert not torch.equal(checkpoint["ranks"][0]["rng"]["torch"], checkpoint["ranks"][1]["rng"]["torch"])
    final = torch.load(run / "latest_net_G.pth", weights_only=True)
    assert all(torch.equal(final[k], v) for k, v in checkpoint["networks"]["G"].items())
