"""Generators of the CUT reference implementation (taesungp/contrastive-unpaired-translation): its default,
anti-aliased ResNet layout and its --no_antialias one load strictly from their keys alone, compute what
the reference computes, and export with ONNX Runtime parity.

tests/fixtures/reference/cut_resnet_tiny.npz holds, for each layout ("antialias/...", "plain/..."), the
reference's own state dict (``LAYOUT/state_dict/KEY``; ngf 4, 2 blocks, instance norm), a fixed ``input``
and the reference's output and encoder features (``LAYOUT/feature/0``, 4, 8, 12) on it: made by running the
reference's models/networks.py ResnetGenerator (commit b3ac297) in eval mode.
"""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from translation.cli import main
from translation.networks import create_generator
from translation.networks.checkpoint import load_generator
from translation.runtime import read_metadata


@pytest.fixture(scope="module")
def reference(reference_dir):
    with np.load(reference_dir / "cut_resnet_tiny.npz") as arrays:
        found: dict = {"input": torch.from_numpy(arrays["input"])}
        for layout in ("antialias", "plain"):
            prefix = f"{layout}/state_dict/"
            found[layout] = {
                "state_dict": {k[len(prefix):]: torch.from_numpy(arrays[k]) for k in arrays.files if k.startswith(prefix)},
                "output": torch.from_numpy(arrays[f"{layout}/output"]),
                "features_0_4_8_12": [torch.from_numpy(arrays[f"{layout}/feature/{i}"]) for i in (0, 4, 8, 12)]}
    return found


@pytest.mark.parametrize("layout,network", [("antialias", "resnet_2blocks_antialias"), ("plain", "resnet_2blocks")])
def test_reference_generator_loads_computes_and_exports_alike(layout, network, reference, tmp_path):
    entry = reference[layout]
    path = tmp_path / "latest_net_G.pth"
    torch.save(entry["state_dict"], path)
    generator, config, _ = load_generator(path)  # strict: every key, shape and buffer
    assert (config.name, config.ngf, config.norm) == (network, 4, "instance")
    x = reference["input"]
    with torch.no_grad():
        assert torch.allclose(generator(x), entry["output"], atol=1e-5)
        features = generator.encode(x, [0, 4, 8, 12])
    assert all(torch.allclose(ours, theirs, atol=1e-5) for ours, theirs in zip(features, entry["features_0_4_8_12"]))

    onnx_path = tmp_path / "cut.onnx"
    assert main(["export", str(path), "-o", str(onnx_path), "--task", "style-transfer"]) == 0
    assert read_metadata(onnx_path)["network"] == network
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert np.abs(got - entry["output"].numpy()).max() <= 1e-4


def test_the_paper_layers_of_each_layout(reference, tmp_path):
    torch.save(reference["antialias"]["state_dict"], tmp_path / "aa.pth")
    antialiased = load_generator(tmp_path / "aa.pth")[0]
    assert antialiased.paper_layers() == [0, 4, 8, 12, 13]  # 2 blocks: the last stands in for the fifth
    assert create_generator("resnet_9blocks_antialias").paper_layers() == [0, 4, 8, 12, 16]  # the reference's
