"""CUT and FastCUT: they learn an unpaired task with a known answer (B is A with its colour channels
permuted), resume bit-identically, train in two processes, and export with ONNX Runtime parity."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from translation.cli import main
from translation.export import export_generator
from translation.imaging.io import read_rgb8
from translation.networks import create_generator
from translation.networks.checkpoint import load_generator, read_checkpoint
from translation.runtime import Engine, read_metadata, translate
from translation.training import train
from translation.training.patchnce import patch_nce_loss

from test_resume import assert_identical, interrupted_copy
from training_fixtures import draw_shapes, one_torch_thread, tiny, write_rgb  # noqa: F401 - fixtures

PERMUTATION = [2, 0, 1]  # B's red is A's blue, its green A's red, its blue A's green


@pytest.fixture
def permuted_data(tmp_path: Path) -> Path:
    """Warm shapes (A) and other warm shapes with the channels permuted (B): unpaired, the answer known."""
    rng = np.random.default_rng(3)
    root = tmp_path / "permuted"
    for folder, count in (("trainA", 16), ("trainB", 16), ("testA", 4), ("testB", 4)):
        for i in range(count):
            warm = (draw_shapes(rng).astype(np.float32) * np.array([1.0, 0.55, 0.2])).astype(np.uint8)
            write_rgb(root / folder / f"{i:03d}.png", warm[:, :, PERMUTATION] if folder.endswith("B") else warm)
    return root


def held_out_a(data: Path) -> torch.Tensor:
    images = [read_rgb8(p).astype(np.float32) / 127.5 - 1 for p in sorted((data / "testA").glob("*.png"))]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)


def distance_to_answer(generator: torch.nn.Module, a: torch.Tensor) -> float:
    with torch.no_grad():
        return float((generator(a) - a[:, PERMUTATION]).abs().mean())


@pytest.mark.parametrize("mode", ["cut", "fastcut"])
def test_output_gets_closer_to_the_known_answer(mode, permuted_data, tiny, tmp_path):
    run = train(tiny("cut", permuted_data, tmp_path / mode, mode=mode, epochs=6, epochs_decay=2, lr=5e-4))
    a = held_out_a(permuted_data)
    unchanged = float((a - a[:, PERMUTATION]).abs().mean())  # what leaving the input as it is scores
    generator, config, info = load_generator(run / "latest_net_G.pth")
    assert config.name == "resnet_1blocks" and info == {"generator": "G"}
    assert distance_to_answer(generator, a) < 0.8 * unchanged, (distance_to_answer(generator, a), unchanged)

    records = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert len(records) == 8 * 16
    expected = {"G_GAN", "NCE", "D_real", "D_fake"} | ({"NCE_Y"} if mode == "cut" else set())
    assert set(records[0]) - {"step", "epoch", "lr"} == expected
    # validated by the distance of G(held-out A) to the held-out B: it falls; the best epoch is the lowest
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["swd"] < 0.75 * metrics[0]["swd"], [m["swd"] for m in metrics]
    assert (metrics[-1]["images_A"], metrics[-1]["images_B"]) == (4, 4)
    best = read_checkpoint(run / "checkpoints" / "best.pt")["info"]["best"]
    assert best["value"] == min(m["swd"] for m in metrics[1:]) and best["metric"] == "swd"
    checkpoint = read_checkpoint(run / "checkpoints" / "step_000000128.pt")
    assert set(checkpoint["networks"]) == {"G", "F", "D"} and set(checkpoint["generators"]) == {"G"}
    assert checkpoint["info"]["model"] == "cut" and checkpoint["info"]["mode"] == mode
    options = checkpoint["config"]["family_options"]
    assert (options["lambda_nce"], options["nce_idt"], options["flip_equivariance"]) == (
        (1.0, True, False) if mode == "cut" else (10.0, False, True))


@pytest.mark.parametrize("mode", ["cut", "fastcut"])
def test_resumed_run_is_bit_identical(mode, permuted_data, tiny, tmp_path):
    settings = dict(mode=mode, epochs=1, epochs_decay=1, save_every=7, keep=0, max_steps=24,
                    diffaugment="translation,cutout")
    straight = train(tiny("cut", permuted_data, tmp_path / "straight", **settings))
    resumed = interrupted_copy(straight, tmp_path / "resumed", 14)  # mid-epoch (16 steps an epoch)
    train(tiny("cut", permuted_data, resumed, resume=True, **settings))
    final = [read_checkpoint(run / "checkpoints" / "step_000000024.pt") for run in (straight, resumed)]
    assert_identical(final[0]["networks"], final[1]["networks"])  # G, the heads F and D
    assert_identical({n: s["state"][0] for n, s in final[0]["optimizers"].items()},
                     {n: s["state"][0] for n, s in final[1]["optimizers"].items()})
    assert [json.loads(line)["step"] for line in (resumed / "losses.jsonl").read_text().splitlines()] == list(
        range(1, 25))


def test_two_processes_train_one_model(permuted_data, tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "translation", "train", "cut", "--mode", "fastcut", "--data", str(permuted_data),
               "--out", str(run), "--netG", "resnet_1blocks", "--ngf", "8", "--ndf", "8", "--load-size", "36",
               "--crop-size", "32", "--epochs", "1", "--epochs-decay", "1", "--save-every", "6", "--keep", "0",
               "--log-every", "1", "--workers", "0", "--device", "cpu"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("trained cut") == 1
    # 16 images over 2 processes: 8 steps an epoch, 2 epochs
    assert [json.loads(line)["step"] for line in (run / "losses.jsonl").read_text().splitlines()] == list(range(1, 17))
    checkpoint = read_checkpoint(run / "checkpoints" / "step_000000016.pt")
    assert checkpoint["data_order"]["world_size"] == 2 and len(checkpoint["ranks"]) == 2
    # each process drew its own patches and flips: their generators differ ...
    assert not torch.equal(checkpoint["ranks"][0]["rng"]["torch"], checkpoint["ranks"][1]["rng"]["torch"])
    # the heads trained as well: they sit in the one DDP-wrapped module with G
    early = read_checkpoint(run / "checkpoints" / "step_000000006.pt")
    assert not torch.equal(early["networks"]["F"]["mlps.0.0.weight"], checkpoint["networks"]["F"]["mlps.0.0.weight"])
    final = torch.load(run / "latest_net_G.pth", weights_only=True)
    assert_identical({"G": final}, {"G": checkpoint["networks"]["G"]})


def test_export_parity_and_serving_with_no_special_case(permuted_data, tiny, tmp_path):
    run = train(tiny("cut", permuted_data, tmp_path / "run", mode="fastcut", max_steps=5, task="style-transfer"))
    path = export_generator(run, tmp_path / "cut.onnx")
    metadata = read_metadata(path)
    training = json.loads(metadata["training"])
    assert (metadata["task"], metadata["network"]) == ("style-transfer", "resnet_1blocks")
    assert (training["model"], training["mode"], training["steps"]) == ("cut", "fastcut", 5)

    generator = load_generator(run / "checkpoints" / "step_000000005.pt")[0]
    picture = held_out_a(permuted_data)[:1]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: picture.numpy()})[0]
    with torch.no_grad():
        expected = generator(picture).numpy()
    assert np.abs(got - expected).max() <= 1e-4

    served = translate(sorted((permuted_data / "testA").glob("*.png"))[0], Engine(path, threads=1))
    assert served.rgb.shape == (32, 32, 3) and served.rgb.dtype == np.uint8
    as_pixels = np.clip(np.round((expected[0].transpose(1, 2, 0) + 1) * 127.5), 0, 255)
    assert np.abs(served.rgb.astype(float) - as_pixels).max() <= 1


def test_the_reference_anti_aliased_generator_trains_too(permuted_data, tiny, tmp_path):
    run = train(tiny("cut", permuted_data, tmp_path / "run", netG="resnet_1blocks_antialias", max_steps=3))
    generator, config, _ = load_generator(run / "latest_net_G.pth")  # detected from its keys (the blur buffers)
    assert config.name == "resnet_1blocks_antialias"
    heads = read_checkpoint(run / "checkpoints" / "step_000000003.pt")["networks"]["F"]
    assert heads["mlps.1.0.weight"].shape == (256, 16)  # layer 4: the stride-1 conv before the blur, 2 x ngf


def test_encoder_features_come_from_the_generator_as_it_is():
    torch.manual_seed(0)
    generator = create_generator("resnet_9blocks", ngf=4).eval()
    keys = list(generator.state_dict())
    assert generator.paper_layers() == [0, 4, 7, 10, 14]  # pixels, both down convs, blocks 1 and 5
    x = torch.rand(1, 3, 16, 20) * 2 - 1
    output, features = generator.forward_with_features(x, [0, 4, 7, 10, 14])
    assert torch.equal(output, generator(x))
    encoded = generator.encode(x, [0, 4, 7, 10, 14])
    assert all(torch.equal(a, b) for a, b in zip(features, encoded))
    assert [tuple(f.shape[1:]) for f in encoded] == [(3, 22, 26), (8, 8, 10), (16, 4, 5), (16, 4, 5), (16, 4, 5)]
    assert torch.equal(encoded[3], generator.model[:11](x))
    assert list(generator.state_dict()) == keys  # nothing added


def test_patch_nce_prefers_the_patch_at_the_same_place():
    torch.manual_seed(0)
    key = torch.nn.functional.normalize(torch.randn(2, 64, 16), dim=-1)
    matching = patch_nce_loss(key + 0.05 * torch.randn_like(key), key, 0.07)
    shuffled = patch_nce_loss(key[:, torch.randperm(64)], key, 0.07)
    assert matching < 0.1 < np.log(65) - 1 < shuffled  # chance level: log(1 + 64)
    query = key.clone().requires_grad_()
    patch_nce_loss(query, key.requires_grad_(), 0.07).backward()
    assert query.grad is not None and key.grad is None  # the input's side takes no gradient


def test_command_line_options_help_and_errors(permuted_data, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "cut", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for phrase in ("--mode MODE", "--lambda-nce LAMBDA_NCE", "(default: 1 for cut, 10 for fastcut)",
                   "--nce-idt, --no-nce-idt", "(default: on for cut, off for fastcut)", "--nce-temperature",
                   "--nce-patches", "--no-tensorboard", "latest_net_G.pth"):
        assert phrase in text, phrase
    base = ["train", "cut", "--data", str(permuted_data), "--workers", "0", "--device", "cpu", "--ngf", "4",
            "--ndf", "4", "--load-size", "36", "--crop-size", "32", "--netG", "resnet_1blocks"]
    for extra, message in ((["--mode", "fast"], "--mode 'fast': choose one of cut, fastcut"),
                           (["--lambda-nce", "0"], "--lambda-nce 0.0: PatchNCE is what CUT is"),
                           (["--netG", "unet_32"], "--netG unet_32: CUT takes its features from the encoder"),
                           (["--nce-layers", "0,99"], "--nce-layers '0,99': the generator has layers 0 to")):
        assert main([*base, "--out", str(tmp_path / "bad"), *extra]) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    # the progress bar counts the whole run's steps and shows images/s and the whole run's time left
    assert main([*base, "--out", str(tmp_path / "run"), "--max-steps", "6", "--log-every", "2",
                 "--no-tensorboard", "--nce-layers", "0,4"]) == 0
    err = capsys.readouterr().err
    assert "step 6/6" in err and "img/s" in err and "run ETA" in err
    assert not (tmp_path / "run" / "tensorboard").exists()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["family_options"]["nce_layers"] == "0,4"
