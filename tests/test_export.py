"""ONNX export: parity with PyTorch per network family, reference checkpoints, metadata, shapes."""
from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from translation.atomic import TEMP_PREFIX
from translation.cli import main
from translation.errors import TranslationError
from translation.export import export_generator, per_image_norm
from translation.networks import GeneratorConfig, build_generator
from translation.networks.checkpoint import CHECKPOINT_KIND, save_generator_checkpoint
from translation.runtime import read_metadata, read_model_info
from translation.tasks import TaskSpec, get_task

CONTRACT_KEYS = {"translation.format_version", "task", "network", "in_channels", "out_channels", "input_space",
                 "output_space", "value_range", "size_multiple", "tile_size", "scale", "working_size",
                 "training", "norm_mode"}


def tiny(name: str, seed: int = 0, **overrides) -> tuple[torch.nn.Module, GeneratorConfig]:
    torch.manual_seed(seed)
    config = GeneratorConfig.named(name, ngf=overrides.pop("ngf", 8), **overrides)
    net = build_generator(config)
    # random (not freshly initialised) batch-norm statistics, so eval mode differs from batch statistics
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return net.eval(), config


def onnx_run(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[0]


def torch_run(net, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return net(torch.from_numpy(x.astype(np.float32))).numpy()


def rand(*shape, seed=1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


@pytest.mark.parametrize("name,norm", [("unet_32", "batch"), ("unet_32", "instance"),
                                       ("resnet_1blocks", "instance"), ("resnet_2blocks", "batch")])
def test_parity_for_each_network_family(tmp_path, name, norm):
    net, config = tiny(name, norm=norm)
    path = export_generator(net, tmp_path / "model.onnx", task="style-transfer", config=config)
    x = rand(1, 3, 96, 64)
    assert np.abs(onnx_run(path, x) - torch_run(net, x)).max() < 1e-4


def test_resize_upsampling_u_net_matches_pytorch_and_its_reference_layout_file_needs_no_flags(tmp_path):
    net, config = tiny("unet_32", upsample="resize")
    path = export_generator(net, tmp_path / "model.onnx", task="style-transfer", config=config)
    operators = {node.op_type for node in onnx.load(path).graph.node}
    assert "Resize" in operators and "ConvTranspose" not in operators
    assert json.loads(read_metadata(path)["generator"])["upsample"] == "resize"
    checkpoint = tmp_path / "latest_net_G.pth"
    torch.save(net.state_dict(), checkpoint)
    from_file = export_generator(checkpoint, tmp_path / "from_file.onnx", task="style-transfer")
    for shape in [(1, 3, 96, 64), (2, 3, 32, 160)]:
        x = rand(*shape)
        assert np.abs(onnx_run(path, x) - torch_run(net, x)).max() < 1e-4
        assert np.abs(onnx_run(from_file, x) - torch_run(net, x)).max() < 1e-4


def test_run_folders_and_weight_sets_are_chosen_from_files_only(tmp_path):
    net, config = tiny("resnet_1blocks")
    checkpoint = save_generator_checkpoint(tmp_path / "g.pt", net, config, info={"task": "custom"})
    with pytest.raises(TranslationError, match="is a checkpoint file; choosing the 'best' checkpoint needs a run"):
        export_generator(checkpoint, tmp_path / "m.onnx", checkpoint="best")
    with pytest.raises(TranslationError, match="pick from a checkpoint file or run folder, not a module"):
        export_generator(net, tmp_path / "m.onnx", config=config, weights="live")
    (tmp_path / "run").mkdir()
    with pytest.raises(TranslationError, match="run: no checkpoints in .*is this the --out folder of a training run"):
        export_generator(tmp_path / "run", tmp_path / "m.onnx")
    with pytest.raises(TranslationError, match="unknown weights 'best'; choose one of ema, live"):
        export_generator(checkpoint, tmp_path / "m.onnx", weights="best")
    assert not list(tmp_path.glob("*.onnx"))


def test_dynamic_batch_height_and_width(tmp_path):
    net, config = tiny("resnet_1blocks")
    path = export_generator(net, tmp_path / "model.onnx", task="style-transfer", config=config)
    model = onnx.load(path)
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, "height", "width"]
    assert model.opset_import[0].version >= 17
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    for shape in [(1, 3, 32, 48), (2, 3, 72, 40)]:
        x = rand(*shape)
        out = onnx_run(path, x)
        assert out.shape == shape
        assert np.abs(out - torch_run(net, x)).max() < 1e-4


def test_reference_state_dict_exports_and_matches(tmp_path):
    net, _ = tiny("unet_32", seed=3)
    checkpoint = tmp_path / "latest_net_G.pth"
    torch.save(net.state_dict(), checkpoint)
    path = export_generator(checkpoint, tmp_path / "facades.onnx", task="style-transfer")
    meta = read_model_info(path).metadata
    assert meta["network"] == "unet_32" and meta["norm_mode"] == "eval"
    assert json.loads(meta["training"])["source"] == "latest_net_G.pth"
    x = rand(1, 3, 64, 96)
    assert np.abs(onnx_run(path, x) - torch_run(net, x)).max() < 1e-4


def test_residual_generator_from_a_reference_file_needs_the_flag(tmp_path):
    net, _ = tiny("unet_32", seed=4, norm="none", residual=True)
    checkpoint = tmp_path / "latest_net_G.pth"
    torch.save(net.state_dict(), checkpoint)  # the reference layout: weights only, no residual flag
    x = rand(1, 3, 64, 64)
    out = tmp_path / "sr.onnx"
    # norm "none" leaves no keys either (it reads as instance norm), so it is named too
    assert main(["export", str(checkpoint), "-o", str(out), "--task", "style-transfer", "--residual",
                 "--norm", "none"]) == 0
    assert np.abs(onnx_run(out, x) - torch_run(net, x)).max() < 1e-4
    plain = export_generator(checkpoint, tmp_path / "plain.onnx", task="style-transfer")
    assert np.abs(onnx_run(plain, x) - torch_run(net, x)).max() > 0.1  # without it: another function


def test_cyclegan_checkpoint_exports_the_chosen_generator(tmp_path):
    net_a, config = tiny("resnet_1blocks", seed=1)
    net_b, _ = tiny("resnet_1blocks", seed=2)
    checkpoint = tmp_path / "cyclegan.pt"
    torch.save({"kind": CHECKPOINT_KIND, "version": 1, "model": "cyclegan",
                "generators": {"G_A": config.to_dict(), "G_B": config.to_dict()},
                "networks": {"G_A": net_a.state_dict(), "G_B": net_b.state_dict()},
                "info": {"task": "style-transfer", "steps": 1234, "dataset": "horse2zebra"}}, checkpoint)
    path = export_generator(checkpoint, tmp_path / "zebra2horse.onnx", which="G_B")
    x = rand(1, 3, 40, 40)
    assert np.abs(onnx_run(path, x) - torch_run(net_b, x)).max() < 1e-4
    assert np.abs(onnx_run(path, x) - torch_run(net_a, x)).max() > 1e-3
    training = read_model_info(path).training
    assert training["steps"] == 1234 and training["dataset"] == "horse2zebra" and training["generator"] == "G_B"


def test_metadata_round_trip(tmp_path):
    net, config = tiny("unet_32", in_channels=1, out_channels=2)
    checkpoint = save_generator_checkpoint(tmp_path / "colorize.pt", net, config,
                                           info={"task": "colorization", "epochs": 7})
    path = export_generator(checkpoint, tmp_path / "colorization.onnx", tile_size=256)
    meta = read_metadata(path)
    assert CONTRACT_KEYS <= set(meta)
    assert all(isinstance(v, str) for v in meta.values())
    # the fast metadata reader agrees with a full onnx.load
    assert meta == {p.key: p.value for p in onnx.load(path).metadata_props}
    assert TaskSpec.from_metadata(meta) == get_task("colorization")
    assert (meta["network"], meta["size_multiple"], meta["tile_size"]) == ("unet_32", "32", "256")
    assert (meta["in_channels"], meta["out_channels"], meta["value_range"]) == ("1", "2", "-1,1")
    assert meta["working_size"] == "512" and meta["scale"] == "1"
    assert json.loads(meta["training"])["epochs"] == 7
    assert GeneratorConfig.from_dict(json.loads(meta["generator"])) == config


def test_working_size_is_written_and_the_runtime_feeds_the_network_at_it(tmp_path):
    from translation.runtime import read_model_info
    from translation.runtime.pipeline import prepare_image

    net, config = tiny("unet_32", in_channels=1, out_channels=2)
    photo = np.random.default_rng(0).integers(0, 256, (300, 600, 3), dtype=np.uint8)
    shapes = {}
    for size in (None, 256, 0):
        path = export_generator(net, tmp_path / f"c{size}.onnx", task="colorization", config=config, working_size=size)
        info = read_model_info(path)
        shapes[size] = (info.metadata["working_size"], prepare_image(photo, info).tensor.shape)
    assert shapes == {None: ("512", (1, 256, 512)), 256: ("256", (1, 128, 256)), 0: ("0", (1, 300, 600))}
    with pytest.raises(TranslationError, match="working size must be >= 0"):
        export_generator(net, tmp_path / "bad.onnx", task="colorization", config=config, working_size=-1)
    assert not (tmp_path / "bad.onnx").exists()


def test_recommended_tile_size_is_a_multiple_of_the_size_multiple(tmp_path):
    net, config = tiny("resnet_1blocks")
    meta = read_metadata(export_generator(net, tmp_path / "r.onnx", task="custom", config=config))
    assert (meta["tile_size"], meta["size_multiple"]) == ("512", "4")
    net, config = tiny("unet_32")
    meta = read_metadata(export_generator(net, tmp_path / "u.onnx", task="custom", config=config))
    assert int(meta["tile_size"]) % int(meta["size_multiple"]) == 0 and int(meta["tile_size"]) >= 512
    with pytest.raises(TranslationError, match="multiple of 32"):
        export_generator(net, tmp_path / "bad.onnx", task="custom", config=config, tile_size=100)


def test_instance_norm_mode_matches_batch_statistics_at_batch_one(tmp_path):
    net, config = tiny("unet_32", seed=5)
    path = export_generator(net, tmp_path / "inst.onnx", task="style-transfer", config=config, norm_mode="instance")
    assert read_metadata(path)["norm_mode"] == "instance"
    # what the reference's test script does: batch norm in training mode (batch statistics), no dropout
    reference = net.train()
    for module in reference.modules():
        if isinstance(module, torch.nn.Dropout):
            module.eval()
    a, b = rand(1, 3, 64, 64, seed=1), rand(1, 3, 64, 64, seed=2)
    expected = np.concatenate([torch_run(reference, a), torch_run(reference, b)])
    got = onnx_run(path, np.concatenate([a, b]))   # per image even in a batch of two
    assert np.abs(got - expected).max() < 1e-4
    net.eval()
    assert np.abs(got[:1] - torch_run(net, a)).max() > 1e-3   # and really different from eval mode


def test_per_image_norm_keeps_the_affine_parameters():
    net, _ = tiny("unet_32")
    swapped = per_image_norm(net)
    batch_norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    instance_norms = [m for m in swapped.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(batch_norms) == len(instance_norms) > 0
    for bn, inorm in zip(batch_norms, instance_norms):
        assert inorm.affine and not inorm.track_running_stats
        assert torch.equal(bn.weight, inorm.weight) and torch.equal(bn.bias, inorm.bias)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # the original is untouched


def test_failed_parity_leaves_no_file(tmp_path):
    net, config = tiny("resnet_1blocks")
    target = tmp_path / "model.onnx"
    with pytest.raises(TranslationError, match="parity check failed"):
        export_generator(net, target, task="custom", config=config, tolerance=-1.0)
    assert list(tmp_path.iterdir()) == []


def test_fp16_variant_keeps_float32_io(tmp_path):
    net, config = tiny("resnet_1blocks")
    fp32 = export_generator(net, tmp_path / "m32.onnx", task="custom", config=config)
    fp16 = export_generator(net, tmp_path / "m16.onnx", task="custom", config=config, fp16=True)
    model = onnx.load(fp16)
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert read_metadata(fp16)["precision"] == "fp16"
    assert fp16.stat().st_size < 0.7 * fp32.stat().st_size
    x = rand(1, 3, 48, 48)
    assert np.abs(onnx_run(fp16, x) - torch_run(net, x)).max() < 5e-2


def test_task_and_channels_must_agree(tmp_path):
    net, config = tiny("resnet_1blocks")
    with pytest.raises(TranslationError, match="colorization"):
        export_generator(net, tmp_path / "m.onnx", task="colorization", config=config)
    with pytest.raises(TranslationError, match=r"\.onnx"):
        export_generator(net, tmp_path / "m.pt", task="custom", config=config)


def test_cli_export_with_overrides_and_errors(tmp_path, capsys):
    net, _ = tiny("unet_32")
    checkpoint = tmp_path / "latest_net_G.pth"
    torch.save(net.state_dict(), checkpoint)
    out = tmp_path / "exported.onnx"
    assert main(["export", str(checkpoint), "-o", str(out), "--task", "style-transfer", "--norm-mode", "instance",
                 "--working-size", "384"]) == 0
    assert "working size 384" in capsys.readouterr().out
    meta = read_metadata(out)
    assert (meta["network"], meta["norm_mode"], meta["task"], meta["working_size"], meta["working_shape"]) == (
        "unet_32", "instance", "style-transfer", "384", "fit")
    square = tmp_path / "square.onnx"
    assert main(["export", str(checkpoint), "-o", str(square), "--task", "style-transfer", "--working-size", "256",
                 "--working-shape", "square"]) == 0
    assert "working size 256 (square)" in capsys.readouterr().out
    assert read_model_info(square).task.working_shape == "square"
    detailed = tmp_path / "detailed.onnx"
    assert main(["export", str(checkpoint), "-o", str(detailed), "--task", "style-transfer", "--working-size", "384",
                 "--keep-detail"]) == 0
    assert "working size 384, detail kept from the input" in capsys.readouterr().out
    assert read_metadata(detailed)["keep_detail"] == "true" and read_model_info(detailed).task.keep_detail
    # the chroma gain is a colorization option: refused, with the reason, for another task
    assert main(["export", str(checkpoint), "-o", str(tmp_path / "vivid.onnx"), "--task", "style-transfer",
                 "--chroma-gain", "1.2"]) == 1
    assert "--chroma-gain scales a colorization (lab_ab) output" in capsys.readouterr().err
    assert not (tmp_path / "vivid.onnx").exists()
    # a wrong architecture override is one clear line, no traceback, nothing written
    bad = tmp_path / "bad.onnx"
    assert main(["export", str(checkpoint), "-o", str(bad), "--ngf", "16"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not bad.exists() and not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_task_settings_recorded_by_training_are_kept(tmp_path):
    net, config = tiny("resnet_1blocks")
    spec = TaskSpec("super-resolution", "rgb", "rgb", scale=2)
    checkpoint = save_generator_checkpoint(tmp_path / "sr.pt", net, config,
                                           info={"task": "super-resolution", "task_spec": spec.to_metadata()})
    assert TaskSpec.from_metadata(read_metadata(export_generator(checkpoint, tmp_path / "a.onnx"))) == spec
    # naming the same task keeps the recorded scale; another task replaces it
    meta = read_metadata(export_generator(checkpoint, tmp_path / "b.onnx", task="super-resolution"))
    assert meta["scale"] == "2"
    assert read_metadata(export_generator(checkpoint, tmp_path / "c.onnx", task="style-transfer"))["scale"] == "1"
