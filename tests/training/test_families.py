"""A model family is one registered class: a toy family defined in this file alone trains through
``translation train``, with its own options on the command line, in config.json and in the checkpoints."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from translation.cli import main
from translation.errors import TranslationError
from translation.losses import l1_loss
from translation.networks import build_generator
from translation.networks.checkpoint import load_generator, read_checkpoint
from translation.tasks import TaskSpec
from translation.training.config import TrainConfig
from translation.training.data import TrainingData, paired_data
from translation.training.distributed import Runtime
from translation.training.families import family_names, get_family, register_family, unregister_family
from translation.training.family import Family, option
from translation.training.fast import SpeedPlan

from training_fixtures import aligned_data, one_torch_thread  # noqa: F401 - fixtures


class L1Only(Family):
    """A generator alone, trained to match B with an L1 loss: no discriminator."""

    summary = "Train a generator alone with an L1 loss (paired)"
    description = f"{summary}."
    examples = ("translation train l1-only --data DATA --out RUN_DIR",)
    defaults = dict(netG="unet_32", norm="batch", gan_mode="vanilla")
    generators = {"G": "A -> B"}

    @dataclass(frozen=True)
    class Options:
        weight: float = option(1.0, "weight of the L1 loss")

    @classmethod
    def build_data(cls, config: TrainConfig, spec: TaskSpec) -> TrainingData:
        return paired_data(config, spec)

    def __init__(self, config: TrainConfig, spec: TaskSpec, runtime: Runtime, speed: SpeedPlan) -> None:
        super().__init__(config, spec, runtime, speed)
        self.generator_configs = {"G": config.generator(spec.in_channels, spec.out_channels)}
        self.networks = {"G": self.place(build_generator(self.generator_configs["G"]))}
        self.optimizers = {"G": self.adam(self.networks["G"].parameters())}

    def train_step(self, batch: dict[str, torch.Tensor],
                   autocast: Callable[[], AbstractContextManager]) -> dict[str, torch.Tensor]:
        self.optimizers["G"].zero_grad(set_to_none=True)
        with autocast():
            fake_b = self.networks["G"](batch["A"])
        loss = l1_loss(fake_b, batch["B"]) * self.options.weight
        loss.backward()
        self.optimizers["G"].step()
        return {"L1": loss.detach()}

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor], generators: Mapping[str, nn.Module]) -> list[list[torch.Tensor]]:
        fake_b = self.run_eval(generators["G"], batch["A"])
        columns = [self.display(batch["A"], "rgb"), self.display(fake_b, "rgb"), self.display(batch["B"], "rgb")]
        return [list(row) for row in zip(*columns)]


@pytest.fixture
def l1_only():
    register_family("l1-only")(L1Only)
    yield "l1-only"
    unregister_family("l1-only")


def test_a_family_registered_in_a_test_trains_through_the_command_line(l1_only, aligned_data, tmp_path, capsys):
    assert get_family(l1_only) is L1Only and {"pix2pix", "cyclegan", l1_only} <= set(family_names())
    with pytest.raises(SystemExit):
        main(["train", l1_only, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "l1-only options: --weight WEIGHT weight of the L1 loss (default: 1.0)" in help_text
    assert "RUN_DIR/latest_net_G.pth the final generator A -> B" in help_text and "--lambda-l1" not in help_text

    run = tmp_path / "run"
    common = ["--out", str(run), "--ngf", "4", "--load-size", "36", "--crop-size", "32", "--workers", "0",
              "--device", "cpu", "--log-every", "1"]
    assert main(["train", l1_only, "--data", str(aligned_data), "--weight", "2.5", "--max-steps", "2", *common]) == 0
    assert f"generator weights: {run / 'latest_net_G.pth'}" in capsys.readouterr().out

    saved = json.loads((run / "config.json").read_text())
    assert (saved["model"], saved["netG"], saved["family_options"]) == (l1_only, "unet_32", {"weight": 2.5})
    losses = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in losses] == [1, 2] and set(losses[0]) == {"step", "epoch", "lr", "L1"}
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[0])["images"] == 4  # G validated on val/
    checkpoint = read_checkpoint(run / "checkpoints" / "step_000000002.pt")
    assert (checkpoint["model"], set(checkpoint["networks"]), checkpoint["discriminators"]) == (l1_only, {"G"}, {})
    net, _, _ = load_generator(run / "checkpoints" / "step_000000002.pt")
    final = torch.load(run / "latest_net_G.pth", weights_only=True)
    assert all(torch.equal(final[k], v) for k, v in net.state_dict().items())

    # --resume reads the family's options back; changing one would make another run
    assert main(["train", l1_only, "--out", str(run), "--resume", "--max-steps", "3"]) == 0
    assert read_checkpoint(run / "checkpoints" / "step_000000003.pt")["config"]["family_options"] == {"weight": 2.5}
    assert main(["train", l1_only, "--out", str(run), "--resume", "--weight", "1"]) == 1
    assert "--weight 1.0 differs from the run being resumed" in capsys.readouterr().err

    # options a family has to apply itself are refused by one that does not; --ema is the loop's and works
    for option, message in ((["--diffaugment", "translation"], "--diffaugment: l1-only does not apply DiffAugment"),
                            (["--spectral-norm"], "--spectral-norm: l1-only builds no discriminator")):
        other = tmp_path / option[0]
        assert main(["train", l1_only, "--data", str(aligned_data), "--max-steps", "1", *option,
                     *common[2:], "--out", str(other)]) == 1
        assert message in capsys.readouterr().err and not other.exists()
    averaged = tmp_path / "ema"
    assert main(["train", l1_only, "--data", str(aligned_data), "--max-steps", "2", "--ema", "0.5", *common[2:],
                 "--out", str(averaged)]) == 0
    checkpoint = read_checkpoint(averaged / "checkpoints" / "step_000000002.pt")
    final = torch.load(averaged / "latest_net_G.pth", weights_only=True)
    assert checkpoint["ema"]["G"]["updates"] == 2
    assert all(torch.equal(final[k], v) for k, v in checkpoint["ema"]["G"]["weights"].items())


def test_unknown_families_are_named_with_the_registered_ones():
    with pytest.raises(TranslationError, match="unknown model family 'munit'; choose one of cyclegan, cut, pix2pix"):
        get_family("munit")
