"""CycleGAN trains for several epochs on unpaired data of unequal sizes, its cycle loss falls and the
cycle PSNR of the held-out images rises."""
from __future__ import annotations

import json

import pytest
import torch

from translation.networks.checkpoint import load_generator, read_checkpoint
from translation.training import train

from training_fixtures import one_torch_thread, tiny, unpaired_data  # noqa: F401 - fixtures


def test_cyclegan_cycle_loss_falls(unpaired_data, tiny, tmp_path):
    config = tiny("cyclegan", unpaired_data, tmp_path / "run", epochs=6, epochs_decay=2, lr=5e-4, sample_every=36)
    run = train(config)

    records = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert len(records) == 8 * 9  # 9 steps per epoch: the larger domain sets the epoch length
    assert {"G_A", "G_B", "D_A", "D_B", "cycle_A", "cycle_B", "idt_A", "idt_B"} <= records[0].keys()
    cycle = [r["cycle_A"] + r["cycle_B"] for r in records]
    assert sum(cycle[-9:]) / 9 < 0.5 * sum(cycle[:9]) / 9, cycle

    checkpoint = read_checkpoint(run / "checkpoints" / "step_000000072.pt")
    assert set(checkpoint["generators"]) == {"G_A", "G_B"}
    assert set(checkpoint["networks"]) == {"G_A", "G_B", "D_A", "D_B"}
    pools = checkpoint["ranks"][0]["pools"]
    assert pools["fake_B"]["images"].shape == (50, 3, 32, 32)  # full after 72 steps
    for name in ("G_A", "G_B"):
        net, generator_config, info = load_generator(run / "checkpoints" / "step_000000072.pt", which=name)
        assert generator_config.name == "resnet_1blocks" and generator_config.norm == "instance"
        weights = torch.load(run / f"latest_net_{name}.pth", weights_only=True)
        assert all(torch.equal(weights[k], v) for k, v in net.state_dict().items())
    # validated on testA / testB: the cycle PSNR of the 2 + 2 held-out images, which the training raises
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in metrics] == list(range(9)) and metrics[-1]["step"] == 72
    assert (metrics[-1]["images_A"], metrics[-1]["images_B"]) == (2, 2)
    assert metrics[-1]["cycle_psnr"] > metrics[0]["cycle_psnr"] + 3, metrics
    best = read_checkpoint(run / "checkpoints" / "best.pt")
    top = max(metrics[1:], key=lambda m: m["cycle_psnr"])
    assert best["info"]["best"] == {"metric": "cycle_psnr", "value": top["cycle_psnr"], "step": top["step"],
                                    "epoch": top["epoch"]}
    assert len(list((run / "samples").glob("*.png"))) == 2


def test_the_b_cycle_takes_a_weight_of_its_own(unpaired_data, tiny, tmp_path):
    # the same first step (same seed, same batch), the B -> A -> B cycle weighted 3x the A -> B -> A one
    runs = {weight: train(tiny("cyclegan", unpaired_data, tmp_path / str(weight), max_steps=1, lambda_cycle_b=weight))
            for weight in (None, 30.0)}
    first = {weight: json.loads((run / "losses.jsonl").read_text().splitlines()[0]) for weight, run in runs.items()}
    assert first[30.0]["cycle_A"] == first[None]["cycle_A"]
    assert first[30.0]["cycle_B"] == pytest.approx(3 * first[None]["cycle_B"], rel=1e-5)
    saved = json.loads((runs[None] / "config.json").read_text())["family_options"]
    assert saved["lambda_cycle_b"] == saved["lambda_cycle"] == 10.0   # unset: the cycle weight
