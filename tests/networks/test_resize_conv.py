"""Resize-convolution: a drop-in for the U-Net's transposed convolution, without its checkerboard, and the
U-Net and ResNet built with it (``upsample="resize"``)."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from translation.errors import TranslationError
from translation.networks import GeneratorConfig, create_generator, init_weights
from translation.networks.checkpoint import detect_generator_config, load_generator
from translation.networks.resize_conv import ResizeConv2d


def transposed(inner: int, outer: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(inner, outer, kernel_size=4, stride=2, padding=1)  # the U-Net's up convolution


@pytest.mark.parametrize(("inner", "outer", "height", "width"), [(4, 3, 1, 1), (8, 2, 5, 7), (6, 6, 8, 8), (2, 5, 16, 3)])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_same_output_size_and_channels_as_the_transposed_convolution(inner, outer, height, width, mode):
    x = torch.randn(2, inner, height, width)
    expected = transposed(inner, outer)(x).shape
    assert ResizeConv2d(inner, outer, mode=mode)(x).shape == expected == (2, outer, 2 * height, 2 * width)


def phase_means(net: nn.Module, channels: int) -> torch.Tensor:
    """Output for a flat input, away from the borders, as a 4 x C table: the mean of each of the four
    pixel parities (even/odd row x even/odd column) per channel."""
    with torch.no_grad():
        y = net(torch.full((1, channels, 8, 8), 0.7))[0, :, 2:-2, 2:-2]
    return torch.stack([y[:, i::2, j::2].mean((1, 2)) for i in range(2) for j in range(2)])


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("paper_init", [True, False])
def test_flat_input_gives_flat_output_where_the_transposed_convolution_makes_a_checkerboard(mode, paper_init):
    for seed in range(3):
        torch.manual_seed(seed)
        deconv, resize = transposed(16, 8), ResizeConv2d(16, 8, mode=mode)
        if paper_init:  # N(0, 0.02), what build_generator gives the U-Net; else PyTorch's default
            for net in (deconv, resize):
                init_weights(net)
        deconv_phases, resize_phases = phase_means(deconv, 16), phase_means(resize, 16)
        # the 2x2-periodic component: how far the four parities' means lie apart, in the worst channel
        deconv_spread = (deconv_phases.max(0).values - deconv_phases.min(0).values).max()
        resize_spread = (resize_phases.max(0).values - resize_phases.min(0).values).max()
        assert deconv_spread > 0.2 * deconv_phases.abs().mean(), (seed, float(deconv_spread))
        assert resize_spread <= 1e-6 * max(1.0, float(resize_phases.abs().mean())), (seed, float(resize_spread))
        with torch.no_grad():  # and flat pixel by pixel, not only on average
            y = resize(torch.full((1, 16, 8, 8), 0.7))[0, :, 2:-2, 2:-2]
        assert float(y.std((1, 2)).max()) < 1e-6


def test_bias_switch_and_unknown_mode():
    assert ResizeConv2d(4, 2, bias=False).conv.bias is None
    assert set(ResizeConv2d(4, 2).state_dict()) == {"conv.weight", "conv.bias"}
    with pytest.raises(TranslationError, match="bicubic"):
        ResizeConv2d(4, 2, mode="bicubic")


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_onnx_export_matches_pytorch_at_any_size(mode):
    import onnxruntime as ort

    torch.manual_seed(0)
    net = ResizeConv2d(3, 2, mode=mode).eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, 3, 4, 4),), buffer, dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"},
                                        "output": {0: "batch", 2: "height", 3: "width"}})
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    x = torch.rand(2, 3, 5, 9) * 2 - 1
    got = session.run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        expected = net(x).numpy()
    assert got.shape == expected.shape == (2, 2, 10, 18)
    assert np.abs(got - expected).max() < 1e-5


def test_unet_with_resize_upsampling_has_no_transposed_convolution_and_is_detected_by_its_keys(tmp_path):
    torch.manual_seed(0)
    net = create_generator("unet_32", ngf=4, upsample="resize").eval()
    assert sum(isinstance(m, ResizeConv2d) for m in net.modules()) == 5  # one per level
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    x = torch.rand(2, 3, 64, 32) * 2 - 1
    assert net(x).shape == x.shape
    state = net.state_dict()
    assert "model.model.3.conv.weight" in state and "model.model.3.weight" not in state
    assert detect_generator_config(state) == GeneratorConfig.named("unet_32", ngf=4, upsample="resize")
    torch.save(state, tmp_path / "latest_net_G.pth")
    loaded, _, _ = load_generator(tmp_path / "latest_net_G.pth")  # strict
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    assert detect_generator_config(create_generator("unet_32", ngf=4).state_dict()).upsample == "transpose"


def test_resnet_with_resize_upsampling_is_detected_by_its_keys(tmp_path):
    torch.manual_seed(0)
    net = create_generator("resnet_2blocks", ngf=4, upsample="resize", residual=True).eval()
    assert sum(isinstance(m, ResizeConv2d) for m in net.modules()) == 2
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    state = net.state_dict()
    assert detect_generator_config(state) == GeneratorConfig.named("resnet_2blocks", ngf=4, upsample="resize")
    torch.save(state, tmp_path / "latest_net_G.pth")
    loaded, _, _ = load_generator(tmp_path / "latest_net_G.pth", residual=True)  # strict
    x = torch.rand(1, 3, 32, 24) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x)) and net(x).shape == x.shape
    assert detect_generator_config(create_generator("resnet_2blocks", ngf=4).state_dict()).upsample == "transpose"


def test_only_generators_that_offer_it_take_the_upsampling_choice():
    with pytest.raises(TranslationError, match="generator 'shuffle4_2blocks' has one way of up-sampling"):
        GeneratorConfig.named("shuffle4_2blocks", upsample="resize")
    with pytest.raises(TranslationError, match="unknown up-sampling 'shuffle'; choose one of transpose, resize"):
        GeneratorConfig.named("unet_32", upsample="shuffle")
    assert GeneratorConfig.named("resnet_9blocks").upsample == "transpose"
