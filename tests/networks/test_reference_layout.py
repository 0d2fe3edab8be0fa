"""Our networks must hold exactly the reference implementation's state-dict keys, shapes and sizes."""
from __future__ import annotations

import json

import pytest
import torch

from translation.errors import TranslationError
from translation.networks import (GeneratorConfig, build_generator, count_parameters, create_discriminator,
                                  create_generator)
from translation.networks.checkpoint import detect_generator_config, load_generator, load_state_dict_into

# JSON entry (prefix of its name) -> how we build that network.
CONFIGURATIONS = {
    "unet_256 (pix2pix default": lambda: create_generator("unet_256"),
    "unet_128": lambda: create_generator("unet_128"),
    "resnet_9blocks": lambda: create_generator("resnet_9blocks"),
    "resnet_6blocks": lambda: create_generator("resnet_6blocks"),
    "basic PatchGAN D for pix2pix": lambda: create_discriminator("basic", in_channels=6, norm="batch"),
    "basic PatchGAN D for CycleGAN": lambda: create_discriminator("basic", in_channels=3, norm="instance"),
    "pixel D": lambda: create_discriminator("pixel", in_channels=6, norm="batch"),
    "unet_256 for colorization": lambda: create_generator("unet_256", in_channels=1, out_channels=2),
}


@pytest.fixture(scope="module")
def reference(reference_dir):
    return json.loads((reference_dir / "reference_state_dicts.json").read_text())


def _entry(reference: dict, prefix: str) -> dict:
    (name,) = [n for n in reference if n.startswith(prefix)]
    return reference[name]


def test_every_reference_configuration_is_covered(reference):
    assert all(any(name.startswith(p) for p in CONFIGURATIONS) for name in reference)


@pytest.mark.parametrize("prefix", list(CONFIGURATIONS))
def test_keys_shapes_and_parameter_count_match(reference, prefix):
    entry = _entry(reference, prefix)
    net = CONFIGURATIONS[prefix]()
    ours = {key: list(value.shape) for key, value in net.state_dict().items()}
    assert list(ours) == list(entry["state_dict"])  # same keys in the same order
    assert ours == entry["state_dict"]
    assert count_parameters(net) == entry["parameters"]


@pytest.mark.parametrize("prefix", [p for p in CONFIGURATIONS if "D" not in p.split()])
def test_architecture_is_detected_from_a_reference_state_dict(reference, prefix):
    # Tensors shaped as in the JSON stand in for a real reference checkpoint of that configuration.
    state_dict = {k: torch.zeros(shape) for k, shape in _entry(reference, prefix)["state_dict"].items()}
    config = detect_generator_config(state_dict)
    net = build_generator(config, initialise=False)
    load_state_dict_into(net, state_dict)  # strict


def test_reference_checkpoint_file_loads_strictly(tmp_path):
    source = create_generator("unet_128", ngf=8)
    path = tmp_path / "latest_net_G.pth"
    torch.save(source.state_dict(), path)
    net, config, _ = load_generator(path)
    assert config == GeneratorConfig.named("unet_128", ngf=8)
    for key, value in source.state_dict().items():
        assert torch.equal(net.state_dict()[key], value)


def test_old_instance_norm_running_stats_are_dropped(tmp_path):
    source = create_generator("resnet_6blocks", ngf=8)
    state_dict = dict(source.state_dict())
    # Older reference versions saved running stats for affine-free instance norm layers.
    state_dict["model.2.running_mean"] = torch.zeros(8)
    state_dict["model.2.running_var"] = torch.ones(8)
    state_dict["model.2.num_batches_tracked"] = torch.tensor(0)
    path = tmp_path / "latest_net_G_A.pth"
    torch.save(state_dict, path)
    net, config, _ = load_generator(path)
    assert config.name == "resnet_6blocks" and config.norm == "instance"
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(net(x), source.eval()(x))


@pytest.mark.parametrize("norm,dropout", [("batch", False), ("batch", True), ("instance", True), ("none", False)])
def test_resnet_variants_are_detected(norm, dropout):
    config = GeneratorConfig.named("resnet_2blocks", ngf=4, norm=norm, dropout=dropout)
    detected = detect_generator_config(build_generator(config).state_dict())
    assert (detected.norm, detected.dropout, detected.name) == ("instance" if norm == "none" else norm, dropout,
                                                                "resnet_2blocks")


def test_data_parallel_prefix_is_stripped(tmp_path):
    source = create_generator("resnet_6blocks", ngf=4)
    path = tmp_path / "net.pth"
    torch.save({f"module.{k}": v for k, v in source.state_dict().items()}, path)
    _, config, _ = load_generator(path)
    assert config.ngf == 4


def test_wrong_architecture_names_the_file_and_the_problem(tmp_path):
    source = create_generator("unet_128", ngf=8)
    path = tmp_path / "latest_net_G.pth"
    torch.save(source.state_dict(), path)
    with pytest.raises(TranslationError, match=r"latest_net_G\.pth.*do not fit"):
        load_generator(path, ngf=16)


def test_output_sizes():
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert create_generator("unet_64", ngf=4)(x).shape == (1, 3, 64, 64)
        assert create_generator("resnet_2blocks", ngf=4)(x).shape == (1, 3, 64, 64)
        d = create_discriminator("basic", in_channels=3, ndf=8, norm="batch")
        assert d(torch.rand(1, 3, 256, 256)).shape == (1, 1, 30, 30)  # the reference's 30x30 patch map
