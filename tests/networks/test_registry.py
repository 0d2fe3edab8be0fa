"""Networks by name: the reference configurations and their kin resolve, a new generator is one registered
function (its name and size multiple reach the ONNX metadata), and checkpoints from before names still load."""
from __future__ import annotations

import onnx
import pytest
import torch
from torch import nn

from translation.errors import TranslationError
from translation.export import export_generator
from translation.networks import (GeneratorConfig, create_discriminator, create_generator, discriminator_names,
                                  generator_names, register_generator)
from translation.networks.checkpoint import CHECKPOINT_KIND, load_generator
from translation.networks.registry import generator_entry, unregister_generator


def test_reference_configurations_and_patterns_are_registered():
    names = generator_names()
    assert {"unet_256", "unet_128", "unet_N", "resnet_9blocks", "resnet_6blocks", "resnet_Nblocks"} <= set(names)
    assert discriminator_names() == ["basic", "n_layers", "pixel"]
    assert [generator_entry(n).size_multiple for n in ("unet_256", "unet_64", "resnet_9blocks", "resnet_3blocks")] == [
        256, 64, 4, 4]
    resnet = GeneratorConfig.named("resnet_3blocks")  # a pattern's name, with its generator's defaults
    assert (resnet.name, resnet.norm, resnet.dropout) == ("resnet_3blocks", "instance", False)
    assert sum(isinstance(m, nn.Conv2d) for m in create_generator("resnet_3blocks", ngf=2).modules()) == 3 * 2 + 4
    with pytest.raises(TranslationError, match="'unet_48': the U-Net size must be a power of two >= 32"):
        GeneratorConfig.named("unet_48")
    with pytest.raises(TranslationError, match="unknown generator 'unet_0256'; choose one of .*unet_N"):
        GeneratorConfig(name="unet_0256")
    with pytest.raises(TranslationError, match="unknown discriminator 'huge'; choose one of basic, n_layers, pixel"):
        create_discriminator("huge")


@pytest.fixture
def one_conv():
    """A generator registered by this test alone: one 3x3 convolution and a tanh."""
    @register_generator("one_conv", size_multiple=1, norm="none", dropout=False)
    def one_conv_generator(config: GeneratorConfig) -> nn.Module:
        return nn.Sequential(nn.Conv2d(config.in_channels, config.out_channels, 3, padding=1), nn.Tanh())

    yield "one_conv"
    unregister_generator("one_conv")


def test_a_registered_function_is_all_a_new_generator_needs(one_conv, tmp_path):
    assert one_conv in generator_names()
    config = GeneratorConfig.named(one_conv, out_channels=1)
    assert (config.size_multiple, config.norm) == (1, "none")
    torch.manual_seed(0)
    net = create_generator(one_conv, out_channels=1)
    assert net(torch.zeros(1, 3, 5, 7)).shape == (1, 1, 5, 7)
    path = export_generator(net.eval(), tmp_path / "one.onnx", config=config, task="custom")
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert (meta["network"], meta["size_multiple"], meta["out_channels"]) == ("one_conv", "1", "1")
    with pytest.raises(ValueError, match="registered twice"):
        register_generator(one_conv, size_multiple=1)(lambda config: nn.Identity())


def test_a_checkpoint_from_before_generator_names_loads_strictly(tmp_path):
    net = create_generator("unet_32", ngf=4)
    old_config = {"kind": "unet", "in_channels": 3, "out_channels": 3, "ngf": 4, "depth": 5, "norm": "batch",
                  "dropout": True, "residual": False}
    torch.save({"kind": CHECKPOINT_KIND, "version": 1, "model": "pix2pix", "generators": {"G": old_config},
                "networks": {"G": net.state_dict()}, "info": {"task": "custom"}}, tmp_path / "old.pt")
    loaded, config, _ = load_generator(tmp_path / "old.pt")  # strict
    assert config == GeneratorConfig.named("unet_32", ngf=4)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in net.state_dict().items())
    resnet = {**old_config, "kind": "resnet", "depth": 6, "norm": "instance", "dropout": False}
    assert GeneratorConfig.from_dict(resnet).name == "resnet_6blocks"
