"""Checkpoint files: weights-only loadable, self-describing, pruned to the newest K, RNG states round-trip."""
from __future__ import annotations

import random

import numpy as np
import torch

from translation.networks.checkpoint import CHECKPOINT_KIND, load_generator
from translation.training import train
from translation.training.checkpointing import TRAINING_KEYS, list_checkpoints, rng_state, set_rng_state

from training_fixtures import aligned_data, one_torch_thread, tiny  # noqa: F401 - fixtures

PLAIN = (torch.Tensor, int, float, str, bool, type(None))


def only_plain_values(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and only_plain_values(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(only_plain_values(v) for v in value)
    return isinstance(value, PLAIN)


def test_checkpoint_layout_and_pruning(aligned_data, tiny, tmp_path):
    run = train(tiny("pix2pix", aligned_data, tmp_path / "run", save_every=2, keep=2, max_steps=9, task="custom"))
    assert [step for step, _ in list_checkpoints(run)] == [8, 9]

    checkpoint = torch.load(run / "checkpoints" / "step_000000009.pt", weights_only=True)
    assert only_plain_values(checkpoint)
    assert TRAINING_KEYS <= checkpoint.keys()
    assert (checkpoint["kind"], checkpoint["version"], checkpoint["model"]) == (CHECKPOINT_KIND, 1, "pix2pix")
    assert checkpoint["generators"]["G"]["name"] == "unet_32" and checkpoint["discriminators"]["D"]["in_channels"] == 6
    info = checkpoint["info"]
    assert (info["task"], info["dataset"], info["steps"], info["epochs"], info["layout"]) == (
        "custom", str(aligned_data), 9, 0, "aligned")
    assert info["wall_time_s"] >= 0 and set(info["losses"]) == {"G_GAN", "G_L1", "D_real", "D_fake"}
    assert checkpoint["data_order"] == {"seed": 0, "epoch": 0, "batches_done": 9, "batch_size": 1, "world_size": 1}
    assert checkpoint["config"]["netG"] == "unet_32"
    assert checkpoint["config"]["family_options"] == {"lambda_l1": 100.0, "reconstruction": "l1"}
    assert set(checkpoint["ranks"][0]["rng"]) == {"torch", "numpy", "python"}
    # the generator keys are the reference layout (U-Net nesting), as a latest_net_G.pth would have them
    assert "model.model.0.weight" in checkpoint["networks"]["G"]
    net, config, loaded_info = load_generator(run / "checkpoints" / "step_000000009.pt")
    assert config.to_dict() == checkpoint["generators"]["G"] and loaded_info["steps"] == 9


def test_rng_state_round_trip():
    device = torch.device("cpu")
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    state = rng_state(device)
    first = torch.rand(3), np.random.rand(3), random.random()
    np.random.randn()  # move numpy's gaussian cache too
    set_rng_state(state, device)
    again = torch.rand(3), np.random.rand(3), random.random()
    assert torch.equal(first[0], again[0]) and np.array_equal(first[1], again[1]) and first[2] == again[2]
