"""`translation train ...` end to end through the CLI entry point."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from translation.cli import main
from translation.networks.checkpoint import load_generator

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ["--netG", "unet_32", "--ngf", "4", "--ndf", "4", "--load-size", "40", "--crop-size", "32",
        "--workers", "0", "--device", "cpu"]



def photos(folder: Path, count: int = 6) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(count):
        image = np.full((40, 48, 3), rng.integers(0, 256, 3), np.uint8)
        cv2.circle(image, (24, 20), 10, tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
        assert cv2.imwrite(str(folder / f"photo{i}.jpg"), image)
    return folder


def test_colorization_from_photos_then_resume(tmp_path, capsys):
    data, run = photos(tmp_path / "photos"), tmp_path / "run"
    code = main(["train", "pix2pix", "--task", "colorization", "--data", str(data), "--out", str(run),
                 "--max-steps", "4", "--save-every", "2", "--val-fraction", "0.34", "--sample-every", "2", *TINY])
    assert code == 0
    assert f"run folder {run}" in capsys.readouterr().out
    net, config, info = load_generator(run / "checkpoints" / "step_000000004.pt")
    assert (config.in_channels, config.out_channels, config.ngf) == (1, 2, 4)  # L in, ab out
    assert info["task"] == "colorization" and info["task_spec"]["output_space"] == "lab_ab"
    assert info["dataset"] == str(data.resolve()) and info["layout"] == "photos"
    saved = json.loads((run / "config.json").read_text())
    assert (saved["task"], saved["max_steps"], saved["ngf"]) == ("colorization", 4, 4)
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[0])["images"] == 2  # 2 of 6 held out
    assert (run / "latest_net_G.pth").is_file() and len(list((run / "samples").glob("*.png"))) == 2

    # Continue the same run for 2 more steps: only the changed option is given again.
    assert main(["train", "pix2pix", "--out", str(run), "--resume", "--max-steps", "6"]) == 0
    assert load_generator(run / "checkpoints" / "step_000000006.pt")[2]["steps"] == 6
    assert json.loads((run / "config.json").read_text())["max_steps"] == 6
    # ... but not as a different model.
    assert main(["train", "pix2pix", "--out", str(run), "--resume", "--ngf", "8"]) == 1
    assert "--ngf 8 differs from the run being resumed" in capsys.readouterr().err
    # Starting afresh over it is refused too.
    assert main(["train", "pix2pix", "--task", "colorization", "--data", str(data), "--out", str(run), *TINY]) == 1
    assert "already holds a training run" in capsys.readouterr().err


def test_cyclegan_command(tmp_path):
    data = tmp_path / "data"
    photos(data / "trainA", 3)
    photos(data / "trainB", 2)
    run = tmp_path / "run"
    args = ["train", "cyclegan", "--data", str(data), "--out", str(run), "--netG", "resnet_1blocks", "--ngf", "4",
            "--ndf", "4", "--crop-size", "32", "--preprocess", "crop", "--epochs", "1", "--epochs-decay", "1",
            "--gan-mode", "hinge", "--lambda-identity", "0", "--rotate", "--workers", "0", "--device", "cpu"]
    assert main(args) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["gan_mode"], config["norm"], config["preprocess"], config["rotate"]) == ("hinge", "instance", "crop", True)
    assert config["family_options"] == {"lambda_cycle": 10.0, "lambda_cycle_b": 10.0, "lambda_identity": 0.0,
                                        "pool_size": 50}
    assert (run / "latest_net_G_A.pth").is_file() and (run / "latest_net_G_B.pth").is_file()
    records = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    # no testA/testB: one of the 3 A and one of the 2 B images held out for the cycle validation
    assert records[-1]["step"] == 4 and "idt_A" not in records[-1]
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(m["epoch"], m["images_A"], m["images_B"]) for m in metrics] == [(0, 1, 1), (1, 1, 1), (2, 1, 1)]
    assert (run / "checkpoints" / "best.pt").is_file()


def test_small_data_options_are_recorded_and_fixed_for_the_run(tmp_path, capsys):
    data, run = photos(tmp_path / "photos"), tmp_path / "run"
    options = ["--diffaugment", "color,translation,cutout", "--ema", "0.99", "--spectral-norm", "--upsample", "resize"]
    assert main(["train", "pix2pix", "--task", "sketch-to-photo", "--data", str(data), "--out", str(run),
                 "--max-steps", "2", "--val-fraction", "0.34", *options, *TINY]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert (saved["diffaugment"], saved["ema"], saved["spectral_norm"], saved["upsample"]) == (
        "color,translation,cutout", 0.99, True, "resize")
    assert "latest_net_G.pth (the averages of --ema 0.99; the checkpoints hold both)" in capsys.readouterr().out
    assert main(["train", "pix2pix", "--out", str(run), "--resume", "--max-steps", "3"]) == 0
    _, config, info = load_generator(run / "checkpoints" / "step_000000003.pt")
    assert (config.upsample, info["weights"]) == ("resize", "ema")
    for changed in (["--ema", "0.9"], ["--diffaugment", "translation"], ["--upsample", "transpose"]):
        assert main(["train", "pix2pix", "--out", str(run), "--resume", *changed]) == 1
        assert f"--{changed[0][2:]} {changed[1]} differs from the run being resumed" in capsys.readouterr().err


@pytest.mark.parametrize("options,message", [
    (["--ema", "1.5"], "--ema 1.5: the decay must lie between 0 and 1, e.g. 0.999"),
    (["--upsample", "resize", "--netG", "shuffle4_1blocks"], "--upsample resize: --netG shuffle4_1blocks has one "
                                                             "way of up-sampling; the U-Nets (unet_N) and ResNets"),
    (["--diffaugment", "color,blur"], "DiffAugment policy 'color,blur': unknown part 'blur'"),
    (["--diffaugment", "color", "--task", "colorization"], "--diffaugment color: the color part would shift the hue"),
])
def test_small_data_option_errors_are_one_line(options, message, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "pix2pix", "--data", str(photos(tmp_path / "photos")), "--out", str(run), *TINY,
                 *options]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not run.exists()


def test_layout_problems_are_one_error(tmp_path, capsys):
    (tmp_path / "train" / "A").mkdir(parents=True)
    assert main(["train", "pix2pix", "--data", str(tmp_path), "--out", str(tmp_path / "run"), *TINY]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'train' / 'A'}: no images (it is empty;")
    assert "expected layout:" in err and "│   ├── A/" in err
    assert not (tmp_path / "run").exists()

    rng = np.random.default_rng(0)
    (tmp_path / "small" / "train").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "small" / "train" / "x.png"), rng.integers(0, 256, (20, 40, 3), dtype=np.uint8))
    assert main(["train", "pix2pix", "--data", str(tmp_path / "small"), "--out", str(tmp_path / "run"),
                 "--preprocess", "crop", *TINY]) == 1
    assert "image smaller than the crop: each half is 20x20 px" in capsys.readouterr().err

    assert main(["train", "pix2pix", "--out", str(tmp_path / "run")]) == 1
    assert "--data DATA is required" in capsys.readouterr().err


@pytest.mark.parametrize("model,weights,own,network", [
    ("pix2pix", ["latest_net_G.pth"], ["--lambda-l1 LAMBDA_L1 weight of the reconstruction loss (L1 unless "
                                       "--reconstruction l2) (default: 100.0)", "--reconstruction RECONSTRUCTION"],
     "unet_256"),
    ("cyclegan", ["latest_net_G_A.pth", "latest_net_G_B.pth"],
     ["--lambda-cycle LAMBDA_CYCLE weight of the cycle losses (default: 10.0)", "--pool-size POOL_SIZE"],
     "resnet_9blocks"),
])
def test_help_draws_the_layouts_outputs_and_the_family_options(model, weights, own, network, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["train", model, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for expected in ("├── trainA/", "│   ├── 1.jpg        each image is [ A | B ]", "├── more/b.jpg",
                     *(f"RUN_DIR/{name}" for name in weights), "RUN_DIR/checkpoints/step_*.pt", "--epochs-decay",
                     "--resume", f"torchrun --nproc_per_node 4 -m translation train {model}",
                     f"translation train {model} --data", f"{model} options:"):
        assert expected in text, expected
    flat = " ".join(text.split())
    assert "resize_and_crop | crop | scale_width | random_scale | none" in flat
    assert f"(default: {network})" in flat
    assert "generator: resnet_9blocks, resnet_6blocks, resnet_Nblocks, unet_256, unet_128, unet_N, shuffle4_Nblocks" in flat
    assert "Adam learning rate (default: 0.0002)" in flat
    assert all(option in flat for option in own)
    for when in ("--diffaugment POLICY DiffAugment", "for small datasets (hundreds of images or fewer)",
                 "--ema DECAY keep an exponential moving average", "steadier outputs than the last step's",
                 "--spectral-norm spectral normalisation", "--upsample {transpose,resize}",
                 "resize when outputs show checkerboard artifacts", "RUN_DIR/checkpoints/best.pt",
                 "(with --ema: the averaged weights", "--degradation RATE super-resolution: how often"):
        assert when in flat, when
    other = {"pix2pix": "--pool-size", "cyclegan": "--lambda-l1"}[model]
    assert other not in flat  # the other family's options are not offered
