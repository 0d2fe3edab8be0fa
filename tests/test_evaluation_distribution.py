"""`translation eval --target`: the distance of a model's outputs to the domain it translates into, for
unpaired models with or without a way back (CycleGAN, CUT), on real files through ONNX Runtime."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from translation.cli import main
from translation.errors import TranslationError
from translation.evaluation import evaluate, list_photos
from translation.export import INPUT_NAME, OUTPUT_NAME, build_metadata
from translation.imaging.io import write_image
from translation.networks import GeneratorConfig
from translation.tasks import get_task

PERMUTATION = [2, 0, 1]


def channel_model(path, order: list[int] | None):
    """A style-transfer model that reorders the colour channels (None: gives its input back)."""
    x = helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", 3, "height", "width"])
    y = helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", 3, "height", "width"])
    if order is None:
        nodes, weights = [helper.make_node("Identity", [INPUT_NAME], [OUTPUT_NAME])], []
    else:
        nodes = [helper.make_node("Gather", [INPUT_NAME, "order"], [OUTPUT_NAME], axis=1)]
        weights = [helper.make_tensor("order", TensorProto.INT64, [3], order)]
    model = helper.make_model(helper.make_graph(nodes, "channels", [x], [y], weights),
                              opset_imports=[helper.make_opsetid("", 17)], ir_version=8)  # what ORT reads
    config = GeneratorConfig.named("resnet_1blocks")  # for the metadata: any size multiple of 4 will do
    helper.set_model_props(model, build_metadata(config, get_task("style-transfer"), tile_size=256))
    onnx.save(model, path)
    return path


def warm_pictures(folder, seed: int, count: int, permuted: bool = False):
    rng = np.random.default_rng(seed)
    for i in range(count):
        y, x = np.mgrid[0:64, 0:80] / 80.0
        picture = np.stack([0.7 + 0.2 * x, 0.3 + 0.2 * y, 0.1 + 0.05 * x], axis=2)
        picture += rng.normal(0, 0.05, (1, 1, 3)) + rng.normal(0, 0.02, picture.shape)
        write_image(folder / f"picture{i}.png", np.clip(picture[:, :, PERMUTATION] if permuted else picture, 0, 1))
    return folder


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    root = tmp_path_factory.mktemp("domains")
    return (warm_pictures(root / "photos", 0, 4), warm_pictures(root / "art", 1, 5, permuted=True), root)


def test_the_right_translation_lies_closest_to_the_target_domain(domains):
    photos, art, root = domains
    right = channel_model(root / "right.onnx", PERMUTATION)
    wrong = channel_model(root / "wrong.onnx", [1, 2, 0])
    unchanged = channel_model(root / "unchanged.onnx", None)
    target = list_photos(art)
    scores = {name: evaluate(model, list_photos(photos), target=target).summary
              for name, model in (("right", right), ("wrong", wrong), ("unchanged", unchanged))}
    assert set(scores["right"]) == {"swd", "swd_input", "target_images"}  # no way back: the distance alone
    assert scores["right"]["target_images"] == 5
    assert scores["unchanged"]["swd"] == pytest.approx(scores["unchanged"]["swd_input"], rel=0.05)
    assert scores["right"]["swd"] < 0.5 * scores["unchanged"]["swd"]
    assert scores["right"]["swd"] < 0.5 * scores["wrong"]["swd"]
    # with a way back, the cycle measures come too
    inverse = channel_model(root / "inverse.onnx", [1, 2, 0])
    both = evaluate(right, list_photos(photos), back_model=inverse, target=target).summary
    assert {"cycle_psnr", "cycle_l1", "swd", "swd_input"} <= set(both) and both["cycle_l1"] < 0.01
    assert both["swd"] == scores["right"]["swd"]  # the outputs the cycle measure made, measured once
    with pytest.raises(TranslationError, match="--back-model.*--target"):
        evaluate(right, list_photos(photos))


def test_eval_command_with_a_target_folder(domains, tmp_path, capsys):
    photos, art, root = domains
    model = channel_model(tmp_path / "cut-like.onnx", PERMUTATION)
    out = tmp_path / "scores.json"
    assert main(["eval", "--model", str(model), "--photos", str(photos), "--target", str(art),
                 "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["images"] == 0 and written["distribution"]["swd"] < written["distribution"]["swd_input"]
    assert "swd_input" in capsys.readouterr().out
    assert main(["eval", "--model", str(model), "--photos", str(photos), "--target", str(tmp_path / "none")]) == 1
    assert "none: photo folder not found" in capsys.readouterr().err
