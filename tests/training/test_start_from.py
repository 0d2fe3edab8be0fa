"""``translation train --start-from``: a run that starts from exported ONNX weights, a checkpoint or a
reference state dict instead of random weights (fine-tuning a shipped model, the refine recipes)."""
from __future__ import annotations

import json

import pytest
import torch

from translation.cli import main
from translation.errors import TranslationError
from translation.export import export_generator
from translation.networks import GeneratorConfig, build_generator
from translation.networks.checkpoint import load_generator
from translation.networks.start_weights import load_start_weights
from translation.training import train
from translation.training.families.cyclegan import CycleGAN  # noqa: F401 - registers the family

from training_fixtures import aligned_data, one_torch_thread, tiny, unpaired_data  # noqa: F401 - fixtures


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("name, ngf", [("shuffle4_2blocks", 8), ("resnet_1blocks", 4)])
def test_onnx_weights_come_back_exactly_renamed_ones_included(tmp_path, name, ngf):
    config = GeneratorConfig.named(name, ngf=ngf)
    trained = build_generator(config).eval()
    with torch.no_grad():  # away from the initial values, so a fresh network cannot match by chance
        for p in trained.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    onnx_file = export_generator(trained, tmp_path / "g.onnx", config=config, task="super-resolution")
    fresh = build_generator(config)
    assert not _same_weights(fresh, trained)
    origin = load_start_weights(fresh, onnx_file, "G", config.size_multiple)
    assert _same_weights(fresh, trained)  # PReLU slopes (renamed by the exporter) included
    assert origin["file"] == "g.onnx" and len(origin["sha256"]) == 64


def test_batch_norm_unet_exports_are_refused_with_the_reason(tmp_path):
    config = GeneratorConfig.named("unet_32", ngf=4)
    onnx_file = export_generator(build_generator(config).eval(), tmp_path / "unet.onnx", config=config,
                                 task="style-transfer")
    with pytest.raises(TranslationError, match=r"unet\.onnx: its weights do not map onto this network.*batch norm"):
        load_start_weights(build_generator(config), onnx_file, "G", config.size_multiple)


def test_a_file_of_another_network_is_refused(tmp_path):
    small = GeneratorConfig.named("shuffle4_2blocks", ngf=8)
    onnx_file = export_generator(build_generator(small).eval(), tmp_path / "small.onnx", config=small,
                                 task="super-resolution")
    wider = GeneratorConfig.named("shuffle4_2blocks", ngf=16)
    with pytest.raises(TranslationError, match="small.onnx"):
        load_start_weights(build_generator(wider), onnx_file, "G", wider.size_multiple)


def test_a_run_starts_where_the_exported_model_ended(aligned_data, tiny, tmp_path):
    first = train(tiny("pix2pix", aligned_data, tmp_path / "first", netG="resnet_1blocks", norm="instance",
                       max_steps=3))
    net, config, _ = load_generator(first / "checkpoints" / "step_000000003.pt")
    onnx_file = export_generator(net, tmp_path / "first.onnx", config=config)
    second = train(tiny("pix2pix", aligned_data, tmp_path / "second", netG="resnet_1blocks", norm="instance",
                        max_steps=1, start_from={"G": str(onnx_file)}))
    # the starting validation scores the first run's weights: the same from the ONNX file as from the checkpoint
    from_checkpoint = train(tiny("pix2pix", aligned_data, tmp_path / "from-pt", netG="resnet_1blocks",
                                 norm="instance", max_steps=1,
                                 start_from={"G": str(first / "checkpoints" / "step_000000003.pt")}))
    fresh = train(tiny("pix2pix", aligned_data, tmp_path / "fresh", netG="resnet_1blocks", norm="instance",
                       max_steps=1))
    start, start_pt, random_start = (json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
                                     for run in (second, from_checkpoint, fresh))
    assert start["psnr"] == start_pt["psnr"] != random_start["psnr"]
    info = torch.load(second / "checkpoints" / "step_000000001.pt", weights_only=True)["info"]
    assert info["started_from"]["G"]["file"] == "first.onnx"
    # a resume keeps the record of where the run started
    assert main(["train", "pix2pix", "--out", str(second), "--resume", "--max-steps", "2"]) == 0
    info = torch.load(second / "checkpoints" / "step_000000002.pt", weights_only=True)["info"]
    assert info["started_from"]["G"]["sha256"] == load_start_weights(
        build_generator(config), onnx_file, "G", config.size_multiple)["sha256"]


def test_cyclegan_starts_each_generator_from_its_own_file(unpaired_data, tiny, tmp_path, capsys):
    first = train(tiny("cyclegan", unpaired_data, tmp_path / "first", max_steps=2))
    checkpoint = first / "checkpoints" / "step_000000002.pt"
    args = ["train", "cyclegan", "--data", str(unpaired_data), "--netG", "resnet_1blocks", "--ngf", "8",
            "--ndf", "8", "--load-size", "36", "--crop-size", "32", "--workers", "0", "--device", "cpu",
            "--max-steps", "1"]
    assert main([*args, "--out", str(tmp_path / "unnamed"), "--start-from", str(checkpoint)]) == 1
    assert "name the generator (G_A or G_B)" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "missing"), "--start-from", f"G_A={tmp_path / 'nope.pt'}"]) == 1
    assert "nope.pt: file not found" in capsys.readouterr().err
    # a CycleGAN checkpoint gives each generator the weights of the one of the same name
    run = tmp_path / "second"
    assert main([*args, "--out", str(run), "--start-from", f"G_A={checkpoint}", "--start-from",
                 f"G_B={checkpoint}"]) == 0
    started, _, _ = load_generator(first / "checkpoints" / "step_000000002.pt", which="G_B")
    # one step later G_B is near its starting weights, far nearer than a random network is
    after, _, _ = load_generator(run / "checkpoints" / "step_000000001.pt", which="G_B")
    fresh = build_generator(GeneratorConfig.named("resnet_1blocks", ngf=8))
    def distance(a: torch.nn.Module, b: torch.nn.Module) -> float:
        return sum(float((pa - pb).abs().sum()) for pa, pb in zip(a.state_dict().values(), b.state_dict().values()))

    assert distance(after, started) < 0.5 * distance(fresh, started)


@pytest.mark.parametrize("source", ["onnx", "checkpoint"])
def test_a_deeper_pixel_shuffle_network_grows_from_a_shallower_file(tmp_path, source):
    shallow_config = GeneratorConfig.named("shuffle4_2blocks", ngf=8)
    trained = build_generator(shallow_config).eval()
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    if source == "onnx":
        path = export_generator(trained, tmp_path / "g.onnx", config=shallow_config, task="super-resolution")
    else:
        path = tmp_path / "latest_net_G.pth"
        torch.save(trained.state_dict(), path)
    deep = build_generator(GeneratorConfig.named("shuffle4_5blocks", ngf=8)).eval()
    origin = load_start_weights(deep, path, "G", 4)
    assert origin["grown_from_blocks"] == 2
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(deep(x), trained(x), atol=1e-5)
