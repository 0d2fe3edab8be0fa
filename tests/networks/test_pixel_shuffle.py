"""The pixel-shuffle super-resolution generator: shapes, range, residual start, ONNX parity at any size."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

from translation.errors import TranslationError
from translation.networks.pixel_shuffle import PixelShuffleGenerator


def tiny(scale: int = 2, **kwargs) -> PixelShuffleGenerator:
    torch.manual_seed(0)
    return PixelShuffleGenerator(3, 3, scale, features=8, blocks=2, **kwargs)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_has_the_input_size_and_stays_in_range(scale):
    net = tiny(scale)
    x = torch.rand(2, 3, 5 * scale, 7 * scale) * 2 - 1
    with torch.no_grad():
        y, saturated = net(x), net(torch.ones(1, 3, 4 * scale, 4 * scale))
    assert y.shape == x.shape
    assert float(y.min()) >= -1 and float(y.max()) <= 1
    assert float(saturated.max()) == 1.0  # the clamp: input 1 + any positive residual


def test_untrained_network_is_close_to_its_input_without_checkerboard():
    torch.manual_seed(1)
    net = PixelShuffleGenerator(3, 3, 4, features=16, blocks=4)
    x = torch.rand(1, 3, 48, 48) * 1.6 - 0.8
    with torch.no_grad():
        difference = net(x) - x
        # 6 convolutions at a quarter of the size see 6 low-resolution pixels of the zero padding
        flat = net(torch.full((1, 3, 80, 80), 0.3))[0, :, 28:-28, 28:-28]
    assert 0 < float(difference.abs().mean()) < 0.1
    # ICNR: the 16 sub-pixel kernels of each channel start equal, so a flat input gives a flat output
    assert float((flat - flat.mean((1, 2), keepdim=True)).abs().max()) < 1e-6


def test_the_convolutions_run_at_the_low_resolution():
    net = tiny(4)
    seen = []
    net.body.register_forward_hook(lambda module, inputs, output: seen.append(output.shape))
    net(torch.zeros(1, 3, 32, 48))
    assert seen == [(1, 8, 8, 12)]


def test_registered_as_shuffle4_with_its_own_initialisation():
    from translation.networks import GeneratorConfig, create_generator

    config = GeneratorConfig.named("shuffle4_3blocks", ngf=8)
    assert (config.norm, config.residual, config.size_multiple) == ("none", True, 4)
    torch.manual_seed(0)
    net = create_generator("shuffle4_3blocks", ngf=8)
    assert isinstance(net, PixelShuffleGenerator) and len(net.body) == 3
    # He init, not init_weights' N(0, 0.02): the head's weights keep their fan-in scale
    assert 0.05 < float(net.head[0].weight.detach().std()) < 0.2


def test_gradients_reach_every_layer():
    net = tiny(3)
    net(torch.rand(2, 3, 6, 6) * 2 - 1).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_options_and_errors():
    torch.manual_seed(0)
    gray_to_rgb = PixelShuffleGenerator(1, 3, 2, features=8, blocks=1, residual=False)
    assert gray_to_rgb(torch.zeros(1, 1, 4, 4)).shape == (1, 3, 4, 4)
    assert PixelShuffleGenerator(3, 3, 2, features=8, blocks=0)(torch.zeros(1, 3, 4, 4)).shape == (1, 3, 4, 4)
    with pytest.raises(TranslationError, match="scale must be one of 2, 3, 4"):
        PixelShuffleGenerator(scale=8)
    with pytest.raises(TranslationError, match="as many output channels"):
        PixelShuffleGenerator(1, 3)
    with pytest.raises(TranslationError, match="blocks >= 0"):
        PixelShuffleGenerator(blocks=-1)


def test_parameter_count_of_the_full_size():
    # head 48*64*9+64 + PReLU 64; 16 x (64*64*9+64 + 64); tail 64*48*9+48
    expected = 27_712 + 64 + 16 * (36_928 + 64) + 27_696
    assert sum(p.numel() for p in PixelShuffleGenerator(3, 3, 4, 64, 16).parameters()) == expected == 647_344


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_onnx_export_with_dynamic_batch_height_and_width_matches_pytorch(scale):
    import onnxruntime as ort

    net = tiny(scale).eval()
    buffer = io.BytesIO()
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(net, (torch.zeros(1, 3, 4 * scale, 4 * scale),), buffer, dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": axes, "output": axes})
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 4 * scale, 4 * scale), (3, 3, 5 * scale, 11 * scale)]:
        x = torch.rand(shape, generator=torch.Generator().manual_seed(sum(shape))) * 2 - 1
        got = session.run(None, {"input": x.numpy()})[0]
        with torch.no_grad():
            expected = net(x).numpy()
        assert got.shape == expected.shape == shape
        assert np.abs(got - expected).max() < 1e-4


def test_a_deeper_network_grows_from_a_trained_one_computing_the_same_then_learning_on():
    shallow = tiny(4)
    with torch.no_grad():  # away from the initial values, like a trained network
        for p in shallow.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    deep = PixelShuffleGenerator(3, 3, 4, features=8, blocks=5)
    deep.deepen(shallow)
    x = torch.rand(2, 3, 24, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(deep(x), shallow(x), atol=1e-6)
    # the trained layers, spread through the body; identities between them
    assert torch.equal(deep.body[0][0].weight, shallow.body[0][0].weight)
    assert torch.equal(deep.body[2][0].weight, shallow.body[1][0].weight)
    assert float(deep.body[1][1].weight.detach().min()) == 1.0
    # the identity layers learn: one step moves them and the output
    deep(x).sub(x.flip(-1)).abs().mean().backward()
    assert float(deep.body[1][0].weight.grad.abs().sum()) > 0


def test_only_the_depth_may_grow():
    with pytest.raises(TranslationError, match="only the depth may grow"):
        PixelShuffleGenerator(3, 3, 4, features=16, blocks=5).deepen(tiny(4))
    with pytest.raises(TranslationError, match="only the depth may grow"):
        PixelShuffleGenerator(3, 3, 4, features=8, blocks=1).deepen(tiny(4))
